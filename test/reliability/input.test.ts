/**
 * Bad input under the running bot: malformed frames, unknown verbs, a 100 KB frame and the largest
 * message Webex carries, a 500-message flood of one conversation, unknown and replayed card
 * submissions. Never a crash, never a duplicate answer, a bounded queue, the bot ready after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAIN_THREAD } from '../../src/machines/conversation-key.js';
import { buildFeedbackCard } from '../../src/render/cards.js';
import { messages } from '../../src/render/messages.js';
import type { SseExchange } from '../helpers/a2a/sse-emulator.js';
import { deferred } from '../helpers/deferred.js';
import {
  answersTo,
  botMessagesStartingWith,
  expectHealthy,
  type Rig,
  startRig,
  untilAnswered,
  untilBotMessage,
  untilNoWorking,
} from '../helpers/model/rig.js';
import { scaledClock } from '../helpers/model/scaled-world.js';
import { BOT_TOKEN } from '../helpers/world.js';
import { CaipeTurn } from '../integration/conversations/support.js';

let rig: Rig | undefined;

afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function setup(options: Parameters<typeof startRig>[0] = {}) {
  rig = await startRig(options);
  const { sim } = rig.world;
  const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
  return { rig, sim, ada, room: sim.createDirectRoom(ada) };
}

describe('bad input under the running bot', () => {
  it('malformed frames, unknown verbs and a 100 KB frame: acked, ignored, nothing posted, still answering', async () => {
    const { rig, sim, ada, room } = await setup();
    sim.post(ada, room, { text: 'before the junk.' });
    await untilAnswered(rig.world, room.id, 'before the junk.');

    sim.faults.sendRaw('this is not json {');
    sim.faults.sendRaw('');
    sim.faults.sendRaw({ id: 'bad-1', data: { eventType: 'conversation.activity', activity: 'nope' } });
    sim.faults.sendRaw({
      id: 'bad-2',
      data: {
        eventType: 'conversation.activity',
        activity: {
          id: 'a-frobnicate',
          verb: 'frobnicate',
          actor: { id: ada.uuid, type: 'PERSON' },
          target: { id: room.uuid },
        },
      },
    });
    sim.faults.sendRaw({ id: 'bad-3', data: { eventType: 'conversation.activity', activity: null } });
    sim.faults.sendRaw({ id: 'bad-4', type: 'no-such-type', data: [1, 2, 3] });
    sim.faults.sendRaw({
      id: 'bad-5',
      data: {
        eventType: 'conversation.activity',
        activity: {
          id: 'a-huge',
          verb: 'post',
          actor: { id: ada.uuid, type: 'PERSON' },
          object: { objectType: 'comment', displayName: 'x'.repeat(100 * 1024) },
          target: { id: 'not-a-room', objectType: 'conversation', url: 'http://nowhere.invalid/x' },
        },
      },
    });
    for (const id of ['bad-1', 'bad-2', 'bad-3', 'bad-4', 'bad-5'])
      await sim.waitFor('ack', (a) => a.messageId === id);

    await expectHealthy(rig, ada, room, 'after the junk.');
    expect(answersTo(rig.world, room.id, 'before the junk.')).toBe(1);
    // Two answers and nothing else: no reply to any of the junk.
    expect(rig.world.visibleBotMessages(room.id)).toHaveLength(2);
    expect(sim.sockets().filter((s) => s.state === 'open')).toHaveLength(1);
  });

  it('the largest message Webex carries (7439 bytes of multi-byte text) is answered once', async () => {
    const { rig, sim, ada, room } = await setup();
    const text = `big one. ${'é'.repeat((7439 - 9) / 2)}`;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(7439);
    sim.post(ada, room, { text });
    await untilAnswered(rig.world, room.id, 'big one.');
    await untilNoWorking(rig.world, room.id);
    expect(answersTo(rig.world, room.id, 'big one.')).toBe(1);
    expect(rig.asked('big one.')).toBe(1);
    for (const m of rig.world.visibleBotMessages(room.id)) {
      expect(Buffer.byteLength(m.markdown ?? '')).toBeLessThanOrEqual(7439);
    }
    await expectHealthy(rig, ada, room);
  });

  it('500 messages flooding one conversation: a bounded queue, one busy notice for the rest, each answered once', async () => {
    // The bot's clock runs 20× faster so the sender's pacing does not slow the test down.
    const { rig, sim, ada, room } = await setup({ clock: scaledClock(20), logLevel: 'info' });
    const release = deferred<void>();
    rig.when('flood 0.', async (exchange: SseExchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await release.promise;
      await turn.answer('Echo: flood 0.');
    });
    const started = rig.agent.nextExchange();
    sim.post(ada, room, { text: 'flood 0.' });
    await started;
    for (let i = 1; i < 500; i++) sim.post(ada, room, { text: `flood ${i}.` });
    // Five wait (MAX_QUEUED_PER_CONVERSATION), the other 494 are turned away: the bot reads all 500.
    const readsOfFlood = () =>
      sim.log.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/messages/')).length;
    while (readsOfFlood() < 500) {
      await sim.waitFor('request', (r) => r.method === 'GET', { futureOnly: true, timeoutMs: 20_000 });
    }
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && JSON.stringify(r.body).includes(messages.busy.slice(0, 20)),
      {
        timeoutMs: 20_000,
      },
    );
    release.resolve();
    for (let i = 0; i <= 5; i++) await untilAnswered(rig.world, room.id, `flood ${i}.`, 20_000);
    await untilNoWorking(rig.world, room.id);
    for (let i = 0; i <= 5; i++) {
      expect(answersTo(rig.world, room.id, `flood ${i}.`)).toBe(1);
      expect(rig.asked(`flood ${i}.`)).toBe(1);
    }
    for (let i = 6; i < 500; i++) expect(rig.asked(`flood ${i}.`)).toBe(0);
    // The thread is told once that the queue is full, not 494 times.
    expect(botMessagesStartingWith(rig.world, room.id, messages.busy)).toHaveLength(1);
    expect(rig.agent.requests.filter((r) => r.json?.method === 'message/stream')).toHaveLength(6);
    await expectHealthy(rig, ada, room);
  }, 60_000);

  it('an unknown card submission gets one notice; replayed, it gets none; junk card data the same', async () => {
    const { rig, sim, ada, room } = await setup();
    sim.post(ada, room, { text: 'a question first.' });
    await untilAnswered(rig.world, room.id, 'a question first.');
    // A card the bot posted before a restart (this process has never heard of it).
    const card = buildFeedbackCard({
      traceId: 'f'.repeat(32),
      conversationKey: `${room.id}/${MAIN_THREAD}`,
      cardId: 'card-from-an-earlier-life',
    });
    const response = await fetch(`${sim.urls.hydra}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ roomId: room.id, ...card }),
    });
    expect(response.status).toBe(200);
    const cardMessage = (await response.json()) as { id: string };
    const inputs = {
      _caipe: {
        kind: 'feedback',
        key: `${room.id}/${MAIN_THREAD}`,
        cardId: 'card-from-an-earlier-life',
        traceId: 'f'.repeat(32),
        value: 'positive',
      },
    };
    const action = sim.submitCard(ada, cardMessage.id, inputs);
    await untilBotMessage(rig.world, room.id, messages.unknownCard);
    expect(sim.faults.redeliver(action.uuid)).toBeGreaterThan(0);
    sim.submitCard(ada, cardMessage.id, { something: 'else entirely' });
    // Handled in order: once a later question is answered, the replay and the junk have been seen.
    await expectHealthy(rig, ada, room, 'after the cards.');
    await untilBotMessage(rig.world, room.id, messages.unknownCard);
    expect(botMessagesStartingWith(rig.world, room.id, messages.unknownCard)).toHaveLength(2);
    expect(rig.agent.requests.filter((r) => r.json?.method === 'message/stream')).toHaveLength(2);
  });
});
