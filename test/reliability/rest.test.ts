/**
 * Webex REST faults under the running bot: 429 bursts (with and without Retry-After), 5xx, an
 * edit refused at the limit, a message refused for its size — every question answered exactly once
 * (or, when Webex refuses the answer itself, one clear notice), never a working message left, the
 * bot ready and answering after.
 *
 * Responses slower than the timeout: the runtime's REST timeout is the client's fixed 15 s, so that
 * case runs on the same REST client and sender with a short timeout, against the simulator on a
 * manual clock that holds the slow responses until the test lets them through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebexRestClient } from '../../src/adapters/webex/rest.js';
import { createWebexSender, restWriteTransport } from '../../src/adapters/webex/sender/index.js';
import { systemClock } from '../../src/clock.js';
import { TransportError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { messages } from '../../src/render/messages.js';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import type { SseExchange } from '../helpers/a2a/sse-emulator.js';
import { captureLog } from '../helpers/capture.js';
import { deferred } from '../helpers/deferred.js';
import { ManualClock } from '../helpers/manual-clock.js';
import {
  answersTo,
  botMessagesStartingWith,
  expectHealthy,
  type Rig,
  startRig,
  untilAnswered,
  untilBotMessage,
  untilNoWorking,
  visibleWorkingMessages,
} from '../helpers/model/rig.js';
import { CaipeTurn } from '../integration/conversations/support.js';

let rig: Rig | undefined;
let sim: WebexSimulator | undefined;

afterEach(async () => {
  await rig?.close();
  await sim?.close();
  rig = undefined;
  sim = undefined;
});

async function setup(rooms: number, env?: Record<string, string>) {
  rig = await startRig(env ? { env } : {});
  const { sim } = rig.world;
  const people = Array.from({ length: rooms }, (_, i) =>
    sim.createUser({ displayName: `User ${i}`, email: `user${i}@example.com` }),
  );
  return { rig, sim, people, rooms: people.map((p) => sim.createDirectRoom(p)) };
}

describe('Webex REST faults under the running bot', () => {
  it.each([
    ['with Retry-After', { retryAfterS: 1 }],
    ['without Retry-After (the 1 s default)', {}],
  ])(
    'a 429 burst on every route %s: each question answered once',
    async (_name, rule) => {
      const { rig, sim, people, rooms } = await setup(5);
      // The next 8 calls of any kind (message reads, posts, edits, deletes) are refused.
      sim.faults.rateLimit({ times: 8, ...rule });
      const questions = rooms.map((_, i) => `rate limited question ${i}.`);
      for (const [i, room] of rooms.entries()) sim.post(people[i]!, room, { text: questions[i]! });
      for (const [i, room] of rooms.entries()) await untilAnswered(rig.world, room.id, questions[i]!, 20_000);
      for (const [i, room] of rooms.entries()) {
        await untilNoWorking(rig.world, room.id);
        expect(answersTo(rig.world, room.id, questions[i]!)).toBe(1);
        expect(rig.asked(questions[i]!)).toBe(1);
      }
      expect(sim.log.requests.filter((r) => r.status === 429)).toHaveLength(8);
      await expectHealthy(rig, people[0]!, rooms[0]!);
    },
    30_000,
  );

  it('5xx on reads, posts, edits and deletes: retried, each question answered once', async () => {
    const { rig, sim, people, rooms } = await setup(3);
    // The agent answers only once its working message is up and a progress edit of it was tried,
    // so that posts, edits and deletes all meet the faults (a quicker answer would take the
    // working message's place and leave no edit or delete to fail).
    for (const [i, room] of rooms.entries()) {
      rig.when(`question through 5xx ${i}.`, async (exchange: SseExchange) => {
        const turn = new CaipeTurn(exchange);
        await turn.open();
        await untilBotMessage(rig.world, room.id, messages.working, 20_000);
        const edited = sim.waitFor(
          'request',
          (r) => r.method === 'PUT' && (r.body as { roomId?: string } | undefined)?.roomId === room.id,
          { timeoutMs: 20_000 },
        );
        await turn.toolStart('Tool', 'argocd');
        await edited;
        await turn.answer(`Echo: ${turn.userText}`);
      });
    }
    sim.faults.failNext({ method: 'GET', route: '/v1/messages/{id}', status: 503, times: 2 });
    sim.faults.failNext({ method: 'POST', route: '/v1/messages', status: 502, times: 2 });
    sim.faults.failNext({ method: 'PUT', route: '/v1/messages/{id}', status: 500, times: 2 });
    sim.faults.failNext({ method: 'DELETE', route: '/v1/messages/{id}', status: 503, times: 2 });
    const questions = rooms.map((_, i) => `question through 5xx ${i}.`);
    for (const [i, room] of rooms.entries()) sim.post(people[i]!, room, { text: questions[i]! });
    for (const [i, room] of rooms.entries()) {
      await untilAnswered(rig.world, room.id, questions[i]!, 20_000);
      await untilNoWorking(rig.world, room.id);
      expect(answersTo(rig.world, room.id, questions[i]!)).toBe(1);
      expect(rig.asked(questions[i]!)).toBe(1);
    }
    expect(sim.log.requests.filter((r) => r.status >= 500).length).toBeGreaterThanOrEqual(6);
    await expectHealthy(rig, people[1]!, rooms[1]!);
  }, 30_000);

  it('an edit refused at the limit: progress stops, the answer still lands once, no working message left', async () => {
    const { rig, sim, people, rooms } = await setup(1);
    const [ada] = people;
    const [room] = rooms;
    const go = deferred<void>();
    rig.when('edits refused.', async (exchange: SseExchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await go.promise;
      for (let i = 0; i < 4; i++) {
        await turn.toolStart(`Tool_${i}`, 'argocd');
        await turn.toolEnd(`Tool_${i}`, 'argocd');
      }
      // The answer comes only after Webex has refused a progress edit.
      await rig.world.sim.waitFor('request', (r) => r.method === 'PUT' && r.status === 400);
      await turn.answer('Echo: edits refused.');
    });
    sim.post(ada!, room!, { text: 'edits refused.' });
    await untilBotMessage(rig.world, room!.id, messages.working);
    sim.faults.failNext({
      method: 'PUT',
      route: '/v1/messages/{id}',
      status: 400,
      message: 'Edit limit reached for this message.',
      times: 20,
    });
    go.resolve();
    await untilAnswered(rig.world, room!.id, 'edits refused.');
    await untilNoWorking(rig.world, room!.id);
    expect(sim.log.requests.filter((r) => r.method === 'PUT' && r.status === 400).length).toBeGreaterThan(0);
    expect(answersTo(rig.world, room!.id, 'edits refused.')).toBe(1);
    sim.faults.clear();
    await expectHealthy(rig, ada!, room!);
  });

  it('the answer refused for its size: one clear notice, no working message left, the next answer lands', async () => {
    const { rig, sim, people, rooms } = await setup(1);
    const [ada] = people;
    const [room] = rooms;
    const go = deferred<void>();
    rig.when('refused for size.', async (exchange: SseExchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await go.promise;
      await turn.answer('Echo: refused for size.');
    });
    sim.post(ada!, room!, { text: 'refused for size.' });
    await untilBotMessage(rig.world, room!.id, messages.working);
    sim.faults.failNext({
      method: 'POST',
      route: '/v1/messages',
      status: 400,
      message: 'Message length exceeds the maximum allowed.',
      times: 1,
    });
    go.resolve();
    await sim.waitFor('request', (r) => r.method === 'POST' && r.status === 400);
    await untilBotMessage(rig.world, room!.id, messages.internalError);
    await untilNoWorking(rig.world, room!.id);
    expect(answersTo(rig.world, room!.id, 'refused for size.')).toBe(0);
    expect(botMessagesStartingWith(rig.world, room!.id, messages.internalError)).toHaveLength(1);
    expect(visibleWorkingMessages(rig.world, room!.id)).toEqual([]);
    await expectHealthy(rig, ada!, room!);
  });
});

describe('responses slower than the REST timeout (sender + REST client, 200 ms timeout)', () => {
  /** A manual clock that says when the simulator starts holding a response. */
  class HoldingClock extends ManualClock {
    held = deferred<void>();
    override setTimeout(callback: () => void, ms: number): unknown {
      const id = super.setTimeout(callback, ms);
      this.held.resolve();
      return id;
    }
  }

  async function senderAgainst(clock: HoldingClock) {
    sim = await startWebexSimulator({ botToken: 'slow-rest-token', clock });
    const rest = new WebexRestClient({ baseUrl: sim.urls.hydra, token: 'slow-rest-token', timeoutMs: 200 });
    const sender = createWebexSender({
      transport: restWriteTransport(rest),
      clock: systemClock,
      retryAfterDefaultS: 1,
      logger: createLogger({ level: 'debug', destination: captureLog().destination }),
    });
    const ada = sim.createUser();
    return { sim, sender, room: sim.createDirectRoom(ada) };
  }

  it('a post that times out is not repeated: Webex ends up with it exactly once', async () => {
    const clock = new HoldingClock();
    const { sim, sender, room } = await senderAgainst(clock);
    sim.faults.latency(60_000, { method: 'POST', route: '/v1/messages' });
    const error = await sender.post({ roomId: room.id, markdown: 'slow post' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).ambiguous).toBe(true);
    // Webex finishes the slow request after the bot gave up: the message exists once, never twice.
    await clock.advance(60_000);
    await sim.waitFor('request', (r) => r.method === 'POST' && r.status === 200);
    expect(sim.roomMessages(room.id).filter((m) => m.markdown === 'slow post')).toHaveLength(1);
    expect(sim.log.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    sender.stop();
  });

  it('an edit that times out is retried and applied', async () => {
    const clock = new HoldingClock();
    const { sim, sender, room } = await senderAgainst(clock);
    const sent = await sender.post({ roomId: room.id, markdown: 'v1' });
    sim.faults.latency(60_000, { method: 'PUT', route: '/v1/messages/{id}' });
    const editing = sender.edit({ roomId: room.id, messageId: sent.id, markdown: 'v2' });
    await clock.held.promise;
    // The first attempt is held; the retry goes through once the latency is gone.
    sim.faults.latency(0, { method: 'PUT', route: '/v1/messages/{id}' });
    await editing;
    expect(sim.roomMessages(room.id).map((m) => m.markdown)).toEqual(['v2']);
    await clock.advance(60_000);
    await sim.waitFor('request', (r) => r.method === 'PUT' && r.status === 200, { timeoutMs: 5_000 });
    expect(sim.roomMessages(room.id).map((m) => m.markdown)).toEqual(['v2']);
    sender.stop();
  });
});
