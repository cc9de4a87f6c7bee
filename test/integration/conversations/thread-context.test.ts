/**
 * Thread context through the running bot: a reply in a thread whose agent context was reset carries
 * the thread so far, oldest first, with the bot's own answers and its mention left out.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import { echoScript, type SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';
import { sentMessage, waitForBotPost, waitForBotPostContaining } from './support.js';

let world: World | undefined;
let peer: SdkPeer | undefined;

const track = closeAfterEach();

describe('thread context', () => {
  it('sends the earlier thread (bot answers and mentions removed) with a reply that starts a fresh context', async () => {
    peer = track(await startSdkPeer());
    peer.enqueue(echoScript, echoScript);
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
    const room = sim.createRoom({
      type: 'group',
      title: 'Ops',
      members: [alice, bob, sim.bot],
      creator: alice,
    });
    await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });

    const root = sim.post(alice, room, { text: 'the payments service is down', mentionBot: true });
    await waitForBotPostContaining(sim, 'You said');
    sim.post(bob, room, { text: 'new', mentionBot: true, parentId: root });
    await waitForBotPost(sim, (markdown) => markdown === messages.resetDone);
    sim.post(bob, room, { text: 'which region is affected?', mentionBot: true, parentId: root });
    await sim.waitFor('request', (r) => r.method === 'DELETE', { timeoutMs: 10_000 });
    await waitForBotPostContaining(sim, 'which region is affected?');

    const second = sentMessage(peer.requests[1]!.json);
    expect(second.contextId).toBeUndefined();
    const lines = second.prompt.split('\n');
    const nonce = /^\[end ctx ([A-Za-z0-9_-]+)\]$/m.exec(second.prompt)?.[1] ?? '';
    const alicesLine = lines.find((l) => l.includes('payments service is down'));
    expect(alicesLine).toBe(`[ctx ${nonce}] alice@example.com: "the payments service is down"`);
    expect(second.prompt).not.toContain('CAIPE Bot');
    expect(second.prompt).not.toContain('You said');
    expect(second.prompt.indexOf('payments service')).toBeLessThan(
      second.prompt.indexOf('which region is affected?'),
    );
    expect(lines.at(-1)).toBe('which region is affected?');
  });
});
