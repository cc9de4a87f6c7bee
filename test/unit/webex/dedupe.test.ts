import { describe, expect, it } from 'vitest';
import { ActivityDedupe } from '../../../src/adapters/webex/dedupe.js';
import { ManualClock } from '../../helpers/manual-clock.js';

describe('ActivityDedupe', () => {
  it('claims an id once, and again after a release', async () => {
    const dedupe = new ActivityDedupe({ ttlMs: 60_000 });
    expect(dedupe.claim('a')).toBe(true);
    expect(dedupe.claim('a')).toBe(false);
    dedupe.release('a');
    expect(dedupe.claim('a')).toBe(true);
    dedupe.clear();
  });

  it('forgets ids after the TTL', async () => {
    const clock = new ManualClock(1_000_000);
    const dedupe = new ActivityDedupe({ ttlMs: 3_600_000, clock });
    expect(dedupe.claim('a')).toBe(true);
    await clock.advance(1_000);
    expect(dedupe.claim('b')).toBe(true);
    await clock.advance(3_598_000);
    expect(dedupe.claim('a')).toBe(false);
    await clock.advance(1_000);
    expect(dedupe.claim('a')).toBe(true);
    // 'b' is still remembered; the expired first 'a' was purged, not 'b'.
    expect(dedupe.claim('b')).toBe(false);
    expect(dedupe.size).toBe(2);
  });

  it('keeps memory bounded by dropping the oldest ids', async () => {
    const dedupe = new ActivityDedupe({ ttlMs: 60_000, max: 3 });
    for (const id of ['a', 'b', 'c', 'd']) dedupe.claim(id);
    expect(dedupe.size).toBe(3);
    expect(dedupe.claim('d')).toBe(false);
    expect(dedupe.claim('a')).toBe(true);
    dedupe.clear();
  });
});
