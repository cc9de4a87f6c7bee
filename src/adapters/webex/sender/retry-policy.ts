import { retryAfterMs } from '../../../backoff.js';
import { TransportError, WebexApiError } from '../../../errors.js';
import type { WebexWriteMethod } from './transport.js';

export type FailureDecision =
  /** Webex asked us to slow down: pause the whole endpoint, then send this request again. */
  | { kind: 'rate-limited'; pauseMs: number }
  /** Worth another try after a backoff. */
  | { kind: 'retry' }
  /** Give up and hand the error to the caller. */
  | { kind: 'fail' };

/**
 * How the sender reacts to a failed attempt.
 *
 * - 429 (and 423 when it carries Retry-After): pause the endpoint, `Retry-After` seconds or the
 *   configured default.
 * - 5xx and transport errors that certainly never reached Webex: retry with backoff.
 * - A POST that may have reached Webex (an ambiguous transport error, or a 504 from a gateway that
 *   gave up waiting) is never repeated: Webex has no idempotency key, so a repeat could post the
 *   message twice. The caller decides (e.g. tell the user, or look the message up).
 * - PUT and DELETE are idempotent in content, so they are retried after an ambiguous failure; the
 *   sender counts such an edit against the message's budget as if it had applied.
 * - Everything else (4xx) fails at once.
 */
export function classifyFailure(
  error: unknown,
  method: WebexWriteMethod,
  defaultRetryAfterS: number,
): FailureDecision {
  if (error instanceof WebexApiError) {
    const retryAfterS = error.retryAfterS;
    if (error.status === 429 || (error.status === 423 && retryAfterS !== undefined)) {
      return { kind: 'rate-limited', pauseMs: retryAfterMs(retryAfterS, defaultRetryAfterS) };
    }
    if (error.status >= 500) {
      if (method === 'POST' && error.status === 504) return { kind: 'fail' };
      return { kind: 'retry' };
    }
    return { kind: 'fail' };
  }
  if (error instanceof TransportError) {
    if (error.ambiguous && method === 'POST') return { kind: 'fail' };
    return { kind: 'retry' };
  }
  // Our own bug or an abort: never retried.
  return { kind: 'fail' };
}
