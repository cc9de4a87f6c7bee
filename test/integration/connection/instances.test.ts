/**
 * Devices of several instances of the bot on one token (SPEC "Durability and replicas"): each
 * process connects with its own device, `WEBEX_DEVICE_NAME-INSTANCE_ID`, deletes extra devices of
 * exactly its own name, and never another instance's (only "excessive device registrations" may
 * prune those, after every foreign device: see fidelity.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { instanceDeviceName } from '../../../src/adapters/webex/devices.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { rest } from '../../simulator/sim-client.js';
import { BOT_TOKEN, DEVICE_NAME, type Harness, liveBotDevices, startHarness } from './harness.js';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('one device per instance', () => {
  it("reuses its own device, deletes its own extras, and leaves other instances' devices alone", async () => {
    const simClock = new ManualClock();
    const own = instanceDeviceName(DEVICE_NAME, 'pod-1');
    // Left by earlier runs: two of this instance's own (a crash between register and reuse), the
    // devices of two other instances, and one of a process that ran without INSTANCE_ID.
    const existing = [own, `${DEVICE_NAME}-pod-0`, own, `${DEVICE_NAME}-pod-2`, DEVICE_NAME];
    harness = await startHarness({
      simClock,
      connection: { deviceName: own, deviceBaseName: DEVICE_NAME },
      before: async (sim) => {
        for (const name of existing) {
          await simClock.advance(60_000);
          const created = await rest(`${sim.urls.wdm}/devices`, BOT_TOKEN, {
            method: 'POST',
            body: { name, deviceType: 'DESKTOP' },
          });
          expect(created.status).toBe(200);
        }
      },
    });
    await harness.online();
    const newestOwn = harness.sim.devices().filter((d) => d.name === own)[1]!;
    expect(harness.sim.sockets()[0]!.deviceUuid).toBe(newestOwn.uuid);
    expect(
      liveBotDevices(harness.sim)
        .map((d) => d.name)
        .sort(),
    ).toEqual([DEVICE_NAME, `${DEVICE_NAME}-pod-0`, own, `${DEVICE_NAME}-pod-2`].sort());
    await harness.logged(
      (r) => r.msg === 'reusing the bot device' && r.name === own && r.deletedExtras === 1,
    );
  });
});
