/**
 * Revocation through the running bot: a room with a revoked entry under one id form and an active
 * one under the other is refused, and the agent is never called.
 */
import { describe, expect, it } from 'vitest';
import { decodeHydraId } from '../../../src/adapters/webex/ids.js';
import { messages } from '../../../src/render/messages.js';
import type { SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';
import { echoRequests, waitForBotPostContaining } from './support.js';

let world: World | undefined;
let peer: SdkPeer | undefined;

const track = closeAfterEach();

describe('revocation', () => {
  it('a revoked id form wins over an active one: the space is refused and the agent never called', async () => {
    peer = track(echoRequests(await startSdkPeer()));
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createRoom({ type: 'group', title: 'Ops', members: [alice, sim.bot], creator: alice });
    const uuid = decodeHydraId(room.id)!.uuid;
    const spaces = world.runtime.stores.spaces;
    await spaces.authorize({ roomId: uuid, authorizedBy: 'admin-api' });
    await spaces.revoke([uuid], 'admin-api');
    // Authorized again later, but only under the public id form.
    await spaces.authorize({ roomId: room.id, authorizedBy: 'ana@example.com' });

    sim.post(alice, room, { text: 'deploy the fix', mentionBot: true });
    await waitForBotPostContaining(sim, messages.unauthorizedSpace('CAIPE Bot'));
    expect(peer.requests).toHaveLength(0);
  });
});
