/**
 * Webex behaviours the official JS SDK handles and the bot must handle too, each against a
 * simulator rule (docs/simulator.md cites where each rule comes from).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHydraId } from '../../../src/adapters/webex/ids.js';
import { type Harness, startHarness } from './harness.js';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

describe('Webex fidelity', () => {
  it('reads a message of a room whose conversation host is only an entry of the catalog (non-US org)', async () => {
    const h = await start();
    await h.online();
    const ada = h.sim.createUser({ displayName: 'Ada' });
    const room = h.sim.createRoom({ type: 'direct', members: [ada, h.sim.bot], region: 'eu' });
    const message = h.sim.post(ada, room, { text: 'hello from Frankfurt' });
    const event = await h.nextEvent((e) => e.activityId === message.uuid);
    expect(event).toMatchObject({ kind: 'message', text: 'hello from Frankfurt', roomId: room.id });
    expect(decodeHydraId(event.roomId)?.cluster).toBe('urn:TEAM:eu-central-1_k');
    // The message was read with its eu id at the first try: no 404 on the way.
    const reads = h.sim.log.requests.filter((r) => r.route === '/v1/messages/{id}');
    expect(reads.map((r) => r.status)).toEqual([200]);
  });
});
