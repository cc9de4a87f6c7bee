/**
 * `startWorld` with an injected clock, for cases whose real-time cost is only waiting: a 500-message
 * flood (hundreds of "busy" notices paced by the sender's 5/s budget) and the load test (thousands
 * of writes, then the 10-minute conversation idle timeout). The bot runs unchanged; its clock —
 * the sender's token bucket and retry pauses, the agent idle timer, every XState delay — runs
 * `factor` times faster than the wall clock. The simulator and the network stay real.
 */
import { waitFor } from 'xstate';
import type { Clock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { readinessOf } from '../../../src/machines/webexConnection.js';
import { memoryStores, startRuntime } from '../../../src/runtime.js';
import { startWebexSimulator } from '../../../src/simulator/webex/index.js';
import { captureLog } from '../capture.js';
import { BOT_TOKEN, type World, type WorldOptions } from '../world.js';

/** Time that passes `factor` times faster than the wall clock (timers unref'd like the system clock). */
export function scaledClock(factor: number): Clock {
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * factor,
    setTimeout: (fn, ms) => {
      const handle = setTimeout(fn, Math.max(0, ms / factor));
      handle.unref?.();
      return handle;
    },
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

export interface ScaledWorldOptions extends WorldOptions {
  clock: Clock;
  /** Log level of the captured bot log (debug lines cost real time under load). */
  logLevel?: 'debug' | 'info' | 'warn';
}

export async function startScaledWorld(options: ScaledWorldOptions): Promise<World> {
  const sim = await startWebexSimulator({
    botToken: BOT_TOKEN,
    botDisplayName: options.botDisplayName ?? 'CAIPE Bot',
  });
  const log = captureLog();
  const level = options.logLevel ?? 'debug';
  const config = loadConfig({
    WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
    WEBEX_U2C_URL: sim.urls.u2c,
    WEBEX_API_BASE_URL: sim.urls.hydra,
    CAIPE_URL: options.agentUrl,
    HTTP_PORT: '0',
    LOG_LEVEL: level,
    ...options.env,
  });
  const runtime = await startRuntime({
    config,
    log: createLogger({ level, destination: log.destination, secrets: [BOT_TOKEN] }),
    httpHost: '127.0.0.1',
    clock: options.clock,
    stores: options.stores ?? memoryStores(options.clock),
  });
  await waitFor(runtime.connection.actor, (snapshot) => readinessOf(snapshot).ready, { timeout: 10_000 });
  const botUuid = sim.bot.uuid;
  return {
    sim,
    runtime,
    log,
    visibleBotMessages: (roomId) =>
      sim.roomMessages(roomId).filter((m) => m.authorUuid === botUuid && !m.deleted),
    close: async () => {
      await runtime.shutdown();
      await sim.close();
    },
  };
}
