import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'start-online-token-7d3f9a2b1c';

let sim: WebexSimulator | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await sim?.close();
  child = undefined;
  sim = undefined;
});

/** Resolves with the first JSON log line for which `match` is true. */
function waitForLine(proc: ChildProcess, match: (record: Record<string, unknown>) => boolean) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (match(record)) resolve(record);
      } catch {
        // Not a log line; ignore.
      }
    });
    proc.once('exit', (code) => reject(new Error(`exited with ${code} before the expected line`)));
  });
}

describe('the bot process (npm start)', () => {
  // Reversed on purpose: SIGTERM used to delete the device; it is kept for the next process.
  it('connects to Webex, reports ready, and on SIGTERM keeps its device and exits 0', async () => {
    sim = await startWebexSimulator({ botToken: TOKEN });
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN,
        WEBEX_U2C_URL: sim.urls.u2c,
        WEBEX_API_BASE_URL: sim.urls.hydra,
        CAIPE_URL: 'http://127.0.0.1:9',
        HTTP_PORT: '0',
        DATA_DIR: fileURLToPath(new URL('../../data/test-start-online', import.meta.url)),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = waitForLine(child, (r) => r.msg === 'caipe-webex-bot started');
    await waitForLine(child, (r) => r.msg === 'webex connection online');
    const port = (await started).port as number;

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(sim.devices().filter((d) => !d.deleted)).toHaveLength(1);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(sim.devices().filter((d) => !d.deleted)).toHaveLength(1);
    expect(sim.log.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });
});
