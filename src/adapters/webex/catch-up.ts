/**
 * The REST side of catching up on events the socket lost.
 *
 * Webex redelivers unacked frames to the same device (`bufferStates=true`), but not to a new device
 * (after a handshake 404), not past its retention, and not what a sequence gap skipped. Webex has no
 * "what did I miss" call for bots, so the bot remembers the rooms it saw activity in recently
 * (`RecentRooms`) and lists each one's newest messages (`listMissedMessages`); the ones created
 * after the room's last handled event become ordinary `InboundEvent`s (`catchUpEvent`).
 *
 * The room list is kept in the store too (`ActiveRooms`), so the catch-up at the next process's
 * first connect knows where to look: a restart is a reconnect on a new process.
 *
 * A listed message gets the activity id the socket would have given it: a post's activity UUID is
 * the UUID inside its Hydra MESSAGE id. So a message that arrives both by catch-up and by socket
 * (re)delivery is claimed once, whichever comes first.
 */
import { type Clock, systemClock } from '../../clock.js';
import type { InboundMessageEvent, RoomType } from '../../machines/inbound-event.js';
import type { ActiveRooms } from '../store/ports.js';
import { decodeHydraId } from './ids.js';
import { type BotSelf, type HydraMessage, messageEvent } from './normalize.js';
import type { WebexRestClient } from './rest.js';

export interface CatchUpSettings {
  /** Rooms listed per catch-up, the most recently active first. */
  maxRooms: number;
  /** Messages listed per room (`max`); Webex clamps it to 100 with `mentionedPeople`. */
  maxMessagesPerRoom: number;
  /**
   * Taken off a room's last-event time before comparing with Webex's `created`: covers the
   * difference between the bot's clock and Webex's, and a message created just before the last
   * event but delivered after it. Anything already handled inside the margin is a duplicate.
   */
  skewMs: number;
  /** How long a room stays a catch-up candidate after its last event. */
  roomTtlMs: number;
  /** Rooms remembered at most (the least recently active are forgotten first). */
  maxTrackedRooms: number;
}

export const CATCH_UP_DEFAULTS: CatchUpSettings = {
  maxRooms: 20,
  maxMessagesPerRoom: 50,
  skewMs: 60_000,
  roomTtlMs: 3_600_000,
  maxTrackedRooms: 1_000,
};

/**
 * Settings with the room TTL cut so that every message a catch-up can list is still remembered by
 * the dedupe: a room's window starts at its last event minus the skew, and that event's claim
 * lives `dedupeTtlMs` from then.
 */
export function catchUpSettings(
  dedupeTtlMs: number,
  overrides: Partial<CatchUpSettings> = {},
): CatchUpSettings {
  const settings = { ...CATCH_UP_DEFAULTS, ...overrides };
  const limit = Math.max(0, dedupeTtlMs - settings.skewMs);
  return { ...settings, roomTtlMs: Math.min(settings.roomTtlMs, limit) };
}

export interface TrackedRoom {
  roomId: string;
  roomType: RoomType;
  /** Bot clock, epoch ms, of the last event handled in the room. */
  lastEventAt: number;
}

/** Where `RecentRooms` keeps its list across restarts, and what it does with a failed write. */
export interface RecentRoomsPersistence {
  store: ActiveRooms;
  /** A failed read or write: logged by the caller; the in-memory list goes on regardless. */
  onError(error: unknown, operation: 'touch' | 'load'): void;
  /**
   * A room's time is written at most this often (its events in between update memory only). An
   * older stored time only widens the next start's window, and the claims drop what it re-lists.
   */
  writeEveryMs?: number;
}

/** Default pause between two writes of one room's time. */
export const ROOM_WRITE_EVERY_MS = 30_000;

/** Rooms with recent activity: bounded in count and in age, newest activity first. */
export class RecentRooms {
  // Map order is recency order: a touched room is moved to the end.
  private readonly rooms = new Map<string, TrackedRoom>();
  private readonly clock: Pick<Clock, 'now'>;
  /** When each room's time was last written to the store. */
  private readonly writtenAt = new Map<string, number>();
  private readonly writes = new Set<Promise<void>>();
  private loading: Promise<number> | undefined;

  constructor(
    private readonly settings: Pick<CatchUpSettings, 'roomTtlMs' | 'maxTrackedRooms'>,
    clock: Pick<Clock, 'now'> = systemClock,
    private readonly persistence?: RecentRoomsPersistence,
  ) {
    this.clock = clock;
  }

  /**
   * Records activity in a room. `durable` writes it to the store now, whatever was written last
   * (an event left for the next process: its catch-up must find the room).
   */
  touch(roomId: string, roomType: RoomType, at: number, options: { durable?: boolean } = {}): void {
    const room = this.remember(roomId, roomType, at);
    const store = this.persistence?.store;
    if (!store) return;
    const now = this.clock.now();
    const last = this.writtenAt.get(roomId);
    const every = this.persistence?.writeEveryMs ?? ROOM_WRITE_EVERY_MS;
    if (!options.durable && last !== undefined && now - last < every) return;
    this.writtenAt.set(roomId, now);
    const write: Promise<void> = Promise.resolve()
      .then(() => store.touch({ ...room }))
      .catch((error: unknown) => {
        // Written again at the room's next event.
        this.writtenAt.delete(roomId);
        this.persistence?.onError(error, 'touch');
      })
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /**
   * Adds the rooms the store remembers (a previous process's), once; later calls wait for the
   * first. Returns how many were read. A failed read leaves the in-memory list as it is.
   */
  load(): Promise<number> {
    const store = this.persistence?.store;
    if (!store) return Promise.resolve(0);
    this.loading ??= (async () => {
      try {
        const stored = await store.recent(
          this.clock.now() - this.settings.roomTtlMs,
          Math.max(1, this.settings.maxTrackedRooms),
        );
        // Oldest first, so the most recently active end up last in recency order.
        for (const room of [...stored].reverse()) this.remember(room.roomId, room.roomType, room.lastEventAt);
        return stored.length;
      } catch (error) {
        this.persistence?.onError(error, 'load');
        return 0;
      }
    })();
    return this.loading;
  }

  /** Resolves when every write started so far has ended (stop waits for them). */
  async flush(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  forget(roomId: string): void {
    this.rooms.delete(roomId);
    this.writtenAt.delete(roomId);
  }

  private remember(roomId: string, roomType: RoomType, at: number): TrackedRoom {
    const known = this.rooms.get(roomId);
    const lastEventAt = Math.max(at, known?.lastEventAt ?? at);
    const room = { roomId, roomType, lastEventAt };
    this.rooms.delete(roomId);
    this.rooms.set(roomId, room);
    while (this.rooms.size > Math.max(1, this.settings.maxTrackedRooms)) {
      const oldest = this.rooms.keys().next().value;
      if (oldest === undefined) break;
      this.rooms.delete(oldest);
      this.writtenAt.delete(oldest);
    }
    return room;
  }

  /** Live rooms, the most recently active first; expired ones are dropped on the way. */
  recent(limit: number): TrackedRoom[] {
    const cutoff = this.clock.now() - this.settings.roomTtlMs;
    for (const [id, room] of this.rooms) if (room.lastEventAt < cutoff) this.forget(id);
    return [...this.rooms.values()].sort((a, b) => b.lastEventAt - a.lastEventAt).slice(0, limit);
  }

  get size(): number {
    return this.rooms.size;
  }
}

export interface MissedMessages {
  /** Created inside the window, oldest first. */
  messages: HydraMessage[];
  /** Items Webex returned. */
  listed: number;
  /** Every listed item was inside the window: older missed messages may not have been seen. */
  truncated: boolean;
}

/**
 * Lists a room's newest messages and keeps those created at or after `since` (epoch ms). A bot may
 * list a group room only with `mentionedPeople=me`, which is also all it may read there.
 */
export async function listMissedMessages(
  rest: WebexRestClient,
  room: Pick<TrackedRoom, 'roomId' | 'roomType'>,
  options: { since: number; max: number; signal?: AbortSignal },
): Promise<MissedMessages> {
  const body = await rest.get<{ items?: unknown[] }>('/messages', {
    route: 'GET /messages',
    query: {
      roomId: room.roomId,
      max: options.max,
      ...(room.roomType === 'group' ? { mentionedPeople: 'me' } : {}),
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const items = (Array.isArray(body?.items) ? body.items : []).filter(isMessage);
  // A message without a readable `created` is kept: the dedupe decides, not the window.
  // Webex lists newest first: reversed, then a stable sort by time keeps Webex's order for
  // messages created within the same millisecond.
  const inWindow = items.filter((m) => !(createdAt(m) < options.since)).reverse();
  inWindow.sort((a, b) => (createdAt(a) || 0) - (createdAt(b) || 0));
  return {
    messages: inWindow,
    listed: items.length,
    truncated: items.length >= options.max && inWindow.length === items.length,
  };
}

export type CatchUpItem =
  | { event: InboundMessageEvent }
  | { skip: 'own' | 'malformed'; messageId: string | undefined };

/** A listed message as the event the socket would have produced, or why it is skipped. */
export function catchUpEvent(
  message: HydraMessage,
  room: Pick<TrackedRoom, 'roomId' | 'roomType'>,
  self: BotSelf,
  receivedAt: number,
): CatchUpItem {
  const decoded = decodeHydraId(message.id);
  if (decoded?.type !== 'MESSAGE') return { skip: 'malformed', messageId: message.id };
  const author = typeof message.personId === 'string' ? message.personId : undefined;
  const authorUuid = author ? decodeHydraId(author)?.uuid : undefined;
  if (
    (author && author === self.personId) ||
    (authorUuid && (authorUuid === self.userId || authorUuid === decodeHydraId(self.personId)?.uuid))
  )
    return { skip: 'own', messageId: message.id };
  const event = messageEvent(
    {
      action: 'fetchMessage',
      activityId: decoded.uuid,
      roomId: room.roomId,
      roomType: room.roomType,
      messageId: message.id,
      files: false,
      // A REST listing has no organisation: the person check asks the People API.
      actor: { uuid: authorUuid ?? '', email: message.personEmail, displayName: undefined, orgId: undefined },
    },
    message,
    receivedAt,
  );
  return { event };
}

/** Epoch ms, or NaN when Webex gave no readable time. */
function createdAt(message: HydraMessage): number {
  return typeof message.created === 'string' ? Date.parse(message.created) : Number.NaN;
}

function isMessage(value: unknown): value is HydraMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'string' &&
    (value as { id: string }).id !== ''
  );
}
