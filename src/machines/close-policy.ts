/**
 * What to do when the Mercury socket ends: the close-code policy (webex-protocol.md §3.5, with the
 * product's rules on top: transient faults are retried forever with backoff, a stale device is
 * re-registered, a second process on the same device makes this one stand down, and credentials
 * problems make the bot "not ready" with a slow retry instead of a reconnect storm).
 */
import { backoffMs } from '../backoff.js';

/** Where the socket was when it ended: HTTP upgrade, authorizing (before buffer_state), or online. */
export type SocketPhase = 'handshake' | 'opening' | 'open';

export interface SocketCloseInfo {
  phase: SocketPhase;
  /** WebSocket close code; absent when the HTTP upgrade failed. */
  code?: number;
  reason?: string;
  /** HTTP status of a failed upgrade (404 = unknown registration). */
  httpStatus?: number;
  /** True when this client started the close (pong timeout, pong mismatch). */
  byClient?: boolean;
}

/** Low-cardinality labels for logs and `socket_reconnects_total{reason}`. */
export type CloseReason =
  | 'recycle'
  | 'pong-timeout'
  | 'pong-mismatch'
  | 'going-away'
  | 'abnormal'
  | 'server-error'
  | 'switchover'
  | 'unexpected-close'
  | 'handshake-failed'
  | 'stale-device'
  | 'unknown-response'
  | 'replaced'
  | 'unauthorized'
  | 'forbidden'
  | 'bad-request'
  | 'rejected'
  | 'closed-by-server';

export type CloseReaction =
  /** Reconnect to the same device after the backoff delay. */
  | { action: 'reconnect'; reason: CloseReason }
  /** The device is gone or stale: register a new one (deleting the old), then connect. */
  | { action: 'reregister'; reason: CloseReason }
  /**
   * Webex's answer could not be read (1005 before readiness): refresh the device (`PUT`), which
   * registers a new one only if WDM says 404, then connect.
   */
  | { action: 'refresh'; reason: 'unknown-response' }
  /** Another process took over this device: not ready, try again much later. */
  | { action: 'standDown'; reason: 'replaced' }
  /** Not retryable now (credentials, entitlement, a deliberate close): not ready, slow retry. */
  | { action: 'notReady'; reason: CloseReason };

const RECYCLE_REASONS: Record<string, CloseReason> = {
  idle: 'recycle',
  'done (forced)': 'recycle',
  'pong not received': 'pong-timeout',
  'pong mismatch': 'pong-mismatch',
};

/**
 * Some clients and proxies lose the close code but keep the reason; the SDK restores the code from
 * the reason (internal-plugin-mercury `src/socket/socket-base.js`, `_fixCloseCode`).
 */
const CODE_FROM_REASON: Record<string, number> = {
  replaced: 4000,
  'authentication failed': 1008,
  'authentication did not happen within the timeout window of 30000 seconds.': 1008,
};

export function classifyClose(info: SocketCloseInfo): CloseReaction {
  if (info.phase === 'handshake' && info.code === undefined) return classifyHandshake(info.httpStatus);
  if (info.phase === 'handshake' && info.httpStatus !== undefined) return classifyHandshake(info.httpStatus);
  const rawCode = info.code ?? 1006;
  const code =
    rawCode === 1005 ? (CODE_FROM_REASON[(info.reason ?? '').trim().toLowerCase()] ?? rawCode) : rawCode;
  const reason = (info.reason ?? '').trim().toLowerCase();
  switch (code) {
    case 1000:
    case 1050: {
      const recycle = RECYCLE_REASONS[reason];
      // Any other reason is a deliberate close by Webex (e.g. logout): do not hammer it.
      return recycle
        ? { action: 'reconnect', reason: recycle }
        : { action: 'notReady', reason: 'closed-by-server' };
    }
    case 1001:
      return { action: 'reconnect', reason: 'going-away' };
    case 1005:
      // Before readiness this is the SDK's "unknown response" (a 4xxx whose code was lost): it
      // refreshes the device and retries (internal-plugin-mercury `src/mercury.js`, the
      // `UnknownResponse` branch of `_attemptConnection`), rather than dropping the device and
      // with it what Webex buffered for it. Once open, a plain reconnect.
      return info.phase === 'open'
        ? { action: 'reconnect', reason: 'abnormal' }
        : { action: 'refresh', reason: 'unknown-response' };
    case 1006:
      return { action: 'reconnect', reason: 'abnormal' };
    case 1011:
      return { action: 'reconnect', reason: 'server-error' };
    case 1003:
      return { action: 'notReady', reason: 'rejected' };
    case 1008:
      return { action: 'notReady', reason: 'unauthorized' };
    case 4000:
      return reason === 'replaced'
        ? { action: 'standDown', reason: 'replaced' }
        : { action: 'reconnect', reason: 'unexpected-close' };
    case 4001:
      return { action: 'reconnect', reason: 'switchover' };
    case 4400:
      return { action: 'notReady', reason: 'bad-request' };
    case 4401:
      return { action: 'notReady', reason: 'unauthorized' };
    case 4403:
      return { action: 'notReady', reason: 'forbidden' };
    case 4404:
      return { action: 'reregister', reason: 'stale-device' };
    default:
      return { action: 'reconnect', reason: 'unexpected-close' };
  }
}

function classifyHandshake(httpStatus: number | undefined): CloseReaction {
  switch (httpStatus) {
    case 404:
      return { action: 'reregister', reason: 'stale-device' };
    case 401:
      return { action: 'notReady', reason: 'unauthorized' };
    case 403:
      return { action: 'notReady', reason: 'forbidden' };
    default:
      // Refused, reset, DNS, 5xx: transient.
      return { action: 'reconnect', reason: 'handshake-failed' };
  }
}

/** The operator-facing sentence for each "not ready" state; logged once per occurrence. */
export function notReadyExplanation(reason: CloseReason | string): string {
  switch (reason) {
    case 'replaced':
      return 'another process uses this bot token (Webex replaced this connection); retrying in 5 minutes';
    case 'unauthorized':
      return 'Webex rejected the bot token (revoked or regenerated?); set a valid WEBEX_INTEGRATION_BOT_ACCESS_TOKEN';
    case 'forbidden':
      return 'Webex says this bot is not entitled to connect (403); check the bot account';
    case 'bad-request':
      return 'Webex rejected the connection request (4400); check the token type (a bot token is needed)';
    case 'rejected':
      return 'Webex rejected a frame this client sent (1003); this is a client bug';
    case 'closed-by-server':
      return 'Webex closed the connection deliberately; retrying slowly';
    default:
      return `Webex connection not ready (${reason})`;
  }
}

export const BACKOFF_INITIAL_MS = 1_000;
export const BACKOFF_MAX_MS = 32_000;
/** Fraction of the step removed at random, so many bots restarted together do not reconnect in step. */
export const BACKOFF_JITTER = 0.2;

/**
 * Delay before reconnect attempt `attempt` (0-based): 1 s doubling to 32 s, minus up to 20 %
 * jitter, never below 1 s. `random` returns [0, 1).
 */
export function backoffDelayMs(attempt: number, random: () => number): number {
  const wait = backoffMs(
    attempt,
    { baseMs: BACKOFF_INITIAL_MS, maxMs: BACKOFF_MAX_MS, jitter: BACKOFF_JITTER },
    random,
  );
  return Math.max(BACKOFF_INITIAL_MS, wait);
}
