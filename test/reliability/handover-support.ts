/**
 * One Webex simulator and one A2A peer that outlive the bot's processes, and a way to start a bot
 * process (the real runtime) on an embedded store under one data directory, as often as a test
 * restarts it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from 'xstate';
import type { AgentClient } from '../../src/adapters/agent/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { readinessOf } from '../../src/machines/webex-connection.js';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../src/runtime.js';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { type CapturedLog, captureLog } from '../helpers/capture.js';
import { BOT_TOKEN } from '../helpers/world.js';

export interface BotProcesses {
  sim: WebexSimulator;
  dataDir: string;
  log: CapturedLog;
  /** Starts a bot process on the shared data directory and waits until it is online. */
  start(options?: {
    env?: Record<string, string>;
    agent?: AgentClient;
    extra?: Partial<RuntimeOptions>;
  }): Promise<Runtime>;
  close(): Promise<void>;
}

export async function botProcesses(options: {
  agentUrl: () => string;
  env?: Record<string, string>;
  simOptions?: Parameters<typeof startWebexSimulator>[0];
}): Promise<BotProcesses> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-handover-'));
  const sim = await startWebexSimulator({ botToken: BOT_TOKEN, ...options.simOptions });
  const log = captureLog();
  const running: Runtime[] = [];
  return {
    sim,
    dataDir,
    log,
    start: async (startOptions = {}) => {
      const config = loadConfig({
        WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
        WEBEX_U2C_URL: sim.urls.u2c,
        WEBEX_API_BASE_URL: sim.urls.hydra,
        CAIPE_URL: options.agentUrl(),
        HTTP_PORT: '0',
        DATA_DIR: dataDir,
        WEBEX_UPDATE_INTERVAL_MS: '100',
        LOG_LEVEL: 'info',
        ...options.env,
        ...startOptions.env,
      });
      const runtime = await startRuntime({
        config,
        log: createLogger({ level: 'info', destination: log.destination, secrets: [BOT_TOKEN] }),
        httpHost: '127.0.0.1',
        ...(startOptions.agent ? { agent: startOptions.agent } : {}),
        ...startOptions.extra,
      });
      running.push(runtime);
      await waitFor(runtime.connection, (s) => readinessOf(s).ready, { timeout: 10_000 });
      return runtime;
    },
    close: async () => {
      for (const runtime of running) await runtime.shutdown().catch(() => undefined);
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
