/**
 * How the demo agent writes one turn on each protocol the bot speaks. The scenario scripts
 * (agent.ts) say what happens — a plan, tool calls, streamed text, an answer, a form, a failure —
 * and a `DemoTurn` writes it as that protocol's server would:
 *
 * - A2A v0.3 as the CAIPE supervisor streams it (sse-starlette's CRLF and `: ping` comments around
 *   the results caipe-events.ts writes: plan and tool artifacts, `UserInputMetaData` forms);
 * - A2A v1.0 as `@a2a-js/sdk` 1.x writes it (wrapper keys, `TASK_STATE_*`, kind-less parts, no
 *   `final`);
 * - AG-UI 1.0 (`data:`-only frames, integer timestamps, the plan as a `STATE_SNAPSHOT` of todos,
 *   forms as a `RUN_FINISHED` interrupt outcome with a `responseSchema`);
 * - CAIPE ≥0.6's Dynamic Agents dialect (`event:` + `data:` frames, float-second timestamps, the
 *   plan as `write_todos` calls, snake_case tool results, `NAMESPACE_CONTEXT`, forms as a string
 *   `interrupt` outcome, RUN_ERROR with no RUN_FINISHED, and a cancel that just ends the stream).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type A2aResult, CaipeEvents, type FormSpec, type PlanStep } from './caipe-events.js';

export type DemoProtocol = 'a2a' | 'a2a-1.0' | 'agui' | 'caipe';

export const DEMO_PROTOCOLS: readonly DemoProtocol[] = ['a2a', 'a2a-1.0', 'agui', 'caipe'];

/** What the page says about the backend in use. */
export const PROTOCOL_LABELS: Record<DemoProtocol, string> = {
  a2a: 'A2A v0.3 (as the CAIPE supervisor)',
  'a2a-1.0': 'A2A v1.0',
  agui: 'AG-UI 1.0',
  caipe: 'CAIPE ≥0.6 (Dynamic Agents through the CAIPE UI backend)',
};

/** The client went away (or the agent is closing): the script stops quietly. */
export class StreamGone extends Error {}

const AGENT_NAME = 'demo-agent';

/** One SSE response for one turn: paced, stoppable by cancel or disconnect. */
export abstract class DemoTurn {
  taskId = '';
  contextId = '';
  cancelled = false;
  #gone = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;

  constructor(protected readonly res: ServerResponse) {
    res.on('close', () => {
      this.#gone = true;
      this.wake();
    });
  }

  /** Ends the current pause early (cancel, disconnect, shutdown). */
  wake(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The pace of the demo: the agent "thinks" for `ms` between events. */
  async pause(ms: number): Promise<void> {
    this.check();
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => this.wake(), ms);
    });
    this.check();
  }

  protected check(): void {
    if (this.#gone || this.res.destroyed) throw new StreamGone();
  }

  protected write(text: string): void {
    this.check();
    this.res.write(text);
  }

  protected head(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
  }

  end(): void {
    if (!this.res.destroyed && !this.res.writableEnded) this.res.end();
  }

  /** Streams `text` in a few chunks, paced. */
  async stream(text: string, paceMs: number, chunks = 4): Promise<void> {
    const size = Math.max(1, Math.ceil(text.length / chunks));
    for (let i = 0; i < text.length; i += size) {
      this.text(text.slice(i, i + size), i === 0);
      await this.pause(paceMs / 2);
    }
  }

  abstract open(): void;
  abstract plan(steps: PlanStep[], first: boolean): void;
  abstract tool(phase: 'start' | 'end', agent: string, tool: string, planStepId?: string): void;
  /** One chunk of streamed text. */
  abstract text(chunk: string, first: boolean): void;
  /** The final answer, then the end of the turn. */
  abstract answer(text: string): void;
  /** Pauses for a form; returns the key an answer names (task id, interrupt id or conversation id). */
  abstract ask(form: FormSpec): string;
  abstract fail(message: string): void;
  abstract canceled(): void;
}

// ── A2A ────────────────────────────────────────────────────────────────────────────────────────

type Json = Record<string, unknown>;

const V1_STATES: Record<string, string> = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  'input-required': 'TASK_STATE_INPUT_REQUIRED',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
};

function v1Parts(parts: unknown): unknown {
  if (!Array.isArray(parts)) return parts;
  return parts.map((part: Json) => (part.kind === 'data' ? { data: part.data } : { text: part.text }));
}

function v1Status(status: Json): Json {
  const message = status.message as Json | undefined;
  return {
    ...status,
    state: V1_STATES[String(status.state)] ?? status.state,
    ...(message
      ? { message: { ...message, kind: undefined, role: 'ROLE_AGENT', parts: v1Parts(message.parts) } }
      : {}),
  };
}

/** A v0.3 result as v1.0 writes it. */
function toV1(result: Json): Json {
  const { kind, final: _final, ...rest } = result;
  switch (kind) {
    case 'task':
      return { task: { ...rest, status: v1Status(rest.status as Json) } };
    case 'status-update':
      return { statusUpdate: { ...rest, status: v1Status(rest.status as Json) } };
    default: {
      const artifact = rest.artifact as Json;
      return { artifactUpdate: { ...rest, artifact: { ...artifact, parts: v1Parts(artifact.parts) } } };
    }
  }
}

export class A2aTurn extends DemoTurn {
  readonly #eol = '\r\n';
  readonly #events = new CaipeEvents(this);

  constructor(
    res: ServerResponse,
    private readonly rpcId: string | number | null,
    private readonly version: '0.3' | '1.0',
  ) {
    super(res);
  }

  open(): void {
    this.head();
    this.write(`: ping - ${new Date().toISOString()}${this.#eol}${this.#eol}`);
    this.#send(this.#events.task(), this.#events.status('working'));
  }

  #send(...results: A2aResult[]): void {
    for (const result of results) {
      const body = this.version === '1.0' ? toV1(result) : result;
      this.write(
        `data: ${JSON.stringify({ jsonrpc: '2.0', id: this.rpcId, result: body })}${this.#eol}${this.#eol}`,
      );
    }
  }

  plan(steps: PlanStep[], first: boolean): void {
    this.#send(this.#events.plan(steps, first));
  }

  tool(phase: 'start' | 'end', agent: string, tool: string, planStepId?: string): void {
    this.#send(this.#events.tool(phase, agent, tool, planStepId));
  }

  text(chunk: string, first: boolean): void {
    this.#send(this.#events.text(chunk, first));
  }

  answer(text: string): void {
    this.#send(...this.#events.answer(text, { agent: 'supervisor' }));
  }

  ask(form: FormSpec): string {
    this.#send(...this.#events.ask(form));
    return this.taskId;
  }

  fail(message: string): void {
    this.#send(this.#events.failed(message));
  }

  canceled(): void {
    this.#send(this.#events.canceled());
  }
}

// ── AG-UI and CAIPE's dialect ──────────────────────────────────────────────────────────────────

/** JSON Schema of a form, for an AG-UI 1.0 interrupt's `responseSchema`. */
function responseSchema(form: FormSpec): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const field of form.fields) {
    const name = String(field.field_name);
    const type = String(field.field_type ?? 'text');
    properties[name] = {
      title: field.field_label ?? name,
      ...(field.field_description ? { description: field.field_description } : {}),
      ...(type === 'number'
        ? { type: 'number' }
        : type === 'boolean'
          ? { type: 'boolean' }
          : { type: 'string' }),
      ...(Array.isArray(field.field_values) ? { enum: field.field_values } : {}),
      ...(field.default_value !== undefined ? { default: field.default_value } : {}),
    };
    if (field.required === true) required.push(name);
  }
  return { type: 'object', title: form.title, properties, required };
}

/** What AG-UI and CAIPE streams share: text messages that end before tools, runs that end once. */
abstract class FrameTurn extends DemoTurn {
  #message: string | undefined;
  #sinceTool = '';
  protected runId = `run-${randomBytes(6).toString('hex')}`;

  protected abstract frame(type: string, fields?: Json): void;

  open(): void {
    this.head();
    this.frame('RUN_STARTED', { runId: this.runId, threadId: this.contextId });
  }

  protected closeMessage(): void {
    if (!this.#message) return;
    this.frame('TEXT_MESSAGE_END', { messageId: this.#message });
    this.#message = undefined;
  }

  protected toolStarted(): void {
    this.closeMessage();
    this.#sinceTool = '';
  }

  text(chunk: string, first: boolean): void {
    if (first || !this.#message) {
      this.closeMessage();
      this.#message = `msg-${randomUUID()}`;
      this.frame('TEXT_MESSAGE_START', { messageId: this.#message, role: 'assistant' });
    }
    this.frame('TEXT_MESSAGE_CONTENT', { messageId: this.#message, delta: chunk });
    this.#sinceTool += chunk;
  }

  /** The answer is the text after the last tool call: say it unless it was just streamed. */
  protected say(text: string): void {
    if (this.#sinceTool !== text) this.text(text, true);
    this.closeMessage();
  }
}

export class AguiTurn extends FrameTurn {
  #tools = 0;

  protected frame(type: string, fields: Json = {}): void {
    this.write(`data: ${JSON.stringify({ type, timestamp: Date.now(), ...fields })}\n\n`);
  }

  plan(steps: PlanStep[]): void {
    this.frame('STATE_SNAPSHOT', {
      snapshot: { todos: steps.map((s) => ({ id: s.step_id, content: s.title, status: s.status })) },
    });
  }

  tool(phase: 'start' | 'end', _agent: string, tool: string): void {
    const id = `call-${phase === 'start' ? ++this.#tools : this.#tools}`;
    if (phase === 'start') {
      this.toolStarted();
      this.frame('TOOL_CALL_START', { toolCallId: id, toolCallName: tool });
      this.frame('TOOL_CALL_ARGS', { toolCallId: id, delta: '{}' });
      this.frame('TOOL_CALL_END', { toolCallId: id });
    } else {
      this.frame('TOOL_CALL_RESULT', {
        messageId: `result-${id}`,
        toolCallId: id,
        content: 'ok',
        role: 'tool',
      });
    }
  }

  answer(text: string): void {
    this.say(text);
    this.frame('RUN_FINISHED', { runId: this.runId, threadId: this.contextId, outcome: { type: 'success' } });
  }

  ask(form: FormSpec): string {
    this.closeMessage();
    const id = `interrupt-${randomBytes(6).toString('hex')}`;
    this.frame('RUN_FINISHED', {
      runId: this.runId,
      threadId: this.contextId,
      outcome: {
        type: 'interrupt',
        interrupts: [
          { id, reason: 'input_required', message: form.description, responseSchema: responseSchema(form) },
        ],
      },
    });
    return id;
  }

  fail(message: string): void {
    this.frame('RUN_ERROR', { message, code: 'demo_failure' });
  }

  canceled(): void {
    this.frame('RUN_FINISHED', {
      runId: this.runId,
      threadId: this.contextId,
      outcome: { type: 'cancelled' },
    });
  }
}

export class CaipeTurn extends FrameTurn {
  #tools = 0;
  #namespace = '';

  constructor(res: ServerResponse, conversationId: string) {
    super(res);
    this.contextId = conversationId;
    this.taskId = conversationId;
  }

  protected frame(type: string, fields: Json = {}): void {
    // DA writes `time.time()`: float seconds.
    this.write(
      `event: ${type}\ndata: ${JSON.stringify({ type, timestamp: Date.now() / 1000, ...fields })}\n\n`,
    );
  }

  #enter(agent: string): void {
    const namespace = agent === 'supervisor' ? '' : agent;
    if (namespace === this.#namespace) return;
    this.#namespace = namespace;
    this.frame('CUSTOM', { name: 'NAMESPACE_CONTEXT', value: { namespace: namespace ? [namespace] : [] } });
  }

  plan(steps: PlanStep[]): void {
    const id = `call-todos-${++this.#tools}`;
    this.toolStarted();
    this.frame('TOOL_CALL_START', { toolCallId: id, toolCallName: 'write_todos' });
    const todos = steps.map((s) => ({
      content: s.title,
      status: s.status === 'failed' ? 'completed' : s.status,
    }));
    this.frame('TOOL_CALL_ARGS', { toolCallId: id, delta: JSON.stringify({ todos }) });
    this.frame('TOOL_CALL_END', { toolCallId: id });
  }

  tool(phase: 'start' | 'end', agent: string, tool: string): void {
    const id = `call-${phase === 'start' ? ++this.#tools : this.#tools}`;
    if (phase === 'start') {
      this.toolStarted();
      this.#enter(agent);
      this.frame('TOOL_CALL_START', { toolCallId: id, toolCallName: tool });
      this.frame('TOOL_CALL_ARGS', { toolCallId: id, delta: '{}' });
    } else {
      this.frame('TOOL_CALL_RESULT', {
        message_id: `msg-${id}`,
        tool_call_id: id,
        content: 'ok',
        role: 'tool',
      });
      this.frame('TOOL_CALL_END', { toolCallId: id });
    }
  }

  answer(text: string): void {
    this.#enter('supervisor');
    this.say(text);
    this.frame('RUN_FINISHED', { runId: this.runId, threadId: this.contextId, outcome: 'success' });
  }

  ask(form: FormSpec): string {
    this.closeMessage();
    const id = `call-input-${++this.#tools}`;
    this.frame('RUN_FINISHED', {
      runId: this.runId,
      threadId: this.contextId,
      outcome: 'interrupt',
      interrupt: {
        id,
        reason: 'human_input',
        payload: { prompt: form.description, fields: form.fields, agent: AGENT_NAME },
      },
    });
    return this.contextId;
  }

  fail(message: string): void {
    this.frame('RUN_ERROR', { message });
  }

  /** CAIPE's cancel only ends the stream: no TEXT_MESSAGE_END, no RUN_FINISHED. */
  canceled(): void {}
}
