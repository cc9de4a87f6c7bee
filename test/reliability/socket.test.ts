/**
 * Socket faults under the running bot: every question is answered exactly once (counted in what
 * Webex stores), the agent is asked once per question, and the bot is ready and answering after.
 *
 * The runtime's socket timers are the production ones (1 s first backoff, 15 s pings, 5-minute
 * stand-down), so faults whose recovery needs those long waits (lost pongs, 4000 Replaced) are run
 * against the connection harness on a simulated clock; the runtime case checks what it can see
 * without waiting (readiness, no reconnect storm, nothing answered twice).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { readinessOf } from '../../src/machines/webex-connection.js';
import type { SseExchange } from '../helpers/a2a/sse-emulator.js';
import { deferred } from '../helpers/deferred.js';
import {
  answersTo,
  expectHealthy,
  type Rig,
  startRig,
  untilAnswered,
  untilNoWorking,
  untilOffline,
  untilOnline,
} from '../helpers/model/rig.js';
import { type Harness, liveBotDevices, startHarness } from '../integration/connection/harness.js';
import { CaipeTurn } from '../integration/conversations/support.js';

let rig: Rig | undefined;
let harness: Harness | undefined;

afterEach(async () => {
  await rig?.close();
  await harness?.close();
  rig = undefined;
  harness = undefined;
});

/** A turn that streams a little and answers only when released. */
function heldAnswer() {
  const release = deferred<void>();
  const started = deferred<void>();
  const script = async (exchange: SseExchange) => {
    const turn = new CaipeTurn(exchange);
    await turn.open();
    await turn.stream(`partial ${turn.userText}`, 1);
    started.resolve();
    await release.promise;
    await turn.answer(`Echo: ${turn.userText}`);
  };
  return { release, started, script };
}

async function setup(env?: Record<string, string>) {
  rig = await startRig(env ? { env } : {});
  const { sim } = rig.world;
  const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
  const bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
  return { rig, sim, ada, bob, adaRoom: sim.createDirectRoom(ada), bobRoom: sim.createDirectRoom(bob) };
}

describe('socket faults under the running bot', () => {
  it('TCP drop mid-answer: the answer lands, what was sent while offline is answered once', async () => {
    const { rig, sim, ada, bob, adaRoom, bobRoom } = await setup();
    const held = heldAnswer();
    rig.when('mid-answer question.', held.script);
    sim.post(ada, adaRoom, { text: 'mid-answer question.' });
    await held.started.promise;

    sim.faults.dropTcp();
    await untilOffline(rig.world);
    sim.post(bob, bobRoom, { text: 'sent while offline.' });
    held.release.resolve();
    await untilOnline(rig.world);
    await untilAnswered(rig.world, adaRoom.id, 'mid-answer question.');
    await untilAnswered(rig.world, bobRoom.id, 'sent while offline.');
    await untilNoWorking(rig.world, adaRoom.id);

    expect(answersTo(rig.world, adaRoom.id, 'mid-answer question.')).toBe(1);
    expect(answersTo(rig.world, bobRoom.id, 'sent while offline.')).toBe(1);
    expect(rig.asked('mid-answer question.')).toBe(1);
    expect(rig.asked('sent while offline.')).toBe(1);
    await expectHealthy(rig, bob, bobRoom);
  });

  it.each([
    [1000, 'idle'],
    [1001, 'going away'],
    [1011, 'unexpected error'],
  ])('close %i %s: reconnects to the same device, nothing lost or answered twice', async (code, reason) => {
    const { rig, sim, ada, adaRoom } = await setup();
    sim.post(ada, adaRoom, { text: 'before the close.' });
    await untilAnswered(rig.world, adaRoom.id, 'before the close.');
    const [device] = liveBotDevices(sim);

    sim.faults.close(code, reason);
    await untilOffline(rig.world);
    sim.post(ada, adaRoom, { text: 'during the close.' });
    await untilOnline(rig.world);
    await untilAnswered(rig.world, adaRoom.id, 'during the close.');

    expect(liveBotDevices(sim).map((d) => d.uuid)).toEqual([device!.uuid]);
    expect(answersTo(rig.world, adaRoom.id, 'before the close.')).toBe(1);
    expect(answersTo(rig.world, adaRoom.id, 'during the close.')).toBe(1);
    expect(rig.asked('during the close.')).toBe(1);
    await expectHealthy(rig, ada, adaRoom);
  });

  it('handshake 404: a new device is registered and the bot answers again', async () => {
    const { rig, sim, ada, adaRoom } = await setup();
    sim.post(ada, adaRoom, { text: 'on the old device.' });
    await untilAnswered(rig.world, adaRoom.id, 'on the old device.');
    const [old] = liveBotDevices(sim);
    sim.faults.deleteDevice(old!.uuid);
    sim.faults.dropTcp();
    await sim.waitFor('socket', (s) => s.type === 'rejected' && s.code === 404, { timeoutMs: 10_000 });
    await untilOnline(rig.world);
    const devices = liveBotDevices(sim);
    expect(devices).toHaveLength(1);
    expect(devices[0]!.uuid).not.toBe(old!.uuid);
    expect(answersTo(rig.world, adaRoom.id, 'on the old device.')).toBe(1);
    await expectHealthy(rig, ada, adaRoom);
  });

  it('shutdown frame then 4001: switches sockets mid-answer, stays ready, answers everything once', async () => {
    const { rig, sim, ada, bob, adaRoom, bobRoom } = await setup();
    const held = heldAnswer();
    rig.when('across the switch.', held.script);
    sim.post(ada, adaRoom, { text: 'across the switch.' });
    await held.started.promise;
    const offline: string[] = [];
    const sub = rig.world.runtime.connection.subscribe((s) => {
      if (!readinessOf(s).ready) offline.push(JSON.stringify(s.value));
    });
    const [oldSocket] = sim.sockets();
    sim.faults.shutdown();
    sim.post(bob, bobRoom, { text: 'during the switch.' });
    await sim.waitFor(
      'socket',
      (s) => s.type === 'closed' && s.socketId === oldSocket!.id && s.code === 4001,
    );
    held.release.resolve();
    await untilAnswered(rig.world, adaRoom.id, 'across the switch.');
    await untilAnswered(rig.world, bobRoom.id, 'during the switch.');
    sub.unsubscribe();

    expect(offline).toEqual([]);
    expect((await rig.readyz()).status).toBe(200);
    expect(answersTo(rig.world, adaRoom.id, 'across the switch.')).toBe(1);
    expect(answersTo(rig.world, bobRoom.id, 'during the switch.')).toBe(1);
    expect(rig.asked('during the switch.')).toBe(1);
    await expectHealthy(rig, bob, bobRoom);
  });

  it('redelivery after a reconnect: an activity seen before is not answered again', async () => {
    const { rig, sim, ada, adaRoom } = await setup();
    const first = sim.post(ada, adaRoom, { text: 'only once please.' });
    await untilAnswered(rig.world, adaRoom.id, 'only once please.');
    sim.faults.dropTcp();
    await untilOffline(rig.world);
    await untilOnline(rig.world);
    expect(sim.faults.redeliver(first.uuid)).toBeGreaterThan(0);
    // Frames are handled in order: once a later question is answered, the duplicate was seen.
    await expectHealthy(rig, ada, adaRoom, 'after the redelivery.');
    expect(answersTo(rig.world, adaRoom.id, 'only once please.')).toBe(1);
    expect(rig.asked('only once please.')).toBe(1);
    expect(await metricValue(rig, 'webex_bot_events_total', 'outcome="duplicate"')).toBeGreaterThan(0);
  });

  it('4000 Replaced: not ready with the reason, no reconnect storm, nothing answered twice', async () => {
    const { rig, sim, ada, adaRoom } = await setup();
    sim.post(ada, adaRoom, { text: 'before the takeover.' });
    await untilAnswered(rig.world, adaRoom.id, 'before the takeover.');
    const connects = sim.log.socketEvents.filter((s) => s.type === 'connected').length;
    sim.faults.close(4000, 'Replaced');
    await waitFor(rig.world.runtime.connection, (s) => s.matches('standingDown'));
    const ready = await rig.readyz();
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('replaced');
    // A question in the meantime is buffered by Webex for the device, not lost, not answered twice.
    sim.post(ada, adaRoom, { text: 'while replaced.' });
    expect(sim.log.socketEvents.filter((s) => s.type === 'connected')).toHaveLength(connects);
    expect(answersTo(rig.world, adaRoom.id, 'before the takeover.')).toBe(1);
    expect(answersTo(rig.world, adaRoom.id, 'while replaced.')).toBe(0);
    expect(rig.world.log.text()).toContain('another process uses this bot token');
  });

  it('4000 Replaced (connection harness, simulated clock): after the stand-down what was buffered arrives once', async () => {
    harness = await startHarness();
    const h = harness;
    await h.online();
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    h.sim.faults.close(4000, 'Replaced');
    await h.until((s) => s.matches('standingDown'));
    const buffered = h.sim.post(ada, room, { text: 'while standing down' });
    h.clock.increment(300_000);
    await h.online();
    await h.nextEvent((e) => e.activityId === buffered.uuid);
    const after = h.sim.post(ada, room, { text: 'after' });
    await h.nextEvent((e) => e.activityId === after.uuid);
    expect(h.events.filter((e) => e.activityId === buffered.uuid)).toHaveLength(1);
    expect(liveBotDevices(h.sim)).toHaveLength(1);
  });

  it('pongs swallowed (connection harness, simulated clock): closes, reconnects, delivers what was sent meanwhile once', async () => {
    harness = await startHarness();
    const h = harness;
    await h.online();
    const ada = h.sim.createUser();
    const room = h.sim.createDirectRoom(ada);
    await h.until((s) => s.matches({ connected: { online: 'idle' } }));
    h.sim.faults.swallowPongs(true);
    h.clock.increment(15_000);
    await h.until((s) => s.matches({ connected: { online: 'awaitingPong' } }));
    h.clock.increment(14_000);
    await h.sim.waitFor('socket', (s) => s.type === 'closed' && s.reason === 'Pong not received');
    await h.until((s) => s.matches('backoff'));
    const meanwhile = h.sim.post(ada, room, { text: 'meanwhile' });
    h.sim.faults.swallowPongs(false);
    h.clock.increment(1_000);
    await h.online();
    await h.nextEvent((e) => e.activityId === meanwhile.uuid);
    const after = h.sim.post(ada, room, { text: 'after' });
    await h.nextEvent((e) => e.activityId === after.uuid);
    expect(h.events.filter((e) => e.activityId === meanwhile.uuid)).toHaveLength(1);
    expect(h.metrics.reconnects).toEqual(['pong-timeout']);
  });
});

async function metricValue(rig: Rig, name: string, labelPart: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${rig.world.runtime.http.port}/metrics`);
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && line.includes(labelPart))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}
