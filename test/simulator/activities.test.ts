import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { connectOnline, registerDevice, rest, type TestSocket } from './sim-client.js';

const BOT_TOKEN = 'bot-token-activities';

type Activity = Record<string, unknown> & { id: string; verb: string };

describe('webex simulator: activities on the bot socket', () => {
  let sim: WebexSimulator;
  let socket: TestSocket;

  beforeEach(async () => {
    sim = await startWebexSimulator({ botToken: BOT_TOKEN, botDisplayName: 'CAIPE' });
    socket = await connectOnline(await registerDevice(sim), BOT_TOKEN);
  });

  afterEach(async () => {
    await socket.close();
    await sim.close();
  });

  const activity = async (predicate: (a: Activity) => boolean): Promise<Activity> =>
    (await socket.activity((a) => predicate(a as Activity))).data?.activity as Activity;

  it('When a user replies in a thread, Then the activity has parent type reply pointing at the root UUID', async () => {
    const ada = sim.createUser();
    const room = sim.createDirectRoom(ada);
    const root = sim.post(ada, room, { text: 'root' });
    const reply = sim.post(ada, room, { text: 'reply', parentId: root.id });
    expect(await activity((a) => a.id === reply.uuid)).toMatchObject({
      verb: 'post',
      parent: { id: root.uuid, type: 'reply' },
      target: { id: room.uuid, objectType: 'conversation', tags: ['ONE_ON_ONE'] },
    });
  });

  it('When a user edits a message, Then a new post activity arrives with parent type edit', async () => {
    const ada = sim.createUser();
    const room = sim.createDirectRoom(ada);
    const original = sim.post(ada, room, { text: 'first' });
    const edited = sim.edit(ada, original.id, { text: 'second' });
    expect(edited.updated).toBeDefined();
    const edit = await activity((a) => (a.parent as { type?: string } | undefined)?.type === 'edit');
    expect(edit).toMatchObject({ verb: 'post', parent: { id: original.uuid, type: 'edit' } });
    expect(edit.id).not.toBe(original.uuid);
  });

  it('When a group post mentions the bot, Then it arrives with mentions; without a mention it does not', async () => {
    const ada = sim.createUser();
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, sim.bot] });
    const quiet = sim.post(ada, room, { text: 'not for you' });
    const loud = sim.post(ada, room, { text: 'status?', mentionBot: true });
    const got = await activity((a) => a.id === loud.uuid);
    expect(got).toMatchObject({
      object: { mentions: { items: [{ id: sim.bot.uuid, objectType: 'person' }] } },
    });
    expect((got.target as { tags: string[] }).tags).not.toContain('ONE_ON_ONE');
    expect(socket.frames.some((f) => f.data?.activity?.id === quiet.uuid)).toBe(false);
    // The debug switch lets the client's own mention filter be tested.
    sim.faults.deliverUnmentionedGroupPosts(true);
    const leaked = sim.post(ada, room, { text: 'also not for you' });
    await activity((a) => a.id === leaked.uuid);
  });

  it('When a user submits a card, Then a cardAction activity names the card message as parent', async () => {
    const ada = sim.createUser();
    const room = sim.createDirectRoom(ada);
    const card = await rest<{ id: string }>(`${sim.urls.hydra}/messages`, BOT_TOKEN, {
      method: 'POST',
      body: {
        roomId: room.id,
        markdown: 'card',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: {
              type: 'AdaptiveCard',
              version: '1.3',
              body: [],
              actions: [{ type: 'Action.Submit', title: 'Go' }],
            },
          },
        ],
      },
    });
    const cardUuid = sim.roomMessages(room).find((m) => m.id === card.body.id)?.uuid;
    const action = sim.submitCard(ada, card.body.id, { answer: 'secret-input' });
    const got = await activity((a) => a.id === action.uuid);
    expect(got).toMatchObject({
      verb: 'cardAction',
      object: { objectType: 'submit' },
      parent: { id: cardUuid, type: 'cardAction' },
      actor: { id: ada.uuid, type: 'PERSON' },
    });
    expect(JSON.stringify(got)).not.toContain('secret-input');
  });

  it('When the bot is added to a group room, Then an add activity carries the bot as object', async () => {
    const ada = sim.createUser();
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada] });
    sim.addBotToRoom(room, ada);
    expect(await activity((a) => a.verb === 'add')).toMatchObject({
      actor: { id: ada.uuid },
      object: { id: sim.bot.uuid, objectType: 'person' },
      target: { id: room.uuid, tags: [] },
    });
  });

  it('When a user shares a file, Then share arrives, then update with every file safe', async () => {
    const ada = sim.createUser();
    const room = sim.createDirectRoom(ada);
    const shared = sim.post(ada, room, { text: 'see attached', files: ['https://example.com/report.pdf'] });
    const share = await activity((a) => a.id === shared.uuid);
    expect(share).toMatchObject({
      verb: 'share',
      object: { objectType: 'content', contentCategory: 'documents' },
    });
    const update = await activity((a) => a.verb === 'update');
    expect(update).toMatchObject({
      object: { id: shared.uuid, files: { items: [{ malwareQuarantineState: 'safe' }] } },
    });
    expect(shared.files).toEqual(['https://example.com/report.pdf']);
  });

  it('When a user deletes a message or reads one, Then delete and acknowledge activities arrive', async () => {
    const ada = sim.createUser();
    const room = sim.createDirectRoom(ada);
    const message = sim.post(ada, room, { text: 'oops' });
    sim.acknowledge(ada, message.id);
    expect(await activity((a) => a.verb === 'acknowledge')).toMatchObject({ object: { id: message.uuid } });
    sim.deleteMessage(ada, message.id);
    expect(await activity((a) => a.verb === 'delete')).toMatchObject({
      object: { id: message.uuid, objectType: 'activity' },
    });
  });

  it('When a user leaves a group room, Then a leave activity arrives', async () => {
    const ada = sim.createUser();
    const bob = sim.createUser();
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, bob, sim.bot] });
    sim.removeMember(room, bob);
    expect(await activity((a) => a.verb === 'leave')).toMatchObject({
      actor: { id: bob.uuid },
      object: { id: bob.uuid },
    });
  });
});
