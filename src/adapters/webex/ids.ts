/**
 * Webex public ("Hydra") ids: unpadded base64 of `ciscospark://<cluster>/<TYPE>/<uuid>`.
 *
 * Socket activities carry raw UUIDs; REST wants Hydra ids whose cluster matches the
 * conversation's home cluster, or it answers 404 "Unable to get message.". The cluster string
 * comes from the U2C host catalog; the original US cluster is written as the literal `us`.
 */

export const HYDRA_TYPES = [
  'PEOPLE',
  'ROOM',
  'MESSAGE',
  'ATTACHMENT_ACTION',
  'MEMBERSHIP',
  'TEAM',
  'ORGANIZATION',
  'CONTENT',
] as const;

export type HydraType = (typeof HYDRA_TYPES)[number];

export interface DecodedHydraId {
  cluster: string;
  type: HydraType;
  /** For MEMBERSHIP `<personUuid>:<roomUuid>`, for CONTENT `<activityUuid>/<index>`. */
  uuid: string;
}

const SCHEME = 'ciscospark://';

/** Catalog clusters that Hydra ids spell as `us` for backward compatibility. */
const LEGACY_US_CLUSTERS = new Set(['urn:TEAM:us-east-2_a', 'urn:TEAM:us-east-1_int13']);

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]+={0,2}$/;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

export function encodeHydraId(type: HydraType, uuid: string, cluster = 'us'): string {
  return Buffer.from(`${SCHEME}${cluster}/${type}/${uuid}`, 'utf8').toString('base64url');
}

/** Accepts padded, unpadded, standard and URL-safe base64; anything else gives `undefined`. */
export function decodeHydraId(id: unknown): DecodedHydraId | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512 || !BASE64_PATTERN.test(id)) {
    return undefined;
  }
  const text = Buffer.from(id.replace(/=+$/, ''), 'base64url').toString('utf8');
  if (!text.startsWith(SCHEME)) return undefined;
  const rest = text.slice(SCHEME.length);
  // The cluster may contain ':' (urn:TEAM:eu-central-1_k) but never '/'; a CONTENT uuid may contain '/'.
  const firstSlash = rest.indexOf('/');
  const secondSlash = rest.indexOf('/', firstSlash + 1);
  if (firstSlash <= 0 || secondSlash <= firstSlash + 1) return undefined;
  const cluster = rest.slice(0, firstSlash);
  const type = rest.slice(firstSlash + 1, secondSlash);
  const uuid = rest.slice(secondSlash + 1);
  if (!isHydraType(type) || uuid.length === 0 || /[\s\u0000-\u001f]/.test(text)) return undefined;
  return { cluster, type, uuid };
}

/**
 * Cluster string for Hydra ids from a U2C host-catalog entry id: the first three
 * `:`-separated segments, with the original US (and integration) cluster spelled `us`.
 * `urn:TEAM:us-east-2_a:conversation` → `us`; `urn:TEAM:eu-central-1_k` → `urn:TEAM:eu-central-1_k`.
 */
export function clusterFromCatalogId(catalogId: string): string {
  const cluster = catalogId.split(':').slice(0, 3).join(':');
  return LEGACY_US_CLUSTERS.has(cluster) ? 'us' : cluster;
}

function isHydraType(value: string): value is HydraType {
  return (HYDRA_TYPES as readonly string[]).includes(value);
}
