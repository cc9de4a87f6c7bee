/**
 * A server-side write limit, as Webex enforces one: a token bucket per caller (per bot token)
 * over the Hydra writes (POST, PUT, DELETE under `/v1/`), answering 429 with Webex's message and a
 * `Retry-After` header when the bucket is empty. Off unless the driver is started with
 * `writeLimit`.
 *
 * Webex publishes neither the figures nor the algorithm (reference: webex-protocol §7: "dynamic,
 * per endpoint / app / org"); what is read from a source and what is a guess is listed in
 * docs/simulator.md.
 */
import type { SimClock } from './clock.js';
import { SimHttpError, TOO_MANY_REQUESTS } from './http-error.js';

export interface WriteLimitOptions {
  /** Sustained writes per second (the bucket's refill). */
  ratePerSecond: number;
  /** Writes that go through at once after a quiet spell (the bucket's size). */
  burst: number;
  /**
   * The `Retry-After` of a 429:
   * - `'computed'` (default): whole seconds until the bucket holds a token again, at least 1
   *   (Webex sends whole seconds);
   * - a number: always that many seconds, however soon a token is back (a server whose hint is
   *   too long);
   * - `'none'`: no header at all (the client must fall back on its own default).
   */
  retryAfter?: 'computed' | number | 'none';
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const LIMITED_METHODS = new Set(['POST', 'PUT', 'DELETE']);

export class WriteLimit {
  readonly #options: Required<WriteLimitOptions>;
  readonly #clock: SimClock;
  /** Caller UUID → that caller's bucket. */
  readonly #buckets = new Map<string, Bucket>();
  #refused = 0;

  constructor(options: WriteLimitOptions, clock: SimClock) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError('writeLimit needs ratePerSecond > 0 and burst >= 1');
    }
    const retryAfter = options.retryAfter ?? 'computed';
    if (typeof retryAfter === 'number' && !(retryAfter >= 0)) {
      throw new RangeError('writeLimit.retryAfter must be a number of seconds >= 0');
    }
    this.#options = { ...options, retryAfter };
    this.#clock = clock;
  }

  /** 429s answered so far. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Spends one token of the caller's bucket for a Hydra write, or throws the 429 Webex would send.
   * Reads, other services and refused requests cost nothing (a refused write did not happen).
   */
  admit(method: string, path: string, callerUuid: string): void {
    if (!LIMITED_METHODS.has(method) || !path.startsWith('/v1/')) return;
    const now = this.#clock.now();
    const { burst, ratePerSecond } = this.#options;
    let bucket = this.#buckets.get(callerUuid);
    if (!bucket) {
      bucket = { tokens: burst, updatedAt: now };
      this.#buckets.set(callerUuid, bucket);
    }
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * ratePerSecond) / 1000);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    this.#refused += 1;
    const headers: Record<string, string> = {};
    const retryAfterS = this.#retryAfterS(bucket);
    if (retryAfterS !== undefined) headers['Retry-After'] = String(retryAfterS);
    throw new SimHttpError(429, TOO_MANY_REQUESTS, { headers });
  }

  #retryAfterS(bucket: Bucket): number | undefined {
    const { retryAfter, ratePerSecond } = this.#options;
    if (retryAfter === 'none') return undefined;
    if (typeof retryAfter === 'number') return retryAfter;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond));
  }
}
