/**
 * A space registry outage longer than the cache TTL, through the running bot (SPEC "Who may use
 * the bot"): a cached `active` is trusted for one more `WEBEX_SPACE_AUTH_CACHE_TTL` after it
 * expired; after that the space is refused (fail closed) with its own notice, the agent is not
 * called, and the refusal is counted. The bot's clock is one the test jumps forward, so the TTL
 * is crossed without waiting.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import { memoryStores } from '../../../src/runtime.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startRig, untilAnswered, untilNoWorking } from '../../helpers/model/rig.js';
import { FailingSpaceRegistry, JumpClock, refusedTotal, untilBotPostedTimes } from './support.js';

const track = closeAfterEach();
const TTL_S = 60;

describe('space registry outage', () => {
  it('trusts a cached active for one TTL past its expiry, then refuses the space with a notice', async () => {
    const clock = new JumpClock();
    const spaces = new FailingSpaceRegistry(clock);
    const rig = track(
      await startRig({
        clock,
        stores: { ...memoryStores(clock), spaces },
        env: { WEBEX_SPACE_AUTH_CACHE_TTL: String(TTL_S) },
      }),
    );
    const { world } = rig;
    const { sim } = world;
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, sim.bot], creator: ada });
    await spaces.authorize({ roomId: room.id, authorizedBy: 'test' });

    // Read from the registry and cached as active for one TTL.
    sim.post(ada, room, { text: 'before the outage', mentionBot: true });
    await untilAnswered(world, room.id, 'before the outage');

    // The store goes down; the cached answer expires, and one TTL after that is still trusted.
    spaces.failing = true;
    clock.jump((TTL_S + 1) * 1000);
    sim.post(ada, room, { text: 'early in the outage', mentionBot: true });
    await untilAnswered(world, room.id, 'early in the outage');
    expect(spaces.failures).toBe(1);

    // Past that second TTL the space is refused: its own notice, no agent call, counted.
    clock.jump(TTL_S * 1000);
    const late = sim.post(ada, room, { text: 'late in the outage', mentionBot: true });
    await untilBotPostedTimes(world, room.id, messages.spaceCheckUnavailable);
    await untilNoWorking(world, room.id);
    expect(spaces.failures).toBe(2);
    expect(rig.asked('late in the outage')).toBe(0);
    expect(rig.agent.requests).toHaveLength(2);
    const notice = world
      .visibleBotMessages(room.id)
      .find((m) => m.markdown === messages.spaceCheckUnavailable);
    expect(notice?.parentId).toBe(late.id);
    expect(
      world.visibleBotMessages(room.id).some((m) => m.markdown === messages.unauthorizedSpace('CAIPE Bot')),
    ).toBe(false);
    expect(await refusedTotal(world, 'space-unavailable')).toBe(1);

    // The store answers again: the space works as before.
    spaces.failing = false;
    sim.post(ada, room, { text: 'after the outage', mentionBot: true });
    await untilAnswered(world, room.id, 'after the outage');
    expect(rig.asked('after the outage')).toBe(1);
  });
});
