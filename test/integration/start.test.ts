import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
