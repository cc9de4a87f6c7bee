/**
 * Inside one conversation answers are serial: `cancel` / `stop` stops the running one (the agent
 * gets `tasks/cancel`), messages that arrive meanwhile are answered after it in order, and more
 * than `MAX_QUEUED_PER_CONVERSATION` waiting get a "busy" notice.
 */
import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import type { SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { SseEmulator, type SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { deferred } from '../../helpers/deferred.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';
import {
  botPostsIn,
  CaipeTurn,
  echo,
  echoRequests,
  isMessageSend,
  isProgressMarkdown,
  markdownOf,
  parentIdOf,
  sentMessage,
  untilNoWorkingMessage,
  waitForBotPost,
  waitForBotPostContaining,
  workingMessages,
} from './support.js';

let world: World | undefined;
let peer: SdkPeer | undefined;
let emulator: SseEmulator | undefined;

const track = closeAfterEach();

describe('cancel mid-stream', () => {
  it.each(['cancel', 'Stop!'])(
    '"%s" in the thread cancels the agent task, tells the user, removes the working message',
    async (command) => {
      peer = track(await startSdkPeer());
      const cancelled = deferred<string>();
      peer.enqueue(async (turn) => {
        turn.task();
        turn.status(TaskState.TASK_STATE_WORKING);
        turn.artifact('tool_notification_start', ['🔧 Splunk: Calling tool: Slow_Query\n'], {
          description: 'Tool call started: Slow_Query',
          metadata: { sourceAgent: 'splunk', agentType: 'sub-agent' },
        });
        await turn.untilCancelled();
        cancelled.resolve(turn.ctx.taskId);
        turn.status(TaskState.TASK_STATE_CANCELED);
        turn.finish();
      });
      echoRequests(peer);
      world = track(await startWorld({ agentUrl: peer.url }));
      const { sim } = world;
      const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
      const room = sim.createRoom({ type: 'group', title: 'Ops', members: [alice, sim.bot], creator: alice });
      await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });

      const root = sim.post(alice, room, { text: 'search all the logs', mentionBot: true });
      // The working message shows the tool: the bot is mid-stream and knows the task.
      await sim.waitFor('request', (r) => r.method === 'PUT' && markdownOf(r).includes('Slow_Query'), {
        timeoutMs: 10_000,
      });
      sim.post(alice, room, { text: command, mentionBot: true, parentId: root });

      const taskId = await cancelled.promise;
      expect(peer.cancelRequests).toEqual([taskId]);
      expect(taskId).toBe(peer.turns[0]!.taskId);
      const told = await waitForBotPostContaining(sim, messages.cancelled);
      expect(parentIdOf(told)).toBe(root.id);
      await untilNoWorkingMessage(sim, room.id);
      expect(workingMessages(sim, room.id).every((m) => m.deleted)).toBe(true);

      // The thread carries on.
      sim.post(alice, room, { text: 'just the last hour then', mentionBot: true, parentId: root });
      await waitForBotPostContaining(sim, 'You said: just the last hour then');
      await untilNoWorkingMessage(sim, room.id);
      const said = botPostsIn(sim, room.id)
        .map(markdownOf)
        .filter((m) => !isProgressMarkdown(m));
      expect(said).toEqual([
        messages.cancelled,
        expect.stringContaining('You said: just the last hour then'),
      ]);
      // The command never reached the agent as a question.
      const asked = peer.requests.filter((r) => isMessageSend(r.json)).map((r) => sentMessage(r.json).text);
      expect(asked).toEqual(['search all the logs', 'just the last hour then']);
    },
    20_000,
  );
});

describe('messages that arrive while an answer runs', () => {
  /** The first turn answers only when the test says so; the rest echo at once. */
  function heldFirstTurn() {
    const release = deferred<void>();
    const script = async (exchange: SseExchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await release.promise;
      await turn.answer(`Echo: ${turn.userText}`);
    };
    return { release, script };
  }

  it('are answered after it, in order; one more than the queue holds gets the busy notice', async () => {
    emulator = await SseEmulator.start({ defaultScript: echo });
    const first = heldFirstTurn();
    emulator.enqueue(first.script);
    world = track(await startWorld({ agentUrl: emulator.url, env: { MAX_QUEUED_PER_CONVERSATION: '1' } }));
    const { sim } = world;
    const bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
    const room = sim.createDirectRoom(bob);

    const arrived = emulator.nextExchange();
    sim.post(bob, room, { text: 'one' });
    await arrived;
    sim.post(bob, room, { text: 'two' });
    sim.post(bob, room, { text: 'three' });
    await waitForBotPost(sim, (markdown) => markdown === messages.busy);
    first.release.resolve();
    await waitForBotPostContaining(sim, 'Echo: two');
    await untilNoWorkingMessage(sim, room.id);

    const posts = botPostsIn(sim, room.id).map((r) =>
      isProgressMarkdown(markdownOf(r)) ? 'working' : markdownOf(r).split('\n')[0],
    );
    expect(posts.slice(0, 3)).toEqual(['working', messages.busy, 'Echo: one']);
    // The echo answers "two" at once: its working message goes out first, or, when the answer was
    // ready before the working message left the send queue, the answer takes its place.
    expect(posts.slice(3).filter((p) => p !== 'working')).toEqual(['Echo: two']);
    expect(posts.length).toBeLessThanOrEqual(5);
    const asked = emulator.requests.map((r) => sentMessage(r.json));
    expect(asked.map((m) => m.text)).toEqual(['one', 'two']);
    // Same conversation: the queued message continues the first one's agent context.
    expect(asked[1]!.contextId).toBeDefined();
    expect(asked[0]!.contextId).toBeUndefined();
  }, 20_000);

  it('with the default queue, five wait and are answered in the order sent; the sixth is turned away', async () => {
    emulator = await SseEmulator.start({ defaultScript: echo });
    const first = heldFirstTurn();
    emulator.enqueue(first.script);
    world = track(await startWorld({ agentUrl: emulator.url }));
    const { sim } = world;
    const carol = sim.createUser({ displayName: 'Carol', email: 'carol@example.com' });
    const room = sim.createDirectRoom(carol);

    const arrived = emulator.nextExchange();
    sim.post(carol, room, { text: 'm0' });
    await arrived;
    for (let i = 1; i <= 6; i++) sim.post(carol, room, { text: `m${i}` });
    await waitForBotPost(sim, (markdown) => markdown === messages.busy);
    first.release.resolve();
    await waitForBotPostContaining(sim, 'Echo: m5', 20_000);
    await untilNoWorkingMessage(sim, room.id);

    const answers = botPostsIn(sim, room.id)
      .map(markdownOf)
      .filter((m) => !isProgressMarkdown(m) && m !== messages.busy)
      .map((m) => m.split('\n')[0]);
    expect(answers).toEqual(['Echo: m0', 'Echo: m1', 'Echo: m2', 'Echo: m3', 'Echo: m4', 'Echo: m5']);
    expect(emulator.requests.map((r) => sentMessage(r.json).text)).toEqual([
      'm0',
      'm1',
      'm2',
      'm3',
      'm4',
      'm5',
    ]);
    expect(botPostsIn(sim, room.id).filter((r) => markdownOf(r) === messages.busy)).toHaveLength(1);
  }, 30_000);
});
