/**
 * A bot process run inside the test process, that can be stopped as abruptly as `kill -9` stops
 * a real one: `kill()` cuts, at once and without any cleanup, everything through which the bot
 * acts on the world — its Webex REST connections (sender included), its Mercury socket, its agent
 * connections, its store file handle, its HTTP listener and every timer of its clock. What the
 * killed runtime still computes in memory afterwards can reach nothing: each write fails.
 *
 * A named crash point (`src/actors/handover/crash-points.ts`) armed with `crashAt` kills the
 * process there: the work that reached the point never goes on (its promise never settles).
 */

import { connect, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Agent } from 'undici';
import { waitFor } from 'xstate';
import type { CrashHook, CrashPoint } from '../../src/actors/handover/crash-points.js';
import { A2aAgentClient } from '../../src/adapters/agent/index.js';
import { EmbeddedStores } from '../../src/adapters/store/embedded.js';
import { embeddedStoreSet } from '../../src/adapters/store/index.js';
import { type Clock, systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { readinessOf } from '../../src/machines/webex-connection.js';
import { type Runtime, type Stores, startRuntime } from '../../src/runtime.js';
import type { WebexSimulator } from '../../src/simulator/webex/index.js';
import type { CapturedLog } from '../helpers/capture.js';
import { BOT_TOKEN } from '../helpers/world.js';

/** A clock whose timers all stop at `kill()`; later ones are never armed. */
class KillableClock implements Clock {
  readonly #handles = new Set<unknown>();
  #dead = false;

  now(): number {
    return systemClock.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    if (this.#dead) return undefined;
    const handle = systemClock.setTimeout(() => {
      this.#handles.delete(handle);
      if (!this.#dead) fn();
    }, ms);
    this.#handles.add(handle);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    if (handle === undefined) return;
    this.#handles.delete(handle);
    systemClock.clearTimeout(handle);
  }

  kill(): void {
    this.#dead = true;
    for (const handle of this.#handles) systemClock.clearTimeout(handle);
    this.#handles.clear();
  }
}

export interface CrashPlan {
  point: CrashPoint;
  /** Which time the point is reached (1 = the first). */
  occurrence: number;
}

export interface KillableBotOptions {
  sim: WebexSimulator;
  agentUrl: string;
  dataDir: string;
  log: CapturedLog;
  env?: Record<string, string>;
  crashAt?: CrashPlan;
}

export class KillableBot {
  readonly runtime: Runtime;
  readonly #kill: () => void;
  readonly #release: () => Promise<void>;
  readonly #state: { crashed?: CrashPlan };

  private constructor(
    runtime: Runtime,
    kill: () => void,
    release: () => Promise<void>,
    state: { crashed?: CrashPlan },
  ) {
    this.runtime = runtime;
    this.#kill = kill;
    this.#release = release;
    this.#state = state;
  }

  /** The armed point, once it was reached and the process killed there. */
  get crashed(): CrashPlan | undefined {
    return this.#state.crashed;
  }

  /** Starts a bot process and waits until it is online. */
  static async start(options: KillableBotOptions): Promise<KillableBot> {
    const clock = new KillableClock();
    const webex = new Agent({ connections: 32 });
    const agentDispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
    const sockets = new Set<Socket>();
    let dead = false;
    const embedded = new EmbeddedStores({
      dataDir: options.dataDir,
      log: createLogger({ level: 'warn', destination: options.log.destination }),
      clock,
      purgeIntervalMs: 0,
    });
    const stores: Stores = embeddedStoreSet(embedded);
    const config = loadConfig({
      WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
      WEBEX_U2C_URL: options.sim.urls.u2c,
      WEBEX_API_BASE_URL: options.sim.urls.hydra,
      CAIPE_URL: options.agentUrl,
      HTTP_PORT: '0',
      DATA_DIR: options.dataDir,
      WEBEX_UPDATE_INTERVAL_MS: '100',
      SHUTDOWN_GRACE_S: '0',
      ...options.env,
    });
    const log = createLogger({ level: 'info', destination: options.log.destination, secrets: [BOT_TOKEN] });
    const state: { crashed?: CrashPlan; runtime?: Runtime } = {};
    const counts = new Map<CrashPoint, number>();
    const never = new Promise<void>(() => {});

    const kill = () => {
      if (dead) return;
      dead = true;
      clock.kill();
      for (const socket of sockets) socket.destroy();
      void webex.destroy().catch(() => undefined);
      void agentDispatcher.destroy().catch(() => undefined);
      void embedded.close();
      void state.runtime?.http.close().catch(() => undefined);
    };

    const crashPoints: CrashHook = (point) => {
      if (dead) return never;
      const plan = options.crashAt;
      if (!plan || plan.point !== point) return undefined;
      const count = (counts.get(point) ?? 0) + 1;
      counts.set(point, count);
      if (count !== plan.occurrence) return undefined;
      state.crashed = plan;
      // A synchronous point (an action): killed right here, before its next statement.
      if (point === 'form-deadline') {
        kill();
        return undefined;
      }
      // Work already issued before this point (earlier microtasks, a write under way) ends as it
      // would in a real process; the work at the point never goes on.
      return nextTurn().then(() => {
        kill();
        return never;
      });
    };

    const runtime = await startRuntime({
      config,
      log,
      clock,
      stores,
      httpHost: '127.0.0.1',
      agent: new A2aAgentClient({
        url: options.agentUrl,
        idleTimeoutMs: 30_000,
        clock,
        dispatcher: agentDispatcher,
        logger: log,
      }),
      webexDispatcher: webex,
      webSocketOptions: {
        createConnection: ((socketOptions: Parameters<typeof connect>[0]) => {
          if (dead) throw new Error('process killed');
          const socket = connect(socketOptions);
          sockets.add(socket);
          socket.once('close', () => sockets.delete(socket));
          return socket;
        }) as never,
      },
      crashPoints,
    });
    state.runtime = runtime;
    await waitFor(runtime.connection, (s) => readinessOf(s).ready, { timeout: 10_000 });
    // The connection pools passed in belong to the caller: dropped after a graceful stop (a
    // fire-and-forget `tasks/cancel` may still wait for a peer that never answers it).
    const release = async () => {
      await webex.destroy().catch(() => undefined);
      await agentDispatcher.destroy().catch(() => undefined);
    };
    return new KillableBot(runtime, kill, release, state);
  }

  /** `kill -9`: nothing of this process acts any more. */
  kill(): void {
    this.#kill();
  }

  /** SIGTERM, for a process that was not killed. */
  async shutdown(): Promise<void> {
    if (this.crashed) return;
    await this.runtime.shutdown();
    await this.#release();
  }
}
