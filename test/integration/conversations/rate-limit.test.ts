/**
 * A 429 storm on `POST /messages` while many people ask at once: every working message, answer
 * and delete still reaches Webex exactly once and in each room's order, counted from the
 * simulator's log and message store.
 */
import { describe, expect, it } from 'vitest';
import type { SimPerson, SimRoom } from '../../../src/simulator/webex/index.js';
import { SseEmulator } from '../../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startWorld, type World } from '../../helpers/world.js';
import {
  botPostsIn,
  botWrites,
  echo,
  isProgressMarkdown,
  markdownOf,
  untilNoWorkingMessage,
  waitForBotPostContaining,
  workingMessages,
} from './support.js';

let world: World | undefined;
let emulator: SseEmulator | undefined;

const track = closeAfterEach();

const cases = [
  { name: 'with Retry-After', retryAfterS: 1 as number | undefined },
  { name: 'without Retry-After (the configured default)', retryAfterS: undefined },
];

describe('a 429 storm on posts', () => {
  it.each(cases)(
    '$name: nothing lost, duplicated or reordered',
    async ({ retryAfterS }) => {
      emulator = await SseEmulator.start({ defaultScript: echo });
      world = track(await startWorld({ agentUrl: emulator.url, env: { WEBEX_RETRY_AFTER_DEFAULT_S: '1' } }));
      const { sim } = world;
      const storm = 4;
      sim.faults.rateLimit({
        method: 'POST',
        route: '/v1/messages',
        times: storm,
        ...(retryAfterS !== undefined ? { retryAfterS } : {}),
      });

      const people: Array<{ user: SimPerson; room: SimRoom; questions: string[] }> = [];
      for (let i = 1; i <= 6; i++) {
        const user = sim.createUser({ displayName: `User ${i}`, email: `user${i}@example.com` });
        // The first person asks three things in a row: they queue and must come back in order.
        const questions = i === 1 ? ['q1-a', 'q1-b', 'q1-c'] : [`q${i}`];
        people.push({ user, room: sim.createDirectRoom(user), questions });
      }
      for (const { user, room, questions } of people) {
        for (const question of questions) sim.post(user, room, { text: question });
      }
      for (const { questions } of people) {
        for (const question of questions) await waitForBotPostContaining(sim, `Echo: ${question}`, 20_000);
      }
      for (const { room } of people) await untilNoWorkingMessage(sim, room.id);

      const refused = botWrites(sim).filter((r) => r.status === 429);
      expect(refused).toHaveLength(storm);
      expect(refused.every((r) => r.method === 'POST' && r.path === '/v1/messages')).toBe(true);
      expect(botWrites(sim).filter((r) => r.status >= 400 && r.status !== 429)).toEqual([]);

      for (const { room, questions } of people) {
        // What went through, in the room's order: for each question its working message and its
        // answer, or only the answer when it was ready while the working message still waited for
        // the pause to end (the answer then took its place: SPEC, Answering 1).
        const accepted = botPostsIn(sim, room.id).map((r) =>
          isProgressMarkdown(markdownOf(r)) ? 'working' : (/Echo: (\S+)/.exec(markdownOf(r))?.[1] ?? '?'),
        );
        expect(accepted.filter((a) => a !== 'working')).toEqual(questions);
        accepted.forEach((a, i) => {
          if (a === 'working') expect(questions).toContain(accepted[i + 1]);
        });
        // Webex shows the answers once each, in order, and no working message.
        const visible = world
          .visibleBotMessages(room.id)
          .map((m) => /Echo: (\S+)/.exec(m.markdown ?? '')?.[1]);
        expect(visible).toEqual(questions);
        const working = workingMessages(sim, room.id);
        expect(working).toHaveLength(accepted.filter((a) => a === 'working').length);
        expect(working.every((m) => m.deleted)).toBe(true);
      }

      // A refused post goes out again only after the pause (Retry-After or the 1 s default): the
      // room's next post, which is the same request again (or, for a working message, the answer
      // that took its place meanwhile), comes a second later or more.
      const posts = botWrites(sim).filter((r) => r.method === 'POST' && r.path === '/v1/messages');
      for (const refusal of refused) {
        const roomId = (refusal.body as { roomId?: string }).roomId;
        const retry = posts.find(
          (r) =>
            posts.indexOf(r) > posts.indexOf(refusal) && (r.body as { roomId?: string }).roomId === roomId,
        );
        expect(retry).toBeDefined();
        if (!isProgressMarkdown(markdownOf(refusal)) || !markdownOf(retry!).startsWith('Echo: ')) {
          expect(markdownOf(retry!)).toBe(markdownOf(refusal));
        }
        expect(retry!.at - refusal.at).toBeGreaterThanOrEqual(1_000);
      }
    },
    30_000,
  );
});
