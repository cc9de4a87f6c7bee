import { describe, expect, it } from 'vitest';
import { configTableMarkdown, loadConfig, secretValues, settings } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const TOKEN = 'bot-token-for-tests-0123456789';
const base = { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies every documented default', () => {
    const config = loadConfig(base);
    expect(config.caipeUrl).toBe('http://caipe-supervisor:8000');
    expect(config.a2aAuthEnabled).toBe(false);
    expect(config.mongodbUri).toBeUndefined();
    expect(config.mongodbDatabase).toBe('caipe');
    expect(config.caipeUiBaseUrl).toBe('http://localhost:3000');
    expect(config.threadContextEnabled).toBe(true);
    expect(config.threadContextMaxMessages).toBe(10);
    expect(config.threadContextMaxChars).toBe(4000);
    expect(config.langfuseScoringEnabled).toBe(false);
    expect(config.spaceAuthCacheTtlS).toBe(300);
    expect(config.webexApiBaseUrl).toBe('https://webexapis.com/v1');
    expect(config.webexU2cUrl).toBe('https://u2c.wbx2.com/u2c/api/v1');
    expect(config.webexWdmUrl).toBeUndefined();
    expect(config.webexDeviceName).toBe('caipe-webex-bot');
    expect(config.listenMode).toBe('mention');
    expect(config.updateIntervalMs).toBe(3000);
    expect(config.maxMessageChars).toBe(7000);
    expect(config.hitlTimeoutS).toBe(86400);
    expect(config.a2aIdleTimeoutS).toBe(300);
    expect(config.retryAfterDefaultS).toBe(10);
    expect(config.dedupeTtlS).toBe(3600);
    expect(config.maxQueuedPerConversation).toBe(5);
    expect(config.shutdownGraceS).toBe(20);
    expect(config.httpPort).toBe(8080);
    expect(config.adminApiToken).toBeUndefined();
    expect(config.dataDir).toBe('./data');
    expect(config.logLevel).toBe('info');
    expect(config.xstateInspect).toBe('false');
    expect(config.xstateInspectPort).toBe(8081);
  });

  it.each([
    ['true', true],
    ['FALSE', false],
    ['1', true],
    ['0', false],
    ['Yes', true],
    ['no', false],
    ['ON', true],
    ['off', false],
  ])('reads boolean %s as %s', (raw, expected) => {
    expect(loadConfig({ ...base, WEBEX_THREAD_CONTEXT_ENABLED: raw }).threadContextEnabled).toBe(expected);
  });

  it('rejects JavaScript-truthy words that are not booleans', () => {
    for (const raw of ['enabled', 'y', 'truthy', '2', '-1']) {
      expect(problemsOf({ ...base, WEBEX_THREAD_CONTEXT_ENABLED: raw })).toEqual([
        expect.stringContaining('WEBEX_THREAD_CONTEXT_ENABLED'),
      ]);
    }
  });

  it('names every bad or missing variable in one error', () => {
    const problems = problemsOf({
      CAIPE_URL: 'ftp://agent',
      HTTP_PORT: '70000',
      WEBEX_UPDATE_INTERVAL_MS: 'fast',
      WEBEX_LISTEN_MODE: 'everything',
      LANGFUSE_SCORING_ENABLED: 'maybe',
    });
    const named = problems.map((p) => p.split(':')[0]);
    expect(named).toEqual(
      expect.arrayContaining([
        'WEBEX_INTEGRATION_BOT_ACCESS_TOKEN',
        'CAIPE_URL',
        'HTTP_PORT',
        'WEBEX_UPDATE_INTERVAL_MS',
        'WEBEX_LISTEN_MODE',
        'LANGFUSE_SCORING_ENABLED',
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('checks ranges of integers', () => {
    expect(problemsOf({ ...base, WEBEX_MAX_MESSAGE_CHARS: '8000' })[0]).toMatch(
      /WEBEX_MAX_MESSAGE_CHARS: .*200 to 7439/,
    );
    expect(problemsOf({ ...base, MAX_QUEUED_PER_CONVERSATION: '1.5' })[0]).toMatch(/whole number/);
    // Longer than a Node timer can wait: the form would expire at once.
    expect(problemsOf({ ...base, HITL_TIMEOUT_S: String(25 * 86_400) })[0]).toMatch(/^HITL_TIMEOUT_S/);
  });

  it('requires the OAuth2 settings when A2A auth is on, accepting the OAUTH2_* fallbacks', () => {
    expect(
      problemsOf({ ...base, WEBEX_INTEGRATION_ENABLE_AUTH: 'true' }).map((p) => p.split(':')[0]),
    ).toEqual([
      'WEBEX_INTEGRATION_AUTH_TOKEN_URL',
      'WEBEX_INTEGRATION_AUTH_CLIENT_ID',
      'WEBEX_INTEGRATION_AUTH_CLIENT_SECRET',
    ]);
    const config = loadConfig({
      ...base,
      WEBEX_INTEGRATION_ENABLE_AUTH: 'on',
      OAUTH2_TOKEN_URL: 'https://idp.example.com/token',
      OAUTH2_CLIENT_ID: 'fallback-id',
      WEBEX_INTEGRATION_AUTH_CLIENT_ID: 'primary-id',
      OAUTH2_CLIENT_SECRET: 'shh-secret',
      OAUTH2_SCOPE: 'agents',
    });
    expect(config.a2aAuthTokenUrl).toBe('https://idp.example.com/token');
    expect(config.a2aAuthClientId).toBe('primary-id');
    expect(config.a2aAuthClientSecret).toBe('shh-secret');
    expect(config.a2aAuthScope).toBe('agents');
  });

  it('reports a bad fallback value once, under the name it was given', () => {
    const problems = problemsOf({
      ...base,
      WEBEX_INTEGRATION_ENABLE_AUTH: 'true',
      OAUTH2_TOKEN_URL: 'ftp://idp',
      OAUTH2_CLIENT_ID: 'id',
      OAUTH2_CLIENT_SECRET: 'secret',
    });
    expect(problems).toEqual([expect.stringMatching(/^OAUTH2_TOKEN_URL: expected an http\(s\) URL/)]);
  });

  it('requires Langfuse keys when scoring is on and accepts LANGFUSE_BASE_URL as the host', () => {
    expect(problemsOf({ ...base, LANGFUSE_SCORING_ENABLED: 'yes' })).toHaveLength(3);
    const config = loadConfig({
      ...base,
      LANGFUSE_SCORING_ENABLED: 'yes',
      LANGFUSE_PUBLIC_KEY: 'pk-lf-1',
      LANGFUSE_SECRET_KEY: 'sk-lf-1',
      LANGFUSE_BASE_URL: 'https://langfuse.example.com/',
    });
    expect(config.langfuseHost).toBe('https://langfuse.example.com');
  });

  it('selects the agent backend: A2A with auto version and the by-user line by default', () => {
    const config = loadConfig(base);
    expect(config.agentProtocol).toBe('a2a');
    expect(config.a2aVersion).toBe('auto');
    expect(config.a2aUserPrefix).toBe(true);
    expect(config.caipeAuthMode).toBe('service');
    expect(config.keycloakRealm).toBe('caipe');
    expect(config.keycloakBotClientId).toBe('caipe-webex-bot');
    expect(config.keycloakBotAudience).toBe('caipe-platform');
    expect(config.keycloakAdminClientId).toBe('caipe-platform');
    expect(problemsOf({ ...base, AGENT_PROTOCOL: 'grpc' })).toEqual([
      'AGENT_PROTOCOL: expected one of a2a / agui / caipe, got "grpc"',
    ]);
    expect(problemsOf({ ...base, A2A_VERSION: '0.2' })).toEqual([
      'A2A_VERSION: expected one of auto / 0.3 / 1.0, got "0.2"',
    ]);
  });

  it('requires CAIPE_AGENT_ID with AGENT_PROTOCOL=caipe and takes CAIPE_API_URL as CAIPE_URL', () => {
    expect(problemsOf({ ...base, AGENT_PROTOCOL: 'caipe' })).toEqual([
      'CAIPE_AGENT_ID: required when AGENT_PROTOCOL is caipe',
    ]);
    expect(problemsOf({ ...base, AGENT_PROTOCOL: 'caipe', CAIPE_AGENT_ID: 'bad id!' })[0]).toMatch(
      /^CAIPE_AGENT_ID:/,
    );
    const config = loadConfig({
      ...base,
      AGENT_PROTOCOL: 'caipe',
      CAIPE_AGENT_ID: 'platform-agent',
      CAIPE_API_URL: 'https://caipe.example.com/',
    });
    expect(config.caipeUrl).toBe('https://caipe.example.com');
    expect(loadConfig({ ...base, CAIPE_URL: 'http://a', CAIPE_API_URL: 'http://b' }).caipeUrl).toBe(
      'http://a',
    );
  });

  it('requires the Keycloak settings and the link secret for on-behalf-of mode, with their fallbacks', () => {
    expect(
      problemsOf({ ...base, AGENT_PROTOCOL: 'caipe', CAIPE_AGENT_ID: 'a', CAIPE_AUTH_MODE: 'obo' }),
    ).toEqual([
      'KEYCLOAK_URL: required when CAIPE_AUTH_MODE is obo',
      'KEYCLOAK_WEBEX_BOT_CLIENT_SECRET: required when CAIPE_AUTH_MODE is obo',
      'KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_SECRET: required when CAIPE_AUTH_MODE is obo',
      'WEBEX_LINK_HMAC_SECRET: required when CAIPE_AUTH_MODE is obo (or WEBEX_SIGNING_SECRET)',
    ]);
    expect(
      problemsOf({
        ...base,
        CAIPE_AUTH_MODE: 'obo',
        KEYCLOAK_URL: 'http://kc',
        KEYCLOAK_WEBEX_BOT_CLIENT_SECRET: 's1',
        KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_SECRET: 's2',
        WEBEX_LINK_HMAC_SECRET: 's3',
      }),
    ).toEqual(['CAIPE_AUTH_MODE: obo needs AGENT_PROTOCOL=caipe']);
    const config = loadConfig({
      ...base,
      AGENT_PROTOCOL: 'caipe',
      CAIPE_AGENT_ID: 'a',
      CAIPE_AUTH_MODE: 'obo',
      KEYCLOAK_URL: 'http://kc',
      KEYCLOAK_WEBEX_BOT_CLIENT_SECRET: 'exchange-secret',
      KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_SECRET: 'admin-secret',
      WEBEX_SIGNING_SECRET: 'signing-secret',
      CAIPE_PLATFORM_AUDIENCE: 'platform-aud',
    });
    expect(config.webexLinkHmacSecret).toBe('signing-secret');
    expect(config.keycloakBotAudience).toBe('platform-aud');
    expect(config.webexLinkingBaseUrl).toBeUndefined();
    expect(secretValues(config)).toEqual(
      expect.arrayContaining(['exchange-secret', 'admin-secret', 'signing-secret']),
    );
  });

  it('keeps the Stately relay off the HTTP port', () => {
    expect(
      problemsOf({ ...base, XSTATE_INSPECT: 'stately', HTTP_PORT: '9000', XSTATE_INSPECT_PORT: '9000' }),
    ).toEqual(['XSTATE_INSPECT_PORT: must differ from HTTP_PORT']);
  });

  it('INSTANCE_ID: unset by default; a pod name is accepted; anything that cannot name a device is not', () => {
    expect(loadConfig(base).instanceId).toBeUndefined();
    expect(loadConfig({ ...base, INSTANCE_ID: 'webex-bot-caipe-webex-bot-2' }).instanceId).toBe(
      'webex-bot-caipe-webex-bot-2',
    );
    for (const bad of ['-pod', 'pod/1', 'pod 1', 'pöd', 'x'.repeat(101)]) {
      expect(problemsOf({ ...base, INSTANCE_ID: bad }), bad).toEqual([
        expect.stringMatching(/^INSTANCE_ID: expected letters, digits/),
      ]);
    }
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ ...base, MONGODB_URI: '', CAIPE_URL: '  ' }).caipeUrl).toBe(
      'http://caipe-supervisor:8000',
    );
  });

  it('lists secret values for redaction', () => {
    const config = loadConfig({ ...base, ADMIN_API_TOKEN: 'admin-token-0123456789' });
    expect(secretValues(config).sort()).toEqual(['admin-token-0123456789', TOKEN].sort());
  });

  it('has a doc and an env name for every setting', () => {
    for (const spec of Object.values(settings)) {
      expect(spec.env).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(spec.doc.length).toBeGreaterThan(10);
    }
  });
});

describe('README configuration table', () => {
  it('is the table generated from the schema (npm run docs:config)', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const match = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(match?.[1]).toBe(configTableMarkdown());
  });
});
