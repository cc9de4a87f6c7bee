/**
 * `AGENT_PROTOCOL=caipe` through the running bot: the Webex simulator, the real runtime, a fake
 * CAIPE UI backend and a fake Keycloak on loopback.
 *
 * - Each space asks the agent its registry entry names (admin API `agentId`), others the default
 *   `CAIPE_AGENT_ID`; a change through the admin API holds for the next message at once.
 * - `agent_streams_total` carries the backend label.
 * - `CAIPE_AUTH_MODE=obo`: a linked person's question reaches CAIPE with a token minted for them;
 *   an unlinked person gets the signed link in a private 1:1 card (once per interval) and the
 *   `not-linked` message in the space; someone else replying in the thread gets CAIPE's 403
 *   explained.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { messages } from '../../../src/render/messages.js';
import type { SimPerson, SimRoom } from '../../../src/simulator/webex/index.js';
import { FakeCaipe, type RecordedCall } from '../../helpers/caipe/fake-caipe.js';
import { FakeKeycloak, type KeycloakUser } from '../../helpers/caipe/fake-keycloak.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startWorld, type World } from '../../helpers/world.js';
import { JumpClock } from '../access/support.js';
import { untilNoWorkingMessage, waitForBotPost, waitForBotPostContaining } from '../conversations/support.js';

const track = closeAfterEach();

const ADMIN_TOKEN = 'admin-api-token-3b9e51c07d2a';
const SECRETS = {
  exchange: 'exchange-secret-7f3a',
  admin: 'admin-secret-91bc',
  link: 'link-hmac-secret-5e2d',
};
const LINK_BASE = 'https://caipe.example.com';
const SERVICE_ACCOUNT = { sub: 'service-account-webex-bot', email: 'webex-bot@service.local' };

interface CaipeWorld {
  world: World;
  caipe: FakeCaipe;
  keycloak: FakeKeycloak;
  /** The Keycloak realm's users: link a Webex person by adding one. */
  users: KeycloakUser[];
  clock: JumpClock;
}

async function caipeWorld(mode: 'service' | 'obo'): Promise<CaipeWorld> {
  const users: KeycloakUser[] = [];
  const keycloak = track(
    await FakeKeycloak.start({
      realm: 'caipe',
      adminClientId: 'caipe-platform',
      exchangeClientId: 'caipe-webex-bot',
      clients: { 'caipe-platform': SECRETS.admin, 'caipe-webex-bot': SECRETS.exchange },
      users,
    }),
  );
  const caipe = track(
    await FakeCaipe.start({
      tokens: (token) => {
        const user = keycloak.minted.get(token);
        if (user) return { sub: user.id, email: user.email };
        // The client-credentials tokens this Keycloak gives the service client.
        return mode === 'service' && /^admin-\d+$/.test(token) ? SERVICE_ACCOUNT : undefined;
      },
    }),
  );
  const auth: Record<string, string> =
    mode === 'service'
      ? {
          WEBEX_INTEGRATION_ENABLE_AUTH: 'true',
          WEBEX_INTEGRATION_AUTH_TOKEN_URL: `${keycloak.url}/realms/caipe/protocol/openid-connect/token`,
          WEBEX_INTEGRATION_AUTH_CLIENT_ID: 'caipe-platform',
          WEBEX_INTEGRATION_AUTH_CLIENT_SECRET: SECRETS.admin,
        }
      : {
          CAIPE_AUTH_MODE: 'obo',
          KEYCLOAK_URL: keycloak.url,
          KEYCLOAK_WEBEX_BOT_CLIENT_SECRET: SECRETS.exchange,
          KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_SECRET: SECRETS.admin,
          WEBEX_LINK_HMAC_SECRET: SECRETS.link,
          WEBEX_LINKING_BASE_URL: LINK_BASE,
        };
  const clock = new JumpClock();
  const world = track(
    await startWorld({
      agentUrl: caipe.url,
      clock,
      logLevel: 'info',
      env: {
        AGENT_PROTOCOL: 'caipe',
        CAIPE_AGENT_ID: 'default-agent',
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        ...auth,
      },
    }),
  );
  return { world, caipe, keycloak, users, clock };
}

function linkInKeycloak(users: KeycloakUser[], person: SimPerson, id: string): void {
  users.push({
    id,
    username: id,
    email: person.email,
    enabled: true,
    attributes: { webex_user_id: [person.id] },
  });
}

async function admin(world: World, method: string, roomId: string, body?: unknown) {
  const response = await fetch(
    `http://127.0.0.1:${world.runtime.http.port}/admin/spaces${roomId ? `/${encodeURIComponent(roomId)}` : ''}`,
    {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function groupRoom(world: World, title: string, members: SimPerson[]): SimRoom {
  return world.sim.createRoom({
    type: 'group',
    title,
    members: [...members, world.sim.bot],
    creator: members[0],
  });
}

/** The stream/start call CAIPE got for a message (by its text). */
function startFor(caipe: FakeCaipe, text: string): RecordedCall | undefined {
  return caipe.callsTo('/api/v1/chat/stream/start').find((c) => String(c.body?.message).endsWith(text));
}

/** Asks in a room, waits for CAIPE's echo, and returns the message and CAIPE's stream/start call. */
async function ask(w: CaipeWorld, person: SimPerson, room: SimRoom, text: string, parentId?: string) {
  const message = w.world.sim.post(person, room, {
    text,
    mentionBot: room.type === 'group',
    ...(parentId ? { parentId } : {}),
  });
  // CAIPE's echo of the prompt, which may start with the thread's context.
  await waitForBotPost(w.world.sim, (markdown) => markdown.startsWith('Echo: ') && markdown.includes(text));
  await untilNoWorkingMessage(w.world.sim, room.id);
  return { message, start: startFor(w.caipe, text) };
}

/** `webex_bot_agent_streams_total` lines of the bot's /metrics. */
async function streamMetrics(world: World): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${world.runtime.http.port}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith('webex_bot_agent_streams_total{'));
}

/** Whether CAIPE's UI would accept the link (`ui/src/app/api/auth/webex-link/route.ts`). */
function uiAcceptsLink(url: string, personId: string, nowS: number): boolean {
  const query = new URL(url).searchParams;
  const ts = query.get('ts') ?? '';
  const sig = Buffer.from(query.get('sig') ?? '', 'hex');
  const expected = createHmac('sha256', SECRETS.link).update(`${personId}:${ts}`).digest();
  return (
    query.get('webex_user_id') === personId &&
    Math.abs(nowS - Number(ts)) <= 600 &&
    sig.length === expected.length &&
    timingSafeEqual(sig, expected)
  );
}

describe('CAIPE ≥0.6 through the running bot: the agent of each space', () => {
  it('asks the agent the space’s registry entry names, the default elsewhere, and follows admin changes at once', async () => {
    const w = await caipeWorld('service');
    const { world, caipe } = w;
    const alice = world.sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const platform = groupRoom(world, 'Platform', [alice]);
    const incidents = groupRoom(world, 'Incidents', [alice]);
    const general = groupRoom(world, 'General', [alice]);
    const direct = world.sim.createDirectRoom(alice);

    expect(await admin(world, 'PUT', platform.id, { agentId: 'platform-agent' })).toMatchObject({
      status: 200,
      body: { agentId: 'platform-agent', status: 'active' },
    });
    expect((await admin(world, 'PUT', incidents.id, { agentId: 'incident-agent' })).status).toBe(200);
    expect((await admin(world, 'PUT', general.id, { spaceName: 'General' })).status).toBe(200);
    // Hostile values are refused with a clear message and change nothing.
    for (const hostile of ['../../agents/admin', 'agent\nforged', 'x'.repeat(129), '']) {
      const refused = await admin(world, 'PUT', general.id, { agentId: hostile });
      expect(refused.status).toBe(400);
      expect(String(refused.body.error)).toMatch(/^agentId: /);
    }
    expect((await admin(world, 'PUT', general.id, '{"agentId":7}')).status).toBe(400);
    const listed = (await admin(world, 'GET', '')).body.items as Array<Record<string, unknown>>;
    expect(Object.fromEntries(listed.map((item) => [item.roomId, item.agentId]))).toEqual({
      [platform.id]: 'platform-agent',
      [incidents.id]: 'incident-agent',
      [general.id]: undefined,
    });

    const inPlatform = await ask(w, alice, platform, 'which clusters are degraded?');
    const inIncidents = await ask(w, alice, incidents, 'open incidents?');
    const inGeneral = await ask(w, alice, general, 'what can you do?');
    const inDirect = await ask(w, alice, direct, 'hello in private');
    expect(inPlatform.start?.body.agent_id).toBe('platform-agent');
    expect(inIncidents.start?.body.agent_id).toBe('incident-agent');
    expect(inGeneral.start?.body.agent_id).toBe('default-agent');
    expect(inDirect.start?.body.agent_id).toBe('default-agent');
    // Each conversation was created for the same agent its stream asked.
    const createdFor = (roomId: string) =>
      caipe
        .callsTo('/api/chat/conversations')
        .filter((c) => c.body?.metadata?.webex_room_id === roomId)
        .map((c) => c.body.agent_id);
    expect(createdFor(platform.id)).toEqual(['platform-agent']);
    expect(createdFor(incidents.id)).toEqual(['incident-agent']);
    expect(createdFor(general.id)).toEqual(['default-agent']);
    // Every call went with the service account's token.
    for (const call of caipe.calls) expect(call.headers.authorization).toMatch(/^Bearer admin-\d+$/);

    // A follow-up in the thread stays with the space's agent.
    const followUp = await ask(w, alice, incidents, 'and the oldest one?', inIncidents.message.id);
    expect(followUp.start?.body).toMatchObject({
      agent_id: 'incident-agent',
      conversation_id: inIncidents.start?.body.conversation_id,
    });

    // Pointed at another agent through the admin API: the next message asks it, without waiting for
    // the space cache to expire.
    expect((await admin(world, 'PUT', incidents.id, { agentId: 'incident-agent-v2' })).status).toBe(200);
    expect((await ask(w, alice, incidents, 'anything new?')).start?.body.agent_id).toBe('incident-agent-v2');
    // And back to the default when the agent is removed.
    const cleared = await admin(world, 'PUT', incidents.id, { agentId: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body).not.toHaveProperty('agentId');
    expect((await ask(w, alice, incidents, 'still there?')).start?.body.agent_id).toBe('default-agent');

    // The streams are counted under the backend that served them.
    expect(await streamMetrics(world)).toEqual([
      'webex_bot_agent_streams_total{backend="caipe",outcome="completed"} 7',
    ]);
  });
});

describe('CAIPE ≥0.6 on behalf of each person (CAIPE_AUTH_MODE=obo)', () => {
  it('a linked person’s question reaches CAIPE with the token minted for them', async () => {
    const w = await caipeWorld('obo');
    const { world, caipe, keycloak, users } = w;
    const alice = world.sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    linkInKeycloak(users, alice, 'kc-alice');
    const room = groupRoom(world, 'Platform', [alice]);
    await admin(world, 'PUT', room.id, { agentId: 'platform-agent' });

    const { start } = await ask(w, alice, room, 'what runs in prod?');
    const token = /^Bearer (.+)$/.exec(String(start?.headers.authorization))?.[1] ?? '';
    expect(keycloak.minted.get(token)?.id).toBe('kc-alice');
    expect(start?.body.agent_id).toBe('platform-agent');
    // CAIPE knows the person from the token; the context does not repeat the email.
    expect(start?.body.client_context).not.toHaveProperty('user_email');
    const conversation = caipe.conversations.get(String(start?.body.conversation_id));
    expect(conversation?.owner_subject).toBe('kc-alice');
    // Looked up by the Webex person id, exchanged for that Keycloak user.
    const lookup = keycloak.calls.find((c) => c.path === '/admin/realms/caipe/users');
    expect(lookup?.query.get('q')).toBe(`webex_user_id:${alice.id}`);
    const exchange = keycloak.calls.find(
      (c) => c.form?.get('grant_type') === 'urn:ietf:params:oauth:grant-type:token-exchange',
    );
    expect(exchange?.form?.get('requested_subject')).toBe('kc-alice');
    expect(world.log.text()).not.toContain(token);
    for (const secret of Object.values(SECRETS)) expect(world.log.text()).not.toContain(secret);
  });

  it('an unlinked person gets the link privately in a 1:1 card (once per interval) and the not-linked message in the space', async () => {
    const w = await caipeWorld('obo');
    const { world, caipe, clock } = w;
    const { sim } = world;
    const carol = sim.createUser({ displayName: 'Carol', email: 'carol@example.com' });
    const room = groupRoom(world, 'Platform', [carol]);
    await admin(world, 'PUT', room.id, {});

    const privateCards = () =>
      sim.log.requests.filter(
        (r) =>
          r.callerUuid === sim.bot.uuid &&
          r.method === 'POST' &&
          r.path === '/v1/messages' &&
          r.status === 200 &&
          (r.body as { toPersonId?: string }).toPersonId === carol.id,
      );
    const inSpace = (text: string) => sim.post(carol, room, { text, mentionBot: true });

    const first = inSpace('deploy the fix');
    const notice = await waitForBotPost(
      sim,
      (markdown, r) =>
        markdown === messages.accountNotLinked && (r.body as { roomId?: string }).roomId === room.id,
    );
    expect((notice.body as { parentId?: string }).parentId).toBe(first.id);
    expect(privateCards()).toHaveLength(1);

    // The card went to Carol alone, in a 1:1 space of hers with the bot.
    const delivered = await sim.waitFor(
      'activity',
      (a) =>
        a.activity.verb === 'post' &&
        a.recipients.includes(carol.uuid) &&
        (a.activity.target as { id?: string } | undefined)?.id !== room.uuid,
    );
    const directRoomUuid = String((delivered.activity.target as { id?: string } | undefined)?.id);
    const [card] = sim.roomMessages(encodeHydraId('ROOM', directRoomUuid));
    expect(card?.roomType).toBe('direct');
    expect(card?.authorUuid).toBe(sim.bot.uuid);
    const url = /(https:\/\/\S+)/.exec(card?.markdown ?? '')?.[1] ?? '';
    expect(url.startsWith(`${LINK_BASE}/api/auth/webex-link?`)).toBe(true);
    expect(uiAcceptsLink(url, carol.id, Math.floor(Date.now() / 1000))).toBe(true);
    const content = (card?.attachments?.[0] as { content?: Record<string, unknown> } | undefined)?.content;
    expect(content?.actions).toEqual([expect.objectContaining({ type: 'Action.OpenUrl', url })]);
    // The signed link never shows in the shared space.
    for (const message of sim.roomMessages(room)) expect(message.markdown ?? '').not.toContain('webex-link');
    for (const message of sim.roomMessages(room)) expect(message.text).not.toContain(url);

    // Asking again within the interval: the space is told again, the card is not sent again.
    inSpace('please?');
    await untilNotices(world, room.id, 2);
    expect(privateCards()).toHaveLength(1);

    // After the interval the link is sent afresh (the old one has expired by then).
    clock.jump(10 * 60_000 + 1_000);
    inSpace('one more time');
    await untilNotices(world, room.id, 3);
    expect(privateCards()).toHaveLength(2);
    // Nothing of Carol's reached CAIPE.
    expect(caipe.calls).toHaveLength(0);
  });

  it('someone other than the thread’s owner replying is told why CAIPE refused and how to start their own thread', async () => {
    const w = await caipeWorld('obo');
    const { world, caipe, users } = w;
    const { sim } = world;
    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
    linkInKeycloak(users, alice, 'kc-alice');
    linkInKeycloak(users, bob, 'kc-bob');
    const room = groupRoom(world, 'Platform', [alice, bob]);
    await admin(world, 'PUT', room.id, {});

    const { message: root, start } = await ask(w, alice, room, 'what runs in prod?');
    const conversationId = start?.body.conversation_id;

    sim.post(bob, room, { text: 'and in staging?', mentionBot: true, parentId: root.id });
    const refusal = await waitForBotPostContaining(sim, messages.notConversationOwner);
    expect((refusal.body as { parentId?: string }).parentId).toBe(root.id);
    await untilNoWorkingMessage(sim, room.id);
    const refused = caipe
      .callsTo('/api/v1/chat/stream/start')
      .filter((c) => c.body.conversation_id === conversationId);
    expect(refused).toHaveLength(2);
    expect(refused[1]!.headers.authorization).toMatch(/^Bearer obo-kc-bob-/);

    // The thread still belongs to Alice and goes on for her.
    const again = await ask(w, alice, room, 'and tomorrow?', root.id);
    expect(again.start?.body.conversation_id).toBe(conversationId);
    expect(again.start?.headers.authorization).toMatch(/^Bearer obo-kc-alice-/);
  });
});

/** Resolves once the bot has posted the not-linked message `count` times in the room. */
async function untilNotices(world: World, roomId: string, count: number): Promise<void> {
  const seen = () =>
    world.visibleBotMessages(roomId).filter((m) => m.markdown === messages.accountNotLinked).length >= count;
  while (!seen()) {
    await world.sim.waitFor('request', (r) => r.method === 'POST' && r.path === '/v1/messages' && seen(), {
      futureOnly: true,
      timeoutMs: 10_000,
    });
  }
}
