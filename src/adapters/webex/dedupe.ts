/**
 * Remembers handled activity ids for `WEBEX_DEDUPE_TTL_S`, so an activity delivered twice (a
 * redelivery after reconnect, a duplicate during a socket switchover) is handled once.
 *
 * Memory is bounded twice: entries expire after the TTL and at most `max` ids are kept (the oldest
 * go first). With one TTL for all ids, insertion order is expiry order, so expired ids are purged
 * from the front of a Map on each claim: no timers, and time comes from the injected clock.
 * Single-process only: replicas share claims through the store layer.
 */
import { type Clock, systemClock } from '../../clock.js';

export interface ActivityDedupeOptions {
  ttlMs: number;
  /** Upper bound on remembered ids; about 100 bytes each. */
  max?: number;
  clock?: Pick<Clock, 'now'>;
}

export class ActivityDedupe {
  private readonly expiries = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(options: ActivityDedupeOptions) {
    this.ttlMs = Math.max(1, options.ttlMs);
    this.max = Math.max(1, options.max ?? 100_000);
    this.clock = options.clock ?? systemClock;
  }

  /** True the first time an id is claimed within the TTL; false for a duplicate. */
  claim(activityId: string): boolean {
    const now = this.clock.now();
    this.purge(now);
    if (this.expiries.has(activityId)) return false;
    this.expiries.set(activityId, now + this.ttlMs);
    while (this.expiries.size > this.max) {
      const oldest = this.expiries.keys().next().value;
      if (oldest === undefined) break;
      this.expiries.delete(oldest);
    }
    return true;
  }

  /** Forgets a claim whose handling failed, so a redelivery of the same activity is tried again. */
  release(activityId: string): void {
    this.expiries.delete(activityId);
  }

  get size(): number {
    return this.expiries.size;
  }

  clear(): void {
    this.expiries.clear();
  }

  private purge(now: number): void {
    for (const [id, expiresAt] of this.expiries) {
      if (expiresAt > now) return;
      this.expiries.delete(id);
    }
  }
}
