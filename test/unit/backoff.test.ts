/** The one retry policy: exponential backoff with jitter, and how long a Retry-After is honoured. */
import { describe, expect, it } from 'vitest';
import { backoffMs, MAX_RETRY_AFTER_S, retryAfterMs } from '../../src/backoff.js';

describe('backoffMs', () => {
  const options = { baseMs: 1_000, maxMs: 32_000, jitter: 0.2 };

  it('doubles from the base to the ceiling, exactly without jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((a) => backoffMs(a, options, () => 0))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000,
    ]);
  });

  it('takes off at most the jitter fraction, and treats a broken random source as no jitter', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const step = Math.min(32_000, 1_000 * 2 ** attempt);
      const low = backoffMs(attempt, options, () => 0.999_999);
      expect(low).toBeGreaterThanOrEqual(Math.floor(step * 0.8));
      expect(low).toBeLessThanOrEqual(step);
    }
    expect(backoffMs(2, options, () => Number.NaN)).toBe(4_000);
    expect(backoffMs(2, options, () => 7)).toBe(Math.round(4_000 * 0.8));
    expect(backoffMs(-3, options, () => 0)).toBe(1_000);
  });

  it('equal jitter keeps at least half of each step', () => {
    expect(backoffMs(3, { baseMs: 500, maxMs: 10_000, jitter: 0.5 }, () => 0.999_999)).toBe(2_000);
  });
});

describe('retryAfterMs', () => {
  it("honours the server's hint, else the default, never above an hour or below zero", () => {
    expect(retryAfterMs(3, 10)).toBe(3_000);
    expect(retryAfterMs(undefined, 10)).toBe(10_000);
    expect(retryAfterMs(Number.NaN, 10)).toBe(10_000);
    expect(retryAfterMs(86_400, 10)).toBe(MAX_RETRY_AFTER_S * 1000);
    expect(retryAfterMs(-5, 10)).toBe(0);
  });
});
