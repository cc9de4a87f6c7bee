/**
 * The OAuth2 settings of the configuration: primary names win over the `OAUTH2_*` fallbacks,
 * an empty primary falls back, auth on without credentials is a configuration error (exit 78 at
 * start-up), and the client secret is treated as a secret.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, secretValues } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const base = { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'bot-token' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

describe('OAuth2 configuration', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    // Only still running when an assertion timed out: never leave a bot process behind.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('the WEBEX_INTEGRATION_AUTH_* names win over every OAUTH2_* fallback', () => {
    const config = loadConfig({
      ...base,
      WEBEX_INTEGRATION_ENABLE_AUTH: 'TRUE',
      WEBEX_INTEGRATION_AUTH_TOKEN_URL: 'https://primary.example.com/token/',
      OAUTH2_TOKEN_URL: 'https://fallback.example.com/token',
      WEBEX_INTEGRATION_AUTH_CLIENT_ID: 'primary-id',
      OAUTH2_CLIENT_ID: 'fallback-id',
      WEBEX_INTEGRATION_AUTH_CLIENT_SECRET: 'primary-secret',
      OAUTH2_CLIENT_SECRET: 'fallback-secret',
      WEBEX_INTEGRATION_AUTH_SCOPE: 'primary-scope',
      OAUTH2_SCOPE: 'fallback-scope',
      WEBEX_INTEGRATION_AUTH_AUDIENCE: 'primary-aud',
      OAUTH2_AUDIENCE: 'fallback-aud',
    });
    expect(config).toMatchObject({
      a2aAuthEnabled: true,
      a2aAuthTokenUrl: 'https://primary.example.com/token',
      a2aAuthClientId: 'primary-id',
      a2aAuthClientSecret: 'primary-secret',
      a2aAuthScope: 'primary-scope',
      a2aAuthAudience: 'primary-aud',
    });
  });

  it('an empty primary variable falls back, as an unset one does', () => {
    const config = loadConfig({
      ...base,
      WEBEX_INTEGRATION_ENABLE_AUTH: 'yes',
      WEBEX_INTEGRATION_AUTH_TOKEN_URL: '',
      OAUTH2_TOKEN_URL: 'https://idp.example.com/token',
      WEBEX_INTEGRATION_AUTH_CLIENT_ID: '  ',
      OAUTH2_CLIENT_ID: 'bot',
      OAUTH2_CLIENT_SECRET: 'fallback-secret',
      WEBEX_INTEGRATION_AUTH_AUDIENCE: '',
      OAUTH2_AUDIENCE: 'caipe-platform',
    });
    expect(config.a2aAuthTokenUrl).toBe('https://idp.example.com/token');
    expect(config.a2aAuthClientId).toBe('bot');
    expect(config.a2aAuthAudience).toBe('caipe-platform');
    expect(config.a2aAuthScope).toBeUndefined();
  });

  it('auth on names each missing credential; auth off needs none', () => {
    expect(
      problemsOf({ ...base, WEBEX_INTEGRATION_ENABLE_AUTH: '1', OAUTH2_CLIENT_ID: 'bot' }).map(
        (p) => p.split(':')[0],
      ),
    ).toEqual(['WEBEX_INTEGRATION_AUTH_TOKEN_URL', 'WEBEX_INTEGRATION_AUTH_CLIENT_SECRET']);
    expect(problemsOf({ ...base, WEBEX_INTEGRATION_ENABLE_AUTH: 'off' })).toEqual([]);
  });

  it('a token URL that is not http(s) is reported under the name that carried it', () => {
    expect(
      problemsOf({
        ...base,
        WEBEX_INTEGRATION_ENABLE_AUTH: 'true',
        OAUTH2_TOKEN_URL: 'ftp://idp.example.com/token',
        OAUTH2_CLIENT_ID: 'bot',
        OAUTH2_CLIENT_SECRET: 'secret-value',
      }),
    ).toContain('OAUTH2_TOKEN_URL: expected an http(s) URL, got "ftp://idp.example.com/token"');
  });

  it('"enabled" is not a boolean: no truthiness', () => {
    expect(problemsOf({ ...base, WEBEX_INTEGRATION_ENABLE_AUTH: 'enabled' })[0]).toMatch(
      /^WEBEX_INTEGRATION_ENABLE_AUTH: expected true\/false/,
    );
  });

  it('the client secret is a secret, also when it came from the fallback', () => {
    const config = loadConfig({
      ...base,
      WEBEX_INTEGRATION_ENABLE_AUTH: 'true',
      OAUTH2_TOKEN_URL: 'https://idp.example.com/token',
      OAUTH2_CLIENT_ID: 'bot',
      OAUTH2_CLIENT_SECRET: 'fallback-secret-xyz',
    });
    expect(secretValues(config)).toContain('fallback-secret-xyz');
    expect(secretValues(config)).not.toContain('bot');
  });

  it('start-up with auth on but no credentials exits 78 naming them, without a stack trace', async () => {
    const started = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'bot-token',
        WEBEX_INTEGRATION_ENABLE_AUTH: 'true',
        OAUTH2_CLIENT_SECRET: 'never-printed-secret',
        HTTP_PORT: '0',
        DATA_DIR: '/tmp/caipe-bot-config-oauth-test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let stderr = '';
    started.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      started.on('error', reject);
      started.on('exit', resolve);
    });
    expect(code).toBe(78);
    expect(stderr).toContain('WEBEX_INTEGRATION_AUTH_TOKEN_URL');
    expect(stderr).toContain('WEBEX_INTEGRATION_AUTH_CLIENT_ID');
    expect(stderr).not.toContain('WEBEX_INTEGRATION_AUTH_CLIENT_SECRET');
    expect(stderr).not.toContain('never-printed-secret');
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
