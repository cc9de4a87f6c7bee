/**
 * Storage ports. The bot keeps little state: which group spaces are authorized, each
 * conversation's agent ids, which Webex activities were already handled, and which rooms were
 * active lately (for the REST catch-up after a restart). Adapters: in-memory
 * (single process, lost on restart), embedded (persistent under DATA_DIR) and MongoDB (shared with
 * the CAIPE UI and across replicas).
 */

import type { ConversationRecord } from '../../machines/types.js';

export type SpaceStatus = 'active' | 'revoked';
export type ListenMode = 'mention' | 'message' | 'all';

/** A document of `authorized_webex_spaces`, as the CAIPE UI writes it. */
export interface SpaceRecord {
  /** The id as stored: the CAIPE UI stores the public `Y2lz…` id; admins may store a raw UUID. */
  roomId: string;
  spaceName?: string;
  status: SpaceStatus;
  authorizedBy?: string;
  authorizedAt?: Date;
  revokedAt?: Date;
  revokedBy?: string;
  /** Our extension: overrides WEBEX_LISTEN_MODE for this space. */
  listenMode?: ListenMode;
  /** Our extension: the CAIPE agent this space asks (`AGENT_PROTOCOL=caipe`) instead of CAIPE_AGENT_ID. */
  agentId?: string;
}

export interface SpaceRegistry {
  /** Looks a space up by any of its id forms (the caller passes every form it knows). */
  find(roomIds: readonly string[]): Promise<SpaceRecord | undefined>;
  list(): Promise<SpaceRecord[]>;
  authorize(record: {
    roomId: string;
    spaceName?: string;
    authorizedBy: string;
    listenMode?: ListenMode;
    /** Undefined keeps the entry's agent; null removes it (the space then asks the default agent). */
    agentId?: string | null;
  }): Promise<SpaceRecord>;
  revoke(roomIds: readonly string[], revokedBy: string): Promise<boolean>;
}

// What a conversation remembers is the conversation's own vocabulary; the stores persist it.
export type {
  AnswerPartRecord,
  CardIntentRecord,
  ClosedForm,
  ConversationRecord,
  FeedbackCardRecord,
  PendingForm,
  PostIntent,
  RunningTurnRecord,
} from '../../machines/types.js';

export interface ConversationStore {
  get(key: string): Promise<ConversationRecord | undefined>;
  put(record: ConversationRecord): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Conversations whose record has a running turn (a process stopped or died while answering),
   * the oldest turn first, at most `limit`: what the next process takes over at start.
   */
  running(limit: number): Promise<ConversationRecord[]>;
  /**
   * Conversations whose form waits for an answer, the earliest deadline first, at most `limit`:
   * the next process restores them at start, so each deadline fires on time.
   */
  waiting(limit: number): Promise<ConversationRecord[]>;
}

/**
 * The bot's own posts as its socket showed them ("echoes"). A post whose response was lost (the
 * process died first) still counts as posted when its echo was seen after its intent; the echoes
 * of conversations with a running turn are recorded so the next process can tell.
 */
export interface OwnPostEcho {
  /** Conversation key of the thread the post went to (`<roomId>/<root>` or `<roomId>/main`). */
  key: string;
  /** Hydra MESSAGE id. */
  messageId: string;
  /** Epoch ms the echo reached the socket. */
  seenAt: number;
}

export interface OwnPostEchoes {
  record(echo: OwnPostEcho): Promise<void>;
  /** Echoes of one conversation seen at or after `since`, the oldest first, at most `limit`. */
  since(key: string, since: number, limit: number): Promise<OwnPostEcho[]>;
}

/**
 * A person's message this process claimed and has not yet started to answer (or turned away). If
 * the process dies in between, the claim keeps every other process from answering it; the next
 * process finds it here and tells the person it was interrupted, instead of leaving them unanswered.
 */
export interface PendingMessage {
  activityId: string;
  /** Conversation key (`conversationKeyOf`): where the notice goes. */
  key: string;
  personId: string;
  /** Epoch ms it was claimed. */
  at: number;
}

export interface PendingMessages {
  /** Records a claimed message (kept for `ttlMs` at most, like its claim). */
  add(message: PendingMessage, ttlMs: number): Promise<void>;
  /** The messages were started, answered or turned away: nothing is owed for them any more. */
  settle(activityIds: readonly string[]): Promise<void>;
  /** Messages still owed an answer, the oldest first, at most `limit`. */
  list(limit: number): Promise<PendingMessage[]>;
}

/**
 * Once-only claims on activity ids. `claim` resolves true for the first caller within the TTL
 * and false afterwards, across reconnects (and across replicas for shared stores).
 */
export interface EventClaims {
  claim(activityId: string, ttlMs: number): Promise<boolean>;
}

/**
 * Leases (SPEC "Durability and replicas"): who owns a conversation's running answer or form wait,
 * and which processes are alive (`instance:<id>`). A lease is held until `expiresAt` (epoch ms of
 * the holder's clock) and renewed while its holder lives; another process may take it only once it
 * has expired by its own clock. Keys are bounded strings chosen by the bot.
 */
export interface Lease {
  key: string;
  owner: string;
  expiresAt: number;
}

export interface LeaseStore {
  /**
   * Takes `key` for `owner` until `expiresAt`, when it is free, expired at `now`, or `owner`'s
   * already (then it is extended). Resolves whether `owner` holds it now.
   */
  acquire(key: string, owner: string, now: number, expiresAt: number): Promise<boolean>;
  /**
   * Extends `owner`'s leases on `keys` to `expiresAt` (an expired one too, as long as no one took
   * it). Resolves the keys that are no longer `owner`'s: taken over, or gone.
   */
  renew(keys: readonly string[], owner: string, expiresAt: number): Promise<string[]>;
  /** Gives up `owner`'s leases on `keys`; another owner's are left alone. */
  release(keys: readonly string[], owner: string): Promise<void>;
  /** The leases on `keys` that exist (expired ones included). */
  get(keys: readonly string[]): Promise<Lease[]>;
  /** Leases whose key starts with `prefix`, at most `limit`. */
  list(prefix: string, limit: number): Promise<Lease[]>;
}

/** A room the bot saw activity in, with the time of its last event. */
export interface ActiveRoom {
  /** Hydra ROOM id. */
  roomId: string;
  roomType: 'direct' | 'group';
  /** Epoch ms (the bot's clock) of the last event handled in the room, or left for the next process. */
  lastEventAt: number;
}

/**
 * Recently active rooms, kept across restarts: the REST catch-up at the next start lists their
 * messages, so what arrived while no process ran is found even when Webex does not redeliver it.
 */
export interface ActiveRooms {
  /** Records activity in a room; a room keeps the latest of the times it was given. */
  touch(room: ActiveRoom): Promise<void>;
  /** Rooms whose last event is at or after `since`, the most recent first, at most `limit`. */
  recent(since: number, limit: number): Promise<ActiveRoom[]>;
}

/**
 * Notices the bot sends at most once per interval per key (SPEC "Who may use the bot": an
 * outsider hears "you cannot use this bot" at most once a day), remembered across restarts and,
 * with a shared store, across replicas.
 */
export interface NoticeLog {
  /**
   * True when no notice for `key` was recorded within the last `intervalMs`, and records one now;
   * false otherwise. Of concurrent callers for one key, exactly one gets true.
   */
  noticeDue(key: string, intervalMs: number): Promise<boolean>;
}
