/**
 * Runs the real connection actor (real ws, real undici) against the Webex simulator on 127.0.0.1.
 * The machine's timers (ping, pong, backoff, slow retries) run on a SimulatedClock that the test
 * advances; everything else is real I/O awaited through events, never sleeps.
 */
import { SimulatedClock, waitFor } from 'xstate';
import {
  type StartWebexConnectionOptions,
  startWebexConnection,
  type WebexConnection,
} from '../../../src/actors/webex-connection.js';
import type {
  CatchUpOutcome,
  ConnectionMetrics,
  InboundOutcome,
} from '../../../src/adapters/webex/connection-metrics.js';
import { createLogger } from '../../../src/logger.js';
import type { InboundEvent } from '../../../src/machines/inbound-event.js';
import type { WebexConnectionSnapshot } from '../../../src/machines/webex-connection.js';
import {
  type SimClock,
  startWebexSimulator,
  type WebexSimulator,
  type WebexSimulatorOptions,
} from '../../../src/simulator/webex/index.js';
import { type CapturedLog, captureLog } from '../../helpers/capture.js';

export const BOT_TOKEN = 'bot-token-for-connection-tests';
export const DEVICE_NAME = 'caipe-webex-bot';

export interface RecordingMetrics extends ConnectionMetrics {
  reconnects: string[];
  gaps: number[];
  inboundOutcomes: Array<{ kind: string; outcome: InboundOutcome }>;
  malformed: number;
  catchUps: CatchUpOutcome[];
}

export function recordingMetrics(): RecordingMetrics {
  const metrics: RecordingMetrics = {
    reconnects: [],
    gaps: [],
    inboundOutcomes: [],
    malformed: 0,
    catchUps: [],
    reconnect: (reason) => void metrics.reconnects.push(reason),
    sequenceGap: (missing) => void metrics.gaps.push(missing),
    inbound: (kind, outcome) => void metrics.inboundOutcomes.push({ kind, outcome }),
    malformedFrame: () => {
      metrics.malformed += 1;
    },
    catchUp: (outcome) => void metrics.catchUps.push(outcome),
  };
  return metrics;
}

export interface Harness {
  sim: WebexSimulator;
  clock: SimulatedClock;
  conn: WebexConnection;
  events: InboundEvent[];
  metrics: RecordingMetrics;
  log: CapturedLog;
  /** Resolves with the first inbound event (past or future) matching the predicate. */
  nextEvent(predicate: (event: InboundEvent) => boolean, timeoutMs?: number): Promise<InboundEvent>;
  until(
    predicate: (snapshot: WebexConnectionSnapshot) => boolean,
    timeoutMs?: number,
  ): Promise<WebexConnectionSnapshot>;
  online(): Promise<WebexConnectionSnapshot>;
  /** Resolves with the first log record (past or future) whose `msg` matches. */
  logged(
    predicate: (record: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  simClock?: SimClock;
  /** Prepare the simulator before the connection starts (e.g. register old devices). */
  before?: (sim: WebexSimulator) => Promise<void> | void;
  connection?: Partial<StartWebexConnectionOptions>;
  start?: boolean;
  /** Extra simulator options (device cap, redelivery retention, …). */
  simulator?: Partial<WebexSimulatorOptions>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = await startWebexSimulator({
    botToken: BOT_TOKEN,
    botDisplayName: 'CAIPE Bot',
    ...(options.simClock ? { clock: options.simClock } : {}),
    ...options.simulator,
  });
  await options.before?.(sim);
  const clock = new SimulatedClock();
  const events: InboundEvent[] = [];
  const listeners = new Set<(event: InboundEvent) => void>();
  const metrics = recordingMetrics();
  const log = captureLog();
  const logListeners = new Set<(record: Record<string, unknown>) => void>();
  const destination = {
    write: (line: string) => {
      log.destination.write(line);
      if (logListeners.size === 0) return;
      const record = JSON.parse(line) as Record<string, unknown>;
      for (const listener of logListeners) listener(record);
    },
  };
  const conn = startWebexConnection({
    token: BOT_TOKEN,
    apiBaseUrl: sim.urls.hydra,
    u2cUrl: sim.urls.u2c,
    deviceName: DEVICE_NAME,
    dedupeTtlS: 3600,
    logger: createLogger({ level: 'debug', destination, secrets: [BOT_TOKEN] }),
    metrics,
    xstateClock: clock,
    // No jitter: backoff delays are exactly 1 s, 2 s, 4 s …
    random: () => 0,
    requestTimeoutMs: 5_000,
    onEvent: (event) => {
      events.push(event);
      for (const listener of listeners) listener(event);
    },
    ...options.connection,
  });

  const until: Harness['until'] = (predicate, timeoutMs = 5_000) =>
    waitFor(conn.actor, predicate, { timeout: timeoutMs });

  return {
    sim,
    clock,
    conn,
    events,
    metrics,
    log,
    nextEvent: (predicate, timeoutMs = 5_000) => {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`no matching inbound event within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (event: InboundEvent) => {
          if (!predicate(event)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(event);
        };
        listeners.add(listener);
      });
    },
    until,
    online: () => until((s) => s.hasTag('online')),
    logged: (predicate, timeoutMs = 5_000) => {
      const found = log.records().find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          logListeners.delete(listener);
          reject(new Error(`no matching log line within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (record: Record<string, unknown>) => {
          if (!predicate(record)) return;
          clearTimeout(timer);
          logListeners.delete(listener);
          resolve(record);
        };
        logListeners.add(listener);
      });
    },
    close: async () => {
      await conn.stop({ timeoutMs: 5_000 });
      await sim.close();
    },
  };
}

/** Live (not deleted) devices of the bot in the simulator. */
export function liveBotDevices(sim: WebexSimulator) {
  return sim.devices().filter((d) => !d.deleted && d.ownerUuid === sim.bot.uuid);
}

export function botRequests(sim: WebexSimulator, method: string, route: string) {
  return sim.log.requests.filter(
    (r) => r.callerUuid === sim.bot.uuid && r.method === method && (r.route === route || r.path === route),
  );
}
