/**
 * `npm run demo`: the bot, the Webex simulator and the demo agent on loopback, and the URL of the
 * chat page. No token, no network. `CAIPE_URL=… npm run demo` talks to a real agent instead;
 * `DEMO_AGENT_PROTOCOL=a2a|a2a-1.0|agui|caipe` picks the backend the built-in agent plays.
 * `DEMO_PORT` picks the page's port (default 8090; 0 for any free one).
 */
import { ConfigError } from '../errors.js';
import { createLogger } from '../logger.js';
import { startDemo } from './demo.js';

const DEFAULT_PORT = 8090;

async function main(): Promise<void> {
  const port = process.env.DEMO_PORT === undefined ? DEFAULT_PORT : Number(process.env.DEMO_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(
      `caipe-webex-bot demo: DEMO_PORT must be a port number, got "${process.env.DEMO_PORT}"\n`,
    );
    process.exit(78);
  }
  // The bot's JSON logs would drown the URL; warnings and errors still show.
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  let demo: Awaited<ReturnType<typeof startDemo>>;
  try {
    demo = await startDemo({ port, env: { ...process.env }, log });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`caipe-webex-bot demo: ${error.message}\n`);
      process.exit(78);
    }
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      process.stderr.write(
        `caipe-webex-bot demo: port ${port} is in use; set DEMO_PORT to another one (0 = any)\n`,
      );
      process.exit(1);
    }
    throw error;
  }

  const agent = process.env.CAIPE_URL
    ? `${demo.agentUrl} (from CAIPE_URL, ${demo.agentProtocol})`
    : `${demo.agentUrl} (built-in demo agent, ${demo.agentProtocol})`;
  process.stdout.write(
    [
      '',
      '  caipe-webex-bot demo',
      '',
      `  Chat page:   ${demo.url}`,
      `  Agent:       ${agent}`,
      `  Bot HTTP:    ${demo.botUrl}  (/healthz, /readyz, /metrics)`,
      `  Admin API:   ${demo.botUrl}/admin/spaces  (Authorization: Bearer ${demo.adminToken})`,
      '',
      '  Open the chat page in a browser. Ctrl-C stops the demo.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
