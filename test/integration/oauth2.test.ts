import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { A2aAgentClient } from '../../src/adapters/agent/a2a/client.js';
import { createOAuth2TokenSource, type OAuth2TokenSourceOptions } from '../../src/adapters/agent/oauth2.js';
import { reduceTurnEvents } from '../../src/adapters/agent/turn-state.js';
import { oauth2OptionsFromConfig } from '../../src/agent-options.js';
import { loadConfig } from '../../src/config.js';
import { AgentError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { SseEmulator } from '../helpers/a2a/sse-emulator.js';
import { captureLog } from '../helpers/capture.js';
import { type Deferred, deferred } from '../helpers/deferred.js';
import { type LoopbackServer, startLoopbackServer } from '../helpers/loopback-server.js';
import { ManualClock, SIM_EPOCH } from '../helpers/manual-clock.js';

const CLIENT_SECRET = 'cs-very-secret-0123456789';

interface TokenRequest {
  method: string;
  contentType: string | undefined;
  authorization: string | undefined;
  form: Record<string, string>;
}

type Reply = (res: ServerResponse, request: TokenRequest) => void | Promise<void>;

/**
 * A client-credentials token endpoint as Keycloak/Okta answer it: 200 with
 * `{access_token, token_type, expires_in}`, RFC 6749 §5.2 errors as JSON, or whatever a test queues.
 */
class FakeTokenEndpoint {
  readonly requests: TokenRequest[] = [];
  #http!: LoopbackServer;
  readonly #replies: Reply[] = [];
  readonly #arrivals: Array<() => void> = [];
  #issued = 0;
  expiresIn: unknown = 3600;
  url = '';

  static async start(): Promise<FakeTokenEndpoint> {
    const endpoint = new FakeTokenEndpoint();
    endpoint.#http = await startLoopbackServer((req, res) => void endpoint.#handle(req, res));
    endpoint.url = `${endpoint.#http.url}/realms/caipe/protocol/openid-connect/token`;
    return endpoint;
  }

  /** Answers the next requests with these, in order; afterwards tokens are issued. */
  enqueue(...replies: Reply[]): void {
    this.#replies.push(...replies);
  }

  /** Resolves once `count` requests have arrived in total. */
  async arrived(count: number): Promise<void> {
    while (this.requests.length < count) {
      await new Promise<void>((resolve) => this.#arrivals.push(resolve));
    }
  }

  /** Issues `token-<n>`, numbered from 1 in the order they are handed out. */
  issue(res: ServerResponse): void {
    this.#issued++;
    json(res, 200, {
      access_token: `token-${this.#issued}`,
      token_type: 'Bearer',
      expires_in: this.expiresIn,
    });
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: TokenRequest = {
      method: req.method ?? '',
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      form: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
    };
    this.requests.push(request);
    for (const notify of this.#arrivals.splice(0)) notify();
    const reply = this.#replies.shift();
    if (reply) await reply(res, request);
    else this.issue(res);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function rejection(promise: Promise<unknown>): Promise<AgentError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('expected the call to fail');
}

describe('OAuth2 client-credentials token source', () => {
  let idp: FakeTokenEndpoint;
  let clock: ManualClock;

  function source(options: Partial<OAuth2TokenSourceOptions> = {}) {
    return createOAuth2TokenSource({
      tokenUrl: idp.url,
      clientId: 'webex-bot',
      clientSecret: CLIENT_SECRET,
      clock,
      ...options,
    });
  }

  beforeEach(async () => {
    idp = await FakeTokenEndpoint.start();
    clock = new ManualClock(SIM_EPOCH);
  });

  afterEach(async () => {
    await idp.close();
  });

  describe('the token request', () => {
    it('POSTs a form with the grant type and client credentials, and answers a Bearer header', async () => {
      expect(await source().getAuthHeader()).toBe('Bearer token-1');
      expect(idp.requests).toEqual([
        {
          method: 'POST',
          contentType: 'application/x-www-form-urlencoded',
          authorization: undefined,
          form: { grant_type: 'client_credentials', client_id: 'webex-bot', client_secret: CLIENT_SECRET },
        },
      ]);
    });

    it('sends scope and audience as form fields when they are set', async () => {
      await source({ scope: 'caipe agents:read', audience: 'caipe-platform' }).getAuthHeader();
      expect(idp.requests[0]?.form).toEqual({
        grant_type: 'client_credentials',
        client_id: 'webex-bot',
        client_secret: CLIENT_SECRET,
        scope: 'caipe agents:read',
        audience: 'caipe-platform',
      });
    });

    it('leaves out empty scope and audience', async () => {
      await source({ scope: '', audience: undefined }).getAuthHeader();
      expect(Object.keys(idp.requests[0]?.form ?? {})).toEqual(['grant_type', 'client_id', 'client_secret']);
    });
  });

  describe('caching', () => {
    it('reuses the token until 60 s before it expires, then fetches a new one', async () => {
      const auth = source();
      expect(await auth.getAuthHeader()).toBe('Bearer token-1');
      await clock.advance(3_540_000 - 1);
      expect(await auth.getAuthHeader()).toBe('Bearer token-1');
      expect(idp.requests).toHaveLength(1);
      await clock.advance(1);
      expect(await auth.getAuthHeader()).toBe('Bearer token-2');
      expect(idp.requests).toHaveLength(2);
    });

    it('refreshes short-lived tokens at half their lifetime', async () => {
      idp.expiresIn = 40;
      const auth = source();
      await auth.getAuthHeader();
      await clock.advance(19_999);
      expect(await auth.getAuthHeader()).toBe('Bearer token-1');
      await clock.advance(1);
      expect(await auth.getAuthHeader()).toBe('Bearer token-2');
    });

    it('accepts expires_in as a numeric string and assumes 3600 s when it is missing or unusable', async () => {
      idp.expiresIn = '120';
      const auth = source();
      await auth.getAuthHeader();
      await clock.advance(60_000);
      expect(await auth.getAuthHeader()).toBe('Bearer token-2');

      for (const unusable of [undefined, 'soon', -5, 0]) {
        idp.expiresIn = unusable;
        const fresh = source();
        const first = await fresh.getAuthHeader();
        await clock.advance(3_539_000);
        expect(await fresh.getAuthHeader()).toBe(first);
        await clock.advance(1_000);
        expect(await fresh.getAuthHeader()).not.toBe(first);
      }
    });

    it('a refresh that fails inside the margin keeps the still-valid token, then recovers', async () => {
      const log = captureLog();
      const auth = source({ logger: createLogger({ level: 'info', destination: log.destination }) });
      await auth.getAuthHeader();
      await clock.advance(3_550_000);
      idp.enqueue((res) => json(res, 503, { error: 'temporarily_unavailable' }));
      expect(await auth.getAuthHeader()).toBe('Bearer token-1');
      expect(log.records().some((r) => r.event === 'oauth2.refresh_failed')).toBe(true);
      expect(await auth.getAuthHeader()).toBe('Bearer token-2');
    });

    it('once the token has really expired a failed refresh is an error', async () => {
      const auth = source();
      await auth.getAuthHeader();
      await clock.advance(3_600_000);
      idp.enqueue((res) => json(res, 503, { error: 'temporarily_unavailable' }));
      expect((await rejection(auth.getAuthHeader())).status).toBe(503);
    });
  });

  describe('concurrency', () => {
    it('20 concurrent callers share one token request', async () => {
      const release: Deferred<void> = deferred();
      idp.enqueue(async (res) => {
        await release.promise;
        idp.issue(res);
      });
      const auth = source();
      const calls = Array.from({ length: 20 }, () => auth.getAuthHeader());
      await idp.arrived(1);
      release.resolve();
      expect(new Set(await Promise.all(calls))).toEqual(new Set(['Bearer token-1']));
      expect(idp.requests).toHaveLength(1);
    });

    it('callers waiting on a failed request all get the error, and the next call tries again', async () => {
      const release: Deferred<void> = deferred();
      idp.enqueue(async (res) => {
        await release.promise;
        json(res, 500, { error: 'server_error' });
      });
      const auth = source();
      const calls = Array.from({ length: 5 }, () => rejection(auth.getAuthHeader()));
      await idp.arrived(1);
      release.resolve();
      const errors = await Promise.all(calls);
      expect(errors.every((e) => e.kind === 'unauthorized' && e.status === 500)).toBe(true);
      expect(idp.requests).toHaveLength(1);
      expect(await auth.getAuthHeader()).toBe('Bearer token-1');
    });

    it('callers arriving during a refresh near expiry share it too', async () => {
      const auth = source();
      await auth.getAuthHeader();
      await clock.advance(3_545_000);
      const release: Deferred<void> = deferred();
      idp.enqueue(async (res) => {
        await release.promise;
        idp.issue(res);
      });
      const calls = Array.from({ length: 20 }, () => auth.getAuthHeader());
      await idp.arrived(2);
      release.resolve();
      expect(new Set(await Promise.all(calls))).toEqual(new Set(['Bearer token-2']));
      expect(idp.requests).toHaveLength(2);
    });
  });

  describe("the agent's 401", () => {
    it('drops the cached token so the next call fetches a new one', async () => {
      const auth = source();
      expect(await auth.getAuthHeader()).toBe('Bearer token-1');
      auth.onUnauthorized();
      expect(await auth.getAuthHeader()).toBe('Bearer token-2');
      expect(await auth.getAuthHeader()).toBe('Bearer token-2');
      expect(idp.requests).toHaveLength(2);
    });

    it('a failed fetch after a 401 is an error, never the rejected token', async () => {
      const auth = source();
      await auth.getAuthHeader();
      auth.onUnauthorized();
      idp.enqueue((res) => json(res, 503, {}));
      expect((await rejection(auth.getAuthHeader())).kind).toBe('unauthorized');
    });
  });

  describe('token endpoint failures', () => {
    it('a 400 names the OAuth2 error and never the client secret', async () => {
      idp.enqueue((res, request) =>
        json(res, 400, {
          error: 'invalid_client',
          error_description: `client secret ${request.form.client_secret} is wrong`,
        }),
      );
      const error = await rejection(source().getAuthHeader());
      expect(error).toMatchObject({ kind: 'unauthorized', status: 400 });
      expect(error.message).toContain('HTTP 400');
      expect(error.message).toContain('invalid_client');
      expect(error.message).toContain('/realms/caipe/protocol/openid-connect/token');
      expect(error.message).not.toContain(CLIENT_SECRET);
    });

    it('a 500 with an HTML body is quoted short and redacted', async () => {
      idp.enqueue((res) => {
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end(`<h1>Internal error</h1> client_secret=${CLIENT_SECRET} ${'x'.repeat(1000)}`);
      });
      const error = await rejection(source().getAuthHeader());
      expect(error).toMatchObject({ kind: 'unauthorized', status: 500 });
      expect(error.message).toContain('Internal error');
      expect(error.message).not.toContain(CLIENT_SECRET);
      expect(error.message.length).toBeLessThan(400);
    });

    it('a 200 that is not JSON, or has no access_token, is an error', async () => {
      idp.enqueue(
        (res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"access_token": ');
        },
        (res) => json(res, 200, { token_type: 'Bearer', expires_in: 300 }),
        (res) => json(res, 200, null),
      );
      const auth = source();
      expect((await rejection(auth.getAuthHeader())).message).toMatch(/not JSON/);
      expect((await rejection(auth.getAuthHeader())).message).toMatch(/without an access_token/);
      expect((await rejection(auth.getAuthHeader())).message).toMatch(/without an access_token/);
    });

    it('an endpoint that never answers fails after the timeout on the injected clock', async () => {
      const hung: Deferred<void> = deferred();
      idp.enqueue(() => hung.promise);
      const pending = rejection(source({ timeoutMs: 10_000 }).getAuthHeader());
      await idp.arrived(1);
      await clock.advance(9_999);
      expect(clock.pendingTimers).toBe(1);
      await clock.advance(1);
      const error = await pending;
      expect(error.kind).toBe('unauthorized');
      expect(error.message).toMatch(/no answer within 10 s/);
      hung.resolve();
    });

    it('an unreachable endpoint is an error naming the connection failure', async () => {
      const url = idp.url;
      await idp.close();
      idp = await FakeTokenEndpoint.start();
      const error = await rejection(source({ tokenUrl: url }).getAuthHeader());
      expect(error.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    });

    it('logs the failure without the secret or any token', async () => {
      const log = captureLog();
      const auth = source({ logger: createLogger({ level: 'trace', destination: log.destination }) });
      await auth.getAuthHeader();
      auth.onUnauthorized();
      idp.enqueue((res) => json(res, 401, { error: 'invalid_client', error_description: CLIENT_SECRET }));
      await rejection(auth.getAuthHeader());
      const events = log.records().map((r) => r.event);
      expect(events).toEqual(['oauth2.token_fetched', 'oauth2.token_dropped', 'oauth2.token_failed']);
      expect(log.text()).not.toContain(CLIENT_SECRET);
      expect(log.text()).not.toContain('token-1');
    });
  });

  describe('options from the configuration', () => {
    const base = { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'bot-token' };

    it('is undefined while auth is off', () => {
      expect(oauth2OptionsFromConfig(loadConfig(base))).toBeUndefined();
    });

    it('takes the OAUTH2_* fallbacks, scope and audience', () => {
      const config = loadConfig({
        ...base,
        WEBEX_INTEGRATION_ENABLE_AUTH: 'true',
        OAUTH2_TOKEN_URL: 'https://idp.example.com/token',
        OAUTH2_CLIENT_ID: 'bot',
        OAUTH2_CLIENT_SECRET: CLIENT_SECRET,
        WEBEX_INTEGRATION_AUTH_SCOPE: 'caipe',
        OAUTH2_AUDIENCE: 'caipe-platform',
      });
      expect(oauth2OptionsFromConfig(config)).toEqual({
        tokenUrl: 'https://idp.example.com/token',
        clientId: 'bot',
        clientSecret: CLIENT_SECRET,
        scope: 'caipe',
        audience: 'caipe-platform',
      });
    });
  });
});

describe('token source wired into the A2A client', () => {
  let idp: FakeTokenEndpoint;
  let agent: SseEmulator;
  let client: A2aAgentClient | undefined;
  /** The token the agent accepts; anything else is a 401. */
  let accepted = 'Bearer token-1';

  const task = { kind: 'task', id: 't1', contextId: 'c1', status: { state: 'submitted' } };
  const completed = {
    kind: 'status-update',
    taskId: 't1',
    contextId: 'c1',
    status: { state: 'completed' },
    final: true,
  };

  beforeEach(async () => {
    accepted = 'Bearer token-1';
    idp = await FakeTokenEndpoint.start();
    agent = await SseEmulator.start({
      defaultScript: async (x) => {
        if (x.request.headers.authorization !== accepted) {
          await x.json(401, { error: 'invalid token' });
          return;
        }
        await x.sendResult(task);
        await x.sendResult(completed);
        await x.end();
      },
    });
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await agent.close();
    await idp.close();
  });

  async function turnStatus(c: A2aAgentClient): Promise<string> {
    const events = [];
    for await (const event of c.streamTurn({ text: 'hello', contextId: 'c1', userEmail: 'user@example.com' }))
      events.push(event);
    return reduceTurnEvents(events).status;
  }

  it('sends the fetched token, and after a 401 fetches a new one and retries once', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const auth = createOAuth2TokenSource({
      tokenUrl: idp.url,
      clientId: 'webex-bot',
      clientSecret: CLIENT_SECRET,
      clock,
    });
    client = new A2aAgentClient({ url: agent.url, idleTimeoutMs: 60_000, closeGraceMs: 50, auth });

    expect(await turnStatus(client)).toBe('completed');
    expect(agent.requests.map((r) => r.headers.authorization)).toEqual(['Bearer token-1']);

    // The IdP rotated its keys: the agent now only accepts the next token.
    accepted = 'Bearer token-2';
    expect(await turnStatus(client)).toBe('completed');
    expect(agent.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-1',
      'Bearer token-2',
    ]);
    expect(idp.requests).toHaveLength(2);
  });

  it('a token endpoint failure fails the turn as unauthorized without calling the agent', async () => {
    idp.enqueue((res) => json(res, 400, { error: 'invalid_client' }));
    const auth = createOAuth2TokenSource({
      tokenUrl: idp.url,
      clientId: 'webex-bot',
      clientSecret: CLIENT_SECRET,
      clock: new ManualClock(SIM_EPOCH),
    });
    client = new A2aAgentClient({ url: agent.url, idleTimeoutMs: 60_000, auth });
    const error = await rejection(turnStatus(client));
    expect(error.kind).toBe('unauthorized');
    expect(error.cause).toBeInstanceOf(AgentError);
    expect((error.cause as AgentError).status).toBe(400);
    expect(agent.requests).toHaveLength(0);
  });
});
