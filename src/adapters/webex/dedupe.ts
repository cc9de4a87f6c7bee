/**
 * Remembers handled activity ids for `WEBEX_DEDUPE_TTL_S`, so an activity delivered twice (a
 * redelivery after reconnect, a duplicate during a socket switchover) is handled once.
 *
 * Memory is bounded twice: entries expire after the TTL and the cache holds at most `max` ids
 * (the oldest go first). Single-process only: replicas share claims through the store layer.
 */
import { TTLCache } from '@isaacs/ttlcache';

export interface ActivityDedupeOptions {
  ttlMs: number;
  /** Upper bound on remembered ids; about 100 bytes each. */
  max?: number;
}

export class ActivityDedupe {
  private readonly seen: TTLCache<string, true>;

  constructor(options: ActivityDedupeOptions) {
    this.seen = new TTLCache({ ttl: Math.max(1, Math.round(options.ttlMs)), max: options.max ?? 100_000 });
  }

  /** True the first time an id is claimed within the TTL; false for a duplicate. */
  claim(activityId: string): boolean {
    if (this.seen.has(activityId)) return false;
    this.seen.set(activityId, true);
    return true;
  }

  /** Forgets a claim whose handling failed, so a redelivery of the same activity is tried again. */
  release(activityId: string): void {
    this.seen.delete(activityId);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Drops every id and the purge timer. */
  clear(): void {
    this.seen.clear();
  }
}
