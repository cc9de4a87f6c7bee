/**
 * WDM device registrations. A bot process keeps exactly one device, found again by its `name`
 * after a restart: WDM caps registrations per user ("User has excessive device registrations"), so
 * a new device on every start or reconnect would eventually lock the bot out.
 *
 * When WDM refuses a registration for that reason anyway (devices left by other clients of the
 * same token, or by earlier versions), the bot does what the Webex JS SDK does: it deletes the
 * oldest third of the token's devices and registers once more (see `devicesToPrune`).
 */
import { WebexApiError } from '../../errors.js';
import type { WdmDevice } from '../../machines/webex-types.js';
import type { WebexRestClient } from './rest.js';

export type { WdmDevice };

export interface EnsureDeviceResult {
  device: WdmDevice;
  /** True when an existing device was reused rather than registered. */
  reused: boolean;
  /** URLs of extra own-named devices that were deleted. */
  deleted: string[];
  /** Extra devices that could not be deleted (logged by the caller, retried next start). */
  failedDeletes: Array<{ url: string; error: unknown }>;
  /** Other devices of the token deleted because WDM refused a registration as excessive. */
  pruned: string[];
  /** Names of the pruned devices that were named like another instance of this bot. */
  prunedInstances: string[];
}

/** WDM's refusal of a new registration when the token has too many devices. */
export const EXCESSIVE_REGISTRATIONS = 'User has excessive device registrations';

/**
 * WDM's "too many devices" refusal. The SDK matches the message text alone (its status is not
 * documented); any 4xx carrying it counts here.
 */
export function isExcessiveRegistrations(error: unknown): boolean {
  return (
    error instanceof WebexApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    (error.description ?? '').toLowerCase().includes(EXCESSIVE_REGISTRATIONS.toLowerCase())
  );
}

/** The device name of one instance: `WEBEX_DEVICE_NAME`, or `WEBEX_DEVICE_NAME-INSTANCE_ID`. */
export function instanceDeviceName(baseName: string, instanceId?: string): string {
  return instanceId ? `${baseName}-${instanceId}` : baseName;
}

export interface DeviceNames {
  /** This process's device name. */
  own: string;
  /** `WEBEX_DEVICE_NAME`: other instances of this bot name their devices `<base>-<INSTANCE_ID>`. */
  base: string;
}

/** A device named like another instance of this bot (`<base>` or `<base>-<id>`, not our own name). */
export function isOtherInstanceDevice(device: Pick<WdmDevice, 'name'>, names: DeviceNames): boolean {
  const name = device.name;
  if (typeof name !== 'string' || name === names.own) return false;
  return name === names.base || name.startsWith(`${names.base}-`);
}

/**
 * The devices to delete when WDM refuses a registration as excessive, following the SDK
 * (internal-plugin-device `src/device.js`, `deleteDevices`): when the token has more than two
 * devices, the oldest third of them by `modificationTime`, rounded up.
 *
 * One difference on purpose: a device named like another instance of this bot may belong to a
 * live replica, and deleting it would knock that replica offline (it would then re-register and
 * perhaps knock this one off in turn). So the third is taken from the oldest foreign devices
 * first, and other instances' devices come after every foreign one (oldest first among them).
 * This process's own devices are never pruned here (`ensure` handles them).
 *
 * This is the only place where another instance's device is ever deleted: `ensure` deletes only
 * extra devices with exactly this process's name. Another instance's device is deleted only when
 * `live` says that instance holds no lease any more (it is dead; SPEC "Durability and replicas"):
 * a live replica's device never is, and without `live` none is. A dead instance's device is also
 * reused when that instance comes back under the same `INSTANCE_ID` (a StatefulSet pod keeps its
 * name), and one that is never reused goes idle, which Webex removes after a few days (reported
 * in webex-js-sdk issue #3447; see docs/operations.md "Scaling").
 */
export function devicesToPrune(
  devices: readonly WdmDevice[],
  names: DeviceNames,
  live?: LiveInstances,
): WdmDevice[] {
  if (devices.length <= 2) return [];
  const count = Math.ceil(devices.length / 3);
  const oldestFirst = (a: WdmDevice, b: WdmDevice) => deviceTime(a) - deviceTime(b);
  const others = devices.filter((device) => device.name !== names.own);
  const foreign = others.filter((device) => !isOtherInstanceDevice(device, names)).sort(oldestFirst);
  const instances = others
    .filter(
      (device) => isOtherInstanceDevice(device, names) && live !== undefined && !isLive(device, names, live),
    )
    .sort(oldestFirst);
  return [...foreign, ...instances].slice(0, count);
}

/**
 * Which other instances of this bot hold a lease now: their `INSTANCE_ID`s (owners), and whether
 * any live one has none (its device is then named `<base>`, and counts as live).
 */
export interface LiveInstances {
  owners: ReadonlySet<string>;
  anyUnnamed: boolean;
}

function isLive(device: Pick<WdmDevice, 'name'>, names: DeviceNames, live: LiveInstances): boolean {
  const name = device.name ?? '';
  if (name === names.base) return live.anyUnnamed || live.owners.size > 0;
  return live.owners.has(name.slice(names.base.length + 1));
}

/** The body of `POST {wdm}/devices`: a recognisable, stable identity for this bot. */
export function deviceRegistration(name: string): Record<string, string> {
  return {
    deviceName: name,
    deviceType: 'DESKTOP',
    localizedModel: 'nodejs',
    model: 'nodejs',
    name,
    systemName: 'caipe-webex-bot',
    systemVersion: '1.0',
  };
}

export class WdmDevices {
  private readonly base: string;

  constructor(
    private readonly rest: WebexRestClient,
    wdmUrl: string,
  ) {
    this.base = wdmUrl.replace(/\/+$/, '');
  }

  async list(signal?: AbortSignal): Promise<WdmDevice[]> {
    const body = await this.rest.get<{ devices?: unknown[] }>(`${this.base}/devices`, {
      route: 'GET /wdm/devices',
      ...(signal ? { signal } : {}),
    });
    return (body?.devices ?? []).filter(isDevice);
  }

  async register(name: string, signal?: AbortSignal): Promise<WdmDevice> {
    const body = await this.rest.post<unknown>(`${this.base}/devices`, deviceRegistration(name), {
      route: 'POST /wdm/devices',
      ...(signal ? { signal } : {}),
    });
    if (!isDevice(body)) throw new Error('WDM answered POST /devices without url, webSocketUrl and userId');
    return body;
  }

  /**
   * Refreshes a device's registration (`PUT {deviceUrl}`), as the Webex SDK does periodically, so
   * WDM keeps it and a device removed server-side is noticed. A 404 (`WebexApiError`) means the
   * device is gone and a new one must be registered.
   */
  async refresh(deviceUrl: string, name: string, signal?: AbortSignal): Promise<WdmDevice> {
    const body = await this.rest.put<unknown>(deviceUrl, deviceRegistration(name), {
      route: 'PUT /wdm/devices/{id}',
      ...(signal ? { signal } : {}),
    });
    if (!isDevice(body))
      throw new Error('WDM answered PUT /devices/{id} without url, webSocketUrl and userId');
    return body;
  }

  /** Deletes one device; a device that is already gone (404) counts as deleted. */
  async delete(deviceUrl: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.rest.delete(deviceUrl, { route: 'DELETE /wdm/devices/{id}', ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof WebexApiError && error.status === 404) return;
      throw error;
    }
  }

  /**
   * Reuses the newest own-named device and deletes the other own-named ones, or registers a device
   * when there is none. `avoid` names a device known to be stale (its socket handshake said 404): it
   * is deleted rather than reused. `baseName` (`WEBEX_DEVICE_NAME`, default `name`) tells other
   * instances' devices apart when WDM refuses a registration as excessive.
   */
  async ensure(
    name: string,
    options: {
      avoid?: string;
      signal?: AbortSignal;
      baseName?: string;
      /** Which other instances live (their leases); without it no other instance's device is deleted. */
      liveInstances?: () => Promise<LiveInstances>;
    } = {},
  ): Promise<EnsureDeviceResult> {
    const own = (await this.list(options.signal)).filter((device) => device.name === name);
    own.sort((a, b) => deviceTime(b) - deviceTime(a));
    const keep = own.find((device) => device.url !== options.avoid);
    const extras = own.filter((device) => device !== keep);
    const deleted: string[] = [];
    const failedDeletes: EnsureDeviceResult['failedDeletes'] = [];
    for (const extra of extras) {
      try {
        await this.delete(extra.url, options.signal);
        deleted.push(extra.url);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        failedDeletes.push({ url: extra.url, error });
      }
    }
    if (keep) return { device: keep, reused: true, deleted, failedDeletes, pruned: [], prunedInstances: [] };
    const names = { own: name, base: options.baseName ?? name };
    const pruned: WdmDevice[] = [];
    let device: WdmDevice;
    try {
      device = await this.register(name, options.signal);
    } catch (error) {
      if (!isExcessiveRegistrations(error)) throw error;
      // An instance whose liveness cannot be read counts as live: its device stays.
      const live = await options.liveInstances?.().catch(() => undefined);
      pruned.push(...(await this.prune(names, failedDeletes, options.signal, live)));
      // Once more, as the SDK does; a second refusal goes to the caller's backoff.
      device = await this.register(name, options.signal);
    }
    return {
      device,
      reused: false,
      deleted,
      failedDeletes,
      pruned: pruned.map((d) => d.url),
      prunedInstances: pruned.filter((d) => isOtherInstanceDevice(d, names)).map((d) => d.name ?? ''),
    };
  }

  /** Deletes the devices `devicesToPrune` picks from a fresh listing; returns the deleted ones. */
  private async prune(
    names: DeviceNames,
    failed: EnsureDeviceResult['failedDeletes'],
    signal?: AbortSignal,
    live?: LiveInstances,
  ) {
    const pruned: WdmDevice[] = [];
    for (const device of devicesToPrune(await this.list(signal), names, live)) {
      try {
        await this.delete(device.url, signal);
        pruned.push(device);
      } catch (error) {
        if (signal?.aborted) throw error;
        failed.push({ url: device.url, error });
      }
    }
    return pruned;
  }
}

function deviceTime(device: WdmDevice): number {
  const stamp = Date.parse(device.modificationTime ?? device.creationTime ?? '');
  return Number.isNaN(stamp) ? 0 : stamp;
}

function isDevice(value: unknown): value is WdmDevice {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.url === 'string' && typeof v.webSocketUrl === 'string' && typeof v.userId === 'string';
}
