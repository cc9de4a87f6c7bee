/**
 * In-memory stores: honest defaults for tests and single-process runs. Everything is lost on
 * restart and nothing is shared between replicas; use the embedded or MongoDB stores for that.
 */
import { TTLCache } from '@isaacs/ttlcache';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type {
  ActiveRoom,
  ActiveRooms,
  ConversationRecord,
  ConversationStore,
  EventClaims,
  NoticeLog,
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
    return record ? { ...record } : undefined;
  }

  async put(record: ConversationRecord): Promise<void> {
    this.#records.set(record.key, { ...record });
  }

  async delete(key: string): Promise<void> {
    this.#records.delete(key);
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
