/**
 * Organisation ids as Webex writes them: Mercury activities carry the raw UUID (`actor.orgId`), the
 * People API the public `Y2lz…` id (`ciscospark://us/ORGANIZATION/<uuid>`). Operators may paste
 * either into `WEBEX_ALLOWED_ORG_IDS`, so they are compared by UUID.
 */
import { decodeHydraId, isUuid } from './ids.js';

/** The organisation's UUID, lower-cased; undefined for anything that is not an organisation id. */
export function orgUuid(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const trimmed = id.trim();
  if (isUuid(trimmed)) return trimmed.toLowerCase();
  const decoded = decodeHydraId(trimmed);
  if (decoded?.type !== 'ORGANIZATION' || !isUuid(decoded.uuid)) return undefined;
  return decoded.uuid.toLowerCase();
}

export function isOrgId(id: unknown): boolean {
  return orgUuid(id) !== undefined;
}
