/**
 * A burst of questions against a Webex that limits the bot's writes (the simulator's token bucket:
 * a small burst, then a few writes per second, 429 beyond): the sender runs into the limit, learns
 * it, and every question is still answered exactly once, with no working message left and nothing
 * asked of the agent twice — counted from what the simulator stored and logged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WriteLimitOptions } from '../../src/simulator/webex/index.js';
import {
  answersTo,
  expectHealthy,
  type Rig,
  startRig,
  untilAnswered,
  untilNoWorking,
  visibleWorkingMessages,
} from '../helpers/model/rig.js';

let rig: Rig | undefined;

afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const QUESTIONS = 40;

describe('a burst against a rate-limited Webex', () => {
  it.each([
    ['Retry-After until the next token', { ratePerSecond: 15, burst: 10 }],
    ['no Retry-After (the 1 s default)', { ratePerSecond: 15, burst: 10, retryAfter: 'none' }],
  ] satisfies Array<[string, WriteLimitOptions]>)(
    '%s: each question answered exactly once, nothing left behind',
    async (_name, writeLimit) => {
      rig = await startRig({ writeLimit, logLevel: 'info' });
      const { sim } = rig.world;
      const people = Array.from({ length: QUESTIONS }, (_, i) =>
        sim.createUser({ displayName: `Burst ${i}`, email: `burst${i}@example.com` }),
      );
      const rooms = people.map((person) => sim.createDirectRoom(person));
      const questions = rooms.map((_, i) => `burst question ${i}.`);
      for (const [i, room] of rooms.entries()) sim.post(people[i]!, room, { text: questions[i]! });

      for (const [i, room] of rooms.entries()) await untilAnswered(rig.world, room.id, questions[i]!, 60_000);
      for (const room of rooms) await untilNoWorking(rig.world, room.id, 30_000);

      for (const [i, room] of rooms.entries()) {
        expect(answersTo(rig.world, room.id, questions[i]!)).toBe(1);
        expect(rig.asked(questions[i]!)).toBe(1);
        expect(visibleWorkingMessages(rig.world, room.id)).toEqual([]);
      }
      const writes = sim.log.requests.filter(
        (r) => r.callerUuid === sim.bot.uuid && r.method !== 'GET' && r.path.startsWith('/v1/'),
      );
      // The limit was reached (the burst is far above 10 writes), and only ever answered with 429.
      expect(writes.filter((r) => r.status === 429).length).toBeGreaterThan(0);
      expect(writes.filter((r) => r.status >= 400 && r.status !== 429)).toEqual([]);
      // Nothing was posted twice: per room, the answer and at most one working message.
      for (const room of rooms) {
        const posts = writes.filter(
          (r) =>
            r.method === 'POST' && r.status === 200 && (r.body as { roomId?: string }).roomId === room.id,
        );
        expect(posts.length).toBeGreaterThanOrEqual(1);
        expect(posts.length).toBeLessThanOrEqual(2);
      }
      await expectHealthy(rig, people[0]!, rooms[0]!);
    },
    120_000,
  );
});
