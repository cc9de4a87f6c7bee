/**
 * U2C service discovery. The WDM base URL must come from the catalog (a hard-coded `wdm-a` misses
 * accounts homed in other clusters), and the catalog's host map tells which cluster a conversation
 * lives in, which Hydra ids need (`ids.ts`).
 */
import { clusterFromCatalogId } from './ids.js';
import type { WebexRestClient } from './rest.js';

export interface ServiceCatalog {
  /** WDM base, e.g. `https://wdm-a.wbx2.com/wdm/api/v1` (or the `WEBEX_WDM_URL` override). */
  wdmUrl: string;
  /** Every `serviceLinks` entry, for diagnostics. */
  serviceLinks: Record<string, string>;
  /** Host → Hydra cluster string (`us`, `urn:TEAM:eu-central-1_k`), from `hostCatalog`. */
  hostClusters: Record<string, string>;
}

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

function hostClustersOf(hostCatalog: unknown): Record<string, string> {
  const clusters: Record<string, string> = {};
  if (typeof hostCatalog !== 'object' || hostCatalog === null) return clusters;
  for (const [host, entries] of Object.entries(hostCatalog)) {
    if (!Array.isArray(entries)) continue;
    const withId = entries.find(
      (entry): entry is { id: string } =>
        typeof entry === 'object' && entry !== null && typeof entry.id === 'string',
    );
    if (withId) clusters[host.toLowerCase()] = clusterFromCatalogId(withId.id);
  }
  return clusters;
}

/**
 * The Hydra cluster of a conversation from its URL (`target.url` or `activity.url`). An unknown
 * host falls back to `us`, which is right for the original cluster and fails loudly (404) elsewhere.
 */
export function clusterOfUrl(catalog: Pick<ServiceCatalog, 'hostClusters'>, url: unknown): string {
  if (typeof url !== 'string') return 'us';
  let host: string;
  try {
    host = new URL(url).host.toLowerCase();
  } catch {
    return 'us';
  }
  return catalog.hostClusters[host] ?? catalog.hostClusters[host.replace(/:\d+$/, '')] ?? 'us';
}
