import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeHydraId } from '../../src/adapters/webex/ids.js';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { rest } from './sim-client.js';

const BOT_TOKEN = 'bot-token-hydra';
// Literal vector from the reference: a room in the original US cluster.
const VECTOR_UUID = '6f91b070-531a-11f1-926d-6fd3c20dfdc4';
const VECTOR_ID = 'Y2lzY29zcGFyazovL3VzL1JPT00vNmY5MWIwNzAtNTMxYS0xMWYxLTkyNmQtNmZkM2MyMGRmZGM0';

type ErrorBody = { message: string; errors: Array<{ description: string }>; trackingId: string };

describe('webex simulator: Hydra rules', () => {
  let sim: WebexSimulator;
  const hydra = (path: string) => `${sim.urls.hydra}${path}`;
  const asBot = <T = Record<string, unknown>>(path: string, init: { method?: string; body?: unknown } = {}) =>
    rest<T>(hydra(path), BOT_TOKEN, init);

  beforeEach(async () => {
    sim = await startWebexSimulator({ botToken: BOT_TOKEN });
  });

  afterEach(async () => {
    await sim.close();
  });

  it('When a room has the reference UUID, Then its Hydra id is the reference Y2lz… id and resolves', async () => {
    const user = sim.createUser();
    const room = sim.createRoom({ type: 'direct', members: [user, sim.bot], uuid: VECTOR_UUID });
    expect(room.id).toBe(VECTOR_ID);
    const fetched = await asBot(`/rooms/${VECTOR_ID}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({ id: VECTOR_ID, type: 'direct', title: user.displayName });
  });

  it('When no or a bad token is sent, Then 401 with the Webex error body and a Trackingid header', async () => {
    const missing = await rest<ErrorBody>(hydra('/people/me'), undefined);
    expect(missing.status).toBe(401);
    expect(missing.body.errors[0]?.description).toBe(missing.body.message);
    expect(missing.body.trackingId).toBe(missing.headers.get('trackingid'));
    const wrong = await rest(hydra('/people/me'), 'not-the-token');
    expect(wrong.status).toBe(401);
  });

  it('When markdown is 7439 bytes it is accepted, and at 7440 bytes Then 400', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    // 'é' is two bytes in UTF-8: the limit counts bytes, not characters.
    const exact = `${'é'.repeat(3719)}x`;
    expect(Buffer.byteLength(exact)).toBe(7439);
    const ok = await asBot('/messages', { method: 'POST', body: { roomId: room.id, markdown: exact } });
    expect(ok.status).toBe(200);
    const tooLong = await asBot<ErrorBody>('/messages', {
      method: 'POST',
      body: { roomId: room.id, markdown: `${exact}x` },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toContain('7439');
    const textTooLong = await asBot('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'a'.repeat(7440) },
    });
    expect(textTooLong.status).toBe(400);
  });

  it('When a message is edited 10 times, Then the 11th edit gets 400', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    const created = await asBot<{ id: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'v0' },
    });
    for (let i = 1; i <= 10; i += 1) {
      const edit = await asBot<{ text: string; updated?: string }>(`/messages/${created.body.id}`, {
        method: 'PUT',
        body: { roomId: room.id, text: `v${i}` },
      });
      expect(edit.status).toBe(200);
      expect(edit.body.text).toBe(`v${i}`);
      expect(edit.body.updated).toBeDefined();
    }
    const eleventh = await asBot<ErrorBody>(`/messages/${created.body.id}`, {
      method: 'PUT',
      body: { roomId: room.id, text: 'v11' },
    });
    expect(eleventh.status).toBe(400);
    expect(eleventh.body.message).toMatch(/edit limit/i);
    expect(sim.roomMessages(room)[0]).toMatchObject({ text: 'v10', editCount: 10 });
  });

  it('When an edit has no roomId, or the message carries a card, Then 400', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    const plain = await asBot<{ id: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'x' },
    });
    const noRoom = await asBot(`/messages/${plain.body.id}`, { method: 'PUT', body: { text: 'y' } });
    expect(noRoom.status).toBe(400);
    const card = await asBot<{ id: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, markdown: 'card', attachments: [adaptiveCard(1)] },
    });
    expect(card.status).toBe(200);
    const editCard = await asBot<ErrorBody>(`/messages/${card.body.id}`, {
      method: 'PUT',
      body: { roomId: room.id, text: 'changed' },
    });
    expect(editCard.status).toBe(400);
    expect(editCard.body.message).toMatch(/unsupported/i);
  });

  it('When a message has two cards or a card has six actions, Then 400; five actions are fine', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    const post = (attachments: unknown[]) =>
      asBot('/messages', { method: 'POST', body: { roomId: room.id, markdown: 'card', attachments } });
    expect((await post([adaptiveCard(5)])).status).toBe(200);
    expect((await post([adaptiveCard(6)])).status).toBe(400);
    expect((await post([adaptiveCard(1), adaptiveCard(1)])).status).toBe(400);
  });

  it('When a raw UUID is used as a message id, Then 404 "Unable to get message."', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    const created = await asBot<{ id: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'x' },
    });
    const uuid = sim.roomMessages(room)[0]?.uuid ?? '';
    expect(encodeHydraId('MESSAGE', uuid)).toBe(created.body.id);
    const raw = await asBot<ErrorBody>(`/messages/${uuid}`);
    expect(raw.status).toBe(404);
    expect(raw.body.message).toBe('Unable to get message.');
    expect(raw.body.errors).toEqual([{ description: 'Unable to get message.' }]);
  });

  it('When a message of an EU room is addressed with a `us` id, Then 404 "Unable to get message."', async () => {
    const user = sim.createUser();
    const room = sim.createRoom({ type: 'direct', members: [user, sim.bot], region: 'eu' });
    const posted = sim.post(user, room, { text: 'bonjour' });
    expect(Buffer.from(posted.id, 'base64').toString()).toContain(
      'ciscospark://urn:TEAM:eu-central-1_k/MESSAGE/',
    );
    expect((await asBot(`/messages/${posted.id}`)).status).toBe(200);
    const wrongCluster = await asBot<ErrorBody>(`/messages/${encodeHydraId('MESSAGE', posted.uuid, 'us')}`);
    expect(wrongCluster.status).toBe(404);
    expect(wrongCluster.body.message).toBe('Unable to get message.');
  });

  it('When a reply is used as parentId, Then 400; the root is accepted', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    const root = await asBot<{ id: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'root' },
    });
    const reply = await asBot<{ id: string; parentId: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'reply', parentId: root.body.id },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.parentId).toBe(root.body.id);
    const nested = await asBot('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'nested', parentId: reply.body.id },
    });
    expect(nested.status).toBe(400);
  });

  it('When a group message does not mention the bot, Then the bot gets 404; with a mention it reads it', async () => {
    const ada = sim.createUser({ displayName: 'Ada' });
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, sim.bot] });
    const plain = sim.post(ada, room, { text: 'just chatting' });
    const mentioned = sim.post(ada, room, { text: 'deploy please', mentionBot: true });
    expect((await asBot<ErrorBody>(`/messages/${plain.id}`)).body.message).toBe('Unable to get message.');
    expect((await asBot(`/messages/${plain.id}`)).status).toBe(404);
    const read = await asBot<{ text: string; mentionedPeople: string[]; html: string; roomType: string }>(
      `/messages/${mentioned.id}`,
    );
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      text: 'CAIPE deploy please',
      mentionedPeople: [sim.bot.id],
      roomType: 'group',
    });
    expect(read.body.html).toContain(
      `<spark-mention data-object-type="person" data-object-id="${sim.bot.id}">CAIPE`,
    );
    // And in a direct room the bot reads everything.
    const direct = sim.createDirectRoom(ada);
    expect((await asBot(`/messages/${sim.post(ada, direct, { text: 'hi' }).id}`)).status).toBe(200);
  });

  it('When listing a group room, Then bots must pass mentionedPeople=me and get only mentions, newest first, paged by Link', async () => {
    const ada = sim.createUser();
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, sim.bot] });
    const first = sim.post(ada, room, { text: 'one', mentionBot: true });
    sim.post(ada, room, { text: 'not for the bot' });
    const second = sim.post(ada, room, { text: 'two', mentionBot: true });
    const third = sim.post(ada, room, { text: 'three', mentionBot: true });
    expect((await asBot(`/messages?roomId=${room.id}`)).status).toBe(403);
    const page1 = await asBot<{ items: Array<{ id: string }> }>(
      `/messages?roomId=${room.id}&mentionedPeople=me&max=2`,
    );
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((m) => m.id)).toEqual([third.id, second.id]);
    const link = page1.headers.get('link') ?? '';
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1];
    expect(next).toContain(`beforeMessage=${second.id}`);
    const page2 = await rest<{ items: Array<{ id: string }> }>(next ?? '', BOT_TOKEN);
    expect(page2.body.items.map((m) => m.id)).toEqual([first.id]);
    expect(page2.headers.get('link')).toBeNull();
  });

  it('When a thread is listed by parentId, Then only its replies come back', async () => {
    const ada = sim.createUser();
    const room = sim.createDirectRoom(ada);
    const root = sim.post(ada, room, { text: 'root' });
    const r1 = sim.post(ada, room, { text: 'r1', parentId: root });
    sim.post(ada, room, { text: 'elsewhere' });
    const r2 = sim.post(ada, room, { text: 'r2', parentId: root.id });
    const listed = await asBot<{ items: Array<{ id: string }> }>(
      `/messages?roomId=${room.id}&parentId=${root.id}`,
    );
    expect(listed.body.items.map((m) => m.id)).toEqual([r2.id, r1.id]);
  });

  it('When rate limiting is switched on, Then 429 with Retry-After, then normal service', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    sim.faults.rateLimit({ method: 'POST', route: '/v1/messages', times: 1, retryAfterS: 7 });
    const limited = await asBot<ErrorBody>('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'x' },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body.message).toMatch(/too many requests/i);
    expect(sim.roomMessages(room)).toHaveLength(0);
    const after = await asBot('/messages', { method: 'POST', body: { roomId: room.id, text: 'x' } });
    expect(after.status).toBe(200);
    // Without Retry-After and with an empty body, as Webex sometimes answers.
    sim.faults.rateLimit({ route: '/v1/people/me', emptyBody: true });
    const bare = await asBot('/people/me');
    expect(bare.status).toBe(429);
    expect(bare.headers.get('retry-after')).toBeNull();
    expect(bare.body).toBeUndefined();
  });

  it('When failNext is set, Then that many matching calls fail with the status', async () => {
    sim.faults.failNext({ route: '/v1/people/me', status: 503, times: 2 });
    expect((await asBot('/people/me')).status).toBe(503);
    expect((await asBot('/people/me')).status).toBe(503);
    expect((await asBot('/people/me')).status).toBe(200);
  });

  it('When a user submits a card, Then the bot reads the action by its Hydra id', async () => {
    const ada = sim.createUser();
    const room = sim.createDirectRoom(ada);
    const card = await asBot<{ id: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, markdown: 'choose', attachments: [adaptiveCard(2)] },
    });
    const action = sim.submitCard(ada, card.body.id, { choice: 'yes', cardId: 'c1' });
    const read = await asBot(`/attachment/actions/${action.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      type: 'submit',
      messageId: card.body.id,
      inputs: { choice: 'yes', cardId: 'c1' },
      personId: ada.id,
      roomId: room.id,
    });
    // A message without a card cannot be submitted.
    const plain = sim.post(ada, room, { text: 'no card' });
    expect(() => sim.submitCard(ada, plain.id, {})).toThrow(/no card/);
  });

  it('When the bot deletes its message, Then it is gone for REST but visible to the driver', async () => {
    const room = sim.createDirectRoom(sim.createUser());
    const created = await asBot<{ id: string }>('/messages', {
      method: 'POST',
      body: { roomId: room.id, text: 'bye' },
    });
    expect((await asBot(`/messages/${created.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await asBot(`/messages/${created.body.id}`)).status).toBe(404);
    expect(sim.roomMessages(room)[0]).toMatchObject({ id: created.body.id, deleted: true });
  });

  it('When people, rooms and memberships are read, Then they use Hydra ids', async () => {
    const ada = sim.createUser({ displayName: 'Ada L', email: 'ada@example.com' });
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, sim.bot] });
    expect((await asBot(`/people/${ada.id}`)).body).toMatchObject({
      id: ada.id,
      emails: ['ada@example.com'],
      type: 'person',
    });
    const rooms = await asBot<{ items: Array<{ id: string }> }>('/rooms');
    expect(rooms.body.items.map((r) => r.id)).toEqual([room.id]);
    const members = await asBot<{ items: Array<{ personEmail: string }> }>(
      `/memberships?roomId=${room.id}&personEmail=ada@example.com`,
    );
    expect(members.body.items.map((m) => m.personEmail)).toEqual(['ada@example.com']);
  });
});

function adaptiveCard(actionCount: number): Record<string, unknown> {
  return {
    contentType: 'application/vnd.microsoft.card.adaptive',
    content: {
      type: 'AdaptiveCard',
      version: '1.3',
      body: [{ type: 'TextBlock', text: 'Pick one' }],
      actions: Array.from({ length: actionCount }, (_, i) => ({
        type: 'Action.Submit',
        title: `Option ${i}`,
        data: { i },
      })),
    },
  };
}
