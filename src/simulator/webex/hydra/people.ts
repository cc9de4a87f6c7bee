import type { SimContext } from '../context.js';
import { PERSON_NOT_FOUND, SimHttpError } from '../http-error.js';
import type { RouteDef } from '../router.js';
import { personView } from '../views.js';

export function peopleRoutes(ctx: SimContext): RouteDef[] {
  return [
    {
      method: 'GET',
      template: '/v1/people/me',
      handle: ({ caller }) => ({ status: 200, body: personView(ctx.world, caller) }),
    },
    {
      method: 'GET',
      template: '/v1/people/{id}',
      handle: ({ params }) => {
        const person = ctx.service.resolvePersonId(params.id);
        if (!person) throw new SimHttpError(404, PERSON_NOT_FOUND);
        return { status: 200, body: personView(ctx.world, person) };
      },
    },
    {
      method: 'GET',
      template: '/v1/people',
      handle: ({ query }) => {
        if (!query.email && !query.id) throw new SimHttpError(400, 'email or id is required.');
        const ids = query.id?.split(',') ?? [];
        const found = query.email
          ? [ctx.world.personByEmail(query.email)]
          : ids.map((id) => ctx.service.resolvePersonId(id));
        return {
          status: 200,
          body: { items: found.filter((p) => p !== undefined).map((p) => personView(ctx.world, p)) },
        };
      },
    },
  ];
}
