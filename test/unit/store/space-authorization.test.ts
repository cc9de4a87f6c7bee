import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemorySpaceRegistry } from '../../../src/adapters/store/memory.js';
import type { SpaceRecord, SpaceRegistry } from '../../../src/adapters/store/ports.js';
import {
  canonicalRoomId,
  DENIAL_CACHE_MAX_MS,
  roomIdForms,
  SpaceAuthorization,
} from '../../../src/adapters/store/space-authorization.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { silentLogger } from '../../../src/logger.js';

const UUID = '6f91b070-531a-11f1-926d-6fd3c20dfdc4';
const PUBLIC_ID = 'Y2lzY29zcGFyazovL3VzL1JPT00vNmY5MWIwNzAtNTMxYS0xMWYxLTkyNmQtNmZkM2MyMGRmZGM0';
const TTL_MS = 300_000;

/** The memory registry with a switch that makes lookups fail, and a count of lookups. */
class FlakyRegistry implements SpaceRegistry {
  readonly inner = new MemorySpaceRegistry();
  failing = false;
  lookups = 0;
  /** When set, the next lookup waits for this promise before answering. */
  gate: Promise<void> | undefined;

  async find(roomIds: readonly string[]): Promise<SpaceRecord | undefined> {
    this.lookups++;
    const gate = this.gate;
    this.gate = undefined;
    const answer = this.failing ? undefined : await this.inner.find(roomIds);
    if (gate) await gate;
    if (this.failing) throw new Error('connection refused');
    return answer;
  }
  list() {
    return this.inner.list();
  }
  authorize(record: Parameters<SpaceRegistry['authorize']>[0]) {
    return this.inner.authorize(record);
  }
  revoke(roomIds: readonly string[], revokedBy: string) {
    return this.inner.revoke(roomIds, revokedBy);
  }
}

describe('room id forms', () => {
  it('maps the public id and the raw UUID to each other (reference test vector)', () => {
    expect(roomIdForms(UUID)).toEqual([UUID, PUBLIC_ID]);
    expect(roomIdForms(PUBLIC_ID)).toEqual([PUBLIC_ID, UUID]);
    expect(canonicalRoomId(PUBLIC_ID)).toBe(UUID);
    expect(canonicalRoomId(UUID.toUpperCase())).toBe(UUID);
  });

  it('adds the us-cluster public id for a room of another cluster', () => {
    const eu = encodeHydraId('ROOM', UUID, 'urn:TEAM:eu-central-1_k');
    expect(roomIdForms(eu)).toEqual([eu, UUID, PUBLIC_ID]);
  });
});

describe('SpaceAuthorization caching', () => {
  let registry: FlakyRegistry;
  let onStoreError: ReturnType<typeof vi.fn<() => void>>;

  const make = (cacheTtlMs = TTL_MS) =>
    new SpaceAuthorization({ registry, cacheTtlMs, log: silentLogger(), onStoreError });

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    registry = new FlakyRegistry();
    onStoreError = vi.fn<() => void>();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('always allows 1:1 spaces without a lookup', async () => {
    const auth = make();
    expect(await auth.check(UUID, 'direct')).toEqual({ allowed: true, source: 'direct' });
    expect(registry.lookups).toBe(0);
  });

  it('finds a space stored under the public id when asked by UUID, and the other way round', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com', listenMode: 'all' });
    expect(await make().check(UUID, 'group')).toMatchObject({ allowed: true, listenMode: 'all' });
    registry = new FlakyRegistry();
    await registry.authorize({ roomId: UUID, authorizedBy: 'admin-api' });
    expect(await make().check(PUBLIC_ID, 'group')).toMatchObject({ allowed: true, source: 'store' });
  });

  it('caches an active space for the whole TTL, then reads the store again', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make();
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: true, source: 'store' });
    await registry.revoke([PUBLIC_ID], 'ui@example.com');

    vi.advanceTimersByTime(TTL_MS - 1);
    // Revoked in the store, but the cached answer stands until the TTL is over (SPEC §4).
    expect(await auth.check(UUID, 'group')).toMatchObject({ allowed: true, source: 'cache' });
    expect(registry.lookups).toBe(1);

    vi.advanceTimersByTime(1);
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'store' });
    expect(registry.lookups).toBe(2);
  });

  it('caches a denial for at most 30 s even with a longer TTL', async () => {
    const auth = make();
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'store' });
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });

    vi.advanceTimersByTime(DENIAL_CACHE_MAX_MS - 1);
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'cache' });
    vi.advanceTimersByTime(1);
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: true, source: 'store' });
  });

  it('caches a denial only as long as the TTL when the TTL is shorter than 30 s', async () => {
    const auth = make(10_000);
    await auth.check(PUBLIC_ID, 'group');
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    vi.advanceTimersByTime(10_000);
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: true, source: 'store' });
  });

  it('reads the store every time when the TTL is 0', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make(0);
    await auth.check(PUBLIC_ID, 'group');
    await auth.check(PUBLIC_ID, 'group');
    expect(registry.lookups).toBe(2);
  });

  it('during a store outage trusts a cached active for one TTL past its expiry, then refuses', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com', spaceName: 'Ops' });
    const auth = make();
    await auth.check(PUBLIC_ID, 'group');
    registry.failing = true;
    vi.advanceTimersByTime(TTL_MS);
    expect(await auth.check(UUID, 'group')).toEqual({
      allowed: true,
      spaceName: 'Ops',
      source: 'stale-cache',
    });
    vi.advanceTimersByTime(TTL_MS - 1);
    expect(await auth.check(UUID, 'group')).toMatchObject({ allowed: true, source: 'stale-cache' });

    vi.advanceTimersByTime(1);
    expect(await auth.check(UUID, 'group')).toEqual({
      allowed: false,
      refusal: 'store-unavailable',
      source: 'store-outage',
    });
    expect(onStoreError).toHaveBeenCalledTimes(3);

    // The store answers again: back to normal at once.
    registry.failing = false;
    expect(await auth.check(UUID, 'group')).toMatchObject({ allowed: true, source: 'store' });
  });

  it('with a TTL of 0 a store outage refuses at once', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make(0);
    await auth.check(PUBLIC_ID, 'group');
    registry.failing = true;
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({
      allowed: false,
      refusal: 'store-unavailable',
    });
  });

  it('a cached denial stays a denial during an outage', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    await registry.revoke([PUBLIC_ID], 'admin-api');
    const auth = make();
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, refusal: 'revoked' });
    registry.failing = true;
    vi.advanceTimersByTime(DENIAL_CACHE_MAX_MS);
    expect(await auth.check(PUBLIC_ID, 'group')).toEqual({
      allowed: false,
      refusal: 'revoked',
      source: 'stale-cache',
    });
  });

  it('says why a space is refused: never connected, or revoked', async () => {
    expect(await make().check(PUBLIC_ID, 'group')).toMatchObject({
      allowed: false,
      refusal: 'not-authorized',
    });
  });

  it('revoked wins when a room has entries under both id forms', async () => {
    await registry.authorize({ roomId: UUID, authorizedBy: 'admin-api' });
    await registry.revoke([UUID], 'admin-api');
    vi.advanceTimersByTime(1_000);
    // Authorized later under the other form: the revocation still decides.
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    expect(await make().check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, refusal: 'revoked' });
    expect(await make().check(UUID, 'group')).toMatchObject({ allowed: false, refusal: 'revoked' });
  });

  it('a fresh check reads the store past a cached answer and drops nothing when the store fails', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make();
    await auth.check(PUBLIC_ID, 'group');
    await registry.revoke([PUBLIC_ID], 'admin-api');
    // Another person's messages keep the cached answer; the fresh read sees the revocation …
    expect(await auth.check(PUBLIC_ID, 'group', { fresh: true })).toMatchObject({
      allowed: false,
      source: 'store',
    });
    // … and caches it for everyone.
    expect(await auth.check(UUID, 'group')).toMatchObject({ allowed: false, source: 'cache' });

    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    expect(await auth.check(PUBLIC_ID, 'group', { fresh: true })).toMatchObject({ allowed: true });
    registry.failing = true;
    // A fresh read during an outage falls back like any other and keeps the known answer.
    expect(await auth.check(PUBLIC_ID, 'group', { fresh: true })).toMatchObject({
      allowed: true,
      source: 'stale-cache',
    });
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: true, source: 'cache' });
  });

  it('denies (fails closed) when the store fails and nothing is cached', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    registry.failing = true;
    expect(await make().check(PUBLIC_ID, 'group')).toEqual({
      allowed: false,
      refusal: 'store-unavailable',
      source: 'store-error',
    });
    expect(onStoreError).toHaveBeenCalledTimes(1);
  });

  it('recovers when the store answers again', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    registry.failing = true;
    const auth = make();
    expect((await auth.check(PUBLIC_ID, 'group')).allowed).toBe(false);
    registry.failing = false;
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: true, source: 'store' });
  });

  it('invalidate drops the entry at once, whichever id form is used', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make();
    await auth.check(PUBLIC_ID, 'group');
    await registry.revoke([PUBLIC_ID], 'admin-api');

    auth.invalidate(UUID);
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'store' });

    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'admin-api' });
    auth.invalidate(PUBLIC_ID);
    expect(await auth.check(UUID, 'group')).toMatchObject({ allowed: true, source: 'store' });
  });

  it('after invalidate, a store error denies instead of reusing the dropped answer', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make();
    await auth.check(PUBLIC_ID, 'group');
    auth.invalidate(PUBLIC_ID);
    registry.failing = true;
    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'store-error' });
  });

  it('concurrent checks of one room share a single lookup', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make();
    const answers = await Promise.all([
      auth.check(PUBLIC_ID, 'group'),
      auth.check(UUID, 'group'),
      auth.check(PUBLIC_ID, 'group'),
    ]);
    expect(answers.every((a) => a.allowed)).toBe(true);
    expect(registry.lookups).toBe(1);
  });

  it('a lookup overtaken by invalidate is not cached', async () => {
    await registry.authorize({ roomId: PUBLIC_ID, authorizedBy: 'ui@example.com' });
    const auth = make();
    let release!: () => void;
    registry.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The lookup reads "active", then the space is revoked and invalidated before it answers.
    const pending = auth.check(PUBLIC_ID, 'group');
    expect(registry.lookups).toBe(1);
    await registry.revoke([PUBLIC_ID], 'admin-api');
    auth.invalidate(PUBLIC_ID);
    release();
    expect((await pending).allowed).toBe(true);

    expect(await auth.check(PUBLIC_ID, 'group')).toMatchObject({ allowed: false, source: 'store' });
  });

  it('denies an invalid room id without a lookup', async () => {
    const auth = make();
    for (const bad of ['', 'not-a-room', `${UUID}\u0000`, 'x'.repeat(600), encodeHydraId('PEOPLE', UUID)]) {
      expect(await auth.check(bad, 'group')).toEqual({
        allowed: false,
        refusal: 'invalid-id',
        source: 'invalid-id',
      });
    }
    expect(registry.lookups).toBe(0);
  });
});
