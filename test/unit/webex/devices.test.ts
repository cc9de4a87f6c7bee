import { describe, expect, it } from 'vitest';
import {
  devicesToPrune,
  instanceDeviceName,
  isExcessiveRegistrations,
  isOtherInstanceDevice,
} from '../../../src/adapters/webex/devices.js';
import { WebexApiError } from '../../../src/errors.js';

const DEVICE_NAME = 'caipe-webex-bot';

describe('WDM device pruning after "excessive device registrations"', () => {
  it("prunes other instances' devices only after every foreign one, and only dead ones", () => {
    const device = (name: string, minute: number) => ({
      url: `https://wdm/devices/${name}`,
      webSocketUrl: 'wss://mercury',
      userId: 'bot',
      name,
      modificationTime: new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString(),
    });
    const names = { own: `${DEVICE_NAME}-pod-2`, base: DEVICE_NAME };
    const devices = [
      device(`${DEVICE_NAME}-pod-0`, 1),
      device('foreign-a', 5),
      device(`${DEVICE_NAME}-pod-2`, 0),
      device(`${DEVICE_NAME}-pod-1`, 2),
      device(DEVICE_NAME, 3),
      device('foreign-b', 9),
    ];
    // ceil(6 / 3) = 2: both foreign devices, however new; never our own name.
    expect(devicesToPrune(devices, names).map((d) => d.name)).toEqual(['foreign-a', 'foreign-b']);
    const oneForeign = devices.filter((d) => d.name !== 'foreign-b');
    // With one foreign device, the oldest dead instance follows it: pod-0's lease lapsed, pod-1 lives.
    const live = { owners: new Set(['pod-1']), anyUnnamed: true };
    expect(devicesToPrune(oneForeign, names, live).map((d) => d.name)).toEqual([
      'foreign-a',
      `${DEVICE_NAME}-pod-0`,
    ]);
    // A live replica's device is never pruned, whatever its age.
    const allLive = { owners: new Set(['pod-0', 'pod-1']), anyUnnamed: true };
    expect(devicesToPrune(oneForeign, names, allLive).map((d) => d.name)).toEqual(['foreign-a']);
    // Liveness unknown (the leases could not be read): no other instance's device goes.
    expect(devicesToPrune(oneForeign, names).map((d) => d.name)).toEqual(['foreign-a']);
    // The unsuffixed name counts as live while any other instance lives, and goes when none does.
    const noneLive = { owners: new Set<string>(), anyUnnamed: false };
    expect(devicesToPrune(oneForeign, names, noneLive).map((d) => d.name)).toEqual([
      'foreign-a',
      `${DEVICE_NAME}-pod-0`,
    ]);
    expect(devicesToPrune(devices.slice(0, 2), names)).toEqual([]);
  });

  it('recognises the refusal by its text on any 4xx, and instance names by their suffix', () => {
    const refusal = (status: number, description?: string) =>
      new WebexApiError({
        status,
        method: 'POST',
        route: 'POST /wdm/devices',
        ...(description ? { description } : {}),
      });
    expect(isExcessiveRegistrations(refusal(400, 'User has excessive device registrations'))).toBe(true);
    expect(isExcessiveRegistrations(refusal(403, 'User has excessive device registrations'))).toBe(true);
    expect(isExcessiveRegistrations(refusal(500, 'User has excessive device registrations'))).toBe(false);
    expect(isExcessiveRegistrations(refusal(400, 'Bad request'))).toBe(false);
    expect(isExcessiveRegistrations(new Error('User has excessive device registrations'))).toBe(false);
    expect(instanceDeviceName(DEVICE_NAME)).toBe(DEVICE_NAME);
    expect(instanceDeviceName(DEVICE_NAME, 'pod-3')).toBe(`${DEVICE_NAME}-pod-3`);
    const names = { own: `${DEVICE_NAME}-pod-3`, base: DEVICE_NAME };
    expect(isOtherInstanceDevice({ name: `${DEVICE_NAME}-pod-1` }, names)).toBe(true);
    expect(isOtherInstanceDevice({ name: DEVICE_NAME }, names)).toBe(true);
    expect(isOtherInstanceDevice({ name: `${DEVICE_NAME}-pod-3` }, names)).toBe(false);
    expect(isOtherInstanceDevice({ name: 'caipe-webex-botanist' }, names)).toBe(false);
    expect(isOtherInstanceDevice({}, names)).toBe(false);
  });
});
