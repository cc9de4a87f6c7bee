/**
 * `CAIPE_AUTH_MODE=obo` against a fake Keycloak and the fake CAIPE UI backend: the linked user is
 * found by exact `webex_user_id` (disabled users count as unlinked; lookups remembered for 60 s),
 * a token is minted by token exchange for each turn and CAIPE sees that person; an unlinked person
 * is sent the signed link CAIPE's UI accepts (once per interval) and nothing reaches CAIPE; Keycloak
 * trouble is `identity-unavailable`; another person's conversation is `not-owner`. No secret shows.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CaipeAgentClient } from '../../../src/adapters/agent/caipe/client.js';
import { KeycloakOnBehalf, type OnBehalfOptions } from '../../../src/adapters/agent/caipe/obo.js';
import type { TurnOrigin, TurnRequest } from '../../../src/adapters/agent/port.js';
import { reduceTurnEvents } from '../../../src/adapters/agent/turn-state.js';
import { collect, failure } from '../../helpers/agent-events.js';
import { FakeCaipe } from '../../helpers/caipe/fake-caipe.js';
import { FakeKeycloak } from '../../helpers/caipe/fake-keycloak.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const track = closeAfterEach();

const SECRETS = {
  exchange: 'exchange-secret-7f3a',
  admin: 'admin-secret-91bc',
  link: 'link-hmac-secret-5e2d',
};

async function world(options: Partial<OnBehalfOptions> = {}) {
  const keycloak = track(
    await FakeKeycloak.start({
      realm: 'caipe',
      adminClientId: 'caipe-platform',
      exchangeClientId: 'caipe-webex-bot',
      clients: { 'caipe-platform': SECRETS.admin, 'caipe-webex-bot': SECRETS.exchange },
      users: [
        {
          id: 'kc-alice',
          username: 'alice',
          email: 'alice@example.com',
          enabled: true,
          attributes: { webex_user_id: ['person-1'] },
        },
        {
          id: 'kc-bob',
          username: 'bob',
          email: 'bob@example.com',
          enabled: true,
          attributes: { webex_user_id: ['person-10'] },
        },
        {
          id: 'kc-carol',
          username: 'carol',
          email: 'carol@example.com',
          enabled: false,
          attributes: { webex_user_id: ['person-3'] },
        },
      ],
    }),
  );
  const caipe = track(
    await FakeCaipe.start({
      tokens: (token) => {
        const user = keycloak.minted.get(token);
        return user ? { sub: user.id, email: user.email } : undefined;
      },
    }),
  );
  const clock = new ManualClock();
  const links: Array<{ personId: string; url: string }> = [];
  const people = new KeycloakOnBehalf({
    keycloakUrl: keycloak.url,
    realm: 'caipe',
    clientId: 'caipe-webex-bot',
    clientSecret: SECRETS.exchange,
    audience: 'caipe-platform',
    adminClientId: 'caipe-platform',
    adminClientSecret: SECRETS.admin,
    linkBaseUrl: 'https://caipe.example.com/',
    linkSecret: SECRETS.link,
    clock,
    onUnlinked: async (notice) => {
      links.push(notice);
    },
    ...options,
  });
  const agent = track(
    new CaipeAgentClient({
      url: caipe.url,
      agentId: 'platform-agent',
      idleTimeoutMs: 10_000,
      closeGraceMs: 100,
      people,
    }),
  );
  return { keycloak, caipe, clock, links, people, agent };
}

const origin = (personId: string): TurnOrigin => ({
  roomId: 'room-1',
  roomType: 'group',
  messageId: `msg-${personId}`,
  threadRootId: 'root-1',
  personId,
});

const ask = (personId: string, extra: Partial<TurnRequest> = {}): TurnRequest => ({
  text: 'what runs in prod?',
  userEmail: `${personId}@example.com`,
  origin: origin(personId),
  ...extra,
});

/** The UI's own check of a link (ui/src/app/api/auth/webex-link/route.ts `validateHmac`), rewritten here. */
function uiAcceptsLink(url: string, secret: string, nowS: number): boolean {
  const query = new URL(url).searchParams;
  const person = query.get('webex_user_id') ?? '';
  const ts = query.get('ts') ?? '';
  const sig = query.get('sig') ?? '';
  const elapsed = nowS - Number.parseInt(ts, 10);
  if (Number.isNaN(elapsed) || elapsed < 0 || elapsed > 600) return false;
  const expected = createHmac('sha256', secret).update(`${person}:${ts}`).digest('hex');
  return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

describe('CAIPE on behalf of the person asking', () => {
  it('finds the linked user, mints their token by token exchange, and CAIPE sees that person', async () => {
    const { keycloak, caipe, agent } = await world();
    const state = reduceTurnEvents(await collect(agent.streamTurn(ask('person-1'))));
    expect(state.status).toBe('completed');

    const lookup = keycloak.calls.find((c) => c.path === '/admin/realms/caipe/users')!;
    expect(lookup.query.get('q')).toBe('webex_user_id:person-1');
    expect(lookup.query.get('max')).toBe('5');
    expect(lookup.authorization).toMatch(/^Bearer admin-/);
    const exchange = keycloak.calls.find((c) => c.form?.get('grant_type')?.includes('token-exchange'))!;
    expect(Object.fromEntries(exchange.form!)).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_subject: 'kc-alice',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      client_id: 'caipe-webex-bot',
      client_secret: SECRETS.exchange,
      audience: 'caipe-platform',
    });
    const conversation = [...caipe.conversations.values()][0]!;
    expect(conversation.owner_subject).toBe('kc-alice');
    const [start] = caipe.callsTo('/api/v1/chat/stream/start');
    expect(start!.headers.authorization).toMatch(/^Bearer obo-kc-alice-/);
    // CAIPE knows the person from the token: the context does not repeat the email.
    expect(start!.body.client_context).not.toHaveProperty('user_email');
  });

  it('matches the attribute exactly, treats a disabled user as unlinked, and remembers lookups for 60 s', async () => {
    const { keycloak, people, clock } = await world();
    // Keycloak's q search also returns person-10 for person-1: only the exact value counts.
    expect(await people.linkedUser('person-1')).toBe('kc-alice');
    expect(await people.linkedUser('person-3')).toBeUndefined();
    const lookups = () => keycloak.calls.filter((c) => c.path === '/admin/realms/caipe/users').length;
    expect(lookups()).toBe(2);
    await people.linkedUser('person-1');
    expect(lookups()).toBe(2);
    await clock.advance(60_001);
    await people.linkedUser('person-1');
    expect(lookups()).toBe(3);
  });

  it('an unlinked person gets the signed link privately (once per interval); nothing reaches CAIPE', async () => {
    const { caipe, agent, links, clock } = await world();
    const error = await failure(agent.streamTurn(ask('person-2')));
    expect(error.kind).toBe('not-linked');
    expect(links).toHaveLength(1);
    expect(links[0]!.personId).toBe('person-2');
    expect(
      links[0]!.url.startsWith('https://caipe.example.com/api/auth/webex-link?webex_user_id=person-2&ts='),
    ).toBe(true);
    expect(uiAcceptsLink(links[0]!.url, SECRETS.link, Math.floor(clock.now() / 1000))).toBe(true);
    expect(uiAcceptsLink(links[0]!.url, SECRETS.link, Math.floor(clock.now() / 1000) + 601)).toBe(false);
    expect(uiAcceptsLink(links[0]!.url, 'another-secret', Math.floor(clock.now() / 1000))).toBe(false);
    expect(caipe.calls).toHaveLength(0);

    await clock.advance(61_000);
    expect((await failure(agent.streamTurn(ask('person-2')))).kind).toBe('not-linked');
    expect(links).toHaveLength(1);
    await clock.advance(10 * 60_000);
    await failure(agent.streamTurn(ask('person-2')));
    expect(links).toHaveLength(2);
  });

  it('Keycloak down or refusing is identity-unavailable, with no secret in the error', async () => {
    const { keycloak, agent } = await world();
    keycloak.failWith = 503;
    const down = await failure(agent.streamTurn(ask('person-1')));
    expect(down.kind).toBe('identity-unavailable');
    keycloak.failWith = undefined;
    const wrong = await world({ clientSecret: 'not-the-secret' });
    const refused = await failure(wrong.agent.streamTurn(ask('person-1')));
    expect(refused.kind).toBe('identity-unavailable');
    for (const error of [down, refused]) {
      const text = `${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}`;
      for (const secret of [...Object.values(SECRETS), 'not-the-secret']) expect(text).not.toContain(secret);
    }
  });

  it('another person writing in the thread is refused by CAIPE as not the owner', async () => {
    const { agent } = await world();
    const alice = reduceTurnEvents(await collect(agent.streamTurn(ask('person-1'))));
    const bob = await failure(agent.streamTurn(ask('person-10', { contextId: alice.contextId! })));
    expect(bob).toMatchObject({ kind: 'not-owner', status: 403 });
  });

  it('cancels on behalf of the person who started the run', async () => {
    const { caipe, agent, keycloak } = await world();
    caipe.enqueue(async (s) => {
      await s.started();
      await s.text('m', 'Working');
      await s.cancelled;
      await s.end();
    });
    const iterator = agent.streamTurn(ask('person-1'))[Symbol.asyncIterator]();
    let taskId: string | undefined;
    for (;;) {
      const next = await iterator.next();
      if (next.done) throw new Error('ended early');
      if (next.value.type === 'ids') taskId = next.value.taskId;
      if (next.value.type === 'text') break;
    }
    await agent.cancel(taskId!);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {}
    expect(caipe.cancels[0]!.headers.authorization).toMatch(/^Bearer obo-kc-alice-/);
    expect(keycloak.calls.filter((c) => c.form?.get('requested_subject') === 'kc-alice')).toHaveLength(2);
  });
});
