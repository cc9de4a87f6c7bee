/**
 * Storage ports. The bot keeps little state: which group spaces are authorized, each
 * conversation's agent ids, which Webex activities were already handled, and which rooms were
 * active lately (for the REST catch-up after a restart). Adapters: in-memory
 * (single process, lost on restart), embedded (persistent under DATA_DIR) and MongoDB (shared with
 * the CAIPE UI and across replicas).
 */

import type { AgentForm } from '../agent/port.js';

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
  }): Promise<SpaceRecord>;
  revoke(roomIds: readonly string[], revokedBy: string): Promise<boolean>;
}

/** What a conversation must remember between turns (and across restarts). */
export interface ConversationRecord {
  key: string;
  roomId: string;
  /** The space's type (so the next process can restore the conversation before anyone writes). */
  roomType?: 'direct' | 'group';
  contextId?: string;
  /** The open task when the agent asked for input. */
  taskId?: string;
  traceId?: string;
  /** Id of the bot's last answer message; thread context after it is what the agent lacks. */
  lastAnswerMessageId?: string;
  /** The form card waiting for the user, so a restart does not lose it. */
  pendingForm?: PendingForm;
  /** Who the open task waits for (`HITL_ANSWERED_BY=requester`). */
  taskOwner?: { personId: string; name: string };
  /** Feedback cards posted in this conversation (newest last, bounded). */
  feedbackCards?: FeedbackCardRecord[];
  /** Form cards that are no longer open, so a late submission gets the right notice. */
  closedForms?: ClosedForm[];
  /**
   * The answer a process is working on (SPEC "Durability and replicas"): present from the moment
   * the working message is about to go up until the turn's result is saved. A record that still
   * has it after its process stopped is taken over by the next process.
   */
  runningTurn?: RunningTurnRecord;
  updatedAt: number;
}

/** A post the bot meant to make (its intent, recorded before the post) and, once known, its id. */
export interface PostIntent {
  /** Hash of the markdown posted (`hashPost`), to recognise the post among the bot's own echoes. */
  hash: string;
  /** Epoch ms when the intent was recorded: only echoes seen from then on can be this post. */
  intentAt: number;
  /** The Webex message id, once the post is confirmed (its response, or its echo). */
  messageId?: string;
}

/** One message of an answer (or of the question, failure or interruption notice), in order. */
export interface AnswerPartRecord extends PostIntent {
  index: number;
  /** Which message list the index counts in (`answer` when absent). */
  kind?: 'answer' | 'question' | 'failure';
}

/** A card of the turn: its card id is chosen before the post, so a re-post keeps it. */
export interface CardIntentRecord extends PostIntent {
  cardId: string;
}

/** The running answer of a conversation, as far as another process needs it to finish it. */
export interface RunningTurnRecord {
  /** `running` while a process works on it; `handed-over` when a stopping process left it on purpose. */
  state: 'running' | 'handed-over';
  /** The person's message being answered. */
  activityId: string;
  messageId: string;
  roomType: 'direct' | 'group';
  /** Who asked (the answer's working message counts against them; the takeover names them). */
  person: { personId: string; email?: string; name?: string };
  /** Epoch ms the message arrived, and the turn started. */
  receivedAt: number;
  startedAt: number;
  /** The question came with files (the answer then says they were not read). */
  hasFiles?: boolean;
  /** The agent's ids, once the agent named them: with a task id the answer can be re-attached. */
  taskId?: string;
  contextId?: string;
  traceId?: string;
  /** Working messages posted for this turn, newest last (bounded). */
  workingMessageIds: string[];
  /** The turn's text messages in order (answer parts, or the question, or the failure message). */
  parts: AnswerPartRecord[];
  /** The form card of an `input-required` turn; `deadlineAt` is absolute (`HITL_TIMEOUT_S`). */
  form?: CardIntentRecord & { deadlineAt: number };
  /** The 👍 / 👎 card under the answer. */
  feedback?: CardIntentRecord & { traceId: string };
  /** The one notice saying the answer was interrupted (when it could not be recovered). */
  interrupted?: PostIntent;
}

export interface PendingForm {
  cardId: string;
  /** The Webex message that carries the card: only submissions of this message are trusted. */
  cardMessageId: string;
  /** Epoch ms after which the form has expired (`HITL_TIMEOUT_S`). */
  deadlineAt: number;
  /** The agent's form, as parsed (needed to build the answer). */
  form: AgentForm;
}

export interface FeedbackCardRecord {
  cardId: string;
  cardMessageId: string;
  traceId: string;
}

export interface ClosedForm {
  cardId: string;
  reason: 'submitted' | 'expired' | 'cancelled' | 'superseded';
}

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
