import type { SimPerson, SimRoom, WebexSimulator } from './api.js';
import { SimHttpError } from './http-error.js';
import { isRecord } from './mercury.js';
import type { RouteDef } from './router.js';

/**
 * Optional HTTP control plane under `/_sim` (not part of Webex), so a demo or a person with curl
 * can play users and flip faults on a running simulator. It maps 1:1 onto the in-process driver.
 * It has no auth: the simulator listens on 127.0.0.1 only.
 */
export function controlRoutes(sim: WebexSimulator): RouteDef[] {
  const people = new Map<string, SimPerson>([[sim.bot.uuid, sim.bot]]);
  const rooms = new Map<string, SimRoom>();
  const person = (value: unknown): SimPerson => {
    const found = typeof value === 'string' ? (value === 'bot' ? sim.bot : people.get(value)) : undefined;
    if (!found)
      throw new SimHttpError(
        400,
        `Unknown person ${String(value)}; use a uuid from POST /_sim/users or "bot".`,
      );
    return found;
  };
  const room = (value: unknown): SimRoom => {
    const found =
      typeof value === 'string'
        ? (rooms.get(value) ?? [...rooms.values()].find((r) => r.id === value))
        : undefined;
    if (!found)
      throw new SimHttpError(400, `Unknown room ${String(value)}; use a uuid or id from POST /_sim/rooms.`);
    return found;
  };
  const body = (value: unknown): Record<string, unknown> => {
    if (!isRecord(value)) throw new SimHttpError(400, 'A JSON object body is required.');
    return value;
  };
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const ok = (payload: unknown = { ok: true }) => ({ status: 200, body: payload });

  return [
    {
      method: 'POST',
      template: '/_sim/users',
      auth: false,
      handle: ({ body: raw }) => {
        const input = isRecord(raw) ? raw : {};
        const created = sim.createUser({
          ...(str(input.displayName) ? { displayName: str(input.displayName) } : {}),
          ...(str(input.email) ? { email: str(input.email) } : {}),
        });
        people.set(created.uuid, created);
        return ok(created);
      },
    },
    {
      method: 'POST',
      template: '/_sim/rooms',
      auth: false,
      handle: ({ body: raw }) => {
        const input = body(raw);
        const type = input.type === 'group' ? 'group' : 'direct';
        const members = Array.isArray(input.members) ? input.members.map(person) : [];
        const created = sim.createRoom({
          type,
          members,
          ...(str(input.title) ? { title: str(input.title) } : {}),
          ...(input.region === 'eu' ? { region: 'eu' as const } : {}),
        });
        rooms.set(created.uuid, created);
        return ok(created);
      },
    },
    {
      method: 'POST',
      template: '/_sim/rooms/{room}/bot',
      auth: false,
      handle: ({ params, body: raw }) => {
        const by = isRecord(raw) && raw.by !== undefined ? person(raw.by) : undefined;
        sim.addBotToRoom(room(params.room), by);
        return ok();
      },
    },
    {
      method: 'GET',
      template: '/_sim/rooms/{room}/messages',
      auth: false,
      handle: ({ params }) => ok({ items: sim.roomMessages(room(params.room)) }),
    },
    {
      method: 'POST',
      template: '/_sim/messages',
      auth: false,
      handle: ({ body: raw }) => {
        const input = body(raw);
        return ok(
          sim.post(person(input.user), room(input.room), {
            ...(str(input.text) !== undefined ? { text: str(input.text) } : {}),
            ...(str(input.markdown) !== undefined ? { markdown: str(input.markdown) } : {}),
            ...(str(input.parentId) ? { parentId: str(input.parentId) } : {}),
            ...(Array.isArray(input.files) ? { files: input.files.map(String) } : {}),
            mentionBot: input.mentionBot === true,
          }),
        );
      },
    },
    {
      method: 'PUT',
      template: '/_sim/messages/{id}',
      auth: false,
      handle: ({ params, body: raw }) => {
        const input = body(raw);
        return ok(
          sim.edit(person(input.user), params.id ?? '', {
            ...(str(input.text) !== undefined ? { text: str(input.text) } : {}),
            ...(str(input.markdown) !== undefined ? { markdown: str(input.markdown) } : {}),
          }),
        );
      },
    },
    {
      method: 'POST',
      template: '/_sim/messages/{id}/submit',
      auth: false,
      handle: ({ params, body: raw }) => {
        const input = body(raw);
        return ok(
          sim.submitCard(person(input.user), params.id ?? '', isRecord(input.inputs) ? input.inputs : {}),
        );
      },
    },
    {
      method: 'POST',
      template: '/_sim/faults/{name}',
      auth: false,
      handle: ({ params, body: raw }) => {
        const input = isRecord(raw) ? raw : {};
        const socketId = typeof input.socketId === 'number' ? input.socketId : undefined;
        const route = str(input.route);
        const method = str(input.method);
        const matcher = { ...(route ? { route } : {}), ...(method ? { method } : {}) };
        const times = typeof input.times === 'number' ? input.times : undefined;
        switch (params.name) {
          case 'dropTcp':
            sim.faults.dropTcp(socketId);
            break;
          case 'close':
            sim.faults.close(Number(input.code ?? 1000), str(input.reason) ?? '', socketId);
            break;
          case 'shutdown':
            sim.faults.shutdown(socketId);
            break;
          case 'swallowPongs':
            sim.faults.swallowPongs(input.on !== false);
            break;
          case 'sequenceGap':
            sim.faults.sequenceGap(Number(input.count ?? 1), socketId);
            break;
          case 'redeliver':
            return ok({ frames: sim.faults.redeliver(str(input.activityId) ?? '') });
          case 'rateLimit':
            sim.faults.rateLimit({
              ...matcher,
              ...(times !== undefined ? { times } : {}),
              ...(typeof input.retryAfterS === 'number' ? { retryAfterS: input.retryAfterS } : {}),
            });
            break;
          case 'failNext':
            sim.faults.failNext({
              ...matcher,
              status: Number(input.status ?? 500),
              ...(times !== undefined ? { times } : {}),
            });
            break;
          case 'latency':
            sim.faults.latency(Number(input.ms ?? 0), matcher);
            break;
          case 'clear':
            sim.faults.clear();
            break;
          default:
            throw new SimHttpError(404, `Unknown fault ${params.name}.`);
        }
        return ok();
      },
    },
    {
      method: 'GET',
      template: '/_sim/state',
      auth: false,
      handle: () =>
        ok({
          bot: { uuid: sim.bot.uuid, id: sim.bot.id, displayName: sim.bot.displayName, email: sim.bot.email },
          people: [...people.values()].map(({ token: _token, ...rest }) => rest),
          rooms: [...rooms.values()],
          sockets: sim.sockets(),
          devices: sim.devices(),
        }),
    },
    {
      method: 'GET',
      template: '/_sim/log/{kind}',
      auth: false,
      handle: ({ params }) => {
        const logs: Record<string, unknown[]> = {
          requests: sim.log.requests,
          frames: sim.log.framesSent,
          acks: sim.log.acks,
          sockets: sim.log.socketEvents,
          activities: sim.log.activities,
        };
        const items = logs[params.kind ?? ''];
        if (!items) throw new SimHttpError(404, 'Log kinds: requests, frames, acks, sockets, activities.');
        return ok({ items: items.slice(-500) });
      },
    },
  ];
}
