import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_FILE_NAME } from '../../src/adapters/store/embedded.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the composition root as `npm start` would, with only the given environment. */
function runMain(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

describe('start-up with bad configuration', () => {
  it('exits 78 with one message naming every problem and no stack trace', async () => {
    const result = await runMain({
      CAIPE_URL: 'not a url',
      HTTP_PORT: 'eighty',
      DATA_DIR: '/tmp/caipe-bot-test',
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('WEBEX_INTEGRATION_BOT_ACCESS_TOKEN');
    expect(result.stderr).toContain('CAIPE_URL');
    expect(result.stderr).toContain('HTTP_PORT');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });
});

describe('start-up that fails after the configuration was read', () => {
  it('a damaged embedded store: exit 78, a clear scrubbed message, no stack trace', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-corrupt-'));
    try {
      writeFileSync(path.join(dataDir, EMBEDDED_FILE_NAME), 'definitely not SQLite '.repeat(400));
      const token = 'start-up-token-must-not-leak-0123456789';
      const result = await runMain({
        WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: token,
        DATA_DIR: dataDir,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
      });
      expect(result.code).toBe(78);
      expect(result.stderr).toMatch(
        /^caipe-webex-bot: could not start: EmbeddedStoreError \[STORE_EMBEDDED\]: /,
      );
      expect(result.stderr).toContain('damaged or not a database');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stderr + result.stdout).not.toContain(token);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
