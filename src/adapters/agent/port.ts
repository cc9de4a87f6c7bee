/**
 * The agent port: how a conversation talks to an agent platform, independent of the wire protocol.
 *
 * A turn is one user message and everything the agent streams back until the task reaches a
 * terminal state (completed, failed, canceled, rejected) or pauses for the user (input-required,
 * auth-required). Adapters translate their protocol (A2A v0.3 today; AG-UI could sit beside it)
 * into the `TurnEvent` vocabulary below, and `reduceTurn` (turn-state.ts) folds those events into
 * the state a renderer draws from.
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
  /** Re-attaches to a running task's event stream (after a dropped connection). */
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
