/**
 * The one retry policy of the bot: exponential backoff with jitter, and how long a `Retry-After`
 * is honoured. The Webex connection's reconnects, the intake's REST reads and the sender's writes
 * all wait by these rules, each with its own base, ceiling and jitter.
 */

export interface BackoffOptions {
  /** Wait before the first retry (before jitter). */
  baseMs: number;
  /** Upper bound of any single wait. */
  maxMs: number;
  /**
   * Fraction of each step taken off at random (0 = exact doubling; 0.5 = "equal jitter": half
   * fixed, half random), so many clients retrying together do not retry in step.
   */
  jitter: number;
}

/**
 * The wait before retry `attempt` (0 for the first retry): `baseMs` doubling to `maxMs`, less up to
 * `jitter` of the step. `random` returns [0, 1); anything else counts as 0.
 */
export function backoffMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const exponent = Math.max(0, Math.min(Math.floor(attempt), 30));
  const step = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0;
  return Math.round(step * (1 - Math.min(1, Math.max(0, options.jitter)) * unit));
}

/** Webex's own SDK caps a Retry-After at one hour; a larger value is a broken header, not a plan. */
export const MAX_RETRY_AFTER_S = 3600;

/**
 * How long to wait after a 429: the server's `Retry-After` (seconds) when it sent a usable one,
 * else the configured default (`WEBEX_RETRY_AFTER_DEFAULT_S`), never above an hour.
 */
export function retryAfterMs(retryAfterS: number | undefined, defaultS: number): number {
  const seconds = retryAfterS !== undefined && Number.isFinite(retryAfterS) ? retryAfterS : defaultS;
  return Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_S) * 1000;
}
