import { randomUUID } from 'node:crypto';
import type { SimContext } from './context.js';
import { EXCESSIVE_DEVICES, SimHttpError } from './http-error.js';
import { isRecord } from './mercury.js';
import type { Device, Person } from './model.js';
import type { RouteDef, RouteResult } from './router.js';
import { deviceView } from './views.js';

/** WDM device registrations under `/wdm/api/v1`. */

const DEVICE_FIELDS = [
  'deviceName',
  'deviceType',
  'localizedModel',
  'model',
  'name',
  'systemName',
  'systemVersion',
  'ttl',
] as const;

export function wdmRoutes(ctx: SimContext): RouteDef[] {
  const urls = () => ({
    wdmBase: ctx.urls.wdm,
    mercuryBase: ctx.urls.mercury,
    conversationBase: ctx.urls.conversation,
  });
  const respond = (device: Device): RouteResult => ({
    status: 200,
    body: deviceView(ctx.world, device, urls()),
    headers: { ETag: `"${device.etag}"` },
  });
  const owned = (caller: Person, id: string | undefined): Device => {
    const device = id ? ctx.world.devices.get(id) : undefined;
    if (!device || device.deleted || device.ownerUuid !== caller.uuid)
      throw new SimHttpError(404, 'Device not found.');
    return device;
  };
  return [
    {
      method: 'POST',
      template: '/wdm/api/v1/devices',
      handle: ({ caller, body }) => {
        if (!isRecord(body)) throw new SimHttpError(400, 'A JSON device body is required.');
        const live = [...ctx.world.devices.values()].filter((d) => !d.deleted && d.ownerUuid === caller.uuid);
        if (live.length >= ctx.maxDevicesPerUser)
          throw new SimHttpError(ctx.excessiveDevicesStatus, EXCESSIVE_DEVICES);
        const now = ctx.clock.now();
        const device: Device = {
          uuid: randomUUID(),
          ownerUuid: caller.uuid,
          fields: pickFields(body),
          creationTime: now,
          modificationTime: now,
          etag: 1,
          deleted: false,
        };
        ctx.world.devices.set(device.uuid, device);
        return respond(device);
      },
    },
    {
      method: 'GET',
      template: '/wdm/api/v1/devices',
      handle: ({ caller }) => ({
        status: 200,
        body: {
          devices: [...ctx.world.devices.values()]
            .filter((d) => !d.deleted && d.ownerUuid === caller.uuid)
            .map((d) => deviceView(ctx.world, d, urls())),
        },
      }),
    },
    {
      method: 'GET',
      template: '/wdm/api/v1/devices/{id}',
      handle: ({ caller, params }) => respond(owned(caller, params.id)),
    },
    {
      method: 'PUT',
      template: '/wdm/api/v1/devices/{id}',
      handle: ({ caller, params, body }) => {
        const device = owned(caller, params.id);
        if (isRecord(body)) device.fields = { ...device.fields, ...pickFields(body) };
        device.modificationTime = ctx.clock.now();
        device.etag += 1;
        return respond(device);
      },
    },
    {
      method: 'DELETE',
      template: '/wdm/api/v1/devices/{id}',
      handle: ({ caller, params }) => {
        const device = owned(caller, params.id);
        device.deleted = true;
        ctx.hub.forgetDevice(device.uuid);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      template: '/wdm/api/v1/devices',
      handle: ({ caller }) => {
        for (const device of ctx.world.devices.values()) {
          if (device.ownerUuid !== caller.uuid || device.deleted) continue;
          device.deleted = true;
          ctx.hub.forgetDevice(device.uuid);
        }
        return { status: 204 };
      },
    },
  ];
}

function pickFields(body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of DEVICE_FIELDS) if (body[key] !== undefined) fields[key] = body[key];
  return fields;
}
