/**
 * Counters the Webex connection reports. The operations layer binds them to prom-client
 * (`socket_reconnects_total{reason}`, `events_total{kind,outcome}`, ...); the default does nothing.
 * Labels are low-cardinality by construction: never ids, rooms or emails.
 */
import type { CloseReason } from '../../machines/close-policy.js';

/** `activity` when the kind is not known yet (dropped before normalisation). */
export type InboundKindLabel = 'message' | 'cardAction' | 'botAdded' | 'activity';

/**
 * - `accepted`: normalised and handed to the bot.
 * - `duplicate`: the activity id was handled already within the dedupe TTL.
 * - `own` / `bot`: written by this bot or by another bot.
 * - `ignored`: not for the bot (edits, reactions, other verbs, unmentioned group posts REST hides).
 * - `malformed`: the activity lacks required fields.
 * - `failed`: REST could not fetch the plaintext; the id is released so a redelivery retries.
 * - `deferred`: arrived while the process was stopping; left for the next process (unacked, and its
 *   room recorded for that process's catch-up).
 */
export type InboundOutcome =
  | 'accepted'
  | 'duplicate'
  | 'own'
  | 'bot'
  | 'ignored'
  | 'malformed'
  | 'failed'
  | 'deferred';

/**
 * What became of a message the REST catch-up listed:
 * - `recovered`: the socket had not delivered it; handed to the bot now.
 * - `duplicate`: already handled (or being handled) from the socket.
 * - `own`: written by the bot.
 * - `failed`: a room whose listing failed (counted once per room, not per message).
 */
export type CatchUpOutcome = 'recovered' | 'duplicate' | 'own' | 'failed';

export type ReconnectReason = CloseReason | 'ready-timeout' | 'setup-failed';

export interface ConnectionMetrics {
  reconnect(reason: ReconnectReason): void;
  sequenceGap(missing: number): void;
  inbound(kind: InboundKindLabel, outcome: InboundOutcome): void;
  malformedFrame(): void;
  catchUp(outcome: CatchUpOutcome): void;
}

export const noopConnectionMetrics: ConnectionMetrics = {
  reconnect: () => {},
  sequenceGap: () => {},
  inbound: () => {},
  malformedFrame: () => {},
  catchUp: () => {},
};
