/**
 * A restart at the connection level: one process stops, another starts on the same embedded
 * store, against one simulator. "Handled" is what the bot does first with an event, its claim in
 * the store, so a message counts as answered once when exactly one process claimed it.
 *
 * Every case runs with the simulator's redelivery on (Webex keeps unacked frames for the device,
 * 15 minutes) and off (`retentionMs: 0`: nothing is redelivered; the REST catch-up is the
 * guarantee).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedClock, waitFor } from 'xstate';
import { startWebexConnection, type WebexConnection } from '../../../src/actors/webex-connection.js';
import { EmbeddedStores } from '../../../src/adapters/store/embedded.js';
import { createLogger, silentLogger } from '../../../src/logger.js';
import type { InboundEvent } from '../../../src/machines/inbound-event.js';
import {
  type SimPerson,
  type SimRoom,
  startWebexSimulator,
  type WebexSimulator,
} from '../../../src/simulator/webex/index.js';
import { type CapturedLog, captureLog } from '../../helpers/capture.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { BOT_TOKEN, DEVICE_NAME, liveBotDevices, recordingMetrics } from './harness.js';

const track = closeAfterEach();

/** One bot process: its store, its connection, and what it handled (claimed first). */
interface BotProcess {
  stores: EmbeddedStores;
  conn: WebexConnection;
  handled: InboundEvent[];
  log: CapturedLog;
  /** Resolves with the first log record (past or future) that matches. */
  logged(predicate: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  metrics: ReturnType<typeof recordingMetrics>;
  /** Resolves when this process has handled the activity. */
  handledOnce(activityId: string): Promise<InboundEvent>;
  /** SIGTERM, as the runtime does it: hold the intake, then stop (keeping the device). */
  stop(): Promise<void>;
}

async function startProcess(sim: WebexSimulator, dataDir: string): Promise<BotProcess> {
  const stores = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
  const handled: InboundEvent[] = [];
  const waiters = new Map<string, (event: InboundEvent) => void>();
  const log = captureLog();
  const logWaiters = new Set<(record: Record<string, unknown>) => void>();
  const destination = {
    write: (line: string) => {
      log.destination.write(line);
      const record = JSON.parse(line) as Record<string, unknown>;
      for (const waiter of [...logWaiters]) waiter(record);
    },
  };
  const metrics = recordingMetrics();
  const conn = startWebexConnection({
    token: BOT_TOKEN,
    apiBaseUrl: sim.urls.hydra,
    u2cUrl: sim.urls.u2c,
    deviceName: DEVICE_NAME,
    dedupeTtlS: 3600,
    logger: createLogger({ level: 'debug', destination, secrets: [BOT_TOKEN] }),
    metrics,
    xstateClock: new SimulatedClock(),
    random: () => 0,
    requestTimeoutMs: 5_000,
    activeRooms: stores.rooms,
    // The bot's first step with an event: its claim in the store, shared by both processes.
    onEvent: (event) =>
      void stores.claims.claim(event.activityId, 3_600_000).then((first) => {
        if (!first) return;
        handled.push(event);
        waiters.get(event.activityId)?.(event);
      }),
  });
  let stopped = false;
  const process: BotProcess = {
    stores,
    conn,
    handled,
    log,
    logged: (predicate) => {
      const found = log.records().find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          logWaiters.delete(waiter);
          reject(new Error('no matching log line within 5 s'));
        }, 5_000);
        const waiter = (record: Record<string, unknown>) => {
          if (!predicate(record)) return;
          clearTimeout(timer);
          logWaiters.delete(waiter);
          resolve(record);
        };
        logWaiters.add(waiter);
      });
    },
    metrics,
    handledOnce: (activityId) => {
      const found = handled.find((e) => e.activityId === activityId);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${activityId} not handled within 5 s`)), 5_000);
        waiters.set(activityId, (event) => {
          clearTimeout(timer);
          resolve(event);
        });
      });
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      conn.holdInbound();
      await conn.stop({ timeoutMs: 5_000 });
      await stores.close();
    },
  };
  track({ close: () => process.stop() });
  await waitFor(conn.actor, (s) => s.hasTag('online'), { timeout: 5_000 });
  return process;
}

const isCatchUpSummary = (record: Record<string, unknown>) =>
  record.msg === 'catch-up found nothing missed' ||
  record.msg === 'catch-up recovered messages the socket had not delivered';

function startupCatchUp(process: BotProcess): Promise<Record<string, unknown>> {
  return process.logged((r) => isCatchUpSummary(r) && r.reason === 'startup');
}

const modes = [
  ['on', {}],
  ['off', { retentionMs: 0 }],
] as const;

describe.each(modes)('restart with the simulator redelivery %s', (redelivery, simOptions) => {
  async function world() {
    const sim = track(await startWebexSimulator({ botToken: BOT_TOKEN, ...simOptions }));
    const dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-connection-restart-'));
    track({ close: () => rmSync(dataDir, { recursive: true, force: true }) });
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    return { sim, dataDir, ada, room };
  }

  const post = (sim: WebexSimulator, user: SimPerson, room: SimRoom, text: string) =>
    sim.post(user, room, { text });

  it('hands messages sent while no process runs, and after SIGTERM, to the next process once', async () => {
    const { sim, dataDir, ada, room } = await world();
    const first = await startProcess(sim, dataDir);
    const [device] = liveBotDevices(sim);
    const before = post(sim, ada, room, 'before the restart');
    await first.handledOnce(before.uuid);

    // SIGTERM: the connection stays up for running answers, but takes nothing new.
    first.conn.holdInbound();
    const afterSigterm = post(sim, ada, room, 'sent after SIGTERM');
    await first.logged((r) => r.msg === 'stopping: event left for the next process');
    // Not acked: Webex keeps it for the device.
    expect(sim.unackedFrames(device!.uuid).map((f) => (f.data.activity as { id: string }).id)).toContain(
      afterSigterm.uuid,
    );
    expect(first.metrics.inboundOutcomes).toContainEqual({ kind: 'message', outcome: 'deferred' });
    await first.stop();
    expect(liveBotDevices(sim).map((d) => d.uuid)).toEqual([device!.uuid]);

    const whileDown = post(sim, ada, room, 'sent while no process runs');

    const firstSockets = Math.max(0, ...sim.log.socketEvents.map((e) => e.socketId));
    const second = await startProcess(sim, dataDir);
    // The next process reuses the device.
    expect(liveBotDevices(sim).map((d) => d.uuid)).toEqual([device!.uuid]);
    await second.handledOnce(afterSigterm.uuid);
    await second.handledOnce(whileDown.uuid);
    const summary = await startupCatchUp(second);
    expect(summary).toMatchObject({ reason: 'startup', rooms: 1 });

    expect(first.handled.map((e) => e.activityId)).toEqual([before.uuid]);
    expect(second.handled.map((e) => e.activityId).sort()).toEqual(
      [afterSigterm.uuid, whileDown.uuid].sort(),
    );
    // Frames the second process's sockets were sent.
    const viaSocket = (uuid: string) =>
      sim.log.framesSent.filter(
        (f) =>
          f.socketId > firstSockets &&
          (f.frame.data as { activity?: { id?: string } })?.activity?.id === uuid,
      ).length;
    if (redelivery === 'on') {
      // Redelivered to the kept device (the catch-up then finds them handled).
      expect(viaSocket(whileDown.uuid)).toBe(1);
      expect(viaSocket(afterSigterm.uuid)).toBe(1);
    } else {
      // Nothing redelivered: the catch-up over the recorded room found both.
      expect(viaSocket(whileDown.uuid)).toBe(0);
      expect(viaSocket(afterSigterm.uuid)).toBe(0);
      expect(second.metrics.catchUps.filter((o) => o === 'recovered').length).toBeGreaterThanOrEqual(2);
    }
  });

  it('records the room of an event whose fetch was still running at SIGTERM, for the next process', async () => {
    const { sim, dataDir, ada, room } = await world();
    const first = await startProcess(sim, dataDir);
    // The plaintext fetch hangs until the process has stopped.
    sim.faults.latency(60_000, { method: 'GET', route: '/v1/messages/{id}' });
    const slow = post(sim, ada, room, 'fetched too late');
    await sim.waitFor('ack', (a) => a.known);
    first.conn.holdInbound();
    await first.stop();
    sim.faults.clear();
    expect(first.handled).toEqual([]);

    const second = await startProcess(sim, dataDir);
    await second.handledOnce(slow.uuid);
    const summary = await startupCatchUp(second);
    // Acked by the first process, so never redelivered: the recorded room is how it is found.
    expect(summary).toMatchObject({ rooms: 1, recovered: 1 });
    expect(second.handled.map((e) => e.activityId)).toEqual([slow.uuid]);
  });
});
