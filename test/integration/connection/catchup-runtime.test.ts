/**
 * The REST catch-up through the whole running bot: a question asked while Webex had dropped the
 * bot's device (so no socket ever carries it) is answered exactly once after the reconnect, and the
 * agent is asked once. The runtime's own timers are the production ones (1 s, then 2 s backoff).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  answersTo,
  expectHealthy,
  type Rig,
  startRig,
  untilAnswered,
  untilNoWorking,
  untilOffline,
  untilOnline,
} from '../../helpers/model/rig.js';
import { liveBotDevices } from './harness.js';

let rig: Rig | undefined;

afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function catchUpCount(outcome: string): Promise<number> {
  const metric = await rig!.world.runtime.metrics.catchUpEvents.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

describe('REST catch-up in the running bot', () => {
  it('answers a question asked during an outage exactly once after the reconnect', async () => {
    rig = await startRig();
    const { sim } = rig.world;
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    sim.post(ada, room, { text: 'before the outage.' });
    await untilAnswered(rig.world, room.id, 'before the outage.');

    const [old] = liveBotDevices(sim);
    sim.faults.deleteDevice(old!.uuid);
    sim.faults.dropTcp();
    await untilOffline(rig.world);
    const question = sim.post(ada, room, { text: 'asked during the outage.' });
    await sim.waitFor('socket', (s) => s.type === 'rejected' && s.code === 404, { timeoutMs: 10_000 });
    await untilOnline(rig.world);

    await untilAnswered(rig.world, room.id, 'asked during the outage.');
    await untilNoWorking(rig.world, room.id);
    expect(liveBotDevices(sim).map((d) => d.uuid)).not.toContain(old!.uuid);
    // No socket carried the question: the answer came from the catch-up.
    expect(
      sim.log.framesSent.some(
        (f) => (f.frame.data as { activity?: { id?: string } })?.activity?.id === question.uuid,
      ),
    ).toBe(false);
    expect(await catchUpCount('recovered')).toBe(1);
    expect(answersTo(rig.world, room.id, 'asked during the outage.')).toBe(1);
    expect(answersTo(rig.world, room.id, 'before the outage.')).toBe(1);
    expect(rig.asked('asked during the outage.')).toBe(1);
    expect(rig.asked('before the outage.')).toBe(1);
    await expectHealthy(rig, ada, room);
    expect(answersTo(rig.world, room.id, 'asked during the outage.')).toBe(1);

    const metrics = await fetch(`http://127.0.0.1:${rig.world.runtime.http.port}/metrics`);
    expect(await metrics.text()).toContain('webex_bot_catchup_events_total{outcome="recovered"} 1');
  });
});
