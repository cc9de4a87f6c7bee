/**
 * Thread context against the Webex simulator, with the real REST client as the bot: Hydra's
 * ordering, `beforeMessage`, `max`, and the bot-visibility rules of group rooms.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebexRestClient } from '../../src/adapters/webex/rest.js';
import { fetchThreadMessages } from '../../src/adapters/webex/thread-messages.js';
import { WebexApiError } from '../../src/errors.js';
import { messages } from '../../src/render/messages.js';
import { buildPromptWithContext, readContextLines } from '../../src/render/prompt.js';
import { type SimPerson, startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { ManualClock, SIM_EPOCH } from '../helpers/manual-clock.js';

const BOT_TOKEN = 'thread-context-bot-token';

let sim: WebexSimulator;
let rest: WebexRestClient;
let clock: ManualClock;

beforeEach(async () => {
  // Messages get distinct creation times only when the test moves the clock.
  clock = new ManualClock(SIM_EPOCH);
  sim = await startWebexSimulator({ botToken: BOT_TOKEN, botDisplayName: 'CAIPE', clock });
  rest = new WebexRestClient({ token: BOT_TOKEN, baseUrl: sim.urls.hydra, timeoutMs: 5000 });
});

afterEach(async () => {
  await sim.close();
});

function options(maxMessages = 10) {
  return { maxMessages, botPersonId: sim.bot.id };
}

async function botReply(roomId: string, parentId: string, text: string): Promise<string> {
  const posted = await rest.post<{ id: string }>('/messages', {
    roomId,
    parentId,
    markdown: `${text}\n\n${messages.footer('aws agent', true)}`,
  });
  return posted.id;
}

describe('thread context through Webex', () => {
  let alice: SimPerson;
  let bob: SimPerson;
  let carol: SimPerson;
  let dave: SimPerson;

  beforeEach(() => {
    alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
    carol = sim.createUser({ displayName: 'Carol', email: 'carol@example.com' });
    dave = sim.createUser({ displayName: 'Dave', email: 'dave@example.com' });
  });

  it('group thread: alice, bob, carol in order; the bot answer and unmentioned asides are not read', async () => {
    const room = sim.createRoom({
      type: 'group',
      title: 'incident',
      members: [alice, bob, carol, dave, sim.bot],
    });
    const root = sim.post(alice, room, { text: 'original incident details', mentionBot: true });
    sim.post(bob, room, { text: 'seeing 500s on checkout', parentId: root, mentionBot: true });
    await botReply(room.id, root.id, 'It looks like the database.');
    sim.post(dave, room, { text: 'an aside the bot never sees', parentId: root });
    sim.post(carol, room, { text: 'rolled back to v41', parentId: root, mentionBot: true });
    const current = sim.post(dave, room, {
      text: 'what should we do now?',
      parentId: root,
      mentionBot: true,
    });

    const context = await fetchThreadMessages(
      rest,
      { roomId: room.id, rootId: root.id, currentMessageId: current.id, roomType: 'group' },
      options(),
    );
    expect(context.map((m) => m.personEmail)).toEqual([
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
    ]);

    const nonce = 'nonce-of-this-turn';
    const prompt = buildPromptWithContext(context, 'what should we do now?', {
      maxChars: 4000,
      nonce: () => nonce,
    });
    expect(readContextLines(prompt, nonce)).toEqual([
      'alice@example.com: "CAIPE original incident details"',
      'bob@example.com: "CAIPE seeing 500s on checkout"',
      'carol@example.com: "CAIPE rolled back to v41"',
    ]);
    expect(prompt.endsWith('\nwhat should we do now?')).toBe(true);
  });

  it('group thread whose root does not mention the bot: the root is skipped, mentioning replies kept', async () => {
    const room = sim.createRoom({ type: 'group', title: 'ops', members: [alice, bob, sim.bot] });
    const root = sim.post(alice, room, { text: 'deploy is red' });
    sim.post(bob, room, { text: 'can you check the logs?', parentId: root, mentionBot: true });
    const current = sim.post(alice, room, { text: 'and the metrics', parentId: root, mentionBot: true });
    const context = await fetchThreadMessages(
      rest,
      { roomId: room.id, rootId: root.id, currentMessageId: current.id },
      options(),
    );
    expect(context.map((m) => m.personEmail)).toEqual(['bob@example.com']);
    // Room type unknown: the plain list was refused (403) and retried with the mention filter.
    const lists = sim.log.requests.filter((r) => r.method === 'GET' && r.path === '/v1/messages');
    // The unreadable root is refused as parentId (400); the room's mentions are read instead.
    expect(lists.map((r) => [r.status, r.query.mentionedPeople, r.query.parentId])).toEqual([
      [403, undefined, root.id],
      [400, 'me', root.id],
      [200, 'me', undefined],
    ]);
  });

  it('group thread after the bot answered: only mentioning messages posted since the answer', async () => {
    const room = sim.createRoom({ type: 'group', title: 'incident', members: [alice, bob, carol, sim.bot] });
    const root = sim.post(alice, room, { text: 'original incident details', mentionBot: true });
    await clock.advance(1000);
    sim.post(bob, room, { text: 'seeing 500s', parentId: root, mentionBot: true });
    await clock.advance(1000);
    const answer = await botReply(room.id, root.id, 'It looks like the database.');
    await clock.advance(1000);
    sim.post(carol, room, { text: 'rolled back', parentId: root, mentionBot: true });
    await clock.advance(1000);
    const current = sim.post(alice, room, { text: 'and now?', parentId: root, mentionBot: true });
    const context = await fetchThreadMessages(
      rest,
      {
        roomId: room.id,
        rootId: root.id,
        currentMessageId: current.id,
        afterMessageId: answer,
        roomType: 'group',
      },
      options(),
    );
    expect(context.map((m) => m.personEmail)).toEqual(['carol@example.com']);
  });

  it('1:1 thread: limits by count, and after the last answer only newer messages', async () => {
    const room = sim.createDirectRoom(alice);
    const root = sim.post(alice, room, { text: 'first question' });
    for (let i = 1; i <= 5; i++) sim.post(alice, room, { text: `note ${i}`, parentId: root });
    const answer = await botReply(room.id, root.id, 'Here is what I found.');
    sim.post(alice, room, { text: 'follow-up detail', parentId: root });
    const current = sim.post(alice, room, { text: 'so?', parentId: root });

    const bounded = await fetchThreadMessages(
      rest,
      { roomId: room.id, rootId: root.id, currentMessageId: current.id, roomType: 'direct' },
      options(4),
    );
    // Root plus three list slots: the follow-up, the bot's answer (dropped) and note 5.
    expect(bounded.map((m) => m.text)).toEqual(['first question', 'note 5', 'follow-up detail']);
    const list = sim.log.requests.find((r) => r.method === 'GET' && r.path === '/v1/messages');
    expect(list?.query).toMatchObject({ parentId: root.id, beforeMessage: current.id, max: '3' });

    const afterAnswer = await fetchThreadMessages(
      rest,
      { roomId: room.id, rootId: root.id, currentMessageId: current.id, afterMessageId: answer },
      options(),
    );
    expect(afterAnswer.map((m) => m.text)).toEqual(['follow-up detail']);

    const all = await fetchThreadMessages(
      rest,
      { roomId: room.id, rootId: root.id, currentMessageId: current.id },
      options(),
    );
    const prompt = buildPromptWithContext(all, 'so?', { maxChars: 60, nonce: () => 'nonce-of-this-turn' });
    const contextLines = readContextLines(prompt, 'nonce-of-this-turn');
    expect(contextLines[0]).toBe('alice@example.com: "first question"');
    expect(contextLines.reduce((n, line) => n + line.length, 0)).toBeLessThanOrEqual(60);
  });

  it('a failing Webex call rejects, for the caller to fall back to the plain request', async () => {
    const room = sim.createDirectRoom(alice);
    const root = sim.post(alice, room, { text: 'q' });
    const current = sim.post(alice, room, { text: 'r', parentId: root });
    sim.faults.failNext({ method: 'GET', route: '/v1/messages', status: 503 });
    const failure = await fetchThreadMessages(
      rest,
      { roomId: room.id, rootId: root.id, currentMessageId: current.id },
      options(),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WebexApiError);
    expect((failure as WebexApiError).status).toBe(503);
    expect((failure as WebexApiError).route).toBe('GET /messages');
  });
});
