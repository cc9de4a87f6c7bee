import { afterEach, describe, expect, it } from 'vitest';
import { BOT_TOKEN, type Harness, startHarness } from './harness.js';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

const CARD = {
  contentType: 'application/vnd.microsoft.card.adaptive',
  content: {
    type: 'AdaptiveCard',
    version: '1.3',
    body: [{ type: 'Input.Text', id: 'answer' }],
    actions: [{ type: 'Action.Submit', title: 'Send', data: { form: 'f1' } }],
  },
};

async function botPost(h: Harness, body: Record<string, unknown>): Promise<{ id: string }> {
  const response = await fetch(`${h.sim.urls.hydra}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { id: string };
}

describe('inbound normalisation end to end', () => {
  it('turns group mentions, replies, shares, card submits and the bot being added into events', async () => {
    const h = await start();
    await h.online();
    const ada = h.sim.createUser({ displayName: 'Ada Lovelace', email: 'ada@example.com' });
    const room = h.sim.createRoom({ type: 'group', title: 'Platform', members: [ada] });
    h.sim.addBotToRoom(room, ada);
    const added = await h.nextEvent((e) => e.kind === 'botAdded');
    expect(added).toMatchObject({
      roomId: room.id,
      roomType: 'group',
      person: { id: ada.id, email: 'ada@example.com' },
    });

    const root = h.sim.post(ada, room, { text: 'status of argo', mentionBot: true });
    const rootEvent = await h.nextEvent((e) => e.activityId === root.uuid);
    expect(rootEvent).toMatchObject({ kind: 'message', roomType: 'group', messageId: root.id });
    if (rootEvent.kind !== 'message') throw new Error('expected a message');
    expect(rootEvent.mentionedPeople).toContain(h.sim.bot.id);
    expect(rootEvent.text.startsWith('CAIPE')).toBe(true);

    const reply = h.sim.post(ada, room, { text: 'and prod?', mentionBot: true, parentId: root.id });
    expect(await h.nextEvent((e) => e.activityId === reply.uuid)).toMatchObject({ parentId: root.id });

    const share = h.sim.post(ada, room, {
      text: 'see log',
      mentionBot: true,
      files: ['https://example.com/a.log'],
    });
    expect(await h.nextEvent((e) => e.activityId === share.uuid)).toMatchObject({
      kind: 'message',
      files: true,
    });

    const card = await botPost(h, { roomId: room.id, markdown: 'a form', attachments: [CARD] });
    const submit = h.sim.submitCard(ada, card.id, { answer: '42', form: 'f1' });
    expect(await h.nextEvent((e) => e.kind === 'cardAction')).toMatchObject({
      kind: 'cardAction',
      activityId: submit.uuid,
      actionId: submit.id,
      messageId: card.id,
      inputs: { answer: '42', form: 'f1' },
      roomId: room.id,
      person: { id: ada.id },
    });

    // The file scan's `update`, the bot's own card post and edits never become events.
    const edited = h.sim.edit(ada, root.id, {
      markdown: `<@personId:${h.sim.bot.id}|CAIPE Bot> status of argo?`,
    });
    const last = h.sim.post(ada, room, { text: 'last', mentionBot: true });
    await h.nextEvent((e) => e.activityId === last.uuid);
    expect(h.events.map((e) => e.kind)).toEqual([
      'botAdded',
      'message',
      'message',
      'message',
      'cardAction',
      'message',
    ]);
    expect(edited.id).toBe(root.id);
    expect(h.metrics.inboundOutcomes).toContainEqual({ kind: 'activity', outcome: 'own' });
  });

  it('quietly drops a group post that does not mention the bot (REST 404)', async () => {
    const h = await start();
    await h.online();
    h.sim.faults.deliverUnmentionedGroupPosts(true);
    const ada = h.sim.createUser();
    const room = h.sim.createRoom({ type: 'group', members: [ada], announce: false });
    h.sim.addBotToRoom(room, ada);
    const unmentioned = h.sim.post(ada, room, { text: 'just chatting' });
    const mentioned = h.sim.post(ada, room, { text: 'now you', mentionBot: true });
    await h.nextEvent((e) => e.activityId === mentioned.uuid);
    expect(h.events.some((e) => e.activityId === unmentioned.uuid)).toBe(false);
    expect(h.metrics.inboundOutcomes).toContainEqual({ kind: 'message', outcome: 'ignored' });
    const lookups = h.sim.log.requests.filter((r) => r.route === '/v1/messages/{id}' && r.status === 404);
    expect(lookups).toHaveLength(1);
    expect(h.log.records().filter((r) => r.level === 'warn' || r.level === 'error')).toEqual([]);
  });

  it('drops activities of other bots', async () => {
    const h = await start();
    await h.online();
    const otherBot = h.sim.createUser({ kind: 'bot', displayName: 'Other Bot' });
    const room = h.sim.createDirectRoom(otherBot);
    h.sim.post(otherBot, room, { text: 'beep' });
    const ada = h.sim.createUser();
    const direct = h.sim.createDirectRoom(ada);
    const human = h.sim.post(ada, direct, { text: 'hi' });
    await h.nextEvent((e) => e.activityId === human.uuid);
    expect(h.events.map((e) => e.activityId)).toEqual([human.uuid]);
    expect(h.metrics.inboundOutcomes).toContainEqual({ kind: 'activity', outcome: 'bot' });
  });

  it('retries a message fetch after a 503 and delivers it', async () => {
    // The retry pause runs on this clock: recorded, and released at once instead of waited out.
    const pauses: number[] = [];
    const clock = {
      now: () => Date.now(),
      setTimeout: (fn: () => void, ms: number) => {
        pauses.push(ms);
        return setImmediate(fn);
      },
      clearTimeout: (handle: unknown) => clearImmediate(handle as ReturnType<typeof setImmediate>),
    };
    const h = await start({ connection: { clock } });
    await h.online();
    h.sim.faults.failNext({ method: 'GET', route: '/v1/messages/{id}', status: 503 });
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    const message = h.sim.post(ada, room, { text: 'after a hiccup' });
    expect(await h.nextEvent((e) => e.activityId === message.uuid)).toMatchObject({ text: 'after a hiccup' });
    expect(h.sim.log.requests.filter((r) => r.route === '/v1/messages/{id}').map((r) => r.status)).toEqual([
      503, 200,
    ]);
    expect(pauses).toEqual([500]);
  });
});
