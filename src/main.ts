/**
 * Composition root of `npm start`: environment → config → logger → runtime → signals.
 * Everything with I/O is created in `startRuntime` and passed down; nothing below imports a global.
 */
import 'dotenv/config';
import { type Config, loadConfig, secretValues } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { startRuntime } from './runtime.js';
import { EXIT_CONFIG, exitOnStartupFailure } from './startup-failure.js';

export { EXIT_CONFIG };

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      // One message, every problem, no stack trace: an operator fixes them all in one round.
      process.stderr.write(`caipe-webex-bot: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const secrets = secretValues(config);
  const log = createLogger({ level: config.logLevel, secrets });
  const runtime = await startRuntime({ config, log }).catch((error: unknown) =>
    exitOnStartupFailure(error, secrets),
  );
  log.info({ port: runtime.http.port, store: runtime.stores.kind }, 'caipe-webex-bot started');

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // A second signal means "now": the operator does not want to wait for the grace period.
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    runtime.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

await main();
