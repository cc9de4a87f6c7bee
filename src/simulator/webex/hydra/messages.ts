import type { SimContext } from '../context.js';
import { SimHttpError } from '../http-error.js';
import { isRecord } from '../mercury.js';
import type { RouteDef } from '../router.js';
import { messageView } from '../views.js';

export function messageRoutes(ctx: SimContext): RouteDef[] {
  const view = (message: Parameters<typeof messageView>[1]) => messageView(ctx.world, message);
  return [
    {
      method: 'POST',
      template: '/v1/messages',
      handle: ({ caller, body }) => {
        if (!isRecord(body)) throw new SimHttpError(400, 'A JSON message body is required.');
        return { status: 200, body: view(ctx.service.createMessage(caller, body)) };
      },
    },
    {
      method: 'GET',
      template: '/v1/messages',
      handle: ({ caller, query }) => {
        const page = ctx.service.listMessages(caller, query);
        const headers: Record<string, string> = {};
        if (page.nextBefore) {
          const next = new URL(`${ctx.urls.hydra}/messages`);
          for (const [key, value] of Object.entries(query))
            if (key !== 'beforeMessage') next.searchParams.set(key, value);
          next.searchParams.set('beforeMessage', ctx.world.messageId(page.nextBefore));
          headers.Link = `<${next.toString()}>; rel="next"`;
        }
        return { status: 200, body: { items: page.items.map(view) }, headers };
      },
    },
    {
      method: 'GET',
      template: '/v1/messages/direct',
      handle: ({ caller, query }) => ({
        status: 200,
        body: { items: ctx.service.directMessages(caller, query).map(view) },
      }),
    },
    {
      method: 'GET',
      template: '/v1/messages/{id}',
      handle: ({ caller, params }) => ({
        status: 200,
        body: view(ctx.service.readableMessage(caller, params.id)),
      }),
    },
    {
      method: 'PUT',
      template: '/v1/messages/{id}',
      handle: ({ caller, params, body }) => {
        if (!isRecord(body)) throw new SimHttpError(400, 'A JSON message body is required.');
        return { status: 200, body: view(ctx.service.editMessage(caller, params.id, body)) };
      },
    },
    {
      method: 'DELETE',
      template: '/v1/messages/{id}',
      handle: ({ caller, params }) => {
        ctx.service.deleteMessage(caller, params.id);
        return { status: 204 };
      },
    },
  ];
}
