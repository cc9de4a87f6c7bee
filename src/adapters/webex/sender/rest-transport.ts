import type { WebexRestClient } from '../rest.js';
import type { WebexWriteTransport } from './transport.js';

/**
 * The undici REST client as the sender's transport. The client already turns failures into
 * `WebexApiError` (with `retryAfterS`) and `TransportError` (with `ambiguous`), which is the whole
 * contract; this only maps the route template into the client's `METHOD /route` form so errors and
 * logs name the same low-cardinality route the sender's metrics use.
 */
export function restWriteTransport(client: Pick<WebexRestClient, 'request'>): WebexWriteTransport {
  return {
    async request<T>(
      req: Parameters<WebexWriteTransport['request']>[0],
      opts: { signal?: AbortSignal },
    ): Promise<T> {
      const response = await client.request<T>({
        method: req.method,
        path: req.path,
        route: `${req.method} /${req.route}`,
        body: req.body,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return response.body;
    },
  };
}
