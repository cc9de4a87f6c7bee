/**
 * The running bot while its store's claims fail: nothing is posted for a message it has not
 * claimed — no answer, no notice, no working message — and the agent is not asked. The messages
 * wait, and once claims work again each is answered exactly once, in the order of its room.
 */
import { describe, expect, it } from 'vitest';
import type { EventClaims } from '../../src/adapters/store/ports.js';
import { memoryStores } from '../../src/runtime.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';
import { answersTo, startRig, untilAnswered } from '../helpers/model/rig.js';
import { botWrites } from './conversations/support.js';

const track = closeAfterEach();

/** Claims that throw while `down`; `failures(n)` resolves at the n-th failed attempt. */
class OutageClaims implements EventClaims {
  down = true;
  failed = 0;
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(private readonly inner: EventClaims) {}

  async claim(activityId: string, ttlMs: number): Promise<boolean> {
    if (this.down) {
      this.failed += 1;
      for (const waiter of this.waiters.filter((w) => w.n <= this.failed)) waiter.resolve();
      throw new Error('store unreachable');
    }
    return this.inner.claim(activityId, ttlMs);
  }

  failures(n: number): Promise<void> {
    const reached = deferred<void>();
    if (this.failed >= n) reached.resolve();
    else this.waiters.push({ n, resolve: () => reached.resolve() });
    return reached.promise;
  }
}

describe('claims failing in the running bot', () => {
  it('posts nothing unclaimed; afterwards answers each waiting message once, in order', async () => {
    const base = memoryStores();
    const claims = new OutageClaims(base.claims);
    // The waiting questions arrive at once when claims work again: the per-person limit is not what this tests.
    const rig = track(await startRig({ stores: { ...base, claims }, env: { MAX_TURNS_PER_PERSON: '10' } }));
    const { sim } = rig.world;
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const dmRoom = sim.createDirectRoom(ada);
    const group = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, sim.bot], creator: ada });
    await base.spaces.authorize({ roomId: group.id, authorizedBy: 'test' });
    const writesBefore = botWrites(sim).length;

    sim.post(ada, dmRoom, { text: 'first in the dm.' });
    sim.post(ada, dmRoom, { text: 'second in the dm.' });
    const root = sim.post(ada, group, { text: 'thread root.', mentionBot: true });
    sim.post(ada, group, { text: 'thread reply.', mentionBot: true, parentId: root.id });

    // The first claim failed and at least one retry did too (0.5 s later): everything waits.
    await claims.failures(2);
    expect(botWrites(sim).length).toBe(writesBefore);
    expect(rig.agent.requests).toEqual([]);
    const metrics = await (await fetch(`http://127.0.0.1:${rig.world.runtime.http.port}/metrics`)).text();
    expect(metrics).toMatch(/webex_bot_claims_waiting 4\b/);
    expect(metrics).toMatch(/webex_bot_store_errors_total\{store="claims"\} [2-9]/);

    claims.down = false;
    await untilAnswered(rig.world, dmRoom.id, 'second in the dm.');
    await untilAnswered(rig.world, group.id, 'thread reply.');

    for (const [roomId, question] of [
      [dmRoom.id, 'first in the dm.'],
      [dmRoom.id, 'second in the dm.'],
      [group.id, 'thread root.'],
      [group.id, 'thread reply.'],
    ] as const) {
      expect(answersTo(rig.world, roomId, question), question).toBe(1);
      expect(rig.asked(question), question).toBe(1);
    }
    // In each room, the answers came in the order the questions were asked.
    const order = (roomId: string) =>
      rig.world
        .visibleBotMessages(roomId)
        .map((m) => m.markdown ?? '')
        .filter((m) => m.startsWith('Echo: '));
    expect(order(dmRoom.id)).toEqual([
      expect.stringMatching(/^Echo: first in the dm\./),
      expect.stringMatching(/^Echo: second in the dm\./),
    ]);
    expect(order(group.id)).toEqual([
      expect.stringMatching(/^Echo: thread root\./),
      expect.stringMatching(/^Echo: thread reply\./),
    ]);
    const after = await (await fetch(`http://127.0.0.1:${rig.world.runtime.http.port}/metrics`)).text();
    expect(after).toMatch(/webex_bot_claims_waiting 0\b/);
    expect(rig.world.log.text()).toContain('event claims work again; no event waits');
  });
});
