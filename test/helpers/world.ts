/**
 * A whole world on loopback: the Webex simulator, an A2A agent (the official SDK peer or the raw
 * CAIPE-shaped emulator) and the real bot runtime pointed at both. Tests drive users through the
 * simulator and read what Webex would show from its state and logs.
 */
import { waitFor } from 'xstate';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { CONNECTION_DELAYS, readinessOf } from '../../src/machines/webex-connection.js';
import { memoryStores, type Runtime, type Stores, startRuntime } from '../../src/runtime.js';
import {
  type StoredMessage,
  startWebexSimulator,
  type WebexSimulator,
  type WriteLimitOptions,
} from '../../src/simulator/webex/index.js';
import { SdkPeer } from './a2a/sdk-peer.js';
import { SseEmulator } from './a2a/sse-emulator.js';
import { type CapturedLog, captureLog } from './capture.js';

export const BOT_TOKEN = 'world-bot-token-4f1c2e0a9b7d4c3e8a6f';

export interface World {
  sim: WebexSimulator;
  runtime: Runtime;
  log: CapturedLog;
  close(): Promise<void>;
  /** The bot's messages in a room as users see them (deleted ones left out). */
  visibleBotMessages(roomId: string): StoredMessage[];
}

export interface WorldOptions {
  agentUrl: string;
  env?: Record<string, string>;
  botDisplayName?: string;
  /** In-memory stores by default; a test may pass its own to watch what the bot reads. */
  stores?: Stores;
  /** The bot's clock (the simulator and the network stay real); the system clock by default. */
  clock?: Clock;
  /** Level of the captured bot log (debug lines cost real time under load). */
  logLevel?: 'debug' | 'info' | 'warn';
  /** A server-side limit on writes in the simulator; unlimited by default. */
  writeLimit?: WriteLimitOptions;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const sim = await startWebexSimulator({
    botToken: BOT_TOKEN,
    botDisplayName: options.botDisplayName ?? 'CAIPE Bot',
    ...(options.writeLimit ? { writeLimit: options.writeLimit } : {}),
  });
  const log = captureLog();
  const level = options.logLevel ?? 'debug';
  const config = loadConfig({
    WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
    WEBEX_U2C_URL: sim.urls.u2c,
    WEBEX_API_BASE_URL: sim.urls.hydra,
    CAIPE_URL: options.agentUrl,
    HTTP_PORT: '0',
    WEBEX_UPDATE_INTERVAL_MS: '100',
    LOG_LEVEL: level,
    ...options.env,
  });
  const runtime = await startRuntime({
    config,
    log: createLogger({ level, destination: log.destination, secrets: [BOT_TOKEN] }),
    httpHost: '127.0.0.1',
    ...(options.clock ? { clock: options.clock } : {}),
    ...socketDelaysFor(options.clock),
    stores: options.stores ?? memoryStores(options.clock),
  });
  await waitFor(runtime.connection, (snapshot) => readinessOf(snapshot).ready, { timeout: 10_000 });
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

/** A clock faster than the wall clock keeps the socket's timers at wall-clock length. */
function socketDelaysFor(clock: Clock | undefined) {
  const factor = (clock as { factor?: number } | undefined)?.factor;
  if (!factor || factor === 1) return {};
  const scaled = Object.fromEntries(
    Object.entries(CONNECTION_DELAYS).map(([name, ms]) => [name, ms * factor]),
  ) as Record<keyof typeof CONNECTION_DELAYS, number>;
  return { socketDelays: scaled };
}

export async function startSdkPeer(): Promise<SdkPeer> {
  return SdkPeer.start();
}

export async function startEmulator(): Promise<SseEmulator> {
  return SseEmulator.start();
}
