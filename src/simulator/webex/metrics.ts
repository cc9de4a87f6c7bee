import { SimHttpError } from './http-error.js';
import type { RouteDef } from './router.js';

/**
 * The client-metrics service (`serviceLinks.metrics`). Webex's own clients post their telemetry
 * here; the bot never does, but the Webex JS SDK's device plugin does after every registration
 * (internal-plugin-metrics `src/client-metrics-batcher.js` → `POST {metrics}/clientmetrics`;
 * `src/batcher.js` → `/metrics`; `src/prelogin-metrics-batcher.ts` → `/clientmetrics-prelogin`,
 * which is sent before sign-in and so needs no token). Without the link the SDK retries forever
 * with "'metrics' is not a known service". The simulator accepts a JSON object and keeps nothing
 * but the request record; the 204 answer is a guess (the SDK only needs a 2xx).
 */
export function metricsRoutes(): RouteDef[] {
  const accept =
    (field: string) =>
    ({ body }: { body: unknown }) => {
      if (typeof body !== 'object' || body === null || !(field in body))
        throw new SimHttpError(400, `A JSON body with "${field}" is required.`);
      return { status: 204 };
    };
  return [
    { method: 'POST', template: '/metrics/api/v1/clientmetrics', handle: accept('metrics') },
    { method: 'POST', template: '/metrics/api/v1/metrics', handle: accept('metrics') },
    {
      method: 'POST',
      template: '/metrics/api/v1/clientmetrics-prelogin',
      auth: false,
      handle: accept('metrics'),
    },
  ];
}
