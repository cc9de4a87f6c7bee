import type { SimContext } from './context.js';
import type { RouteDef } from './router.js';

/**
 * U2C service catalog (`?format=hostmap`): service links plus a host catalog whose entry ids
 * name each host's cluster, which clients use to build cluster-correct Hydra ids.
 */
export function u2cRoutes(ctx: SimContext): RouteDef[] {
  return [
    {
      method: 'GET',
      template: '/u2c/api/v1/catalog',
      handle: () => {
        const hostCatalog: Record<string, Array<Record<string, unknown>>> = {};
        for (const region of Object.values(ctx.world.regions)) {
          const services =
            region.key === 'us' ? ['conversation', 'wdm', 'hydra', 'mercuryConnection'] : ['conversation'];
          hostCatalog[region.host] = services.map((service, index) => ({
            host: region.host,
            ttl: -1,
            priority: index + 1,
            id: `${region.catalogId}:${service}`,
          }));
        }
        return {
          status: 200,
          body: {
            serviceLinks: {
              wdm: ctx.urls.wdm,
              hydra: ctx.urls.hydra,
              conversation: ctx.urls.conversation,
            },
            hostCatalog,
            format: 'hostmap',
          },
        };
      },
    },
  ];
}
