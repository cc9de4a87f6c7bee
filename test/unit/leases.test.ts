import { describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../../src/actors/handover/leases.js';
import { createLeaseGate } from '../../src/actors/intake/lease-gate.js';
import { MemoryLeases } from '../../src/adapters/store/memory.js';
import type { LeaseStore } from '../../src/adapters/store/ports.js';
import { silentLogger } from '../../src/logger.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

const PERIOD = 3_000;

function keeper(store: LeaseStore, owner: string, clock: ManualClock, lost: string[] = []) {
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

describe('the lease keeper while the store does not answer', () => {
  /** A lease store whose renewals fail while `down` is set. */
  function flaky(store: MemoryLeases) {
    const state = { down: false };
    const wrapped: LeaseStore = {
      acquire: (...args) => store.acquire(...args),
      renew: (keys, owner, expiresAt) =>
        state.down ? Promise.reject(new Error('store unreachable')) : store.renew(keys, owner, expiresAt),
      release: (...args) => store.release(...args),
      get: (...args) => store.get(...args),
      list: (...args) => store.list(...args),
    };
    return { wrapped, state };
  }

  it('holds a write until the store answers again, rather than dropping it', async () => {
    const clock = new ManualClock(1_000);
    const { wrapped, state } = flaky(new MemoryLeases());
    const lost: string[] = [];
    const a = keeper(wrapped, 'a', clock, lost);
    await a.hold('conv:k');
    state.down = true;
    await clock.advance(PERIOD + 1);
    let allowed: boolean | undefined;
    void Promise.resolve(a.confirm('conv:k')).then((ok) => {
      allowed = ok;
    });
    await clock.advance(PERIOD);
    await settle();
    expect(allowed).toBeUndefined();
    state.down = false;
    await clock.advance(PERIOD);
    await settle();
    expect(allowed).toBe(true);
    expect(lost).toEqual([]);
  });

  it('gives the lease up as lost after ten periods without the store', async () => {
    const clock = new ManualClock(1_000);
    const { wrapped, state } = flaky(new MemoryLeases());
    const lost: string[] = [];
    const a = keeper(wrapped, 'a', clock, lost);
    await a.hold('conv:k');
    state.down = true;
    await clock.advance(PERIOD);
    let allowed: boolean | undefined;
    void Promise.resolve(a.confirm('conv:k')).then((ok) => {
      allowed = ok;
    });
    for (let i = 0; i < 40 && allowed === undefined; i++) {
      await clock.advance(PERIOD / 3);
      await settle();
    }
    expect(allowed).toBe(false);
    expect(lost).toEqual(['conv:k']);
  });
});

describe('the lease gate', () => {
  it('keeps an event of a conversation another process owns until the lease is free, then pins it', async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryLeases();
    const a = keeper(store, 'a', clock);
    const b = keeper(store, 'b', clock);
    await a.start();
    await a.hold('conv:k');
    const gate = createLeaseGate({ leases: b, clock, log: silentLogger(), maxWaitMs: 60_000 });
    let waited = false;
    let entered: boolean | undefined;
    void gate
      .enter('conv:k', { receivedAt: clock.now(), onWait: () => (waited = true) })
      .then((ok) => (entered = ok));
    await settle();
    expect(waited).toBe(true);
    expect(gate.waiting()).toBe(1);
    await clock.advance(PERIOD);
    await settle();
    expect(entered).toBeUndefined();
    a.unpin('conv:k');
    await settle();
    await clock.advance(PERIOD / 3);
    await settle();
    expect(entered).toBe(true);
    // Pinned while the event is decided: the next renewal does not let it go.
    await b.start();
    await clock.advance(PERIOD);
    await settle();
    expect(await a.acquire('conv:k')).toBe(false);
    await a.stop();
    await b.stop();
  });

  it('leaves the event to the owner after the dedupe window, and bounds how many wait', async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryLeases();
    const a = keeper(store, 'a', clock);
    await a.start();
    await a.hold('conv:k');
    const b = keeper(store, 'b', clock);
    const gate = createLeaseGate({ leases: b, clock, log: silentLogger(), maxWaitMs: 5_000, maxWaiting: 1 });
    let first: boolean | undefined;
    void gate.enter('conv:k', { receivedAt: clock.now() }).then((ok) => (first = ok));
    await settle();
    // A second event finds the waiting room full: left to the owner at once.
    expect(await gate.enter('conv:k', { receivedAt: clock.now() })).toBe(false);
    for (let i = 0; i < 10 && first === undefined; i++) {
      await clock.advance(PERIOD / 3);
      await settle();
    }
    expect(first).toBe(false);
    expect(gate.waiting()).toBe(0);
    await a.stop();
  });
});
