/**
 * Bounds on turns, through the running bot (SPEC "Agent output"): `MAX_TURNS_PER_PERSON` and
 * `MAX_CONCURRENT_TURNS` turn a question away with a busy notice before its working message (the
 * agent is not called); `AGENT_TURN_TIMEOUT_S` stops a stream that never ends, cancels the
 * agent's task and leaves no working message. The deadline runs on a clock 20× the wall clock.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import type { SimPerson, SimRoom } from '../../../src/simulator/webex/index.js';
import type { SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { type Deferred, deferred } from '../../helpers/deferred.js';
import {
  answersTo,
  type Rig,
  type RigOptions,
  startRig,
  untilAnswered,
  untilNoWorking,
  visibleWorkingMessages,
} from '../../helpers/model/rig.js';
import { scaledClock } from '../../helpers/model/scaled-world.js';
import { CaipeTurn } from '../conversations/support.js';
import { botMessagesEqualTo, refusedTotal, untilBotPostedTimes } from './support.js';

const track = closeAfterEach();

interface Space {
  rig: Rig;
  ada: SimPerson;
  ben: SimPerson;
  room: SimRoom;
}

async function groupSpace(options: RigOptions): Promise<Space> {
  const rig = track(await startRig(options));
  const { sim } = rig.world;
  const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
  const ben = sim.createUser({ displayName: 'Ben', email: 'ben@example.com' });
  const room = sim.createRoom({ type: 'group', title: 'Ops', members: [ada, ben, sim.bot], creator: ada });
  await rig.world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });
  return { rig, ada, ben, room };
}

/** A new question in the space (a new thread) is answered once, and no working message stays. */
async function expectAnswered(space: Space, user: SimPerson, question: string): Promise<void> {
  const { rig, room } = space;
  rig.world.sim.post(user, room, { text: question, mentionBot: true });
  await untilAnswered(rig.world, room.id, question);
  await untilNoWorking(rig.world, room.id);
  expect(rig.asked(question)).toBe(1);
  expect(answersTo(rig.world, room.id, question)).toBe(1);
}

/** An answer that starts, then waits for `release` before it finishes; `started` says it is running. */
function heldAnswer(release: Deferred<void>, started: Deferred<CaipeTurn>) {
  return async (exchange: SseExchange): Promise<void> => {
    const turn = new CaipeTurn(exchange);
    await turn.open();
    await turn.stream('Looking into it', 1);
    started.resolve(turn);
    await release.promise;
    await turn.answer(`Echo: ${turn.userText}`);
  };
}

describe('turn limits', () => {
  it('MAX_TURNS_PER_PERSON=1: a second question of a person with a running answer gets the busy notice; another person is answered', async () => {
    const space = await groupSpace({ env: { MAX_TURNS_PER_PERSON: '1' } });
    const { rig, ada, ben, room } = space;
    const { world } = rig;
    const { sim } = world;
    const release = deferred<void>();
    const started = deferred<CaipeTurn>();
    rig.when('a long question', heldAnswer(release, started));

    sim.post(ada, room, { text: 'a long question', mentionBot: true });
    await started.promise;
    const second = sim.post(ada, room, { text: 'another question', mentionBot: true });
    await untilBotPostedTimes(world, room.id, messages.busyForYou);
    sim.post(ben, room, { text: 'a question of mine', mentionBot: true });
    await untilAnswered(world, room.id, 'a question of mine');

    expect(rig.asked('another question')).toBe(0);
    expect(botMessagesEqualTo(world, room.id, messages.busyForYou)[0]?.parentId).toBe(second.id);
    expect(await refusedTotal(world, 'busy')).toBe(1);

    release.resolve();
    await untilAnswered(world, room.id, 'a long question');
    await untilNoWorking(world, room.id);
    expect(rig.asked('a long question')).toBe(1);
    expect(rig.asked('a question of mine')).toBe(1);
    expect(botMessagesEqualTo(world, room.id, messages.busyForYou)).toHaveLength(1);
    // The slot is free again once the answer is out.
    await expectAnswered(space, ada, 'and now?');
  });

  it('MAX_CONCURRENT_TURNS=1: any second question while one answer runs gets the busy notice', async () => {
    const space = await groupSpace({ env: { MAX_CONCURRENT_TURNS: '1' } });
    const { rig, ada, ben, room } = space;
    const { world } = rig;
    const { sim } = world;
    const release = deferred<void>();
    const started = deferred<CaipeTurn>();
    rig.when('a long question', heldAnswer(release, started));

    sim.post(ada, room, { text: 'a long question', mentionBot: true });
    await started.promise;
    const other = sim.post(ben, room, { text: 'a question of mine', mentionBot: true });
    await untilBotPostedTimes(world, room.id, messages.busyEverywhere);

    expect(rig.asked('a question of mine')).toBe(0);
    expect(botMessagesEqualTo(world, room.id, messages.busyEverywhere)[0]?.parentId).toBe(other.id);
    expect(botMessagesEqualTo(world, room.id, messages.busyForYou)).toHaveLength(0);
    expect(await refusedTotal(world, 'busy')).toBe(1);

    release.resolve();
    await untilAnswered(world, room.id, 'a long question');
    await untilNoWorking(world, room.id);
    await expectAnswered(space, ben, 'may I ask now?');
  });

  it('AGENT_TURN_TIMEOUT_S stops a stream that never ends: a notice, the task cancelled, no working message left', async () => {
    const space = await groupSpace({
      clock: scaledClock(20),
      env: { AGENT_TURN_TIMEOUT_S: '10' },
    });
    const { rig, ada, room } = space;
    const { world } = rig;
    const { sim } = world;
    let endless: CaipeTurn | undefined;
    // Progress keeps coming (so the idle timeout never fires), the answer never does.
    rig.when('never ends', async (exchange) => {
      endless = new CaipeTurn(exchange);
      await endless.open();
      const ticker = setInterval(() => void endless!.stream('still going… ', 1).catch(() => undefined), 100);
      await exchange.clientClosed();
      clearInterval(ticker);
    });

    const root = sim.post(ada, room, { text: 'a question that never ends', mentionBot: true });
    const notice = messages.turnTimedOut(10);
    await untilBotPostedTimes(world, room.id, notice);
    await untilNoWorking(world, room.id);
    // The turn's cleanup asks the agent to cancel its task.
    while (rig.cancels.length === 0) await rig.agent.nextExchange();

    expect(botMessagesEqualTo(world, room.id, notice)[0]?.parentId).toBe(root.id);
    expect(visibleWorkingMessages(world, room.id)).toHaveLength(0);
    expect(rig.cancels).toEqual([endless!.taskId]);
    expect(await refusedTotal(world, 'bounds')).toBe(1);
    expect(rig.asked('a question that never ends')).toBe(1);
    // The thread goes on.
    await expectAnswered(space, ada, 'a short one?');
  });
});
