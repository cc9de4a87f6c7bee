/**
 * The state of one turn, folded from `TurnEvent`s. Pure and protocol neutral: the conversation
 * actor keeps it, the renderer draws the working message and the answer from it.
 *
 * Bounded whatever the agent sends (SPEC "Agent output"): a runaway or hostile agent can make a
 * turn's state grow only up to these caps, and each event costs work in proportion to its own
 * size, never to everything seen so far.
 * - Tools: {@link MAX_TOOL_CALLS} calls are kept; past that the oldest finished one goes (the
 *   working message shows running tools and the last finished one, never old ones). Names and
 *   agents are cut to {@link MAX_NAME_CHARS}, notification texts to {@link MAX_TOOL_TEXT_CHARS}.
 * - Plan: {@link MAX_PLAN_STEPS} steps, titles cut to {@link MAX_STEP_TITLE_CHARS}. A plan sent as
 *   prose is parsed once per event: complete lines become steps as they arrive and only the line
 *   still arriving is re-read (cut to {@link MAX_PLAN_LINE_CHARS}); prose past
 *   {@link MAX_PLAN_TEXT_CHARS} is ignored.
 * - Text: each stream and answer keeps its first {@link MAX_TEXT_CHARS} characters (far above
 *   `AGENT_MAX_ANSWER_CHARS`, which cuts the answer later), at most {@link MAX_STREAMS} streams;
 *   what is dropped is counted (`omittedChars`), so the answer's note can say how much is missing.
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

/** Tool calls kept per turn. */
export const MAX_TOOL_CALLS = 100;
/** Characters kept of a tool, agent or plan-step name or id. */
export const MAX_NAME_CHARS = 200;
/** Characters kept of a tool's notification text. */
export const MAX_TOOL_TEXT_CHARS = 1_000;
/** Plan steps kept; an agent's plan longer than this is shown up to here. */
export const MAX_PLAN_STEPS = 100;
/** Characters kept of a plan step's title (the working message shows fewer). */
export const MAX_STEP_TITLE_CHARS = 500;
/** Characters of prose plan read per turn; later chunks are ignored. */
export const MAX_PLAN_TEXT_CHARS = 64_000;
/** Characters kept of the prose plan's line still arriving (a line is one step). */
export const MAX_PLAN_LINE_CHARS = 2_000;
/** Characters kept per text stream and per answer candidate. */
export const MAX_TEXT_CHARS = 1_000_000;
/** Text streams kept per turn; text of further streams is counted as omitted. */
export const MAX_STREAMS = 50;

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
  /** Characters past {@link MAX_TEXT_CHARS} that were not kept. */
  omittedChars?: number;
}

export interface AnswerCandidate {
  text: string;
  agent?: string;
  /** Characters past {@link MAX_TEXT_CHARS} that were not kept. */
  omittedChars?: number;
}

/** A plan sent as prose, read line by line as it streams. */
export interface ProsePlan {
  /** Steps of the complete lines so far. */
  steps: PlanStep[];
  /** The line still arriving (no newline yet), cut to {@link MAX_PLAN_LINE_CHARS}. */
  tail: string;
  /** Characters of prose read so far, up to {@link MAX_PLAN_TEXT_CHARS}. */
  chars: number;
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
  /** A plan sent as prose: what appended chunks continue. */
  planProse?: ProsePlan;
  /** Tool calls in start order. */
  tools: ToolCall[];
  /** Live text streams in first-seen order. */
  streams: TextStream[];
  /** Characters of streams past {@link MAX_STREAMS} that were not kept. */
  omittedStreamChars?: number;
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

function capName(text: string): string {
  return text.length > MAX_NAME_CHARS ? text.slice(0, MAX_NAME_CHARS) : text;
}

function capText(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** A call fewer: the oldest finished one, else the oldest. */
function withoutOldest(tools: ToolCall[]): ToolCall[] {
  const finished = tools.findIndex((t) => t.status !== 'running');
  const drop = Math.max(finished, 0);
  return [...tools.slice(0, drop), ...tools.slice(drop + 1)];
}

function withTool(tools: ToolCall[], event: Extract<TurnEvent, { type: 'tool' }>): ToolCall[] {
  const name = capName(event.name);
  const agent = event.agent !== undefined ? capName(event.agent) : undefined;
  const base: ToolCall = {
    name,
    status: event.phase === 'start' ? 'running' : event.failed ? 'failed' : 'completed',
    ...(agent ? { agent } : {}),
    ...(event.text ? { text: capText(event.text, MAX_TOOL_TEXT_CHARS) } : {}),
    ...(event.planStepId ? { planStepId: capName(event.planStepId) } : {}),
  };
  const added = (): ToolCall[] => {
    const next = [...tools, base];
    return next.length > MAX_TOOL_CALLS ? withoutOldest(next) : next;
  };
  if (event.phase === 'start') return added();
  // Start and end notifications carry different artifact ids, so an end closes the oldest running
  // call of the same tool and agent; an end with no matching start is still recorded.
  const index = tools.findIndex((t) => t.status === 'running' && t.name === name && t.agent === agent);
  if (index < 0) return added();
  const next = tools.slice();
  const started = next[index]!;
  next[index] = { ...started, status: base.status, ...(base.text ? { text: base.text } : {}) };
  return next;
}

/** `previous` continued or replaced by `chunk`, keeping at most {@link MAX_TEXT_CHARS}. */
function keptText(
  previous: { text: string; omittedChars?: number } | undefined,
  chunk: string,
  append: boolean,
): { text: string; omittedChars?: number } {
  const base = append && previous ? previous : { text: '' };
  const room = Math.max(0, MAX_TEXT_CHARS - base.text.length);
  const omitted = (base.omittedChars ?? 0) + Math.max(0, chunk.length - room);
  const text = chunk.length <= room ? base.text + chunk : base.text + chunk.slice(0, room);
  return omitted > 0 ? { text, omittedChars: omitted } : { text };
}

function withText(state: TurnState, event: Extract<TurnEvent, { type: 'text' }>): TurnState {
  const { streams } = state;
  const index = streams.findIndex((s) => s.id === event.streamId);
  const agent = event.agent ? { agent: capName(event.agent) } : {};
  if (index < 0) {
    if (streams.length >= MAX_STREAMS) {
      return { ...state, omittedStreamChars: (state.omittedStreamChars ?? 0) + event.text.length };
    }
    const kept = keptText(undefined, event.text, false);
    return { ...state, streams: [...streams, { id: capName(event.streamId), ...kept, ...agent }] };
  }
  const next = streams.slice();
  const current = next[index]!;
  const { omittedChars: _omitted, ...rest } = current;
  next[index] = { ...rest, ...agent, ...keptText(current, event.text, event.append) };
  return { ...state, streams: next };
}

function capSteps(steps: readonly PlanStep[]): PlanStep[] {
  return steps.slice(0, MAX_PLAN_STEPS).map((step) => ({
    ...step,
    id: capName(step.id),
    title: capText(step.title, MAX_STEP_TITLE_CHARS),
    ...(step.agent !== undefined ? { agent: capName(step.agent) } : {}),
  }));
}

/** Steps parsed from prose, numbered on from `before` (ids stay stable as lines arrive). */
function numbered(steps: PlanStep[], before: number): PlanStep[] {
  return capSteps(steps.map((step, i) => ({ ...step, id: `text-step-${before + i + 1}` })));
}

const NO_PROSE: ProsePlan = { steps: [], tail: '', chars: 0 };

/** `prose` continued by `chunk`: only the new complete lines and the new tail are parsed. */
function readProse(prose: ProsePlan, chunk: string): ProsePlan {
  const text = prose.tail + chunk;
  const lastBreak = text.lastIndexOf('\n');
  const tail = capText(lastBreak < 0 ? text : text.slice(lastBreak + 1), MAX_PLAN_LINE_CHARS);
  const room = MAX_PLAN_STEPS - prose.steps.length;
  const steps =
    lastBreak < 0 || room <= 0
      ? prose.steps
      : [
          ...prose.steps,
          ...numbered(parsePlanText(text.slice(0, lastBreak)), prose.steps.length).slice(0, room),
        ];
  return { steps, tail, chars: prose.chars + chunk.length };
}

function withPlan(state: TurnState, event: Extract<TurnEvent, { type: 'plan' }>): TurnState {
  if (event.steps) return { ...state, plan: capSteps(event.steps) };
  if (event.text === undefined) return state;
  const previous = event.append ? (state.planProse ?? NO_PROSE) : NO_PROSE;
  const chunk = event.text.slice(0, Math.max(0, MAX_PLAN_TEXT_CHARS - previous.chars));
  // Past the cap an appended chunk changes nothing and costs nothing.
  if (event.append && chunk.length === 0) return state;
  const prose = readProse(previous, chunk);
  const tailSteps =
    prose.steps.length < MAX_PLAN_STEPS
      ? numbered(parsePlanText(prose.tail), prose.steps.length).slice(0, 1)
      : [];
  const steps = [...prose.steps, ...tailSteps];
  // A prose fragment with no list items yet keeps the steps seen so far.
  return { ...state, planProse: prose, plan: steps.length > 0 ? steps : state.plan };
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
      return withText(counted, event);
    case 'answer': {
      const previous = state.answers[event.source];
      const kept = keptText(previous, event.text, event.append === true);
      const agent = event.agent ?? (event.append ? previous?.agent : undefined);
      return {
        ...counted,
        answers: {
          ...state.answers,
          [event.source]: { ...kept, ...(agent ? { agent: capName(agent) } : {}) },
        },
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
  /** Characters of it the turn state did not keep (see {@link MAX_TEXT_CHARS}). */
  omittedChars?: number;
}

/**
 * The answer to show: `final_result` > `complete_result` > `partial_result` > the last agent
 * message > the streamed text. Blank candidates are skipped.
 */
export function finalText(state: TurnState): FinalText | undefined {
  for (const source of ANSWER_PRIORITY) {
    const candidate = state.answers[source];
    if (candidate?.text.trim()) {
      return {
        text: candidate.text,
        source,
        ...(candidate.agent ? { agent: candidate.agent } : {}),
        ...(candidate.omittedChars ? { omittedChars: candidate.omittedChars } : {}),
      };
    }
  }
  if (state.lastMessage?.trim()) return { text: state.lastMessage, source: 'message' };
  const streamed = streamedText(state);
  if (streamed.trim()) {
    const agent = state.streams.at(-1)?.agent;
    const omitted = state.streams.reduce((n, s) => n + (s.omittedChars ?? 0), state.omittedStreamChars ?? 0);
    return {
      text: streamed,
      source: 'stream',
      ...(agent ? { agent } : {}),
      ...(omitted > 0 ? { omittedChars: omitted } : {}),
    };
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
