/**
 * Webex behaviours the official JS SDK handles and the bot must handle too, each against a
 * simulator rule (docs/simulator.md cites where each rule comes from).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHydraId } from '../../../src/adapters/webex/ids.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { rest } from '../../simulator/sim-client.js';
import {
  BOT_TOKEN,
  botRequests,
  DEVICE_NAME,
  type Harness,
  liveBotDevices,
  startHarness,
} from './harness.js';

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

  it('on "excessive device registrations" deletes the oldest third, other instances\' devices last, and comes online', async () => {
    const simClock = new ManualClock();
    // Seven devices of the token, one minute apart: five of other clients, two of other instances.
    const names = [
      'old-client-1',
      `${DEVICE_NAME}-pod-0`,
      'old-client-2',
      'old-client-3',
      `${DEVICE_NAME}-pod-1`,
      'old-client-4',
      'old-client-5',
    ];
    const h = await start({
      simClock,
      simulator: { maxDevicesPerUser: names.length },
      before: async (sim) => {
        for (const name of names) {
          await simClock.advance(60_000);
          const created = await rest(`${sim.urls.wdm}/devices`, BOT_TOKEN, {
            method: 'POST',
            body: { name, deviceType: 'DESKTOP' },
          });
          expect(created.status).toBe(200);
        }
      },
    });
    await h.online();
    // ceil(7 / 3) = 3 deleted: the three oldest foreign devices; pod-0, older than two of them, stays.
    const left = liveBotDevices(h.sim).map((d) => d.name);
    expect(left.sort()).toEqual(
      ['old-client-4', 'old-client-5', `${DEVICE_NAME}-pod-0`, `${DEVICE_NAME}-pod-1`, DEVICE_NAME].sort(),
    );
    const posts = h.sim.log.requests.filter((r) => r.method === 'POST' && r.route === '/wdm/api/v1/devices');
    expect(posts.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 400, 200]);
    await h.logged((r) => String(r.msg).includes('excessive device registrations') && r.pruned === 3);
  });

  it('refreshes the device (PUT, no new registration) after a 1005 close before readiness, and keeps what Webex buffered', async () => {
    const h = await start({ before: (sim) => sim.faults.withholdBufferState(true) });
    await h.sim.waitFor('socket', (r) => r.type === 'authorized');
    const [device] = liveBotDevices(h.sim);
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    h.sim.faults.closeWithoutStatus();
    await h.until((s) => s.matches('backoff') && s.context.refreshBeforeConnect);
    const whileDown = h.sim.post(ada, room, { text: 'sent while the device was refreshed' });
    h.sim.faults.withholdBufferState(false);
    h.clock.increment(1_000);
    await h.online();
    expect(h.metrics.reconnects).toEqual(['unknown-response']);
    const refreshes = botRequests(h.sim, 'PUT', '/wdm/api/v1/devices/{id}');
    expect(refreshes.map((r) => [r.path.split('/').at(-1), r.status])).toEqual([[device!.uuid, 200]]);
    expect(botRequests(h.sim, 'DELETE', '/wdm/api/v1/devices/{id}')).toHaveLength(0);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(1);
    expect(h.sim.sockets()[0]!.deviceUuid).toBe(device!.uuid);
    // Redelivered to the same device: nothing was lost by the refresh.
    expect(await h.nextEvent((e) => e.activityId === whileDown.uuid)).toMatchObject({ kind: 'message' });
    expect(h.conn.actor.getSnapshot().context.refreshBeforeConnect).toBe(false);
  });

  it('registers a new device when the refresh after a 1005 says 404', async () => {
    const h = await start({ before: (sim) => sim.faults.withholdBufferState(true) });
    await h.sim.waitFor('socket', (r) => r.type === 'authorized');
    const [device] = liveBotDevices(h.sim);
    h.sim.faults.closeWithoutStatus();
    await h.until((s) => s.matches('backoff') && s.context.refreshBeforeConnect);
    h.sim.faults.deleteDevice(device!.uuid);
    h.sim.faults.withholdBufferState(false);
    h.clock.increment(1_000);
    await h.online();
    const [replacement] = liveBotDevices(h.sim);
    expect(replacement!.uuid).not.toBe(device!.uuid);
    expect(botRequests(h.sim, 'PUT', '/wdm/api/v1/devices/{id}').map((r) => r.status)).toEqual([404]);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(2);
  });

  it('counts a backward sequence gap, resumes counting from it, and catches up as for a forward one', async () => {
    const gaps: Array<{ expected: number; received: number }> = [];
    const h = await start({ connection: { onSequenceGap: (gap) => gaps.push(gap) } });
    await h.online();
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    const before = h.sim.post(ada, room, { text: 'before' });
    await h.nextEvent((e) => e.activityId === before.uuid);
    h.sim.faults.sequenceGap(-2);
    const rewound = h.sim.post(ada, room, { text: 'numbered back' });
    await h.nextEvent((e) => e.activityId === rewound.uuid);
    const after = h.sim.post(ada, room, { text: 'numbered on from there' });
    await h.nextEvent((e) => e.activityId === after.uuid);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.received - gaps[0]!.expected).toBe(-2);
    expect(h.metrics.gaps).toEqual([1]);
    expect(h.conn.actor.getSnapshot().context.sequenceGaps).toBe(1);
    await h.logged(
      (r) => r.msg === 'mercury sequence gap: frames may have been lost' && r.direction === 'backward',
    );
    const summary = await h.logged((r) => String(r.msg).startsWith('catch-up') && r.reason === 'sequenceGap');
    expect(summary).toMatchObject({ rooms: 1 });
    expect(h.events.filter((e) => e.activityId === rewound.uuid)).toHaveLength(1);
  });
});
