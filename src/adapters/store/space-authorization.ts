/**
 * Whether the bot may answer in a space (SPEC §4 "Spaces and threads", "Who may use the bot"), cached.
 *
 * - 1:1 spaces are always allowed here (the person check is another module's); group spaces must be
 *   `active` in the registry.
 * - Both id forms are looked up: the CAIPE UI stores the public `Y2lz…` id, admins may store UUIDs.
 *   The registry reads the entries of every form and a revoked one wins (`pickSpace`).
 * - An `active` result is cached for the configured TTL; a denial for at most 30 s, so an
 *   authorization made in the CAIPE UI takes effect quickly. `invalidate` drops a room at once (the
 *   admin API, after it changed the registry); nothing a chat user does drops a cached answer.
 * - On a store error a cached `active` is trusted for at most one more TTL after it expired; after
 *   that, or with nothing cached, the space is refused (fail closed) with the reason
 *   `store-unavailable`, which the caller turns into its own notice. A cached denial stays a denial.
 * - `check(…, { fresh: true })` reads the store even when a fresh answer is cached (the `authorize`
 *   command's reply) and caches what it read; it drops nothing.
 * - Concurrent checks of one room share one lookup, and a lookup that was under way when the room
 *   was invalidated is not cached (it may predate the change that caused the invalidation).
 * - A room id that is neither a UUID nor a Hydra ROOM id is denied without a lookup.
 */
import { TTLCache } from '@isaacs/ttlcache';
import { type Clock, systemClock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { decodeHydraId, encodeHydraId, isUuid } from '../webex/ids.js';
import type { ListenMode, SpaceRegistry } from './ports.js';

/** Why a space was refused: the caller picks its notice from this. */
export type SpaceRefusal =
  /** No registry entry: the space was never connected. */
  | 'not-authorized'
  /** An entry under some id form is revoked. */
  | 'revoked'
  /** The store is failing and no answer recent enough is cached: refused until it answers. */
  | 'store-unavailable'
  | 'invalid-id';

export interface SpaceDecision {
  allowed: boolean;
  listenMode?: ListenMode;
  spaceName?: string;
  /** The agent the space's entry names (`AGENT_PROTOCOL=caipe`); the backend's default when unset. */
  agentId?: string;
  /** Set when `allowed` is false. */
  refusal?: SpaceRefusal;
  /**
   * How the answer was reached, for logs and metrics: `stale-cache` is a cached answer used during
   * a store outage; `store-outage` a cached `active` too old to trust any longer; `store-error` a
   * failed lookup with nothing cached.
   */
  source: 'direct' | 'store' | 'cache' | 'stale-cache' | 'store-outage' | 'store-error' | 'invalid-id';
}

export interface SpaceCheckOptions {
  /** Read the store even if a fresh answer is cached (and cache what was read). */
  fresh?: boolean;
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

interface Known {
  decision: Cached;
  /** When the fresh-cache entry for it expired (or expires). */
  expiresAt: number;
}

export class SpaceAuthorization {
  /**
   * Fresh answers. The TTLCache bounds memory and drops entries on its own timer; freshness is
   * also checked against the injected clock, so an entry never outlives its TTL even when that
   * timer runs late (and tests can move time).
   */
  readonly #fresh: TTLCache<string, { decision: Cached; expiresAt: number }>;
  readonly #clock: Pick<Clock, 'now'>;
  /** Last answer per room, with its expiry: the fallback while the store fails (bounded in age). */
  readonly #lastKnown = new Map<string, Known>();
  readonly #inFlight = new Map<string, Promise<SpaceDecision>>();
  /** Bumped by every invalidation; a lookup caches its answer only if none happened meanwhile. */
  #epoch = 0;

  constructor(private readonly options: SpaceAuthorizationOptions) {
    this.#fresh = new TTLCache({ max: MAX_ROOMS, ttl: Math.max(1, options.cacheTtlMs) });
    this.#clock = options.clock ?? systemClock;
  }

  async check(
    roomId: string,
    roomType: 'direct' | 'group',
    options: SpaceCheckOptions = {},
  ): Promise<SpaceDecision> {
    if (roomType === 'direct') return { allowed: true, source: 'direct' };
    if (!isRoomId(roomId)) {
      this.options.log.warn({ roomId: roomId.slice(0, 120) }, 'space check for an invalid room id: denied');
      return { allowed: false, refusal: 'invalid-id', source: 'invalid-id' };
    }
    const key = canonicalRoomId(roomId);
    // Not shared with a lookup under way: that one may have read the store before the change the
    // caller wants to see.
    if (options.fresh) return this.#lookup(key, roomId);
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
          ? {
              allowed: true,
              listenMode: record.listenMode,
              spaceName: record.spaceName,
              ...(record.agentId ? { agentId: record.agentId } : {}),
            }
          : { allowed: false, refusal: record ? 'revoked' : 'not-authorized' };
      if (epoch === this.#epoch) this.#remember(key, decision);
      return { ...decision, source: 'store' };
    } catch (error) {
      this.options.onStoreError?.();
      const fallback = this.#fallback(key);
      this.options.log.warn(
        { err: error, roomId, fallback: fallback.source },
        'space registry lookup failed',
      );
      return fallback;
    }
  }

  /** The answer while the store fails: a cached `active` for one TTL past its expiry, then refusal. */
  #fallback(key: string): SpaceDecision {
    const known = this.#lastKnown.get(key);
    if (!known) return { allowed: false, refusal: 'store-unavailable', source: 'store-error' };
    if (!known.decision.allowed) return { ...known.decision, source: 'stale-cache' };
    const trustedUntil = known.expiresAt + Math.max(0, this.options.cacheTtlMs);
    if (this.#clock.now() < trustedUntil) return { ...known.decision, source: 'stale-cache' };
    return { allowed: false, refusal: 'store-unavailable', source: 'store-outage' };
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
    const expiresAt = this.#clock.now() + Math.max(0, ttl);
    if (ttl > 0) this.#fresh.set(key, { decision, expiresAt }, { ttl });
    else this.#fresh.delete(key);
    this.#lastKnown.delete(key);
    this.#lastKnown.set(key, { decision, expiresAt });
    if (this.#lastKnown.size > MAX_ROOMS) {
      const oldest = this.#lastKnown.keys().next().value;
      if (oldest !== undefined) this.#lastKnown.delete(oldest);
    }
  }
}
