import { describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../../src/actors/handover/leases.js';
import { MemoryLeases } from '../../src/adapters/store/memory.js';
import { silentLogger } from '../../src/logger.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

const PERIOD = 3_000;

function keeper(store: MemoryLeases, owner: string, clock: ManualClock, lost: string[] = []) {
  return new LeaseKeeper({
    store,
    owner,
    clock,
    log: silentLogger(),
    periodMs: PERIOD,
    onLost: (key) => lost.push(key),
  });
}

describe('the lease keeper', () => {
  it('renews what it holds while it lives: a long answer is never taken over', async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryLeases();
    const a = keeper(store, 'a', clock);
    const b = keeper(store, 'b', clock);
    await a.start();
    expect(await a.hold('conv:k')).toBe(true);
    for (let i = 0; i < 10; i++) {
      await clock.advance(PERIOD / 3);
      await settle();
      expect(await b.acquire('conv:k')).toBe(false);
    }
    expect(a.holds('conv:k')).toBe(true);
    await a.stop();
    // Given up at stop: taken at once, no wait for expiry.
    expect(await b.acquire('conv:k')).toBe(true);
  });

  it('a holder paused past expiry loses the lease at its fence, and says so once', async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryLeases();
    const lost: string[] = [];
    const a = keeper(store, 'a', clock, lost);
    const b = keeper(store, 'b', clock);
    expect(await a.hold('conv:k')).toBe(true);
    expect(a.confirm('conv:k')).toBe(true);
    // No renewal ran (the keeper was not started: as if paused); another takes the lapsed lease.
    await clock.advance(PERIOD + 1);
    expect(await b.acquire('conv:k')).toBe(true);
    // Awake: the fence renews first, finds the lease taken, refuses the write.
    expect(await a.confirm('conv:k')).toBe(false);
    expect(lost).toEqual(['conv:k']);
    expect(a.holds('conv:k')).toBe(false);
    expect(await a.confirm('conv:k')).toBe(false);
    expect(lost).toEqual(['conv:k']);
  });

  it('stops trusting its own lease a third of the period before expiry, and renews at the fence', async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryLeases();
    const a = keeper(store, 'a', clock);
    await a.hold('conv:k');
    await clock.advance((PERIOD * 2) / 3 + 1);
    expect(a.holds('conv:k')).toBe(false);
    // Nobody took it: the fence renews and allows the write.
    expect(await a.confirm('conv:k')).toBe(true);
    expect(a.holds('conv:k')).toBe(true);
    expect((await store.get(['conv:k']))[0]?.expiresAt).toBe(clock.now() + PERIOD);
  });

  it('a lease taken for an event that went on to nothing is let go', async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryLeases();
    const a = keeper(store, 'a', clock);
    const b = keeper(store, 'b', clock);
    expect(await a.acquire('conv:idle')).toBe(true);
    a.letGo('conv:idle');
    await settle();
    expect(await b.acquire('conv:idle')).toBe(true);
    // A pinned lease is not let go; unpinning the last holder releases it.
    expect(await a.hold('conv:busy')).toBe(true);
    a.letGo('conv:busy');
    await settle();
    expect(await b.acquire('conv:busy')).toBe(false);
    a.unpin('conv:busy');
    await settle();
    expect(await b.acquire('conv:busy')).toBe(true);
  });
});
