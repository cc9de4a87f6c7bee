import { describe, expect, it } from 'vitest';
import { AdaptiveWriteRate, type WriteRateLimits } from '../../../src/adapters/webex/sender/write-rate.js';
import { ManualClock } from './fakes.js';

const LIMITS: WriteRateLimits = {
  initialPerSecond: 5,
  maxPerSecond: 100,
  minPerSecond: 0.5,
  burstSeconds: 1,
  roundMs: 200,
  increaseShare: 0.1,
  decreaseFactor: 0.5,
};

function setup(limits: Partial<WriteRateLimits> = {}) {
  const clock = new ManualClock();
  const changes: number[] = [];
  const rate = new AdaptiveWriteRate({ ...LIMITS, ...limits }, clock, (perSecond) => changes.push(perSecond));
  /** One round in which writes waited for the rate (or not); the rate is looked at when it ends. */
  const round = async (starved: boolean) => {
    if (starved) rate.starved();
    await clock.advance(LIMITS.roundMs);
    return rate.perSecond;
  };
  /** Takes every token there is; returns how many. */
  const takeAll = () => {
    let taken = 0;
    while (rate.tryTake()) taken++;
    return taken;
  };
  return { clock, rate, changes, round, takeAll };
}

describe('AdaptiveWriteRate', () => {
  it('slow start: doubles each round in which writes waited, up to the ceiling', async () => {
    const { rate, round, changes } = setup();
    expect(rate.perSecond).toBe(5);
    expect(rate.phase).toBe('slow-start');
    for (let i = 0; i < 6; i++) await round(true);
    expect(changes).toEqual([10, 20, 40, 80, 100]);
    expect(rate.perSecond).toBe(100);
  });

  it('does not rise in rounds where nothing waited', async () => {
    const { rate, round } = setup();
    for (let i = 0; i < 10; i++) await round(false);
    expect(rate.perSecond).toBe(5);
    await round(true);
    expect(rate.perSecond).toBe(10);
  });

  it('holds one second of the rate as a burst, refilled at the rate', async () => {
    const { rate, clock, takeAll } = setup({ initialPerSecond: 20, maxPerSecond: 20 });
    expect(takeAll()).toBe(20);
    await clock.advance(500);
    expect(takeAll()).toBe(10);
    expect(rate.msUntil()).toBe(50);
  });

  it('keeps a share of the bucket from callers that pass a reserve', () => {
    const { rate } = setup({ initialPerSecond: 10, maxPerSecond: 10 });
    let edits = 0;
    while (rate.tryTake(0.5)) edits++;
    expect(edits).toBe(5);
    expect(rate.tryTake()).toBe(true);
  });

  it('the first 429 quarters the rate, ends slow start, empties the bucket and allows no burst until it rises again', async () => {
    const { rate, clock, changes, takeAll, round } = setup({ initialPerSecond: 80 });
    await clock.advance(100);
    expect(rate.rateLimited(50)).toBe(true);
    expect(rate.perSecond).toBe(20); // slow start doubled past the limit: a halving would still be above it
    expect(rate.phase).toBe('steady');
    expect(changes).toEqual([20]);
    expect(takeAll()).toBe(0);
    // A long pause (Retry-After 10 s) does not fill the bucket beyond one token.
    await clock.advance(10_000);
    expect(takeAll()).toBe(1);
    // The first round with waiting writes and no 429 lifts the rate (+10 % of 20 per second, over
    // the 0.2 s round) and restores the burst.
    await round(true);
    expect(rate.perSecond).toBeCloseTo(20.4);
    expect(rate.capacity).toBeCloseTo(20.4);
  });

  it('at the ceiling, slow start is over; later 429s halve the rate', async () => {
    const { rate, clock } = setup({ initialPerSecond: 100, maxPerSecond: 100 });
    expect(rate.phase).toBe('steady');
    await clock.advance(100);
    rate.rateLimited(50); // the first 429 is still the first sign of the limit
    expect(rate.perSecond).toBe(25);
    await clock.advance(10);
    rate.rateLimited(clock.now() - 1); // too soon for a reading: halved
    expect(rate.perSecond).toBe(12.5);
  });

  it('429s for writes sent before the decrease belong to it and do not lower the rate again', async () => {
    const { rate, clock } = setup({ initialPerSecond: 80 });
    await clock.advance(100);
    expect(rate.rateLimited(90)).toBe(true);
    await clock.advance(10);
    expect(rate.rateLimited(95)).toBe(false);
    expect(rate.rateLimited(100)).toBe(false); // sent in the same instant as the decrease
    expect(rate.perSecond).toBe(20);
    expect(rate.rateLimited(105)).toBe(true);
    expect(rate.perSecond).toBe(10);
  });

  it('later 429s set the rate just under what Webex accepted since the previous decrease', async () => {
    const { rate, clock } = setup({ initialPerSecond: 80 });
    await clock.advance(100);
    rate.rateLimited(100); // 80 → 20
    // Webex accepts 30 writes in the next 2 s (15 per second), then refuses one.
    for (let i = 0; i < 30; i++) {
      await clock.advance(2000 / 30);
      rate.accepted(clock.now());
    }
    rate.rateLimited(clock.now());
    expect(rate.perSecond).toBeCloseTo(13.5); // 90 % of 15
  });

  it('never lowers by more than a quarter on one reading, nor raises on a 429', async () => {
    const { rate, clock } = setup({ initialPerSecond: 80 });
    await clock.advance(100);
    rate.rateLimited(100); // 80 → 20
    await clock.advance(5000);
    rate.rateLimited(clock.now()); // nothing accepted in 5 s (e.g. idle)
    expect(rate.perSecond).toBe(5); // a quarter of 20, not 0
    await clock.advance(10);
    for (let i = 0; i < 100; i++) rate.accepted(clock.now());
    await clock.advance(1000);
    rate.rateLimited(clock.now()); // 100 accepted in a second: more than the rate, so no change
    expect(rate.perSecond).toBe(5);
  });

  it('recovers linearly: each second of waiting writes adds a tenth of the rate the decrease set', async () => {
    const { rate, clock, round } = setup({ initialPerSecond: 120, maxPerSecond: 200 });
    await clock.advance(100);
    rate.rateLimited(100); // 120 → 30
    await round(true); // the round of the 429 does not count
    expect(rate.perSecond).toBe(30);
    for (let i = 0; i < 5; i++) await round(true); // one second of rounds
    expect(rate.perSecond).toBeCloseTo(33);
    for (let i = 0; i < 50; i++) await round(true);
    expect(rate.perSecond).toBeCloseTo(63);
    for (let i = 0; i < 500; i++) await round(true);
    expect(rate.perSecond).toBe(200); // the ceiling
  });

  it('probes more gently the longer a 429 pauses: ten times slower after a 10 s Retry-After', async () => {
    const { rate, clock, round } = setup({ initialPerSecond: 120, maxPerSecond: 200 });
    await clock.advance(100);
    rate.rateLimited(100, 10_000); // 120 → 30, and each 429 costs ten seconds
    await round(true);
    for (let i = 0; i < 50; i++) await round(true); // ten seconds of rounds
    expect(rate.perSecond).toBeCloseTo(33); // +0.3 writes/s per second instead of +3
  });

  it('never falls under the floor, however many 429s', async () => {
    const { rate, clock } = setup({ initialPerSecond: 5, minPerSecond: 0.5 });
    for (let i = 0; i < 20; i++) {
      await clock.advance(2000);
      rate.rateLimited(clock.now() - 1);
    }
    expect(rate.perSecond).toBe(0.5);
    expect(rate.capacity).toBe(1);
  });

  it('refuses limits that cannot work', () => {
    const clock = new ManualClock();
    const bad: Array<Partial<WriteRateLimits>> = [
      { minPerSecond: 0 },
      { maxPerSecond: 0.1 },
      { maxPerSecond: Number.POSITIVE_INFINITY },
      { decreaseFactor: 1 },
      { decreaseFactor: 0 },
      { roundMs: 0 },
      { burstSeconds: 0 },
      { increaseShare: -1 },
    ];
    for (const limits of bad) {
      expect(() => new AdaptiveWriteRate({ ...LIMITS, ...limits }, clock)).toThrow(RangeError);
    }
  });
});
