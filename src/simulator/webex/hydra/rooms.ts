import type { SimContext } from '../context.js';
import { SimHttpError } from '../http-error.js';
import { isRecord } from '../mercury.js';
import type { RouteDef } from '../router.js';
import { membershipView, roomView } from '../views.js';

export function roomRoutes(ctx: SimContext): RouteDef[] {
  return [
    {
      method: 'GET',
      template: '/v1/rooms',
      handle: ({ caller, query }) => {
        const max = Math.min(Number(query.max ?? 100) || 100, 1000);
        const rooms = [...ctx.world.rooms.values()]
          .filter((room) => room.members.includes(caller.uuid) && (!query.type || room.type === query.type))
          .sort((a, b) => b.lastActivity - a.lastActivity)
          .slice(0, max);
        return { status: 200, body: { items: rooms.map((room) => roomView(ctx.world, room, caller)) } };
      },
    },
    {
      method: 'POST',
      template: '/v1/rooms',
      handle: ({ caller, body }) => {
        if (!isRecord(body) || typeof body.title !== 'string' || body.title.length === 0) {
          throw new SimHttpError(400, 'title is required.');
        }
        const room = ctx.service.createRoom({
          type: 'group',
          title: body.title,
          members: [caller],
          creator: caller,
        });
        return { status: 200, body: roomView(ctx.world, room, caller) };
      },
    },
    {
      method: 'GET',
      template: '/v1/rooms/{id}',
      handle: ({ caller, params }) => ({
        status: 200,
        body: roomView(ctx.world, ctx.service.roomFor(caller, params.id), caller),
      }),
    },
    {
      method: 'GET',
      template: '/v1/memberships',
      handle: ({ caller, query }) => {
        const rooms = query.roomId
          ? [ctx.service.roomFor(caller, query.roomId)]
          : [...ctx.world.rooms.values()].filter((room) => room.members.includes(caller.uuid));
        const wantedPerson = query.personId ? ctx.service.resolvePersonId(query.personId) : undefined;
        if (query.personId && !wantedPerson) return { status: 200, body: { items: [] } };
        const items = rooms.flatMap((room) =>
          room.members
            .filter((uuid) => (query.roomId ? true : uuid === caller.uuid))
            .filter((uuid) => !wantedPerson || uuid === wantedPerson.uuid)
            .filter(
              (uuid) =>
                !query.personEmail ||
                ctx.world.people.get(uuid)?.email.toLowerCase() === query.personEmail.toLowerCase(),
            )
            .map((uuid) => membershipView(ctx.world, room, uuid)),
        );
        return { status: 200, body: { items } };
      },
    },
  ];
}
