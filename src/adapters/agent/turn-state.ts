/**
 * The state of one turn, folded from `TurnEvent`s. Pure and protocol neutral: the conversation
 * actor keeps it, the renderer draws the working message and the answer from it.
 */
import { parsePlanText } from './plan-text.js';
import {
  type AgentForm,
  type AgentTaskState,
  ANSWER_PRIORITY,
  type AnswerSource,
  endsTurn,
  type PlanStep,
  type TurnEvent,
} from './port.js';

export type ToolStatus = 'running' | 'completed' | 'failed';

export interface ToolCall {
  name: string;
  agent?: string;
  status: ToolStatus;
  /** The notification text of the latest phase (e.g. "🔧 Jira: Calling tool: Get_Issue"). */
  text?: string;
  planStepId?: string;
}

export interface TextStream {
  id: string;
  text: string;
  /** The agent that produced the latest chunk. */
  agent?: string;
}

export interface AnswerCandidate {
  text: string;
  agent?: string;
}

export interface TurnState {
  contextId?: string;
  taskId?: string;
  traceId?: string;
  status: AgentTaskState;
  /** Text of the latest status message (the error for `failed`, the question for `input-required`). */
  statusMessage?: string;
  /** The full plan, in the agent's order; empty when the agent sent none. */
  plan: PlanStep[];
  /** The prose of a plan sent as text, kept so appended chunks can be re-parsed. */
  planText?: string;
  /** Tool calls in start order. */
  tools: ToolCall[];
  /** Live text streams in first-seen order. */
  streams: TextStream[];
  answers: Partial<Record<AnswerSource, AnswerCandidate>>;
  /** The latest message from the agent. */
  lastMessage?: string;
  form?: AgentForm;
  /** How many events were folded in; lets a renderer skip redraws when nothing changed. */
  eventCount: number;
}

export function initialTurnState(ids: { contextId?: string; taskId?: string } = {}): TurnState {
  return {
    ...(ids.contextId ? { contextId: ids.contextId } : {}),
    ...(ids.taskId ? { taskId: ids.taskId } : {}),
    status: 'submitted',
    plan: [],
    tools: [],
    streams: [],
    answers: {},
    eventCount: 0,
  };
}

function withTool(tools: ToolCall[], event: Extract<TurnEvent, { type: 'tool' }>): ToolCall[] {
  const base: ToolCall = {
    name: event.name,
    status: event.phase === 'start' ? 'running' : event.failed ? 'failed' : 'completed',
    ...(event.agent ? { agent: event.agent } : {}),
    ...(event.text ? { text: event.text } : {}),
    ...(event.planStepId ? { planStepId: event.planStepId } : {}),
  };
  if (event.phase === 'start') return [...tools, base];
  // Start and end notifications carry different artifact ids, so an end closes the oldest running
  // call of the same tool and agent; an end with no matching start is still recorded.
  const index = tools.findIndex(
    (t) => t.status === 'running' && t.name === event.name && t.agent === event.agent,
  );
  if (index < 0) return [...tools, base];
  const next = tools.slice();
  const started = next[index]!;
  next[index] = { ...started, status: base.status, ...(event.text ? { text: event.text } : {}) };
  return next;
}

function withText(streams: TextStream[], event: Extract<TurnEvent, { type: 'text' }>): TextStream[] {
  const index = streams.findIndex((s) => s.id === event.streamId);
  const agent = event.agent ? { agent: event.agent } : {};
  if (index < 0) return [...streams, { id: event.streamId, text: event.text, ...agent }];
  const next = streams.slice();
  const current = next[index]!;
  next[index] = { ...current, ...agent, text: event.append ? current.text + event.text : event.text };
  return next;
}

function withPlan(state: TurnState, event: Extract<TurnEvent, { type: 'plan' }>): TurnState {
  if (event.steps) return { ...state, plan: event.steps };
  if (event.text === undefined) return state;
  const planText = event.append ? (state.planText ?? '') + event.text : event.text;
  const steps = parsePlanText(planText);
  // A prose fragment with no list items yet keeps the steps seen so far.
  return { ...state, planText, plan: steps.length > 0 ? steps : state.plan };
}

export function reduceTurn(state: TurnState, event: TurnEvent): TurnState {
  const counted = { ...state, eventCount: state.eventCount + 1 };
  switch (event.type) {
    case 'ids':
      return {
        ...counted,
        ...(event.contextId ? { contextId: event.contextId } : {}),
        ...(event.taskId ? { taskId: event.taskId } : {}),
      };
    case 'status': {
      const next: TurnState = { ...counted, status: event.state };
      if (event.message === undefined) return next;
      next.statusMessage = event.message;
      // The question of a paused task is the agent's message to the user.
      if (event.state === 'input-required' || event.state === 'auth-required')
        next.lastMessage = event.message;
      return next;
    }
    case 'plan':
      return withPlan(counted, event);
    case 'tool':
      return { ...counted, tools: withTool(state.tools, event) };
    case 'text':
      return { ...counted, streams: withText(state.streams, event) };
    case 'answer': {
      const previous = state.answers[event.source];
      const text = event.append && previous ? previous.text + event.text : event.text;
      const agent = event.agent ?? (event.append ? previous?.agent : undefined);
      return {
        ...counted,
        answers: { ...state.answers, [event.source]: { text, ...(agent ? { agent } : {}) } },
      };
    }
    case 'message':
      return { ...counted, lastMessage: event.text };
    case 'form':
      return { ...counted, form: event.form };
    case 'trace':
      // The first trace id wins: later ones (sub-agents) do not name the supervisor's trace.
      return state.traceId ? counted : { ...counted, traceId: event.traceId };
    case 'note':
      return counted;
  }
}

/** All streamed text, streams joined in the order they started. */
export function streamedText(state: TurnState): string {
  return state.streams.map((s) => s.text).join('');
}

export type FinalTextSource = AnswerSource | 'message' | 'stream';

export interface FinalText {
  text: string;
  source: FinalTextSource;
  /** The agent that produced it, when the stream said so. */
  agent?: string;
}

/**
 * The answer to show: `final_result` > `complete_result` > `partial_result` > the last agent
 * message > the streamed text. Blank candidates are skipped.
 */
export function finalText(state: TurnState): FinalText | undefined {
  for (const source of ANSWER_PRIORITY) {
    const candidate = state.answers[source];
    if (candidate?.text.trim()) {
      return { text: candidate.text, source, ...(candidate.agent ? { agent: candidate.agent } : {}) };
    }
  }
  if (state.lastMessage?.trim()) return { text: state.lastMessage, source: 'message' };
  const streamed = streamedText(state);
  if (streamed.trim()) {
    const agent = state.streams.at(-1)?.agent;
    return { text: streamed, source: 'stream', ...(agent ? { agent } : {}) };
  }
  return undefined;
}

/** The step being worked on: the first `in_progress` one. */
export function currentPlanStep(state: TurnState): PlanStep | undefined {
  return state.plan.find((s) => s.status === 'in_progress');
}

export function isTurnOver(state: TurnState): boolean {
  return endsTurn(state.status);
}

/** Folds a whole sequence; handy for replays and tests. */
export function reduceTurnEvents(
  events: Iterable<TurnEvent>,
  start: TurnState = initialTurnState(),
): TurnState {
  let state = start;
  for (const event of events) state = reduceTurn(state, event);
  return state;
}
