/**
 * Group spaces end to end: answers go under the thread root, a thread is one conversation, the
 * bot only answers when mentioned, and a space that is not authorized gets one notice per thread.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import type { SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import type { SseEmulator } from '../../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { deferred } from '../../helpers/deferred.js';
import { startEmulator, startSdkPeer, startWorld, type World } from '../../helpers/world.js';
import {
  botPostsIn,
  CaipeTurn,
  echoRequests,
  isProgressMarkdown,
  markdownOf,
  parentIdOf,
  sentMessage,
  storesWithSpaces,
  untilNoWorkingMessage,
  WatchedSpaceRegistry,
  waitForBotPost,
  waitForBotPostContaining,
} from './support.js';

let world: World | undefined;
let peer: SdkPeer | undefined;
let emulator: SseEmulator | undefined;

const track = closeAfterEach();

function groupRoom(w: World, title: string) {
  const alice = w.sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
  const bob = w.sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
  const room = w.sim.createRoom({ type: 'group', title, members: [alice, bob, w.sim.bot], creator: alice });
  return { alice, bob, room };
}

describe('group spaces', () => {
  it('answers a top-level message under it, and a reply in that thread under the same root with the same context', async () => {
    peer = track(echoRequests(await startSdkPeer()));
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const { alice, bob, room } = groupRoom(world, 'Platform team');
    await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });

    const root = sim.post(alice, room, { text: 'which clusters are degraded?', mentionBot: true });
    await waitForBotPostContaining(sim, 'You said: which clusters are degraded?');
    await untilNoWorkingMessage(sim, room.id);

    const reply = sim.post(bob, room, { text: 'and in eu-west?', mentionBot: true, parentId: root });
    await waitForBotPostContaining(sim, 'You said: and in eu-west?');
    await untilNoWorkingMessage(sim, room.id);

    // Every post of the bot (working messages and answers) sits in the root's thread.
    const posts = botPostsIn(sim, room.id);
    expect(posts.length).toBe(4);
    for (const post of posts) expect(parentIdOf(post)).toBe(root.id);
    expect(posts.map((p) => isProgressMarkdown(markdownOf(p)))).toEqual([true, false, true, false]);
    // The thread footer tells people how to continue.
    expect(markdownOf(posts[1]!)).toContain('reply in this thread');

    const visible = world.visibleBotMessages(room.id);
    expect(visible.map((m) => m.parentId)).toEqual([root.id, root.id]);
    expect(reply.parentId).toBe(root.id);

    // One conversation: the reply continues the agent context the root opened.
    expect(peer.turns).toHaveLength(2);
    const sent = peer.requests.map((r) => sentMessage(r.json));
    expect(sent[0]!.contextId).toBeUndefined();
    expect(sent[1]!.contextId).toBe(peer.turns[0]!.contextId);
  });

  it('answers only messages that mention the bot', async () => {
    peer = track(echoRequests(await startSdkPeer()));
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const { alice, room } = groupRoom(world, 'Mentions');
    await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });
    // Webex does not deliver these to bots; make the simulator do so, to check the bot's own rule.
    sim.faults.deliverUnmentionedGroupPosts(true);

    const root = sim.post(alice, room, { text: 'first, with a mention', mentionBot: true });
    await waitForBotPostContaining(sim, 'You said: first, with a mention');
    sim.post(alice, room, { text: 'chatting among ourselves', parentId: root });
    sim.post(alice, room, { text: 'a new topic, no mention' });
    // Events of one room reach the bot in order: once this is answered, the two above were handled.
    sim.post(alice, room, { text: 'second, with a mention', mentionBot: true, parentId: root });
    await waitForBotPostContaining(sim, 'You said: second, with a mention');
    await untilNoWorkingMessage(sim, room.id);

    expect(peer.requests.map((r) => sentMessage(r.json).text)).toEqual([
      'first, with a mention',
      'second, with a mention',
    ]);
    expect(world.visibleBotMessages(room.id)).toHaveLength(2);
  });

  it('gives an unauthorized space one short notice per thread and never calls the agent', async () => {
    peer = track(echoRequests(await startSdkPeer()));
    const spaces = new WatchedSpaceRegistry();
    // No caching, so every message reads the registry and the test can tell when it was checked.
    world = track(
      await startWorld({
        agentUrl: peer.url,
        stores: storesWithSpaces(spaces),
        env: { WEBEX_SPACE_AUTH_CACHE_TTL: '0' },
      }),
    );
    const { sim } = world;
    const { alice, bob, room } = groupRoom(world, 'Not connected');
    const notice = messages.unauthorizedSpace('CAIPE Bot');

    const rootA = sim.post(alice, room, { text: 'deploy the fix', mentionBot: true });
    await waitForBotPostContaining(sim, notice);
    sim.post(bob, room, { text: 'please?', mentionBot: true, parentId: rootA });
    await spaces.untilLookups(2);

    const rootB = sim.post(bob, room, { text: 'another question', mentionBot: true });
    await waitForBotPost(sim, (markdown, r) => markdown === notice && parentIdOf(r) === rootB.id);

    // Connect the space: the next message in thread A is answered, after whatever "please?" caused.
    await spaces.authorize({ roomId: room.id, authorizedBy: 'test' });
    sim.post(alice, room, { text: 'now?', mentionBot: true, parentId: rootA });
    await waitForBotPostContaining(sim, 'You said: now?');
    await untilNoWorkingMessage(sim, room.id);

    const threadA = botPostsIn(sim, room.id).filter((p) => parentIdOf(p) === rootA.id);
    expect(threadA.map(markdownOf)).toEqual([
      notice,
      messages.working,
      expect.stringContaining('You said: now?'),
    ]);
    const threadB = botPostsIn(sim, room.id).filter((p) => parentIdOf(p) === rootB.id);
    expect(threadB.map(markdownOf)).toEqual([notice]);
    expect(notice.length).toBeLessThan(200);
    // The agent saw only the message sent after the space was connected.
    expect(peer.requests.map((r) => sentMessage(r.json).text)).toEqual(['now?']);
  });
});

describe('two threads at once', () => {
  it('answers both in parallel, each with its own agent context', async () => {
    emulator = track(await startEmulator());
    world = track(await startWorld({ agentUrl: emulator.url }));
    const { sim } = world;
    const { alice, bob, room } = groupRoom(world, 'Two topics');
    await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });

    // Neither first turn answers before both have reached the agent: they must run side by side.
    const bothArrived = deferred<void>();
    let arrived = 0;
    const held = async (exchange: Parameters<Parameters<SseEmulator['enqueue']>[0]>[0]) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      if (++arrived === 2) bothArrived.resolve();
      await bothArrived.promise;
      await turn.answer(`${turn.contextId} answers: ${turn.userText}`);
    };
    const quick = async (exchange: Parameters<Parameters<SseEmulator['enqueue']>[0]>[0]) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await turn.answer(`${turn.contextId} answers: ${turn.userText}`);
    };
    emulator.enqueue(held, held, quick, quick);

    const rootA = sim.post(alice, room, { text: 'topic A', mentionBot: true });
    const rootB = sim.post(bob, room, { text: 'topic B', mentionBot: true });
    const answerA = await waitForBotPostContaining(sim, 'answers: topic A');
    const answerB = await waitForBotPostContaining(sim, 'answers: topic B');
    expect(parentIdOf(answerA)).toBe(rootA.id);
    expect(parentIdOf(answerB)).toBe(rootB.id);
    const contextA = /^(ctx-\d+) answers/.exec(markdownOf(answerA))?.[1];
    const contextB = /^(ctx-\d+) answers/.exec(markdownOf(answerB))?.[1];
    expect(contextA).toBeDefined();
    expect(contextB).toBeDefined();
    expect(contextA).not.toBe(contextB);

    sim.post(bob, room, { text: 'more on B', mentionBot: true, parentId: rootB });
    const followB = await waitForBotPostContaining(sim, 'answers: more on B');
    sim.post(alice, room, { text: 'more on A', mentionBot: true, parentId: rootA });
    const followA = await waitForBotPostContaining(sim, 'answers: more on A');
    await untilNoWorkingMessage(sim, room.id);

    expect(markdownOf(followA)).toMatch(new RegExp(`^${contextA} answers`));
    expect(markdownOf(followB)).toMatch(new RegExp(`^${contextB} answers`));
    expect(parentIdOf(followA)).toBe(rootA.id);
    expect(parentIdOf(followB)).toBe(rootB.id);
    const byText = new Map(emulator.requests.map((r) => [sentMessage(r.json).text, sentMessage(r.json)]));
    expect(byText.get('topic A')?.contextId).toBeUndefined();
    expect(byText.get('topic B')?.contextId).toBeUndefined();
    expect(byText.get('more on A')?.contextId).toBe(contextA);
    expect(byText.get('more on B')?.contextId).toBe(contextB);
  });
});
