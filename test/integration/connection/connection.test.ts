import { afterEach, describe, expect, it } from 'vitest';
import { readinessOf } from '../../../src/machines/webex-connection.js';
import type { SimClock } from '../../../src/simulator/webex/index.js';
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

describe('webex connection against the simulator', () => {
  it('connects: people/me, catalog, one registered device, socket with the three parameters, online', async () => {
    const h = await start();
    await h.online();
    const devices = liveBotDevices(h.sim);
    expect(devices).toHaveLength(1);
    expect(devices[0]!.name).toBe(DEVICE_NAME);
    expect(botRequests(h.sim, 'GET', '/v1/people/me')).toHaveLength(1);
    expect(botRequests(h.sim, 'GET', '/u2c/api/v1/catalog')).toHaveLength(1);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(1);
    const sockets = h.sim.sockets();
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.query).toMatchObject({
      outboundWireFormat: 'text',
      bufferStates: 'true',
      aliasHttpStatus: 'true',
    });
    expect(readinessOf(h.conn.actor.getSnapshot())).toEqual({ ready: true });
    // buffer_state was acked with its frame id.
    const bufferState = h.sim.log.framesSent.find(
      (f) => (f.frame.data as { eventType?: string } | undefined)?.eventType === 'mercury.buffer_state',
    );
    await h.sim.waitFor('ack', (a) => a.messageId === bufferState?.frame.id);
    expect(h.log.text()).not.toContain(BOT_TOKEN);
  });

  it('delivers a 1:1 message as one normalised event and acks its frame id', async () => {
    const h = await start();
    await h.online();
    const ada = h.sim.createUser({ displayName: 'Ada Lovelace', email: 'ada@example.com' });
    const room = h.sim.createDirectRoom(ada);
    const message = h.sim.post(ada, room, { text: 'hello bot' });
    const event = await h.nextEvent((e) => e.activityId === message.uuid);
    expect(event).toMatchObject({
      kind: 'message',
      roomId: room.id,
      roomType: 'direct',
      messageId: message.id,
      text: 'hello bot',
      files: false,
      person: { id: ada.id, email: 'ada@example.com', displayName: 'Ada Lovelace' },
    });
    const frame = h.sim.log.framesSent.find(
      (f) => (f.frame.data as { activity?: { id?: string } } | undefined)?.activity?.id === message.uuid,
    );
    await h.sim.waitFor('ack', (a) => a.messageId === frame?.frame.id && a.known);
    expect(h.sim.unackedFrames(liveBotDevices(h.sim)[0]!.uuid)).toEqual([]);
  });

  it('reuses the newest own device and deletes the other own devices', async () => {
    // Distinct device timestamps: every read of this clock moves it on by one millisecond.
    let now = Date.parse('2026-01-01T00:00:00Z');
    const simClock: SimClock = {
      now: () => {
        now += 1;
        return now;
      },
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    const registered: string[] = [];
    const h = await start({
      simClock,
      before: async (sim) => {
        for (const name of [DEVICE_NAME, 'someone-else', DEVICE_NAME, DEVICE_NAME]) {
          const response = await fetch(`${sim.urls.wdm}/devices`, {
            method: 'POST',
            headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name, deviceType: 'DESKTOP' }),
          });
          registered.push(((await response.json()) as { url: string }).url);
        }
      },
    });
    await h.online();
    const newest = registered[3]!;
    expect(h.conn.actor.getSnapshot().context.device?.url).toBe(newest);
    expect(
      liveBotDevices(h.sim)
        .map((d) => d.url)
        .sort(),
    ).toEqual([registered[1]!, newest].sort());
    // Only the four set-up registrations: the bot registered nothing itself.
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(4);
    expect(botRequests(h.sim, 'DELETE', '/wdm/api/v1/devices/{id}')).toHaveLength(2);
    expect(h.sim.sockets()[0]!.deviceUuid).toBe(newest.split('/').at(-1));
  });

  it('closes with "Pong not received" when pongs stop, then reconnects to the same device', async () => {
    const h = await start();
    await h.online();
    // The first ping goes out at readiness; wait for its pong before silencing the simulator.
    await h.until((s) => s.matches({ connected: { online: 'idle' } }));
    h.sim.faults.swallowPongs(true);
    h.clock.increment(15_000);
    h.clock.increment(14_000);
    const closed = await h.sim.waitFor('socket', (r) => r.type === 'closed');
    expect(closed).toMatchObject({ code: 1000, reason: 'Pong not received', closedBy: 'client' });
    await h.until((s) => s.matches('backoff'));
    h.sim.faults.swallowPongs(false);
    h.clock.increment(1_000);
    await h.online();
    expect(liveBotDevices(h.sim)).toHaveLength(1);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(1);
    expect(h.metrics.reconnects).toEqual(['pong-timeout']);
  });

  it('closes with "Pong mismatch" when a pong carries another id, then reconnects', async () => {
    const h = await start();
    await h.online();
    await h.until((s) => s.matches({ connected: { online: 'idle' } }));
    h.sim.faults.pongMismatch(true);
    h.clock.increment(15_000);
    const closed = await h.sim.waitFor('socket', (r) => r.type === 'closed');
    expect(closed).toMatchObject({ code: 1000, reason: 'Pong mismatch', closedBy: 'client' });
    await h.until((s) => s.matches('backoff'));
    h.sim.faults.pongMismatch(false);
    h.clock.increment(1_000);
    await h.online();
    expect(h.metrics.reconnects).toEqual(['pong-mismatch']);
  });

  it('gives up on a socket that never sends buffer_state and tries again', async () => {
    const h = await start({ before: (sim) => sim.faults.withholdBufferState(true) });
    await h.sim.waitFor('socket', (r) => r.type === 'authorized');
    expect(h.conn.actor.getSnapshot().matches({ connected: 'connecting' })).toBe(true);
    h.clock.increment(30_000);
    await h.until((s) => s.matches('backoff'));
    await h.sim.waitFor('socket', (r) => r.type === 'closed' && r.closedBy === 'client');
    h.sim.faults.withholdBufferState(false);
    h.clock.increment(1_000);
    await h.online();
    expect(h.metrics.reconnects).toEqual(['ready-timeout']);
    expect(liveBotDevices(h.sim)).toHaveLength(1);
  });

  it.each([
    [1001, 'going away', 'going-away'],
    [1011, 'unexpected error', 'server-error'],
    [4000, 'Something else', 'unexpected-close'],
    [1000, 'idle', 'recycle'],
  ])('reconnects to the same device after close %i %s', async (code, reason, label) => {
    const h = await start();
    await h.online();
    h.sim.faults.close(code, reason);
    await h.until((s) => s.matches('backoff'));
    h.clock.increment(1_000);
    await h.online();
    expect(h.metrics.reconnects).toEqual([label]);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(1);
  });

  it('reconnects after a TCP drop without a second device, and delivers what arrived meanwhile once', async () => {
    const h = await start();
    await h.online();
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    h.sim.faults.dropTcp();
    await h.until((s) => s.matches('backoff'));
    expect(readinessOf(h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'reconnecting' });
    const whileDown = h.sim.post(ada, room, { text: 'sent while the bot was offline' });
    h.clock.increment(1_000);
    await h.online();
    const event = await h.nextEvent((e) => e.activityId === whileDown.uuid);
    expect(event).toMatchObject({ kind: 'message', text: 'sent while the bot was offline' });
    const after = h.sim.post(ada, room, { text: 'after' });
    await h.nextEvent((e) => e.activityId === after.uuid);
    expect(h.events.filter((e) => e.activityId === whileDown.uuid)).toHaveLength(1);
    expect(liveBotDevices(h.sim)).toHaveLength(1);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(1);
    expect(h.metrics.reconnects).toEqual(['abnormal']);
  });

  it('registers a new device when the handshake says 404', async () => {
    const h = await start();
    await h.online();
    const [original] = liveBotDevices(h.sim);
    h.sim.faults.deleteDevice(original!.uuid);
    h.sim.faults.dropTcp();
    await h.until((s) => s.matches('backoff'));
    h.clock.increment(1_000);
    await h.sim.waitFor('socket', (r) => r.type === 'rejected' && r.code === 404);
    await h.until((s) => s.matches('backoff') && s.context.attempt === 1);
    h.clock.increment(2_000);
    await h.online();
    const devices = liveBotDevices(h.sim);
    expect(devices).toHaveLength(1);
    expect(devices[0]!.uuid).not.toBe(original!.uuid);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(2);
    expect(h.metrics.reconnects).toEqual(['abnormal', 'stale-device']);
  });

  it('switches sockets on a shutdown frame without going offline or losing an event', async () => {
    const h = await start();
    await h.online();
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    const offline: string[] = [];
    const sub = h.conn.actor.subscribe((s) => {
      if (!s.hasTag('online')) offline.push(JSON.stringify(s.value));
    });
    const [oldSocket] = h.sim.sockets();
    h.sim.faults.shutdown();
    // Posted while the switch is under way: lands on the old socket.
    const during = h.sim.post(ada, room, { text: 'during the switch' });
    const closed = await h.sim.waitFor('socket', (r) => r.type === 'closed' && r.socketId === oldSocket!.id);
    expect(closed).toMatchObject({ code: 4001, closedBy: 'server' });
    await h.until((s) => s.matches({ connected: 'online' }) && h.sim.sockets().length === 1);
    const after = h.sim.post(ada, room, { text: 'after the switch' });
    await h.nextEvent((e) => e.activityId === after.uuid);
    await h.nextEvent((e) => e.activityId === during.uuid);
    sub.unsubscribe();
    expect(offline).toEqual([]);
    expect(h.events.filter((e) => e.activityId === during.uuid)).toHaveLength(1);
    expect(h.events.filter((e) => e.activityId === after.uuid)).toHaveLength(1);
    expect(h.sim.sockets()[0]!.id).not.toBe(oldSocket!.id);
    expect(h.metrics.reconnects).toEqual([]);
    expect(liveBotDevices(h.sim)).toHaveLength(1);
  });

  it('stands down on 4000 Replaced, says why, and retries after 5 minutes', async () => {
    const h = await start();
    await h.online();
    h.sim.faults.close(4000, 'Replaced');
    await h.until((s) => s.matches('standingDown'));
    expect(readinessOf(h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'replaced' });
    expect(h.log.text()).toContain('another process uses this bot token');
    const connectsBefore = h.sim.log.socketEvents.filter((r) => r.type === 'connected').length;
    h.clock.increment(299_999);
    expect(h.conn.actor.getSnapshot().matches('standingDown')).toBe(true);
    h.clock.increment(1);
    await h.online();
    expect(h.sim.log.socketEvents.filter((r) => r.type === 'connected')).toHaveLength(connectsBefore + 1);
    expect(botRequests(h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(1);
  });

  it('is not ready after 4401, with a clear log line and no reconnect storm', async () => {
    const h = await start();
    await h.online();
    h.sim.faults.close(4401, 'authentication failed');
    await h.until((s) => s.matches('notReady'));
    expect(readinessOf(h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'unauthorized' });
    expect(
      h.log.records().some((r) => r.level === 'error' && String(r.msg).includes('rejected the bot token')),
    ).toBe(true);
    const connects = () => h.sim.log.socketEvents.filter((r) => r.type === 'connected').length;
    const before = connects();
    for (let i = 0; i < 29; i++) h.clock.increment(10_000);
    expect(connects()).toBe(before);
    h.clock.increment(10_000);
    await h.online();
    expect(connects()).toBe(before + 1);
  });

  it('is not ready when the token is refused at people/me', async () => {
    const h = await start({ connection: { token: 'not-a-valid-token' } });
    await h.until((s) => s.matches('notReady'));
    expect(readinessOf(h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'unauthorized' });
    expect(h.sim.sockets()).toEqual([]);
  });

  it('handles a redelivered activity once', async () => {
    const h = await start();
    await h.online();
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    const message = h.sim.post(ada, room, { text: 'once' });
    await h.nextEvent((e) => e.activityId === message.uuid);
    const firstFrame = h.sim.log.framesSent.find(
      (f) => (f.frame.data as { activity?: { id?: string } }).activity?.id === message.uuid,
    );
    expect(h.sim.faults.redeliver(message.uuid)).toBe(1);
    const again = h.sim.log.framesSent.findLast(
      (f) => (f.frame.data as { activity?: { id?: string } } | undefined)?.activity?.id === message.uuid,
    );
    expect(again?.frame.id).not.toBe(firstFrame?.frame.id);
    await h.sim.waitFor('ack', (a) => a.messageId === again?.frame.id);
    // Frames are handled in order: once a later message is out, the duplicate has been seen.
    const later = h.sim.post(ada, room, { text: 'later' });
    await h.nextEvent((e) => e.activityId === later.uuid);
    expect(h.events.filter((e) => e.activityId === message.uuid)).toHaveLength(1);
    expect(h.metrics.inboundOutcomes).toContainEqual({ kind: 'message', outcome: 'duplicate' });
  });

  it('ignores malformed frames and unknown verbs and keeps the socket up', async () => {
    const h = await start();
    await h.online();
    const [socket] = h.sim.sockets();
    h.sim.faults.sendRaw('this is not json {');
    h.sim.faults.sendRaw({ id: 'bad-1', data: { eventType: 'conversation.activity', activity: 'nope' } });
    h.sim.faults.sendRaw({
      id: 'bad-2',
      data: {
        eventType: 'conversation.activity',
        activity: { id: 'x', verb: 'frobnicate', actor: { id: 'u', type: 'PERSON' }, target: { id: 't' } },
      },
    });
    h.sim.faults.sendRaw({ id: 'bad-3', data: { eventType: 'featureToggle_update' } });
    h.sim.faults.sendRaw({ id: 'bad-4', type: 'no-such-type' });
    for (const id of ['bad-1', 'bad-2', 'bad-3', 'bad-4'])
      await h.sim.waitFor('ack', (a) => a.messageId === id);
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    const message = h.sim.post(ada, room, { text: 'still there?' });
    await h.nextEvent((e) => e.activityId === message.uuid);
    expect(h.sim.sockets().map((s) => s.id)).toEqual([socket!.id]);
    expect(h.conn.actor.getSnapshot().hasTag('online')).toBe(true);
    expect(h.metrics.malformed).toBe(2);
    expect(h.metrics.inboundOutcomes).toContainEqual({ kind: 'activity', outcome: 'ignored' });
    expect(h.metrics.reconnects).toEqual([]);
  });

  it('logs and counts a sequence-number gap', async () => {
    const gaps: Array<{ expected: number; received: number }> = [];
    const h = await start({ connection: { onSequenceGap: (gap) => gaps.push(gap) } });
    await h.online();
    h.sim.faults.sequenceGap(3);
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    const message = h.sim.post(ada, room, { text: 'after a gap' });
    await h.nextEvent((e) => e.activityId === message.uuid);
    expect(h.conn.actor.getSnapshot().context.sequenceGaps).toBe(1);
    expect(h.metrics.gaps).toEqual([3]);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.received - gaps[0]!.expected).toBe(3);
    expect(h.log.text()).toContain('mercury sequence gap');
  });

  // Reversed on purpose: stop used to delete the device. Kept, it is reused by the next process,
  // and Webex redelivers to it what arrived while no process ran.
  it('keeps its device on stop, and deletes it only when asked', async () => {
    const h = await start();
    await h.online();
    const [device] = liveBotDevices(h.sim);
    await h.conn.stop();
    expect(h.conn.actor.getSnapshot().status).not.toBe('active');
    expect(h.sim.devices().find((d) => d.uuid === device!.uuid)?.deleted).toBe(false);
    expect(botRequests(h.sim, 'DELETE', '/wdm/api/v1/devices/{id}')).toHaveLength(0);
    await h.sim.waitFor('socket', (r) => r.type === 'closed' && r.closedBy === 'client');
    expect(h.log.text()).toContain('keeping the bot device for the next process');

    const again = await startHarness({ connection: {} });
    try {
      // Another simulator: its own device, deleted on request.
      await again.online();
      const [other] = liveBotDevices(again.sim);
      await again.conn.stop({ deleteDevice: true });
      expect(again.sim.devices().find((d) => d.uuid === other!.uuid)?.deleted).toBe(true);
    } finally {
      await again.sim.close();
    }
  });
});
