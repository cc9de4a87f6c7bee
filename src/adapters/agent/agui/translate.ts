/**
 * One AG-UI run's events → `TurnEvent`s. Lenient by design, so one translator reads AG-UI 1.0
 * agents and CAIPE ≥0.6's dialect alike: a frame's type may come from its payload or its SSE
 * `event:` line; timestamps are ignored (CAIPE's are float seconds); tool results may be camelCase
 * or snake_case; `RUN_FINISHED.outcome` may be an object (1.0) or a string with a top-level
 * `interrupt` (CAIPE); unknown types and fields are skipped.
 *
 * Mapping:
 * - text messages → live text streams; the answer is the text after the last tool call (agents
 *   narrate before they call tools: "Let me look that up…"), or the last text when none follows;
 * - tool calls → tool progress, finished by their result (or by the agent speaking again, or by
 *   the run's end: CAIPE sends no result for an empty one); `write_todos` calls → the plan;
 * - `STEP_STARTED` / `STEP_FINISHED` → plan steps; a `STATE_SNAPSHOT` holding `todos` or `steps`
 *   → the plan, and the snapshot is kept for the next run's `state`;
 * - `CUSTOM`: LangGraph's `on_interrupt` (a legacy interrupt), CAIPE's `WARNING` (a note) and
 *   `NAMESPACE_CONTEXT` (which sub-agent speaks);
 * - `RUN_FINISHED` / `RUN_ERROR` → the run's ending (read by the client, which emits the final
 *   status, answer or form).
 */
import type { EventType } from '@ag-ui/core';
import type { Logger } from '../../../logger.js';
import type { PlanStep, PlanStepStatus, TurnEvent } from '../port.js';
import {
  formOfAguiInterrupts,
  formOfCaipeInterrupt,
  formOfLegacyInterrupt,
  type InterruptForm,
} from './interrupts.js';

/** The AG-UI 1.0 event names, checked against `@ag-ui/core` at compile time. */
type AguiType = `${EventType}`;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export type RunEnding =
  | { kind: 'success' }
  | { kind: 'interrupt'; interrupt: InterruptForm }
  | { kind: 'cancelled' }
  | { kind: 'error'; message?: string; code?: string };

/** Most arguments kept per tool call (only `write_todos` arguments are read). */
const MAX_TOOL_ARGS_CHARS = 256 * 1024;
/** Most plan steps kept from steps or todos. */
const MAX_STEPS = 50;
/** Most tool calls tracked per run; later ones still show, without argument tracking. */
const MAX_TRACKED_TOOLS = 500;

const PLAN_TOOLS = new Set(['write_todos']);

interface ToolCallState {
  name: string;
  agent?: string;
  args: string;
  ended: boolean;
  finished: boolean;
}

interface Segment {
  id: string;
  text: string;
}

const TODO_STATUS: Record<string, PlanStepStatus> = {
  pending: 'pending',
  in_progress: 'in_progress',
  'in-progress': 'in_progress',
  completed: 'completed',
  done: 'completed',
  failed: 'failed',
};

function stepsFromList(list: unknown, prefix: string): PlanStep[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const steps: PlanStep[] = [];
  for (const [index, item] of list.slice(0, MAX_STEPS).entries()) {
    if (typeof item === 'string') {
      steps.push({ id: `${prefix}-${index + 1}`, title: item, status: 'pending' });
      continue;
    }
    if (!isObject(item)) continue;
    const title = str(item.content) ?? str(item.title) ?? str(item.name) ?? str(item.description);
    if (!title) continue;
    const status = TODO_STATUS[String(item.status ?? '').toLowerCase()] ?? 'pending';
    steps.push({ id: str(item.id) ?? `${prefix}-${index + 1}`, title, status });
  }
  return steps.length > 0 ? steps : undefined;
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
  }
  return '';
}

export class AguiRunTranslator {
  readonly #logger: Logger;
  threadId: string | undefined;
  runId: string | undefined;
  ending: RunEnding | undefined;
  /** The last `STATE_SNAPSHOT`, for the next run's `state`. */
  state: unknown;
  hasState = false;
  #agent: string | undefined;
  #segments: Segment[] = [];
  #finalFrom = 0;
  #currentSegment: Segment | undefined;
  #tools = new Map<string, ToolCallState>();
  #steps: PlanStep[] = [];
  #legacy: unknown[] = [];
  #ignored = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The run's answer: the text after the last tool call, else the last text said. */
  finalAnswer(): string | undefined {
    const tail = this.#segments
      .slice(this.#finalFrom)
      .map((s) => s.text)
      .join('');
    if (tail.trim()) return tail;
    const last = this.#segments.findLast((s) => s.text.trim());
    return last?.text;
  }

  /** Ends every tool call still shown as running (the agent moved on, or the run is over). */
  closeTools(onlyEnded = false): TurnEvent[] {
    const events: TurnEvent[] = [];
    for (const call of this.#tools.values()) {
      if (call.finished || (onlyEnded && !call.ended) || PLAN_TOOLS.has(call.name)) continue;
      call.finished = true;
      events.push({
        type: 'tool',
        phase: 'end',
        name: call.name,
        ...(call.agent ? { agent: call.agent } : {}),
      });
    }
    return events;
  }

  /** Events of one AG-UI frame; `sseName` is the SSE `event:` line, used when the payload has no type. */
  feed(frame: unknown, sseName?: string): TurnEvent[] {
    if (!isObject(frame)) return this.#skip('not an object');
    const type = (str(frame.type) ?? sseName) as AguiType | undefined;
    if (this.ending) {
      this.#logger.debug({ event: 'agent.trailing_event', type }, 'event after the run ended ignored');
      return [];
    }
    const agent = this.#agent ? { agent: this.#agent } : {};
    switch (type) {
      case 'RUN_STARTED':
        this.threadId = str(frame.threadId) ?? str(frame.thread_id) ?? this.threadId;
        this.runId = str(frame.runId) ?? str(frame.run_id) ?? this.runId;
        return [{ type: 'status', state: 'working' }];
      case 'TEXT_MESSAGE_START': {
        const events = this.closeTools(true);
        this.#startSegment(str(frame.messageId) ?? str(frame.message_id));
        return events;
      }
      case 'TEXT_MESSAGE_CONTENT':
      case 'TEXT_MESSAGE_CHUNK': {
        const id = str(frame.messageId) ?? str(frame.message_id);
        const delta = typeof frame.delta === 'string' ? frame.delta : '';
        const events =
          this.#currentSegment && (!id || id === this.#currentSegment.id) ? [] : this.closeTools(true);
        const segment =
          this.#currentSegment && (!id || id === this.#currentSegment.id)
            ? this.#currentSegment
            : this.#startSegment(id);
        if (!delta) return events;
        segment.text += delta;
        return [...events, { type: 'text', streamId: segment.id, text: delta, append: true, ...agent }];
      }
      case 'TEXT_MESSAGE_END':
        this.#currentSegment = undefined;
        return [];
      case 'TOOL_CALL_START':
      case 'TOOL_CALL_CHUNK': {
        const id = str(frame.toolCallId) ?? str(frame.tool_call_id);
        const name = str(frame.toolCallName) ?? str(frame.tool_call_name);
        if (type === 'TOOL_CALL_CHUNK' && (!id || this.#tools.has(id))) {
          if (id && typeof frame.delta === 'string') this.#appendArgs(id, frame.delta);
          return [];
        }
        if (!id || !name) return this.#skip('tool call without id or name');
        this.#currentSegment = undefined;
        // Text said so far was narration: the answer is what comes after the last tool call.
        this.#finalFrom = this.#segments.length;
        if (this.#tools.size < MAX_TRACKED_TOOLS) {
          this.#tools.set(id, { name, args: '', ended: false, finished: false, ...agent });
          if (typeof frame.delta === 'string') this.#appendArgs(id, frame.delta);
        }
        if (PLAN_TOOLS.has(name)) return [];
        return [{ type: 'tool', phase: 'start', name, ...agent }];
      }
      case 'TOOL_CALL_ARGS': {
        const id = str(frame.toolCallId) ?? str(frame.tool_call_id);
        if (id && typeof frame.delta === 'string') this.#appendArgs(id, frame.delta);
        return [];
      }
      case 'TOOL_CALL_END': {
        const id = str(frame.toolCallId) ?? str(frame.tool_call_id);
        const call = id ? this.#tools.get(id) : undefined;
        if (!call) return [];
        call.ended = true;
        if (PLAN_TOOLS.has(call.name)) return this.#planFromArgs(call);
        return [];
      }
      case 'TOOL_CALL_RESULT': {
        const id = str(frame.toolCallId) ?? str(frame.tool_call_id);
        const call = id ? this.#tools.get(id) : undefined;
        if (!call || call.finished || PLAN_TOOLS.has(call.name)) return [];
        call.finished = true;
        const text = resultText(frame.content);
        return [
          {
            type: 'tool',
            phase: 'end',
            name: call.name,
            ...(call.agent ? { agent: call.agent } : {}),
            ...(/^\s*ERROR:/.test(text) ? { failed: true } : {}),
          },
        ];
      }
      case 'STEP_STARTED':
      case 'STEP_FINISHED': {
        const name = str(frame.stepName) ?? str(frame.step_name);
        if (!name) return [];
        const status: PlanStepStatus = type === 'STEP_STARTED' ? 'in_progress' : 'completed';
        const index = this.#steps.findIndex((s) => s.title === name);
        if (index >= 0) this.#steps[index] = { ...this.#steps[index]!, status };
        else if (this.#steps.length < MAX_STEPS)
          this.#steps.push({ id: `step-${this.#steps.length + 1}`, title: name, status });
        return [{ type: 'plan', steps: this.#steps.map((s) => ({ ...s })) }];
      }
      case 'STATE_SNAPSHOT': {
        this.state = frame.snapshot;
        this.hasState = true;
        const snapshot = isObject(frame.snapshot) ? frame.snapshot : {};
        const steps =
          stepsFromList(snapshot.todos, 'todo') ??
          stepsFromList(snapshot.steps, 'step') ??
          stepsFromList(snapshot.plan, 'step');
        return steps ? [{ type: 'plan', steps }] : [];
      }
      case 'CUSTOM':
        return this.#custom(frame);
      case 'RUN_ERROR':
        this.ending = {
          kind: 'error',
          ...(str(frame.message) ? { message: String(frame.message) } : {}),
          ...(str(frame.code) ? { code: String(frame.code) } : {}),
        };
        return [];
      case 'RUN_FINISHED':
        this.threadId = str(frame.threadId) ?? str(frame.thread_id) ?? this.threadId;
        this.runId = str(frame.runId) ?? str(frame.run_id) ?? this.runId;
        this.ending = this.#endingOf(frame);
        return [];
      case 'STATE_DELTA':
      case 'MESSAGES_SNAPSHOT':
      case 'ACTIVITY_SNAPSHOT':
      case 'ACTIVITY_DELTA':
      case 'RAW':
      case 'REASONING_START':
      case 'REASONING_MESSAGE_START':
      case 'REASONING_MESSAGE_CONTENT':
      case 'REASONING_MESSAGE_END':
      case 'REASONING_MESSAGE_CHUNK':
      case 'REASONING_END':
      case 'REASONING_ENCRYPTED_VALUE':
      case 'SUBAGENT_STARTED':
      case 'SUBAGENT_FINISHED':
      case 'SUBAGENT_ERROR':
        // Nothing the Webex view shows (reasoning stays private; deltas need the snapshot they patch).
        return [];
      default:
        return this.#skip(`unknown type ${JSON.stringify(type ?? null)}`);
    }
  }

  /** How many frames were not understood (the client decides whether a cut stream ended badly). */
  get ignored(): number {
    return this.#ignored;
  }

  #skip(reason: string): TurnEvent[] {
    this.#ignored++;
    this.#logger.debug({ event: 'agent.agui_event_skipped', reason }, 'AG-UI event skipped');
    return [];
  }

  #startSegment(id: string | undefined): Segment {
    const segment = { id: id ?? `text-${this.#segments.length + 1}`, text: '' };
    this.#segments.push(segment);
    this.#currentSegment = segment;
    return segment;
  }

  #appendArgs(id: string, delta: string): void {
    const call = this.#tools.get(id);
    if (!call || call.args.length + delta.length > MAX_TOOL_ARGS_CHARS) return;
    call.args += delta;
  }

  #planFromArgs(call: ToolCallState): TurnEvent[] {
    try {
      const args: unknown = JSON.parse(call.args);
      const steps = isObject(args) ? stepsFromList(args.todos, 'todo') : undefined;
      return steps ? [{ type: 'plan', steps }] : [];
    } catch {
      return [];
    }
  }

  #custom(frame: Json): TurnEvent[] {
    const name = str(frame.name);
    const value = frame.value;
    switch (name) {
      case 'on_interrupt':
        this.#legacy.push(value);
        return [];
      case 'NAMESPACE_CONTEXT': {
        const namespace = isObject(value) && Array.isArray(value.namespace) ? value.namespace : [];
        const last = namespace.at(-1);
        this.#agent = typeof last === 'string' && last ? last : undefined;
        return [];
      }
      case 'WARNING': {
        const message = isObject(value) ? str(value.message) : str(value);
        return message ? [{ type: 'note', name: 'warning', text: message }] : [];
      }
      default:
        return [];
    }
  }

  #endingOf(frame: Json): RunEnding {
    const outcome = frame.outcome;
    const kind = isObject(outcome) ? str(outcome.type) : str(outcome);
    if (kind === 'interrupt') {
      const interrupt = isObject(outcome)
        ? formOfAguiInterrupts(Array.isArray(outcome.interrupts) ? outcome.interrupts : [])
        : formOfCaipeInterrupt(frame.interrupt);
      if (interrupt) return { kind: 'interrupt', interrupt };
      this.#logger.warn({ event: 'agent.interrupt_unreadable' }, 'interrupt without a readable request');
      return { kind: 'interrupt', interrupt: formOfLegacyInterrupt(undefined) };
    }
    if (kind === 'cancelled' || kind === 'canceled') return { kind: 'cancelled' };
    if (this.#legacy.length > 0)
      return { kind: 'interrupt', interrupt: formOfLegacyInterrupt(this.#legacy[0]) };
    return { kind: 'success' };
  }
}
