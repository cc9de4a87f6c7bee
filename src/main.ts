/**
 * Composition root: environment → config → logger → adapters → root actor → HTTP server → signals.
 * Everything with I/O is created here and passed down; nothing below imports a global.
 */
import 'dotenv/config';
import { loadConfig, secretValues } from './config.js';
import { ConfigError } from './errors.js';
import { startHttpServer } from './http/server.js';
import { createLogger } from './logger.js';

/** EX_CONFIG from sysexits.h: the conventional exit status for a configuration error. */
export const EXIT_CONFIG = 78;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      // One message, every problem, no stack trace: an operator fixes them all in one round.
      process.stderr.write(`caipe-webex-bot: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }

  const log = createLogger({ level: config.logLevel, secrets: secretValues(config) });
  const http = await startHttpServer({
    port: config.httpPort,
    log,
    readiness: () => ({ ready: false, reason: 'webex connection not started' }),
  });
  log.info({ port: http.port }, 'http server listening');

  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await http.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

await main();
