import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStores } from '../../../src/adapters/store/embedded.js';
import { MemorySpaceRegistry } from '../../../src/adapters/store/memory.js';
import type { SpaceRegistry } from '../../../src/adapters/store/ports.js';
import { SpaceAuthorization } from '../../../src/adapters/store/space-authorization.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { adminRoutes } from '../../../src/http/admin.js';
import { type RunningHttpServer, startHttpServer } from '../../../src/http/server.js';
import { createLogger, silentLogger } from '../../../src/logger.js';
import { captureLog } from '../../helpers/capture.js';
import { ManualClock, SIM_EPOCH } from '../../helpers/manual-clock.js';

const TOKEN = 'admin-token-0123456789abcdef';
const ROOM_UUID = '6f91b070-531a-11f1-926d-6fd3c20dfdc4';
const ROOM_PUBLIC_ID = 'Y2lzY29zcGFyazovL3VzL1JPT00vNmY5MWIwNzAtNTMxYS0xMWYxLTkyNmQtNmZkM2MyMGRmZGM0';
/** Long enough that only an invalidation can change a cached answer during a test. */
const LONG_TTL_MS = 3_600_000;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

describe('admin API over HTTP', () => {
  let server: RunningHttpServer;
  let registry: SpaceRegistry;
  let auth: SpaceAuthorization;
  let capture: ReturnType<typeof captureLog>;
  let dataDir: string | undefined;
  let embedded: EmbeddedStores | undefined;

  let clock: ManualClock;
  let authFailures = 0;

  const start = async (options: { token?: string; registry?: SpaceRegistry; maxBodyBytes?: number } = {}) => {
    clock = new ManualClock(SIM_EPOCH);
    authFailures = 0;
    registry = options.registry ?? new MemorySpaceRegistry();
    capture = captureLog();
    const log = createLogger({ level: 'debug', destination: capture.destination });
    auth = new SpaceAuthorization({ registry, cacheTtlMs: LONG_TTL_MS, log: silentLogger() });
    server = await startHttpServer({
      port: 0,
      host: '127.0.0.1',
      log,
      readiness: () => ({ ready: true }),
      routes: adminRoutes({
        token: 'token' in options ? options.token : TOKEN,
        registry,
        invalidate: (roomId) => auth.invalidate(roomId),
        log,
        ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
        clock,
        onAuthFailure: () => authFailures++,
      }),
    });
  };

  const call = (
    method: string,
    urlPath: string,
    options: { body?: string | Buffer; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? TOKEN : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, method, path: urlPath, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          });
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });

  beforeEach(() => {
    dataDir = undefined;
    embedded = undefined;
  });

  afterEach(async () => {
    await server?.close();
    await embedded?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  describe('authentication', () => {
    beforeEach(() => start());

    it.each([
      ['no header', null, undefined],
      ['a wrong token', 'admin-token-0123456789abcdeX', undefined],
      ['a prefix of the token', TOKEN.slice(0, -1), undefined],
      ['the token with another scheme', null, { authorization: `Basic ${TOKEN}` }],
    ])('answers 401 JSON to %s, on every admin path', async (_label, token, headers) => {
      for (const [method, urlPath] of [
        ['GET', '/admin/spaces'],
        ['PUT', `/admin/spaces/${ROOM_UUID}`],
        ['DELETE', `/admin/spaces/${ROOM_UUID}`],
        ['GET', '/admin/other'],
      ] as const) {
        const reply = await call(method, urlPath, { token, ...(headers ? { headers } : {}) });
        expect(reply.status).toBe(401);
        expect(reply.body).toEqual({ error: 'unauthorized' });
        expect(reply.headers['www-authenticate']).toBe('Bearer');
      }
      expect(await registry.list()).toEqual([]);
    });

    it('accepts the scheme in any case and never logs the token', async () => {
      const reply = await call('GET', '/admin/spaces', {
        token: null,
        headers: { authorization: `bearer ${TOKEN}` },
      });
      expect(reply.status).toBe(200);
      await call('PUT', `/admin/spaces/${ROOM_UUID}`, { token: 'wrong-token-value-123' });
      await call('PUT', `/admin/spaces/${ROOM_UUID}`, { body: '{}' });
      expect(capture.lines.length).toBeGreaterThan(0);
      expect(capture.text()).not.toContain(TOKEN);
      expect(capture.text()).not.toContain('wrong-token-value-123');
    });
  });

  it('counts every refused call and logs at most one line a minute per client', async () => {
    await start();
    const warnings = () => capture.records().filter((r) => String(r.msg).includes('without a valid token'));
    for (let i = 0; i < 50; i++) await call('GET', '/admin/spaces', { token: `wrong-token-${i}` });
    expect(authFailures).toBe(50);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ client: '127.0.0.1', unloggedSinceLastLine: 0 });

    await clock.advance(59_999);
    await call('GET', '/admin/spaces', { token: null });
    expect(warnings()).toHaveLength(1);
    await clock.advance(1);
    await call('GET', '/admin/spaces', { token: null });
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ unloggedSinceLastLine: 50 });
    expect(authFailures).toBe(52);
    expect(capture.text()).not.toContain('wrong-token-');
  });

  it('is not served at all without a token', async () => {
    await start({ token: undefined });
    const reply = await call('GET', '/admin/spaces');
    expect(reply.status).toBe(404);
  });

  describe('spaces', () => {
    beforeEach(() => start());

    it('PUT authorizes a space at once, even one cached as denied', async () => {
      expect(await auth.check(ROOM_PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'store' });
      expect(await auth.check(ROOM_PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'cache' });

      const reply = await call('PUT', `/admin/spaces/${ROOM_UUID}`, {
        body: JSON.stringify({ spaceName: 'Platform team', listenMode: 'all' }),
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        // Stored under the public id, as the CAIPE UI stores it.
        roomId: ROOM_PUBLIC_ID,
        spaceName: 'Platform team',
        status: 'active',
        authorizedBy: 'admin-api',
        listenMode: 'all',
      });
      expect(Date.parse((reply.body as { authorizedAt: string }).authorizedAt)).not.toBeNaN();
      expect(await auth.check(ROOM_PUBLIC_ID, 'group')).toMatchObject({
        allowed: true,
        listenMode: 'all',
        source: 'store',
      });
    });

    it('DELETE revokes a space at once, even one cached as allowed', async () => {
      await call('PUT', `/admin/spaces/${ROOM_PUBLIC_ID}`);
      expect(await auth.check(ROOM_UUID, 'group')).toMatchObject({ allowed: true, source: 'store' });
      expect(await auth.check(ROOM_UUID, 'group')).toMatchObject({ allowed: true, source: 'cache' });

      const reply = await call('DELETE', `/admin/spaces/${ROOM_UUID}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ roomId: ROOM_PUBLIC_ID, status: 'revoked', revokedBy: 'admin-api' });
      expect(await auth.check(ROOM_PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'store' });
    });

    it('DELETE of an unknown space is 404', async () => {
      const reply = await call('DELETE', `/admin/spaces/${ROOM_UUID}`);
      expect(reply).toMatchObject({ status: 404, body: { error: 'unknown space' } });
    });

    it('GET lists every space with the SPEC fields', async () => {
      await call('PUT', `/admin/spaces/${ROOM_UUID}`, { body: '{"spaceName":"Ops"}' });
      const other = encodeHydraId('ROOM', '0b7e0a52-9d1c-4c5e-8a7e-3f7f4a1c2d90');
      await call('PUT', `/admin/spaces/${other}`);
      await call('DELETE', `/admin/spaces/${other}`);

      const reply = await call('GET', '/admin/spaces');
      expect(reply.status).toBe(200);
      const items = (reply.body as { items: Array<Record<string, unknown>> }).items;
      expect(items).toHaveLength(2);
      for (const item of items) {
        expect(Object.keys(item)).toEqual(
          expect.arrayContaining(['roomId', 'spaceName', 'status', 'authorizedBy', 'authorizedAt']),
        );
      }
      expect(items.find((i) => i.roomId === ROOM_PUBLIC_ID)).toMatchObject({
        spaceName: 'Ops',
        status: 'active',
      });
      expect(items.find((i) => i.roomId === other)).toMatchObject({ spaceName: null, status: 'revoked' });
    });

    it('PUT on a space the CAIPE UI stored updates that entry instead of adding one', async () => {
      await registry.authorize({ roomId: ROOM_UUID, authorizedBy: 'ana@example.com', spaceName: 'From UI' });
      await registry.revoke([ROOM_UUID], 'ana@example.com');
      const reply = await call('PUT', `/admin/spaces/${ROOM_PUBLIC_ID}`, {
        body: '{"listenMode":"message"}',
      });
      expect(reply.body).toMatchObject({ roomId: ROOM_UUID, spaceName: 'From UI', status: 'active' });
      expect(await registry.list()).toHaveLength(1);
    });

    it('PUT activates every entry of the room, since a revoked one under any id form would win', async () => {
      await registry.authorize({ roomId: ROOM_UUID, authorizedBy: 'admin-api' });
      await registry.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'ana@example.com' });
      await registry.revoke([ROOM_UUID, ROOM_PUBLIC_ID], 'admin-api');
      expect((await auth.check(ROOM_UUID, 'group')).allowed).toBe(false);
      const reply = await call('PUT', `/admin/spaces/${ROOM_UUID}`, { body: '{}' });
      expect(reply.status).toBe(200);
      expect((await registry.list()).map((r) => r.status)).toEqual(['active', 'active']);
      expect(await auth.check(ROOM_PUBLIC_ID, 'group')).toMatchObject({ allowed: true, source: 'store' });
    });

    it.each([
      ['a non-id', 'general'],
      ['a person id', encodeHydraId('PEOPLE', ROOM_UUID)],
      ['a NUL byte', `${ROOM_UUID}%00`],
      ['bad URL encoding', '%E0%A4%A'],
      ['an id that is too long', 'Y'.repeat(600)],
    ])('PUT with %s as roomId is 400', async (_label, roomId) => {
      const reply = await call('PUT', `/admin/spaces/${roomId}`, { body: '{}' });
      expect(reply.status).toBe(400);
      expect((reply.body as { error: string }).error).toMatch(/roomId/);
      expect(await registry.list()).toEqual([]);
    });

    it.each([
      ['malformed JSON', '{"spaceName": '],
      ['an unknown listen mode', '{"listenMode":"always"}'],
      ['an unknown field', '{"space_name":"Ops"}'],
      ['an empty space name', '{"spaceName":"  "}'],
      ['a JSON array', '[]'],
    ])('PUT with %s is 400', async (_label, body) => {
      const reply = await call('PUT', `/admin/spaces/${ROOM_UUID}`, { body });
      expect(reply.status).toBe(400);
      expect(await registry.list()).toEqual([]);
    });

    it('PUT names the space’s agent, GET returns it, the decision carries it, and null removes it', async () => {
      const put = await call('PUT', `/admin/spaces/${ROOM_UUID}`, {
        body: JSON.stringify({ spaceName: 'Platform team', agentId: 'platform-eng.v2_beta' }),
      });
      expect(put).toMatchObject({ status: 200, body: { agentId: 'platform-eng.v2_beta' } });
      expect(await auth.check(ROOM_PUBLIC_ID, 'group')).toMatchObject({
        allowed: true,
        agentId: 'platform-eng.v2_beta',
      });

      // A PUT that does not name the agent keeps it.
      await call('PUT', `/admin/spaces/${ROOM_PUBLIC_ID}`, { body: '{"listenMode":"message"}' });
      const listed = await call('GET', '/admin/spaces');
      expect((listed.body as { items: unknown[] }).items).toEqual([
        expect.objectContaining({
          roomId: ROOM_PUBLIC_ID,
          listenMode: 'message',
          agentId: 'platform-eng.v2_beta',
        }),
      ]);

      // The agent can be changed, and removed again: the space then asks the default agent.
      await call('PUT', `/admin/spaces/${ROOM_UUID}`, { body: '{"agentId":"incident-agent"}' });
      expect(await auth.check(ROOM_UUID, 'group')).toMatchObject({ agentId: 'incident-agent' });
      const cleared = await call('PUT', `/admin/spaces/${ROOM_UUID}`, { body: '{"agentId":null}' });
      expect(cleared.status).toBe(200);
      expect(cleared.body).not.toHaveProperty('agentId');
      const decision = await auth.check(ROOM_UUID, 'group');
      expect(decision.allowed).toBe(true);
      expect(decision).not.toHaveProperty('agentId');
      const after = await call('GET', '/admin/spaces');
      expect((after.body as { items: Array<Record<string, unknown>> }).items[0]).not.toHaveProperty(
        'agentId',
      );
    });

    it.each([
      ['an empty agentId', '""', /agentId: must not be empty/],
      ['a path', '"../admin"', /agentId: may hold only letters/],
      ['a space', '"platform agent"', /agentId: may hold only letters/],
      ['a NUL byte', '"agent\\u0000x"', /agentId: may hold only letters/],
      ['a newline', '"agent\\nINFO forged"', /agentId: may hold only letters/],
      ['non-ASCII letters', '"agént"', /agentId: may hold only letters/],
      ['a query string', '"agent?x=1"', /agentId: may hold only letters/],
      ['an id of 129 characters', `"${'a'.repeat(129)}"`, /agentId: must be at most 128 characters/],
      ['an id of 10,000 characters', `"${'a'.repeat(10_000)}"`, /agentId: must be at most 128 characters/],
      ['a number', '42', /agentId: /],
      ['an object', '{"$ne":""}', /agentId: /],
      ['an array', '["a","b"]', /agentId: /],
    ])(
      'PUT with %s as agentId is 400 with a clear message, and nothing is stored',
      async (_label, value, message) => {
        const reply = await call('PUT', `/admin/spaces/${ROOM_UUID}`, {
          body: `{"agentId":${value}}`,
        });
        expect(reply.status).toBe(400);
        expect((reply.body as { error: string }).error).toMatch(message);
        expect(await registry.list()).toEqual([]);
      },
    );

    it('accepts the longest id CAIPE allows (128 characters)', async () => {
      const longest = `${'a'.repeat(127)}z`;
      const reply = await call('PUT', `/admin/spaces/${ROOM_UUID}`, {
        body: JSON.stringify({ agentId: longest }),
      });
      expect(reply).toMatchObject({ status: 200, body: { agentId: longest } });
    });

    it('unknown paths are 404 and other methods 405', async () => {
      expect((await call('GET', '/admin/nothing')).status).toBe(404);
      expect((await call('GET', `/admin/spaces/${ROOM_UUID}/extra`)).status).toBe(404);
      const post = await call('POST', '/admin/spaces', { body: '{}' });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET');
      expect((await call('GET', `/admin/spaces/${ROOM_UUID}`)).status).toBe(405);
    });
  });

  it('refuses a body over the cap with 413', async () => {
    await start({ maxBodyBytes: 256 });
    const reply = await call('PUT', `/admin/spaces/${ROOM_UUID}`, {
      body: JSON.stringify({ spaceName: 'x'.repeat(1000) }),
    });
    expect(reply.status).toBe(413);
    expect(await registry.list()).toEqual([]);
  });

  it('answers 503 when the registry fails, without crashing', async () => {
    const failing = new MemorySpaceRegistry();
    failing.list = async () => {
      throw new Error('connection refused');
    };
    await start({ registry: failing });
    const reply = await call('GET', '/admin/spaces');
    expect(reply).toMatchObject({ status: 503, body: { error: 'space registry unavailable' } });
    expect((await call('PUT', `/admin/spaces/${ROOM_UUID}`)).status).toBe(200);
  });

  it('concurrent PUT and DELETE leave one consistent entry (embedded store)', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'webex-bot-admin-'));
    embedded = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
    await start({ registry: embedded.spaces });
    await call('PUT', `/admin/spaces/${ROOM_UUID}`);
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(i % 2 ? 'DELETE' : 'PUT', `/admin/spaces/${i % 3 ? ROOM_UUID : ROOM_PUBLIC_ID}`),
      ),
    );
    expect(replies.map((r) => r.status).every((s) => s === 200)).toBe(true);
    const entries = await embedded.spaces.list();
    expect(entries).toHaveLength(1);
    // Whatever order they ran in, the cache agrees with the store afterwards.
    const stored = entries[0]?.status === 'active';
    expect((await auth.check(ROOM_PUBLIC_ID, 'group')).allowed).toBe(stored);
  });
});
