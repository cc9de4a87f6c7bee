/**
 * In-memory stores: honest defaults for tests and single-process runs. Everything is lost on
 * restart and nothing is shared between replicas; use the embedded or MongoDB stores for that.
 */
import { TTLCache } from '@isaacs/ttlcache';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import { leaseKey, leaseKeys, leaseOwner, leasePrefix, leaseTime, listLimit } from './lease-input.js';
import type {
  ActiveRoom,
  ActiveRooms,
  ConversationRecord,
  ConversationStore,
  EventClaims,
  Lease,
  LeaseStore,
  NoticeLog,
  OwnPostEcho,
  OwnPostEchoes,
  PendingMessage,
  PendingMessages,
  SpaceRecord,
  SpaceRegistry,
} from './ports.js';
import { distinctIdForms, pickSpace } from './records.js';

export class MemorySpaceRegistry implements SpaceRegistry {
  readonly #spaces = new Map<string, SpaceRecord>();

  constructor(private readonly clock: Clock = systemClock) {}

  async find(roomIds: readonly string[]): Promise<SpaceRecord | undefined> {
    // Every id form is read: a revoked entry under any of them decides.
    const records = distinctIdForms(roomIds)
      .map((id) => this.#spaces.get(id))
      .filter((record): record is SpaceRecord => record !== undefined);
    const picked = pickSpace(records);
    return picked ? { ...picked } : undefined;
  }

  async list(): Promise<SpaceRecord[]> {
    return [...this.#spaces.values()].map((record) => ({ ...record }));
  }

  async authorize(input: Parameters<SpaceRegistry['authorize']>[0]): Promise<SpaceRecord> {
    const previous = this.#spaces.get(input.roomId);
    const record: SpaceRecord = {
      roomId: input.roomId,
      spaceName: input.spaceName ?? previous?.spaceName,
      status: 'active',
      authorizedBy: input.authorizedBy,
      authorizedAt: new Date(this.clock.now()),
      listenMode: input.listenMode ?? previous?.listenMode,
    };
    const agentId = input.agentId === undefined ? previous?.agentId : input.agentId;
    if (agentId) record.agentId = agentId;
    this.#spaces.set(input.roomId, record);
    return { ...record };
  }

  async revoke(roomIds: readonly string[], revokedBy: string): Promise<boolean> {
    let found = false;
    for (const id of roomIds) {
      const record = this.#spaces.get(id);
      if (!record) continue;
      found = true;
      this.#spaces.set(id, {
        ...record,
        status: 'revoked',
        revokedBy,
        revokedAt: new Date(this.clock.now()),
      });
    }
    return found;
  }
}

export class MemoryConversationStore implements ConversationStore {
  readonly #records = new Map<string, ConversationRecord>();

  async get(key: string): Promise<ConversationRecord | undefined> {
    const record = this.#records.get(key);
    return record ? structuredClone(record) : undefined;
  }

  async put(record: ConversationRecord): Promise<void> {
    // A copy all the way down, as a real store keeps it: later changes of the caller's objects
    // (the running turn is updated step by step) must not reach what was stored.
    this.#records.set(record.key, structuredClone(record));
  }

  async delete(key: string): Promise<void> {
    this.#records.delete(key);
  }

  async running(limit: number): Promise<ConversationRecord[]> {
    return [...this.#records.values()]
      .filter((record) => record.runningTurn !== undefined)
      .sort((a, b) => (a.runningTurn?.startedAt ?? 0) - (b.runningTurn?.startedAt ?? 0))
      .slice(0, Math.max(0, limit))
      .map((record) => structuredClone(record));
  }

  async waiting(limit: number): Promise<ConversationRecord[]> {
    return [...this.#records.values()]
      .filter((record) => record.pendingForm !== undefined)
      .sort((a, b) => (a.pendingForm?.deadlineAt ?? 0) - (b.pendingForm?.deadlineAt ?? 0))
      .slice(0, Math.max(0, limit))
      .map((record) => structuredClone(record));
  }
}

/** Bounded: at most `max` echoes are remembered, the oldest forgotten first. */
export class MemoryOwnPostEchoes implements OwnPostEchoes {
  readonly #echoes = new Map<string, OwnPostEcho>();
  readonly #max: number;

  constructor(options: { max?: number } = {}) {
    this.#max = Math.max(1, options.max ?? 10_000);
  }

  async record(echo: OwnPostEcho): Promise<void> {
    // The first sighting counts: a redelivered echo keeps its first time.
    if (this.#echoes.has(echo.messageId)) return;
    this.#echoes.set(echo.messageId, { ...echo });
    while (this.#echoes.size > this.#max) {
      const oldest = this.#echoes.keys().next().value;
      if (oldest === undefined) break;
      this.#echoes.delete(oldest);
    }
  }

  async since(key: string, since: number, limit: number): Promise<OwnPostEcho[]> {
    return [...this.#echoes.values()]
      .filter((echo) => echo.key === key && echo.seenAt >= since)
      .sort((a, b) => a.seenAt - b.seenAt)
      .slice(0, Math.max(0, limit))
      .map((echo) => ({ ...echo }));
  }
}

/** Bounded: at most `max` messages; entries expire with their claim (the clock decides). */
export class MemoryPendingMessages implements PendingMessages {
  readonly #pending = new Map<string, { message: PendingMessage; expiresAt: number }>();
  readonly #max: number;

  constructor(
    private readonly clock: Clock = systemClock,
    options: { max?: number } = {},
  ) {
    this.#max = Math.max(1, options.max ?? 10_000);
  }

  async add(message: PendingMessage, ttlMs: number): Promise<void> {
    this.#pending.set(message.activityId, { message: { ...message }, expiresAt: this.clock.now() + ttlMs });
    while (this.#pending.size > this.#max) {
      const oldest = this.#pending.keys().next().value;
      if (oldest === undefined) break;
      this.#pending.delete(oldest);
    }
  }

  async settle(activityIds: readonly string[]): Promise<void> {
    for (const id of activityIds) this.#pending.delete(id);
  }

  async list(limit: number): Promise<PendingMessage[]> {
    const now = this.clock.now();
    return [...this.#pending.values()]
      .filter((entry) => entry.expiresAt > now)
      .map((entry) => ({ ...entry.message }))
      .sort((a, b) => a.at - b.at)
      .slice(0, Math.max(0, limit));
  }
}

/** Bounded: at most `max` ids are remembered; the oldest go first when it is full. */
export class MemoryEventClaims implements EventClaims {
  readonly #seen: TTLCache<string, true>;

  constructor(options: { max?: number } = {}) {
    this.#seen = new TTLCache({ max: options.max ?? 100_000, ttl: 3_600_000 });
  }

  async claim(activityId: string, ttlMs: number): Promise<boolean> {
    if (this.#seen.has(activityId)) return false;
    this.#seen.set(activityId, true, { ttl: ttlMs });
    return true;
  }
}

/** Leases of one process (a memory store is never shared): bounded, expired ones dropped first. */
export class MemoryLeases implements LeaseStore {
  readonly #leases = new Map<string, Lease>();
  readonly #max: number;

  constructor(options: { max?: number } = {}) {
    this.#max = Math.max(1, options.max ?? 100_000);
  }

  async acquire(key: string, owner: string, now: number, expiresAt: number): Promise<boolean> {
    leaseKey(key);
    leaseOwner(owner);
    const at = leaseTime(now, 'now');
    const until = leaseTime(expiresAt, 'expiresAt');
    const held = this.#leases.get(key);
    if (held && held.owner !== owner && held.expiresAt > at) return false;
    if (!held && this.#leases.size >= this.#max) this.#evictExpired(at);
    if (!held && this.#leases.size >= this.#max) return false;
    this.#leases.set(key, { key, owner, expiresAt: until });
    return true;
  }

  async renew(keys: readonly string[], owner: string, expiresAt: number): Promise<string[]> {
    const distinct = leaseKeys(keys);
    leaseOwner(owner);
    const until = leaseTime(expiresAt, 'expiresAt');
    const lost: string[] = [];
    for (const key of distinct) {
      const held = this.#leases.get(key);
      if (held?.owner === owner) held.expiresAt = until;
      else lost.push(key);
    }
    return lost;
  }

  async release(keys: readonly string[], owner: string): Promise<void> {
    const distinct = leaseKeys(keys);
    leaseOwner(owner);
    for (const key of distinct) if (this.#leases.get(key)?.owner === owner) this.#leases.delete(key);
  }

  async get(keys: readonly string[]): Promise<Lease[]> {
    return leaseKeys(keys).flatMap((key) => {
      const held = this.#leases.get(key);
      return held ? [{ ...held }] : [];
    });
  }

  async list(prefix: string, limit: number): Promise<Lease[]> {
    leasePrefix(prefix);
    const max = listLimit(limit);
    const found: Lease[] = [];
    for (const lease of this.#leases.values()) {
      if (found.length >= max) break;
      if (lease.key.startsWith(prefix)) found.push({ ...lease });
    }
    return found;
  }

  #evictExpired(now: number): void {
    for (const [key, lease] of this.#leases) if (lease.expiresAt <= now) this.#leases.delete(key);
  }
}

/** Bounded: at most `max` rooms; the least recently active go first when it is full. */
export class MemoryActiveRooms implements ActiveRooms {
  readonly #rooms = new Map<string, ActiveRoom>();
  readonly #max: number;

  constructor(options: { max?: number } = {}) {
    this.#max = Math.max(1, options.max ?? 10_000);
  }

  async touch(room: ActiveRoom): Promise<void> {
    const known = this.#rooms.get(room.roomId);
    this.#rooms.delete(room.roomId);
    this.#rooms.set(room.roomId, {
      roomId: room.roomId,
      roomType: room.roomType,
      lastEventAt: Math.max(room.lastEventAt, known?.lastEventAt ?? room.lastEventAt),
    });
    while (this.#rooms.size > this.#max) {
      const oldest = [...this.#rooms.values()].reduce((a, b) => (b.lastEventAt < a.lastEventAt ? b : a));
      this.#rooms.delete(oldest.roomId);
    }
  }

  async recent(since: number, limit: number): Promise<ActiveRoom[]> {
    return [...this.#rooms.values()]
      .filter((room) => room.lastEventAt >= since)
      .sort((a, b) => b.lastEventAt - a.lastEventAt)
      .slice(0, Math.max(0, limit))
      .map((room) => ({ ...room }));
  }
}

/**
 * Bounded like the claims: at most `max` keys are remembered, the oldest forgotten first (so past
 * that many refused people in one day, one of them may hear the notice twice).
 */
export class MemoryNoticeLog implements NoticeLog {
  readonly #claims: MemoryEventClaims;

  constructor(options: { max?: number } = {}) {
    this.#claims = new MemoryEventClaims({ max: options.max ?? 10_000 });
  }

  noticeDue(key: string, intervalMs: number): Promise<boolean> {
    return this.#claims.claim(key, intervalMs);
  }
}
