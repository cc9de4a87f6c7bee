/**
 * Commands and mentions end to end: `help`, `reset` / `new` (the next turn starts without a
 * `contextId`), and the bot's mention removed before commands are parsed and before the text goes
 * to the agent, with a two-word display name.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import type { SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';
import {
  botPostsIn,
  echoRequests,
  isMessageSend,
  isProgressMarkdown,
  markdownOf,
  parentIdOf,
  sentMessage,
  untilBotPosts,
  untilNoWorkingMessage,
  waitForBotPost,
  waitForBotPostContaining,
} from './support.js';

let world: World | undefined;
let peer: SdkPeer | undefined;

const track = closeAfterEach();

const asked = (p: SdkPeer) => p.requests.filter((r) => isMessageSend(r.json)).map((r) => sentMessage(r.json));

describe('help', () => {
  it('lists the commands in a 1:1 space, whatever the case, without asking the agent', async () => {
    peer = track(echoRequests(await startSdkPeer()));
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createDirectRoom(alice);
    const help = messages.help({ botName: 'CAIPE Bot', group: false });

    sim.post(alice, room, { text: 'help' });
    await waitForBotPost(sim, (markdown) => markdown === help);
    sim.post(alice, room, { text: 'HELP' });
    // Then a question: once it is answered, both commands were handled (one room, in order).
    sim.post(alice, room, { text: 'what can you do?' });
    await waitForBotPostContaining(sim, 'You said: what can you do?');
    await untilNoWorkingMessage(sim, room.id);

    const said = botPostsIn(sim, room.id)
      .map(markdownOf)
      .filter((m) => !isProgressMarkdown(m));
    expect(said).toEqual([help, help, expect.stringContaining('You said: what can you do?')]);
    for (const command of ['help', 'reset', 'new', 'cancel', 'stop'])
      expect(help).toContain(`\`${command}\``);
    expect(asked(peer).map((m) => m.text)).toEqual(['what can you do?']);
  });
});

describe('reset / new', () => {
  it('starts the next turn without a contextId; other turns keep theirs', async () => {
    peer = track(echoRequests(await startSdkPeer()));
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
    const room = sim.createDirectRoom(bob);
    const resetDone = (count: number) =>
      untilBotPosts(sim, room.id, (markdown) => markdown === messages.resetDone, count);

    const turn = async (text: string) => {
      sim.post(bob, room, { text });
      await waitForBotPostContaining(sim, `You said: ${text}`);
      await untilNoWorkingMessage(sim, room.id);
    };

    await turn('first');
    await turn('follow-up');
    sim.post(bob, room, { text: 'reset' });
    await resetDone(1);
    await turn('after reset');
    await turn('and again');
    sim.post(bob, room, { text: 'New' });
    await resetDone(2);
    await turn('after new');

    const contexts = asked(peer).map((m) => m.contextId);
    const [first, followUp, afterReset, andAgain, afterNew] = contexts;
    expect(asked(peer).map((m) => m.text)).toEqual([
      'first',
      'follow-up',
      'after reset',
      'and again',
      'after new',
    ]);
    expect(first).toBeUndefined();
    expect(followUp).toBe(peer.turns[0]!.contextId);
    expect(afterReset).toBeUndefined();
    expect(andAgain).toBe(peer.turns[2]!.contextId);
    expect(andAgain).not.toBe(followUp);
    expect(afterNew).toBeUndefined();
  });
});

describe('mentions', () => {
  it('removes a two-word bot name (and its short form) before the agent sees the text or a command is parsed', async () => {
    peer = track(echoRequests(await startSdkPeer()));
    world = track(await startWorld({ agentUrl: peer.url, botDisplayName: 'CAIPE Assistant' }));
    const { sim } = world;
    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createRoom({ type: 'group', title: 'SRE', members: [alice, sim.bot], creator: alice });
    await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });

    const root = sim.post(alice, room, { text: 'what is the status of prod?', mentionBot: true });
    expect(root.text).toBe('CAIPE Assistant what is the status of prod?');
    await waitForBotPostContaining(sim, 'You said: what is the status of prod?');
    await untilNoWorkingMessage(sim, room.id);

    // People often shorten the mention to the first name.
    const short = sim.post(alice, room, {
      markdown: `<@personId:${sim.bot.id}|CAIPE>, how many pods are pending?`,
      parentId: root,
    });
    expect(short.text).toBe('CAIPE, how many pods are pending?');
    await waitForBotPostContaining(sim, 'You said: how many pods are pending?');
    await untilNoWorkingMessage(sim, room.id);

    const help = messages.help({ botName: 'CAIPE Assistant', group: true });
    sim.post(alice, room, { text: 'Help', mentionBot: true, parentId: root });
    const helpPost = await waitForBotPost(sim, (markdown) => markdown === help);
    expect(parentIdOf(helpPost)).toBe(root.id);
    expect(help).toContain('`@CAIPE Assistant help`');

    expect(asked(peer).map((m) => m.text)).toEqual([
      'what is the status of prod?',
      'how many pods are pending?',
    ]);
  });
});
