/**
 * U2C service discovery. The WDM base URL must come from the catalog (a hard-coded `wdm-a` misses
 * accounts homed in other clusters), and the catalog's host map tells which cluster a conversation
 * lives in, which Hydra ids need (`ids.ts`).
 */

import type { ServiceCatalog } from '../../machines/webex-types.js';
import { clusterFromCatalogId } from './ids.js';
import type { WebexRestClient } from './rest.js';

export type { ServiceCatalog };

interface HostmapResponse {
  serviceLinks?: Record<string, unknown>;
  hostCatalog?: Record<string, unknown>;
}

export interface FetchCatalogOptions {
  u2cUrl: string;
  /** `WEBEX_WDM_URL`: wins over the catalog's `serviceLinks.wdm`. */
  wdmOverride?: string | undefined;
  signal?: AbortSignal;
}

export async function fetchCatalog(
  rest: WebexRestClient,
  options: FetchCatalogOptions,
): Promise<ServiceCatalog> {
  const body = await rest.get<HostmapResponse>(`${options.u2cUrl.replace(/\/+$/, '')}/catalog`, {
    route: 'GET /u2c/catalog',
    query: { format: 'hostmap' },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const serviceLinks: Record<string, string> = {};
  for (const [name, value] of Object.entries(body?.serviceLinks ?? {})) {
    if (typeof value === 'string') serviceLinks[name] = value;
  }
  const wdmUrl = options.wdmOverride ?? serviceLinks.wdm;
  if (!wdmUrl) throw new Error('the U2C catalog has no serviceLinks.wdm (set WEBEX_WDM_URL to override)');
  return {
    wdmUrl: wdmUrl.replace(/\/+$/, ''),
    serviceLinks,
    hostClusters: hostClustersOf(body?.hostCatalog),
  };
}

/**
 * Host → cluster, as the Webex JS SDK resolves a URL's cluster (webex-core
 * `lib/services/service-catalog.js` `findClusterId`, over the hosts `services.js`
 * `_formatReceivedHostmap` collects): every entry's own `host` maps to that entry's cluster, and a
 * key maps to the cluster of its first entry only where no entry names that host. A key may list
 * hosts other than itself (the SDK's fixtures: key `example-a.com`, entries `example-a-1.com`,
 * `example-a-2.com`); conversations of non-US orgs live on such hosts, and a lookup by key alone
 * gave them `us` ids, which Hydra answers with 404.
 */
function hostClustersOf(hostCatalog: unknown): Record<string, string> {
  const byEntry: Record<string, string> = {};
  const byKey: Record<string, string> = {};
  if (typeof hostCatalog !== 'object' || hostCatalog === null) return {};
  for (const [key, entries] of Object.entries(hostCatalog)) {
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { id, host } = entry as { id?: unknown; host?: unknown };
      if (typeof id !== 'string') continue;
      const cluster = clusterFromCatalogId(id);
      byKey[key.toLowerCase()] ??= cluster;
      if (typeof host === 'string' && host !== '') byEntry[host.toLowerCase()] ??= cluster;
    }
  }
  return { ...byKey, ...byEntry };
}

/**
 * The Hydra cluster of a conversation from its URL (`target.url` or `activity.url`): its host as
 * written (`host[:port]`), then its host name (catalog entries name hosts without a port; the SDK
 * compares `hostname`). An unknown host falls back to `us`, which is right for the original
 * cluster and fails loudly (404) elsewhere.
 */
export function clusterOfUrl(catalog: Pick<ServiceCatalog, 'hostClusters'>, url: unknown): string {
  if (typeof url !== 'string') return 'us';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'us';
  }
  const host = parsed.host.toLowerCase();
  const hostname = parsed.hostname.toLowerCase();
  return catalog.hostClusters[host] ?? catalog.hostClusters[hostname] ?? 'us';
}
