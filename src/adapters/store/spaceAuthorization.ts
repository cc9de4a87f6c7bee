/**
 * Whether the bot may answer in a space (SPEC §4 "Spaces and threads"), cached.
 *
 * - 1:1 spaces are always allowed; group spaces must be `active` in the registry.
 * - Both id forms are looked up: the CAIPE UI stores the public `Y2lz…` id, admins may store UUIDs.
 * - An `active` result is cached for the configured TTL; a denial for at most 30 s, so an
 *   authorization made in the CAIPE UI takes effect quickly. `invalidate` drops a room at once.
 * - On a store error the last known answer is used even if expired; with none, deny (fail closed).
 * - Concurrent checks of one room share one lookup, and a lookup that was under way when the room
 *   was invalidated is not cached (it may predate the change that caused the invalidation).
 * - A room id that is neither a UUID nor a Hydra ROOM id is denied without a lookup.
 */
import { TTLCache } from '@isaacs/ttlcache';
import { type Clock, systemClock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { decodeHydraId, encodeHydraId, isUuid } from '../webex/ids.js';
import type { ListenMode, SpaceRegistry } from './ports.js';

export interface SpaceDecision {
  allowed: boolean;
  listenMode?: ListenMode;
  spaceName?: string;
  /** How the answer was reached, for logs and metrics. */
  source: 'direct' | 'store' | 'cache' | 'stale-cache' | 'store-error' | 'invalid-id';
}

export const DENIAL_CACHE_MAX_MS = 30_000;
const MAX_ROOMS = 10_000;

/** Every id form of a room: the given one, its raw UUID, and the public `Y2lz…` id. */
export function roomIdForms(roomId: string): string[] {
  const forms = new Set([roomId]);
  const decoded = decodeHydraId(roomId);
  if (decoded?.type === 'ROOM') {
    forms.add(decoded.uuid);
    if (decoded.cluster !== 'us') forms.add(encodeHydraId('ROOM', decoded.uuid, 'us'));
  } else if (isUuid(roomId)) {
    forms.add(encodeHydraId('ROOM', roomId.toLowerCase()));
  }
  return [...forms];
}

/** Whether a string can be a Webex room id at all: a raw UUID or a Hydra ROOM id. */
export function isRoomId(roomId: string): boolean {
  return isUuid(roomId) || decodeHydraId(roomId)?.type === 'ROOM';
}

/** The canonical cache key of a room: its raw UUID when it has one. */
export function canonicalRoomId(roomId: string): string {
  const decoded = decodeHydraId(roomId);
  if (decoded?.type === 'ROOM') return decoded.uuid.toLowerCase();
  return isUuid(roomId) ? roomId.toLowerCase() : roomId;
}

export interface SpaceAuthorizationOptions {
  registry: SpaceRegistry;
  cacheTtlMs: number;
  log: Logger;
  onStoreError?: () => void;
  /** Time source of the cache's expiry; the system clock by default. */
  clock?: Pick<Clock, 'now'>;
}

type Cached = Omit<SpaceDecision, 'source'>;

export class SpaceAuthorization {
  /**
   * Fresh answers. The TTLCache bounds memory and drops entries on its own timer; freshness is
   * also checked against the injected clock, so an entry never outlives its TTL even when that
   * timer runs late (and tests can move time).
   */
  readonly #fresh: TTLCache<string, { decision: Cached; expiresAt: number }>;
  readonly #clock: Pick<Clock, 'now'>;
  /** Last answer per room regardless of age: the fallback when the store fails. */
  readonly #lastKnown = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<SpaceDecision>>();
  /** Bumped by every invalidation; a lookup caches its answer only if none happened meanwhile. */
  #epoch = 0;

  constructor(private readonly options: SpaceAuthorizationOptions) {
    this.#fresh = new TTLCache({ max: MAX_ROOMS, ttl: Math.max(1, options.cacheTtlMs) });
    this.#clock = options.clock ?? systemClock;
  }

  async check(roomId: string, roomType: 'direct' | 'group'): Promise<SpaceDecision> {
    if (roomType === 'direct') return { allowed: true, source: 'direct' };
    if (!isRoomId(roomId)) {
      this.options.log.warn({ roomId: roomId.slice(0, 120) }, 'space check for an invalid room id: denied');
      return { allowed: false, source: 'invalid-id' };
    }
    const key = canonicalRoomId(roomId);
    const cached = this.#fresh.get(key);
    if (cached && cached.expiresAt > this.#clock.now()) return { ...cached.decision, source: 'cache' };
    let lookup = this.#inFlight.get(key);
    if (!lookup) {
      lookup = this.#lookup(key, roomId).finally(() => {
        if (this.#inFlight.get(key) === lookup) this.#inFlight.delete(key);
      });
      this.#inFlight.set(key, lookup);
    }
    return lookup;
  }

  async #lookup(key: string, roomId: string): Promise<SpaceDecision> {
    const epoch = this.#epoch;
    try {
      const record = await this.options.registry.find(roomIdForms(roomId));
      const decision: Cached =
        record?.status === 'active'
          ? { allowed: true, listenMode: record.listenMode, spaceName: record.spaceName }
          : { allowed: false };
      if (epoch === this.#epoch) this.#remember(key, decision);
      return { ...decision, source: 'store' };
    } catch (error) {
      this.options.onStoreError?.();
      const stale = this.#lastKnown.get(key);
      this.options.log.warn(
        { err: error, roomId, fallback: stale ? 'stale-cache' : 'deny' },
        'space registry lookup failed',
      );
      return stale ? { ...stale, source: 'stale-cache' } : { allowed: false, source: 'store-error' };
    }
  }

  /** Forget a room so the next message reads the store (admin API, `authorize` command). */
  invalidate(roomId: string): void {
    const key = canonicalRoomId(roomId);
    // Lookups under way may have read the store before the change: they must not be cached.
    this.#epoch++;
    this.#inFlight.delete(key);
    this.#fresh.delete(key);
    this.#lastKnown.delete(key);
  }

  #remember(key: string, decision: Cached): void {
    const ttl = decision.allowed
      ? this.options.cacheTtlMs
      : Math.min(this.options.cacheTtlMs, DENIAL_CACHE_MAX_MS);
    if (ttl > 0) this.#fresh.set(key, { decision, expiresAt: this.#clock.now() + ttl }, { ttl });
    else this.#fresh.delete(key);
    this.#lastKnown.delete(key);
    this.#lastKnown.set(key, decision);
    if (this.#lastKnown.size > MAX_ROOMS) {
      const oldest = this.#lastKnown.keys().next().value;
      if (oldest !== undefined) this.#lastKnown.delete(oldest);
    }
  }
}
