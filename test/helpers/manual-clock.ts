/**
 * The one manual clock of the tests: time moves only when a test says so. `advance` fires due
 * timers in order and lets promise chains settle after each, so work a timer starts (a retry, the
 * next send) runs before the next timer is considered.
 */
import type { Clock } from '../../src/clock.js';

/** Lets pending promise chains run (real event-loop turns, no time passes on any clock). */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface ManualTimer {
  at: number;
  id: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #nextId = 0;
  readonly #timers = new Map<number, ManualTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#nextId;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Clock time of the earliest pending timer, if any. */
  nextTimerAt(): number | undefined {
    let at: number | undefined;
    for (const timer of this.#timers.values()) if (at === undefined || timer.at < at) at = timer.at;
    return at;
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      let next: ManualTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (
          timer.at <= target &&
          (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))
        ) {
          next = timer;
        }
      }
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
    await settle();
  }
}

/** A fixed, readable start for clocks whose absolute time shows in records (2025-01-01). */
export const SIM_EPOCH = Date.parse('2025-01-01T00:00:00.000Z');
