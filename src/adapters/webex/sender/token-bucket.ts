import type { Clock } from '../../../clock.js';

/** Refills add up in small fractions; a token short by less than this is a whole token. */
const EPSILON = 1e-9;

export interface TokenBucketOptions {
  /** Most tokens the bucket holds: the largest burst that goes out without waiting. */
  capacity: number;
  /** Tokens added per second, continuously: the sustained rate. */
  refillPerSecond: number;
  clock: Clock;
}

/**
 * A continuous-refill token bucket whose rate and size may change while it runs (the sender's
 * rate adapts to Webex's answers). It never waits itself: callers ask `tryTake` and, when refused,
 * `msUntil` tells them when to ask again (the sender keeps one timer for all its waits).
 */
export class TokenBucket {
  #capacity: number;
  #refillPerSecond: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(options: TokenBucketOptions) {
    TokenBucket.#check(options.capacity, options.refillPerSecond);
    this.#capacity = options.capacity;
    this.#refillPerSecond = options.refillPerSecond;
    this.#clock = options.clock;
    this.#tokens = options.capacity;
    this.#updatedAt = options.clock.now();
  }

  get capacity(): number {
    return this.#capacity;
  }

  get refillPerSecond(): number {
    return this.#refillPerSecond;
  }

  /** Tokens available now (fractional while refilling). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /**
   * Takes one token if more than `reserve` tokens would remain available before the take, i.e.
   * low-priority callers pass a reserve so they never spend the last `reserve` tokens.
   */
  tryTake(reserve = 0): boolean {
    this.#refill();
    if (this.#tokens + EPSILON < this.#needed(reserve)) return false;
    this.#tokens = Math.max(0, this.#tokens - 1);
    return true;
  }

  /** Milliseconds until `tryTake(reserve)` can succeed (0 if it can now). */
  msUntil(reserve = 0): number {
    this.#refill();
    const missing = this.#needed(reserve) - this.#tokens;
    return missing <= EPSILON ? 0 : Math.ceil((missing * 1000) / this.#refillPerSecond);
  }

  /**
   * Changes the rate and size from now on. Tokens already earned stay (up to the new size): a
   * higher rate is not a burst.
   */
  resize(refillPerSecond: number, capacity: number): void {
    TokenBucket.#check(capacity, refillPerSecond);
    this.#refill();
    this.#refillPerSecond = refillPerSecond;
    this.#capacity = capacity;
    this.#tokens = Math.min(this.#tokens, capacity);
  }

  /** Spends every token (e.g. when the server says its own bucket is empty). */
  drain(): void {
    this.#refill();
    this.#tokens = 0;
  }

  #needed(reserve: number): number {
    return 1 + Math.max(0, Math.min(reserve, this.#capacity - 1));
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#updatedAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#refillPerSecond) / 1000);
    }
    this.#updatedAt = now;
  }

  static #check(capacity: number, refillPerSecond: number): void {
    if (!(capacity >= 1) || !(refillPerSecond > 0) || !Number.isFinite(refillPerSecond)) {
      throw new RangeError('token bucket needs capacity >= 1 and refillPerSecond > 0');
    }
  }
}
