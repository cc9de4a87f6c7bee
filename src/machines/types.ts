/**
 * The domain types the machines share. Their events are built from the connection's normalised
 * inbound events by the intake's admission (`src/actors/intake/admission.ts`), so the machines
 * never see Webex frames.
 */

export type RoomType = 'direct' | 'group';

/** Who the bot is on Webex (`GET /people/me`). */
export interface BotIdentity {
  /** Hydra PEOPLE id. */
  personId: string;
  email: string;
  displayName: string;
}

/** Whether a part of the bot can take work, and why not. */
export interface Readiness {
  ready: boolean;
  /** Why not, for `/readyz`'s 503 body and the operator's eyes. */
  reason?: string;
}

/** A person's message addressed to the bot, with the mention already removed. */
export interface UserMessage {
  activityId: string;
  roomId: string;
  roomType: RoomType;
  messageId: string;
  /** The thread root when the message is a thread reply. */
  parentId?: string;
  personId: string;
  personEmail: string;
  /** How Webex shows the person, when the event says. */
  personName?: string;
  /** Plain text sent to the agent: mention removed, trimmed. */
  text: string;
  /** True for a `share`: the message carried files the bot does not read. */
  hasFiles: boolean;
  /** Epoch ms when the activity reached the bot (for first-reply and answer timings). */
  receivedAt: number;
  /**
   * The intake's space decision for this message (SPEC "Spaces and threads"); undefined where no
   * one has decided yet (a form answer resuming a task), so the conversation checks the space.
   */
  spaceAllowed?: boolean;
  /** The space could not be checked (store outage, nothing recent cached): refused for now. */
  spaceUnavailable?: boolean;
  /** The agent the space's registry entry names (CAIPE ≥0.6); the backend's default when unset. */
  agentId?: string;
}

/** Someone pressed a button or submitted a form on a card the bot posted. */
export interface CardSubmission {
  activityId: string;
  roomId: string;
  roomType: RoomType;
  /** The Webex message id of the card (reported by Webex, not by the card's data). */
  cardMessageId: string;
  personId: string;
  inputs: Record<string, unknown>;
  receivedAt: number;
}

/** A submission of one of the bot's cards, as read from its `Action.Submit` data. */
export interface CardAction {
  submission: CardSubmission;
  kind: 'form' | 'formCancel' | 'feedback';
  /** Conversation the card says it belongs to (verified against the cards the bot sent there). */
  key: string;
  cardId: string;
  /** Form inputs by field name. */
  fields: Record<string, unknown>;
  value?: 'positive' | 'negative';
  traceId?: string;
}

/** Short things the bot says outside of an answer; `noticeText` (`src/actors/rendering.ts`) words them. */
export type Notice =
  | { kind: 'help'; group: boolean }
  | { kind: 'unauthorized' }
  /** The space registry cannot be read and no recent answer is cached (fail closed). */
  | { kind: 'spaceUnavailable' }
  /** A person outside the allowed organisations or email domains (at most once a day). */
  | { kind: 'personRefused'; reason: 'outsider-org' | 'email-domain' | 'person-unverified' }
  | { kind: 'busy' }
  /** `MAX_CONCURRENT_TURNS` (`bot`) or `MAX_TURNS_PER_PERSON` (`person`) reached. */
  | { kind: 'busyTurns'; scope: 'bot' | 'person' }
  /** `AGENT_TURN_TIMEOUT_S` passed: the turn was stopped. */
  | { kind: 'turnTimedOut' }
  /** `HITL_ANSWERED_BY=requester`: the open task waits for someone else. */
  | { kind: 'formOwned'; owner: string }
  | { kind: 'cancelled' }
  | { kind: 'nothingToCancel' }
  | { kind: 'reset' }
  | { kind: 'filesOnly' }
  | { kind: 'authorize' }
  | { kind: 'hello'; authorized: boolean }
  | { kind: 'unknownCard' }
  | { kind: 'formExpired' }
  | { kind: 'formAlreadySubmitted' }
  | { kind: 'formCancelled' }
  | { kind: 'feedbackThanks'; positive: boolean }
  | { kind: 'internalError' }
  | { kind: 'shuttingDown' }
  /** After a restart: an answer (or a message not yet started) that could not be recovered. */
  | { kind: 'answerInterrupted' };

/** Where a notice or answer goes: the room and, for threaded replies, the thread root. */
export interface ReplyTarget {
  roomId: string;
  parentId?: string;
}

/** What the agent is asked in one turn: built by `fetchingContext`'s effect, passed on unread. */
export interface AgentAsk {
  text: string;
  /** Extra parts (a form answer's `resume` data). */
  parts?: ReadonlyArray<{ kind: 'data'; data: Record<string, unknown> }>;
  userEmail: string;
  contextId?: string;
  /** Only when the message answers a task that asked for input. */
  taskId?: string;
  /** Where the turn comes from (CAIPE ≥0.6 keys its conversation by it; on-behalf-of needs the person). */
  origin?: AskOrigin;
  /** Earlier turns, oldest first, for agents that hold no memory (AG-UI). */
  history?: readonly HistoryMessage[];
  /** The agent the space names (CAIPE ≥0.6); the backend's default when unset. */
  agentId?: string;
}

/** Where a turn comes from, as the agent backends read it. */
export interface AskOrigin {
  /** The public (`Y2lz…`) room id. */
  roomId: string;
  roomType: RoomType;
  messageId: string;
  threadRootId?: string;
  personId: string;
  /** How many times `reset` started the thread afresh. */
  generation?: number;
}

/**
 * The agent's side of a turn, as far as the chart reads it. The effect layer folds the stream into
 * a fuller state (plan, tools, text) that it passes through these events unchanged.
 */
export interface AgentTurn {
  status: string;
  contextId?: string;
  taskId?: string;
  traceId?: string;
}

/** Why a turn failed before the agent said so itself (unreachable, HTTP error, cut stream…). */
export interface TurnFailure {
  kind: string;
  status?: number;
  message: string;
}

/** How a turn with the agent ended. */
export type TurnStatus = 'completed' | 'input-required' | 'failed' | 'canceled';

// ── Forms and what a conversation remembers (persisted by the stores) ──────────────────────────

export type FormFieldType = 'text' | 'select' | 'multiselect' | 'boolean' | 'number' | 'url' | 'email';

export interface FormFieldOption {
  value: string;
  label: string;
}

export interface FormField {
  /** Key the answer is sent back under. */
  name: string;
  label: string;
  type: FormFieldType;
  required: boolean;
  description?: string;
  placeholder?: string;
  /** Only for select and multiselect. */
  options?: FormFieldOption[];
  defaultValue?: string | number | boolean | string[];
}

/** A request for structured input from the user (human in the loop). */
export interface AgentForm {
  title?: string;
  description?: string;
  fields: FormField[];
  /** The artifact the form came from, for diagnostics. */
  source: string;
  /** The original payload, so a resume can echo what the agent expects. */
  raw: unknown;
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
   * Earlier turns (the person's texts and the final answers, bounded like the thread context), for
   * agent backends whose agents hold no memory (AG-UI `messages`). Cleared by `reset`.
   */
  history?: HistoryMessage[];
  /** How many times `reset` started the thread afresh (CAIPE ≥0.6 adds it to its conversation key). */
  generation?: number;
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

/** An earlier turn of a conversation, as a stateless agent is sent it. */
export interface HistoryMessage {
  role: 'user' | 'assistant';
  text: string;
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
