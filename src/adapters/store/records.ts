/** Rules shared by the persistent adapters. */
import type { SpaceRecord } from './ports.js';

/** A conversation nobody touched for this long is forgotten (its thread starts afresh). */
export const CONVERSATION_RETENTION_MS = 30 * 86_400_000;

/** How long a room stays recorded as active; the catch-up looks back an hour at most. */
export const ACTIVE_ROOM_RETENTION_MS = 86_400_000;

/** How long the bot's own post echoes are kept: a takeover happens within minutes of a stop. */
export const ECHO_RETENTION_MS = 86_400_000;

/** Upper bound on id forms per lookup; callers pass two or three. */
const MAX_ID_FORMS = 8;

export function distinctIdForms(roomIds: readonly string[]): string[] {
  return [...new Set(roomIds)].slice(0, MAX_ID_FORMS);
}

/** Records of one room read per lookup: one per id form, more only if a unique index is missing. */
export const MAX_RECORDS_PER_ROOM = 32;

/**
 * Of several records for one room (one per id form, e.g. a revoked UUID entry and an active
 * `Y2lz…` entry), a revoked one wins (SPEC "Who may use the bot"): a revocation under any id form
 * stops the space, whichever form was authorized later. Among equals, the most recently changed.
 * Re-authorizing through the admin API activates every entry of the room.
 */
export function pickSpace(records: readonly SpaceRecord[]): SpaceRecord | undefined {
  const stamp = (r: SpaceRecord) => Math.max(r.authorizedAt?.getTime() ?? 0, r.revokedAt?.getTime() ?? 0);
  return [...records].sort((a, b) => {
    if (a.status !== b.status) return a.status === 'revoked' ? -1 : 1;
    return stamp(b) - stamp(a);
  })[0];
}
