import type { SimContext } from './context.js';
import { SimHttpError } from './http-error.js';
import type { RouteDef, RouteResult } from './router.js';

/**
 * U2C service catalog (`?format=hostmap`): service links plus a host catalog whose entry ids
 * name each host's cluster, which clients use to build cluster-correct Hydra ids.
 *
 * Two catalogs, as the Webex JS SDK reads them (webex-core `lib/services/services.js`,
 * `initServiceCatalogs` and `_fetchNewServiceHostmap`): the "limited" (pre-auth) catalog
 * `GET {u2c}/limited/catalog?<orgId|email|emailhash|userId|mode>=…&format=hostmap` first, then the
 * full one `GET {u2c}/catalog?format=hostmap`.
 */

/** The query keys the SDK accepts for a limited catalog (`updateServices`); one is required. */
const LIMITED_QUERY_KEYS = ['orgId', 'email', 'emailhash', 'userId', 'mode'] as const;

export function u2cRoutes(ctx: SimContext): RouteDef[] {
  const hostmap = (): RouteResult => {
    const hostCatalog: Record<string, Array<Record<string, unknown>>> = {};
    for (const region of Object.values(ctx.world.regions)) {
      const services =
        region.key === 'us'
          ? ['conversation', 'wdm', 'hydra', 'mercuryConnection', 'metrics']
          : ['conversation'];
      // Keys are `URL.host` (the SDK looks a service link's host up by key), entry `host`s are
      // host names: the SDK puts the service link's port back on (webex-core
      // `lib/services/service-url.js` `_generateHostUrl`) and matches a URL's `hostname` against
      // them (`service-catalog.js` `findClusterId`). A key may list several hosts for one service
      // (the SDK's fixtures: key `example-a.com`, entries `example-a-1.com`, `example-a-2.com`);
      // when the region's own host is not its key, it is the second entry of each service.
      const hosts = [hostnameOf(region.catalogKey), hostnameOf(region.host)].filter(
        (host, index, all) => all.indexOf(host) === index,
      );
      hostCatalog[region.catalogKey] = services.flatMap((service, index) =>
        hosts.map((host, hostIndex) => ({
          host,
          ttl: -1,
          priority: index * hosts.length + hostIndex + 1,
          id: `${region.catalogId}:${service}`,
        })),
      );
    }
    return {
      status: 200,
      body: {
        serviceLinks: {
          wdm: ctx.urls.wdm,
          hydra: ctx.urls.hydra,
          conversation: ctx.urls.conversation,
          metrics: ctx.urls.metrics,
        },
        hostCatalog,
        format: 'hostmap',
      },
    };
  };
  return [
    { method: 'GET', template: '/u2c/api/v1/catalog', handle: hostmap },
    {
      method: 'GET',
      template: '/u2c/api/v1/limited/catalog',
      // The pre-auth catalog is what a client reads before it has a token (guess: Webex's
      // answer to an unauthenticated limited catalog is not documented; the SDK sends its token
      // when it has one, and both are accepted).
      auth: false,
      handle: ({ query }) => {
        if (!LIMITED_QUERY_KEYS.some((key) => typeof query[key] === 'string' && query[key] !== '')) {
          throw new SimHttpError(
            400,
            `A limited catalog needs one of the query parameters ${LIMITED_QUERY_KEYS.join(', ')}.`,
          );
        }
        return hostmap();
      },
    },
  ];
}

/** `127.0.0.1:8080` → `127.0.0.1`. */
function hostnameOf(host: string): string {
  return new URL(`http://${host}`).hostname;
}
