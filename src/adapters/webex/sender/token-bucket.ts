import type { Clock } from '../../../clock.js';

export interface TokenBucketOptions {
  /** Most tokens the bucket holds: the largest burst that goes out without waiting. */
  capacity: number;
  /** Tokens added per second, continuously: the sustained rate. */
  refillPerSecond: number;
  clock: Clock;
}

/**
 * A continuous-refill token bucket. It never waits itself: callers ask `tryTake` and, when refused,
 * `msUntil` tells them when to ask again (the sender keeps one timer for all its waits).
 */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0)) {
      throw new RangeError('token bucket needs capacity >= 1 and refillPerSecond > 0');
    }
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.#clock = options.clock;
    this.#tokens = options.capacity;
    this.#updatedAt = options.clock.now();
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
    if (this.#tokens < 1 + Math.min(reserve, this.capacity - 1)) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until `tryTake(reserve)` can succeed (0 if it can now). */
  msUntil(reserve = 0): number {
    this.#refill();
    const missing = 1 + Math.min(reserve, this.capacity - 1) - this.#tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.refillPerSecond);
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#updatedAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.capacity, this.#tokens + (elapsed * this.refillPerSecond) / 1000);
    }
    this.#updatedAt = now;
  }
}
