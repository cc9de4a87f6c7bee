import type { SimContext } from './context.js';
import { ACTION_NOT_FOUND, MESSAGE_NOT_FOUND, SimHttpError } from './http-error.js';
import type { RouteDef } from './router.js';

/**
 * The conversation-service lookup some bots use instead of cluster logic:
 * `GET {conv}/messages/{activityUuid}` → `{id: <Hydra id>}`. Same visibility rules as Hydra.
 */
export function conversationRoutes(ctx: SimContext): RouteDef[] {
  return [
    {
      method: 'GET',
      template: '/conversation/api/v1/messages/{uuid}',
      handle: ({ caller, params }) => {
        const message = params.uuid ? ctx.world.messages.get(params.uuid) : undefined;
        if (!message || message.deleted !== undefined || !ctx.service.canRead(caller, message)) {
          throw new SimHttpError(404, MESSAGE_NOT_FOUND);
        }
        return { status: 200, body: { id: ctx.world.messageId(message) } };
      },
    },
    {
      method: 'GET',
      template: '/conversation/api/v1/attachment/actions/{uuid}',
      handle: ({ caller, params }) => {
        const action = params.uuid ? ctx.world.actions.get(params.uuid) : undefined;
        if (!action) throw new SimHttpError(404, ACTION_NOT_FOUND);
        return {
          status: 200,
          body: { id: ctx.world.actionId(ctx.service.readableAction(caller, ctx.world.actionId(action))) },
        };
      },
    },
  ];
}
