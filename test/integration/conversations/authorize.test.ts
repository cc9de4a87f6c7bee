/**
 * Joining and authorizing group spaces through the running bot: a hello when added, and the
 * `authorize` command answering with the "Connect to CAIPE" card (MongoDB shared with the CAIPE UI)
 * or the admin-API instructions (embedded store), or saying the space is already connected.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import { memoryStores } from '../../../src/runtime.js';
import type { SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';
import { waitForBotPost } from './support.js';

let world: World | undefined;
let peer: SdkPeer | undefined;

const track = closeAfterEach();

async function groupWithBot(w: World) {
  const alice = w.sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
  const room = w.sim.createRoom({ type: 'group', title: 'Ops', members: [alice], creator: alice });
  w.sim.addBotToRoom(room, alice);
  return { alice, room };
}

describe('joining and authorizing group spaces', () => {
  it('says hello when added, with how to authorize; `authorize` gives the operator instructions with the embedded store', async () => {
    peer = track(await startSdkPeer());
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const { alice, room } = await groupWithBot(world);
    await waitForBotPost(
      sim,
      (markdown) => markdown === messages.hello({ botName: 'CAIPE Bot', authorized: false }),
    );

    sim.post(alice, room, { text: 'authorize', mentionBot: true });
    const instructions = await waitForBotPost(sim, (markdown) => markdown.includes('/admin/spaces/'));
    expect(JSON.stringify(instructions.body)).toContain(room.id);
    expect(peer.requests).toHaveLength(0);
  });

  it('`auth` with the MongoDB store posts the Connect to CAIPE card linking to the CAIPE UI', async () => {
    peer = track(await startSdkPeer());
    world = track(
      await startWorld({
        agentUrl: peer.url,
        stores: { ...memoryStores(), kind: 'mongodb' },
        env: { CAIPE_UI_BASE_URL: 'https://caipe.example.com' },
      }),
    );
    const { sim } = world;
    const { alice, room } = await groupWithBot(world);
    sim.post(alice, room, { text: 'Auth', mentionBot: true });
    const posted = await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && JSON.stringify(r.body).includes('Action.OpenUrl'),
      { timeoutMs: 10_000 },
    );
    const body = posted.body as {
      parentId?: string;
      attachments: Array<{ content: { actions: Array<Record<string, string>> } }>;
    };
    const action = body.attachments[0]!.content.actions.find((a) => a.type === 'Action.OpenUrl')!;
    expect(action.title).toBe(messages.authorizeCardButton);
    expect(action.url).toBe(
      `https://caipe.example.com/api/admin/integrations/webex/authorize?roomId=${encodeURIComponent(room.id)}`,
    );
  });

  it('with CAIPE ≥0.6 (AGENT_PROTOCOL=caipe) `authorize` gives the admin-API instructions even with MongoDB', async () => {
    world = track(
      await startWorld({
        agentUrl: 'http://127.0.0.1:9',
        stores: { ...memoryStores(), kind: 'mongodb' },
        env: { AGENT_PROTOCOL: 'caipe', CAIPE_AGENT_ID: 'platform-agent' },
      }),
    );
    const { sim } = world;
    const { alice, room } = await groupWithBot(world);
    sim.post(alice, room, { text: 'authorize', mentionBot: true });
    // The "Connect to CAIPE" route exists only up to CAIPE 0.5.
    const instructions = await waitForBotPost(sim, (markdown) => markdown.includes('/admin/spaces/'));
    expect(JSON.stringify(instructions.body)).not.toContain('Action.OpenUrl');
  });

  it('says the space is already connected when it is', async () => {
    peer = track(await startSdkPeer());
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const { alice, room } = await groupWithBot(world);
    await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });
    await waitForBotPost(sim, (markdown) => markdown.startsWith('👋'));
    sim.post(alice, room, { text: 'authorize', mentionBot: true });
    await waitForBotPost(sim, (markdown) => markdown === messages.alreadyAuthorized);
  });
});
