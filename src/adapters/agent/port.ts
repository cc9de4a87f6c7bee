/**
 * The agent port: how a conversation talks to an agent platform, independent of the wire protocol.
 *
 * A turn is one user message and everything the agent streams back until the task reaches a
 * terminal state (completed, failed, canceled, rejected) or pauses for the user (input-required,
 * auth-required). Adapters translate their protocol (A2A v0.3 and v1.0, AG-UI 1.0, CAIPE ≥0.6's
 * AG-UI dialect) into the `TurnEvent` vocabulary below, and `reduceTurn` (turn-state.ts) folds those
 * events into the state a renderer draws from. `contextId` and `taskId` are opaque to everything
 * above the port: each adapter puts there what it needs to continue, resume or cancel.
 */

/** Task states as the agent reports them (A2A v0.3 names; other protocols map onto these). */
export type AgentTaskState =
  | 'submitted'
  | 'working'
  | 'input-required'
  | 'auth-required'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'rejected'
  | 'unknown';

/** States after which the task is over for good. */
export const TERMINAL_STATES: ReadonlySet<AgentTaskState> = new Set([
  'completed',
  'failed',
  'canceled',
  'rejected',
]);

/** States in which the task stays open and waits for the user to answer. */
export const INTERRUPTED_STATES: ReadonlySet<AgentTaskState> = new Set(['input-required', 'auth-required']);

/** True when a turn is finished in this state: terminal, or waiting for the user. Never decided by `final`. */
export function endsTurn(state: AgentTaskState): boolean {
  return TERMINAL_STATES.has(state) || INTERRUPTED_STATES.has(state);
}

/** Extra content sent with the user's text, e.g. a HITL `resume` data part. */
export type TurnPart = { kind: 'text'; text: string } | { kind: 'data'; data: Record<string, unknown> };

/** Where a turn comes from in Webex: what backends that key conversations or people by it read. */
export interface TurnOrigin {
  /** The room as Webex names it (the public `Y2lz…` id). */
  roomId: string;
  roomType: 'direct' | 'group';
  /** The message being answered. */
  messageId: string;
  /** The thread root, when the message is in a thread (or starts one in a group space). */
  threadRootId?: string;
  /** The Webex person asking (on-behalf-of tokens are minted for them). */
  personId: string;
  /**
   * How many times `reset` started this thread afresh; backends that create conversations by an
   * idempotency key add it to the key so a reset gets a new conversation. 0 when unknown.
   */
  generation?: number;
}

export interface TurnRequest {
  /** The user's message; sent as the first text part when non-empty. */
  text: string;
  /** Extra parts after the text (e.g. `{ kind: 'data', data: { resume: {...} } }`). */
  parts?: readonly TurnPart[];
  /** The conversation's context; omitted on the first turn of a thread. */
  contextId?: string;
  /** Only when answering a task that is waiting for input (input-required). */
  taskId?: string;
  /** The Webex user the turn is on behalf of (sent as `metadata.user_email`). */
  userEmail: string;
  /** Client message id; a fresh UUID when absent. */
  messageId?: string;
  /** Extra message metadata (e.g. `trace_id`); `user_email` always wins. */
  metadata?: Record<string, unknown>;
  /** Where the turn comes from; backends that need it (CAIPE ≥0.6) degrade without it. */
  origin?: TurnOrigin;
  /** Earlier turns, oldest first; a backend that keeps its own memory of the thread may ignore it. */
  history?: readonly HistoryMessage[];
  /** The agent to ask when the backend hosts several (CAIPE ≥0.6); its default otherwise. */
  agentId?: string;
}

export interface CallOptions {
  /** Aborting stops the request and closes the connection. */
  signal?: AbortSignal;
}

export type PlanStepStatus = 'pending' | 'in_progress' | 'completed' | 'failed';

export interface PlanStep {
  /** Stable key across plan updates (`step_id`, or a positional id for text plans). */
  id: string;
  title: string;
  status: PlanStepStatus;
  agent?: string;
}

import type { AgentForm, HistoryMessage } from '../../machines/types.js';

// The form types are the conversation's (it keeps an open form across restarts); the agent
// adapters produce them.
export type {
  AgentForm,
  FormField,
  FormFieldOption,
  FormFieldType,
  HistoryMessage,
} from '../../machines/types.js';

/** Where an answer candidate came from, highest priority first. */
export type AnswerSource = 'final_result' | 'complete_result' | 'partial_result';

export const ANSWER_PRIORITY: readonly AnswerSource[] = ['final_result', 'complete_result', 'partial_result'];

export type TurnEvent =
  /** The ids of the conversation and task (first event of a stream; again if they change). */
  | { type: 'ids'; contextId?: string; taskId?: string }
  | { type: 'status'; state: AgentTaskState; message?: string }
  /**
   * The plan. `steps` is the full list (structured plans); `text` is a plan sent as prose, appended to
   * the text seen so far for this plan when `append` is true.
   */
  | { type: 'plan'; steps?: PlanStep[]; text?: string; append?: boolean }
  | {
      type: 'tool';
      phase: 'start' | 'end';
      name: string;
      /** The agent that runs the tool (e.g. a sub-agent), when known. */
      agent?: string;
      /** True on an end that reports a failure. */
      failed?: boolean;
      text?: string;
      planStepId?: string;
    }
  /** Live text, keyed by stream (A2A artifactId): `append:false` replaces that stream's text. */
  | { type: 'text'; streamId: string; text: string; append: boolean; agent?: string; planStepId?: string }
  /** A complete answer candidate; the final text is the best candidate by `ANSWER_PRIORITY`. */
  | { type: 'answer'; source: AnswerSource; text: string; append: boolean; agent?: string }
  /** A message from the agent (not a streamed artifact). */
  | { type: 'message'; text: string }
  | { type: 'form'; form: AgentForm }
  | { type: 'trace'; traceId: string }
  /** Informational output with no place in the answer (forwarded tool output, sub-agent status). */
  | { type: 'note'; name: string; text: string; agent?: string };

export type TurnEventType = TurnEvent['type'];

export interface AgentClient {
  /**
   * Sends one turn and yields its events until the task ends the turn and the stream closes.
   * Throws `AgentError` (src/errors.ts) when the agent cannot be reached, refuses, or the stream
   * breaks before the turn ended; rethrows the signal's reason when aborted.
   */
  streamTurn(request: TurnRequest, options?: CallOptions): AsyncIterable<TurnEvent>;
  /** Asks the agent to cancel a running task. Throws `AgentError` on refusal (e.g. already finished). */
  cancel(taskId: string, options?: CallOptions): Promise<void>;
  /**
   * Re-attaches to a running task's event stream (after a dropped connection). Backends that cannot
   * (AG-UI, CAIPE ≥0.6) throw `AgentError` of kind `unsupported`.
   */
  resubscribe(taskId: string, options?: CallOptions): AsyncIterable<TurnEvent>;
  /**
   * Reads a task as it is now (A2A `tasks/get`): its ids, artifacts and status as turn events, the
   * status last. How a finished answer is recovered after a restart. Backends without it leave it out.
   */
  getTask?(taskId: string, options?: CallOptions): Promise<TurnEvent[]>;
  /**
   * True when another process can re-attach to a task this one started (`resubscribe` and
   * `getTask` work across connections): then a running answer is handed over at shutdown instead
   * of cancelled. Absent means it cannot.
   */
  readonly canReattach?: boolean;
}
