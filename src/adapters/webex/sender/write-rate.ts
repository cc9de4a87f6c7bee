/**
 * The sender's write rate, learned from Webex's answers instead of assumed.
 *
 * Webex publishes no figures: its limits vary per endpoint, app and organisation and show up only
 * as 429 + Retry-After. So the rate is a control loop, in the manner of TCP congestion control:
 *
 * - **Slow start.** From `initialPerSecond` (today's 5 writes/s) the rate doubles every round
 *   (`roundMs`) in which writes had to wait for it, up to `maxPerSecond` (`WEBEX_WRITE_RATE_MAX`).
 *   A round in which nothing waited for a token leaves it alone: an idle bot learns nothing.
 * - **Decrease on 429.** The first 429 ends slow start and multiplies the rate by
 *   `decreaseFactor`²: Webex's burst hides its limit, so by the time its bucket is empty slow start
 *   has doubled well past it, often up to the ceiling (a plain halving from there still
 *   overshoots, and each further 429 costs a Retry-After pause). Later 429s set the rate to 90 %
 *   of what Webex accepted since the previous decrease: between two 429s a token-bucket server
 *   lets through exactly its refill rate (less when its bucket was full for a while, e.g. during a
 *   long Retry-After), so that figure is a lower bound of what Webex allows. The result is kept
 *   between `decreaseFactor`² × and 1 × the rate, so one odd reading can neither stop the sender
 *   nor keep it too fast; less than a second after the previous decrease there is no reading yet,
 *   and the rate is multiplied by `decreaseFactor`. A decrease also empties the
 *   sender's own bucket and shrinks it to one token until the rate rises again: Webex's bucket is
 *   empty, so no burst may follow, not even after the Retry-After pause (during which the sender's
 *   bucket would otherwise fill up). 429s for writes sent before the decrease are the same event
 *   and do not lower the rate again.
 * - **Additive increase.** After a 429 the rate rises linearly while writes wait for it: each such
 *   second adds `increaseShare` of the rate the last decrease set (at least 0.5 writes/s), divided
 *   by the seconds the last 429 paused for. It probes gently for more room: more gently the lower
 *   Webex's limit turned out to be, and the more a 429 costs (a `Retry-After: 10` makes each probe
 *   past the limit cost ten seconds of that endpoint, so the rate approaches it ten times slower).
 *
 * The bucket holds `burstSeconds` of the current rate, so after a quiet spell the sender may send
 * that much at once and no more. The endpoint pause after a 429 is the sender's business (SPEC:
 * every call to that endpoint waits for Retry-After); this object only owns the rate.
 */
import type { Clock } from '../../../clock.js';
import { TokenBucket } from './token-bucket.js';

export interface WriteRateLimits {
  /** Where the rate starts (writes per second, all rooms and endpoints together). */
  initialPerSecond: number;
  /** Ceiling the rate never passes (`WEBEX_WRITE_RATE_MAX`). */
  maxPerSecond: number;
  /** Floor a series of 429s cannot push the rate under. */
  minPerSecond: number;
  /** Seconds of the current rate the bucket holds (the largest burst after a quiet spell). */
  burstSeconds: number;
  /** How often the rate may rise (slow start doubles once per round). */
  roundMs: number;
  /** After the first 429: share of the rate set by the last decrease added per second of waiting writes. */
  increaseShare: number;
  /**
   * The first 429 multiplies the rate by its square; a later one within a second of the previous
   * decrease by this; otherwise it is the floor (squared) under what Webex accepted.
   */
  decreaseFactor: number;
}

export type WriteRatePhase = 'slow-start' | 'steady';

/** Share of the accepted rate the decrease may not go below (a safety margin under the estimate). */
const ESTIMATE_MARGIN = 0.9;

/** The additive increase never falls below this (writes per second, per second). */
const MIN_INCREASE_PER_SECOND = 0.5;

export class AdaptiveWriteRate {
  readonly #limits: WriteRateLimits;
  readonly #clock: Clock;
  readonly #onChange: (perSecond: number) => void;
  readonly #bucket: TokenBucket;
  #rate: number;
  #phase: WriteRatePhase = 'slow-start';
  #roundStartedAt: number;
  /** A write waited for a token during this round: the rate was the bottleneck. */
  #starvedThisRound = false;
  #limitedThisRound = false;
  #lastDecreaseAt = Number.NEGATIVE_INFINITY;
  /** The rate the last decrease set: the additive increase is a share of it. */
  #decreasedTo = 0;
  /** Since the last decrease and until the next increase: no bursts, one write per interval. */
  #paced = false;
  /** Seconds the last 429 paused for: the longer a 429 costs, the more gently the rate probes. */
  #pauseS = 1;
  /** Writes sent after the last decrease that Webex accepted. */
  #acceptedSinceDecrease = 0;

  constructor(limits: WriteRateLimits, clock: Clock, onChange: (perSecond: number) => void = () => {}) {
    if (
      !(limits.minPerSecond > 0) ||
      !(limits.maxPerSecond >= limits.minPerSecond) ||
      !Number.isFinite(limits.maxPerSecond) ||
      !(limits.decreaseFactor > 0 && limits.decreaseFactor < 1) ||
      !(limits.roundMs > 0) ||
      !(limits.burstSeconds > 0) ||
      !(limits.increaseShare >= 0)
    ) {
      throw new RangeError('write rate limits are inconsistent');
    }
    this.#limits = limits;
    this.#clock = clock;
    this.#onChange = onChange;
    this.#rate = this.#clamp(limits.initialPerSecond);
    if (this.#rate >= limits.maxPerSecond) this.#phase = 'steady';
    this.#bucket = new TokenBucket({
      capacity: this.#capacityFor(this.#rate),
      refillPerSecond: this.#rate,
      clock,
    });
    this.#roundStartedAt = clock.now();
  }

  /** The current rate, writes per second. */
  get perSecond(): number {
    this.#endRound();
    return this.#rate;
  }

  get phase(): WriteRatePhase {
    return this.#phase;
  }

  /** Tokens the bucket can hold at the current rate. */
  get capacity(): number {
    return this.#bucket.capacity;
  }

  /**
   * Takes a token if more than `reserveShare` of the bucket would be left (edits and, during a
   * burst of new questions, answers leave a share for first replies).
   */
  tryTake(reserveShare = 0): boolean {
    this.#endRound();
    return this.#bucket.tryTake(this.#reserve(reserveShare));
  }

  msUntil(reserveShare = 0): number {
    return this.#bucket.msUntil(this.#reserve(reserveShare));
  }

  /** A write that could go found no token: the rate, not the demand, is the bottleneck. */
  starved(): void {
    this.#endRound();
    this.#starvedThisRound = true;
  }

  /**
   * Clock time the rate may next rise: the sender looks again then while writes are waiting.
   * Infinite at the ceiling, where there is nothing to look for.
   */
  get roundEndsAt(): number {
    if (this.#rate >= this.#limits.maxPerSecond) return Number.POSITIVE_INFINITY;
    return this.#roundStartedAt + this.#limits.roundMs;
  }

  /** Webex accepted a write sent at `sentAt`. */
  accepted(sentAt: number): void {
    if (sentAt > this.#lastDecreaseAt) this.#acceptedSinceDecrease += 1;
  }

  /**
   * Webex answered 429 to a write sent at `sentAt`. Returns whether the rate was lowered (a 429 for
   * a write sent before the last decrease belongs to that decrease).
   */
  rateLimited(sentAt: number, pauseMs = 1000): boolean {
    this.#endRound();
    this.#limitedThisRound = true;
    const now = this.#clock.now();
    if (sentAt <= this.#lastDecreaseAt) return false;
    const factor = this.#limits.decreaseFactor;
    const first = this.#lastDecreaseAt === Number.NEGATIVE_INFINITY;
    let next = this.#rate * (first ? factor * factor : factor);
    const elapsedS = (now - this.#lastDecreaseAt) / 1000;
    // Over less than a second the count is noise (a write or two either way).
    if (Number.isFinite(elapsedS) && elapsedS >= 1) {
      const estimate = ESTIMATE_MARGIN * (this.#acceptedSinceDecrease / elapsedS);
      next = Math.min(this.#rate, Math.max(this.#rate * factor * factor, estimate));
    }
    this.#phase = 'steady';
    this.#pauseS = Math.max(1, pauseMs / 1000);
    this.#lastDecreaseAt = now;
    this.#acceptedSinceDecrease = 0;
    this.#paced = true;
    this.#set(next, true);
    this.#decreasedTo = this.#rate;
    this.#bucket.drain();
    return true;
  }

  /** Closes every round that has ended: each one in which writes waited (and no 429 came) raises the rate once. */
  #endRound(): void {
    const now = this.#clock.now();
    if (now < this.#roundStartedAt + this.#limits.roundMs) return;
    if (this.#starvedThisRound && !this.#limitedThisRound) {
      const { roundMs, increaseShare } = this.#limits;
      const perSecond = Math.max(MIN_INCREASE_PER_SECOND, increaseShare * this.#decreasedTo) / this.#pauseS;
      this.#paced = false;
      const starting = this.#phase === 'slow-start';
      this.#set(
        this.#phase === 'slow-start' ? this.#rate * 2 : this.#rate + (perSecond * roundMs) / 1000,
        true,
      );
      // At the ceiling there is nothing left to double: later increases are linear.
      if (starting && this.#rate >= this.#limits.maxPerSecond) this.#phase = 'steady';
    }
    this.#roundStartedAt = now;
    this.#starvedThisRound = false;
    this.#limitedThisRound = false;
  }

  #set(rate: number, resize = false): void {
    const next = this.#clamp(rate);
    const changed = next !== this.#rate;
    this.#rate = next;
    if (changed || resize) this.#bucket.resize(next, this.#capacityFor(next));
    if (changed) this.#onChange(next);
  }

  #clamp(rate: number): number {
    return Math.min(this.#limits.maxPerSecond, Math.max(this.#limits.minPerSecond, rate));
  }

  #capacityFor(rate: number): number {
    return this.#paced ? 1 : Math.max(1, rate * this.#limits.burstSeconds);
  }

  #reserve(share: number): number {
    return Math.max(0, Math.min(1, share)) * this.#bucket.capacity;
  }
}
