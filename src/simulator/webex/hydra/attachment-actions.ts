import type { SimContext } from '../context.js';
import { SimHttpError } from '../http-error.js';
import { isRecord } from '../mercury.js';
import type { RouteDef } from '../router.js';
import { actionView } from '../views.js';

export function attachmentActionRoutes(ctx: SimContext): RouteDef[] {
  return [
    {
      method: 'POST',
      template: '/v1/attachment/actions',
      handle: ({ caller, body }) => {
        if (!isRecord(body)) throw new SimHttpError(400, 'A JSON body is required.');
        return { status: 200, body: actionView(ctx.world, ctx.service.submitCard(caller, body)) };
      },
    },
    {
      method: 'GET',
      template: '/v1/attachment/actions/{id}',
      handle: ({ caller, params }) => ({
        status: 200,
        body: actionView(ctx.world, ctx.service.readableAction(caller, params.id)),
      }),
    },
  ];
}
