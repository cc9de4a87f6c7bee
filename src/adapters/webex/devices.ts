/**
 * WDM device registrations. A bot process keeps exactly one device, found again by its `name`
 * after a restart: WDM caps registrations per user ("User has excessive device registrations"), so
 * a new device on every start or reconnect would eventually lock the bot out.
 */
import { WebexApiError } from '../../errors.js';
import type { WebexRestClient } from './rest.js';

export interface WdmDevice {
  /** The device URL: its identity for refresh and delete. */
  url: string;
  webSocketUrl: string;
  /** The bot's own UUID; equals `actor.id` of the bot's own activities. */
  userId: string;
  name?: string;
  creationTime?: string;
  modificationTime?: string;
}

export interface EnsureDeviceResult {
  device: WdmDevice;
  /** True when an existing device was reused rather than registered. */
  reused: boolean;
  /** URLs of extra own-named devices that were deleted. */
  deleted: string[];
  /** Extra devices that could not be deleted (logged by the caller, retried next start). */
  failedDeletes: Array<{ url: string; error: unknown }>;
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
   * is deleted rather than reused.
   */
  async ensure(
    name: string,
    options: { avoid?: string; signal?: AbortSignal } = {},
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
    if (keep) return { device: keep, reused: true, deleted, failedDeletes };
    const device = await this.register(name, options.signal);
    return { device, reused: false, deleted, failedDeletes };
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
