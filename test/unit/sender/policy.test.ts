import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { classifyFailure } from '../../../src/adapters/webex/sender/retry-policy.js';
import { TokenBucket } from '../../../src/adapters/webex/sender/token-bucket.js';
import { backoffMs } from '../../../src/backoff.js';
import { TransportError, WebexApiError } from '../../../src/errors.js';
import { truncateWithEllipsis, utf8ByteLength } from '../../../src/render/bytes.js';
import { ManualClock } from './fakes.js';

const api = (status: number, retryAfterS?: number) =>
  new WebexApiError({
    status,
    method: 'POST',
    route: 'messages',
    ...(retryAfterS === undefined ? {} : { retryAfterS }),
  });

describe('classifyFailure', () => {
  it('pauses on 429 (Retry-After, else the default, capped at an hour) and on 423 with Retry-After', () => {
    expect(classifyFailure(api(429, 7), 'POST', 10)).toEqual({ kind: 'rate-limited', pauseMs: 7000 });
    expect(classifyFailure(api(429), 'PUT', 10)).toEqual({ kind: 'rate-limited', pauseMs: 10_000 });
    expect(classifyFailure(api(429, 999_999), 'POST', 10)).toEqual({
      kind: 'rate-limited',
      pauseMs: 3_600_000,
    });
    expect(classifyFailure(api(423, 3), 'POST', 10)).toEqual({ kind: 'rate-limited', pauseMs: 3000 });
    expect(classifyFailure(api(423), 'POST', 10)).toEqual({ kind: 'fail' });
  });

  it('retries 5xx, except a POST that a gateway timed out on', () => {
    expect(classifyFailure(api(500), 'POST', 10)).toEqual({ kind: 'retry' });
    expect(classifyFailure(api(503), 'DELETE', 10)).toEqual({ kind: 'retry' });
    expect(classifyFailure(api(504), 'PUT', 10)).toEqual({ kind: 'retry' });
    expect(classifyFailure(api(504), 'POST', 10)).toEqual({ kind: 'fail' });
  });

  it('retries transport errors unless a POST may have landed', () => {
    const refused = new TransportError('refused');
    const timedOut = new TransportError('timed out', { ambiguous: true });
    expect(classifyFailure(refused, 'POST', 10)).toEqual({ kind: 'retry' });
    expect(classifyFailure(timedOut, 'POST', 10)).toEqual({ kind: 'fail' });
    expect(classifyFailure(timedOut, 'PUT', 10)).toEqual({ kind: 'retry' });
    expect(classifyFailure(timedOut, 'DELETE', 10)).toEqual({ kind: 'retry' });
  });

  it('never retries 4xx or unknown errors', () => {
    expect(classifyFailure(api(400), 'PUT', 10)).toEqual({ kind: 'fail' });
    expect(classifyFailure(new Error('bug'), 'PUT', 10)).toEqual({ kind: 'fail' });
  });
});

describe("the sender's backoff (the bot's one policy, equal jitter)", () => {
  it('grows exponentially, stays within [step/2, step] and under the cap', () => {
    const options = { baseMs: 500, maxMs: 8000, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, options, () => 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000,
    ]);
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, options, () => 0.999999))).toEqual([
      250, 500, 1000, 2000, 4000, 4000,
    ]);
  });
});

describe('TokenBucket', () => {
  it('bursts to capacity, refills continuously, and keeps a reserve for low priority', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 2, clock });
    expect(bucket.tryTake(2)).toBe(true); // 3 → 2
    expect(bucket.tryTake(2)).toBe(false); // would dip into the reserve of 2
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.msUntil()).toBe(500);
    await clock.advance(500);
    expect(bucket.tryTake()).toBe(true);
    await clock.advance(10_000);
    expect(bucket.available()).toBe(3);
  });

  it('changes rate and size while running: earned tokens stay (up to the new size), drain empties it', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 10, clock });
    bucket.resize(20, 20);
    expect(bucket.available()).toBe(10); // a higher rate is not a burst
    await clock.advance(1000);
    expect(bucket.available()).toBe(20);
    bucket.resize(2, 4);
    expect(bucket.available()).toBe(4);
    bucket.drain();
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.msUntil()).toBe(500);
    expect(() => bucket.resize(0, 4)).toThrow(RangeError);
    expect(() => bucket.resize(1, 0.5)).toThrow(RangeError);
  });
});

describe('truncateWithEllipsis (what the sender cuts a working message with)', () => {
  it('keeps any text within the byte limit, on a code-point boundary', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 400 }),
        fc.integer({ min: 4, max: 300 }),
        (text, max) => {
          const cut = truncateWithEllipsis(text, { maxChars: Number.POSITIVE_INFINITY, maxBytes: max });
          expect(utf8ByteLength(cut)).toBeLessThanOrEqual(max);
          // No lone surrogate: the cut never splits a character.
          expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(cut)).toBe(
            false,
          );
          if (utf8ByteLength(text) <= max) expect(cut).toBe(text);
          else expect(text.startsWith(cut.slice(0, -1))).toBe(true);
        },
      ),
    );
  });
});
