/**
 * The A2A v0.3 results a CAIPE supervisor streams for one task, written in one place: the demo
 * agent sends them over its own SSE response (and rewrites them for A2A v1.0), the tests' raw
 * emulator sends them over its exchanges. Each method returns one JSON-RPC `result`; framing,
 * pacing and splitting are the sender's.
 *
 * The shapes follow the recorded supervisor streams and the artifact catalogue of the A2A fact
 * sheet (§B.3–B.6): `kind` discriminators, a `task` that opens `submitted`, `streaming_result`
 * chunks on one artifact id, `tool_notification_start`/`_end` whose description names the tool,
 * the plan as a data part reused under one artifact id, `final_result` then a `completed` status
 * that is `final` and carries the trace id, and a form as a `UserInputMetaData` data part between a
 * `working` lead-in and a final `input-required`.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** One JSON-RPC `result` of a `message/stream` response. */
export type A2aResult = Record<string, unknown>;

export interface PlanStep {
  step_id: string;
  title: string;
  agent: string;
  status: 'pending' | 'in_progress' | 'completed' | 'failed';
}

/** A form in CAIPE's field vocabulary (`field_name`, `field_label`, `field_type`, …). */
export interface FormSpec {
  title: string;
  description: string;
  fields: Array<Record<string, unknown>>;
}

export interface ArtifactOptions {
  /** Defaults to a fresh id per artifact (`<name>-<n>`): tool notifications each get their own. */
  artifactId?: string;
  append?: boolean;
  lastChunk?: boolean;
  metadata?: object;
  description?: string;
}

export interface StatusOptions {
  /** The agent's message with this state (a form's lead-in, a failure's reason). */
  text?: string;
  final?: boolean;
  metadata?: Record<string, unknown>;
}

/** The ids the results name, read when each result is written (a demo turn learns them late). */
export interface TaskIds {
  readonly taskId: string;
  readonly contextId: string;
}

/** The data part of a `UserInputMetaData` artifact: the supervisor's form. */
export function userInputPart(form: FormSpec): { kind: 'data'; data: Record<string, unknown> } {
  return {
    kind: 'data',
    data: {
      user_input: true,
      input_title: form.title,
      input_description: form.description,
      input_fields: form.fields,
    },
  };
}

/** A trace id as the supervisor makes one when tracing is on: 32 lowercase hex. */
export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

/** The results of one task. Keeps only the artifact count (default ids) between calls. */
export class CaipeEvents {
  #artifacts = 0;

  constructor(
    private readonly ids: TaskIds,
    private readonly now: () => number = Date.now,
  ) {}

  /** The first result: the task, `submitted`. */
  task(): A2aResult {
    return {
      kind: 'task',
      id: this.ids.taskId,
      contextId: this.ids.contextId,
      status: { state: 'submitted' },
    };
  }

  status(state: string, options: StatusOptions = {}): A2aResult {
    return {
      kind: 'status-update',
      taskId: this.ids.taskId,
      contextId: this.ids.contextId,
      status: {
        state,
        timestamp: new Date(this.now()).toISOString(),
        ...(options.text
          ? {
              message: {
                kind: 'message',
                role: 'agent',
                messageId: randomUUID(),
                parts: [{ kind: 'text', text: options.text }],
              },
            }
          : {}),
      },
      final: options.final ?? false,
      ...(options.metadata ? { metadata: options.metadata } : {}),
    };
  }

  artifact(name: string, parts: unknown[], options: ArtifactOptions = {}): A2aResult {
    return {
      kind: 'artifact-update',
      taskId: this.ids.taskId,
      contextId: this.ids.contextId,
      artifact: {
        artifactId: options.artifactId ?? `${name}-${++this.#artifacts}`,
        name,
        parts,
        ...(options.description ? { description: options.description } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
      },
      append: options.append ?? false,
      lastChunk: options.lastChunk ?? false,
    };
  }

  /** `execution_plan_update` the first time, `execution_plan_status_update` after, on one artifact id. */
  plan(steps: readonly PlanStep[], first: boolean): A2aResult {
    return this.artifact(
      first ? 'execution_plan_update' : 'execution_plan_status_update',
      [{ kind: 'data', data: { steps: steps.map((step, order) => ({ ...step, order })) } }],
      { artifactId: `plan-${this.ids.taskId}`, metadata: { sourceAgent: 'supervisor' } },
    );
  }

  /** A sub-agent's tool call starting or ending, in the supervisor's words. */
  tool(phase: 'start' | 'end', agent: string, tool: string, planStepId?: string): A2aResult {
    const label = agent.charAt(0).toUpperCase() + agent.slice(1);
    const text =
      phase === 'start' ? `🔧 ${label}: Calling tool: ${tool}\n` : `✅ ${label}: Tool ${tool} completed\n`;
    return this.artifact(
      phase === 'start' ? 'tool_notification_start' : 'tool_notification_end',
      [{ kind: 'text', text }],
      {
        description: `Tool call ${phase === 'start' ? 'started' : 'completed'}: ${tool}`,
        metadata: {
          sourceAgent: agent,
          agentType: 'sub-agent',
          ...(planStepId ? { plan_step_id: planStepId } : {}),
        },
      },
    );
  }

  /** One chunk of the answer as it streams: the first opens the stream artifact, the rest append. */
  text(chunk: string, first: boolean): A2aResult {
    return this.artifact('streaming_result', [{ kind: 'text', text: chunk }], {
      artifactId: `stream-${this.ids.taskId}`,
      append: !first,
      metadata: { sourceAgent: 'supervisor', agentType: 'streaming', is_final_answer: true },
    });
  }

  /**
   * `final_result`, then the final `completed` status; both name the trace. The supervisor names
   * itself as the answer's `sourceAgent` in some builds and not in others: `agent` says which.
   */
  answer(text: string, options: { traceId?: string; agent?: string } = {}): [A2aResult, A2aResult] {
    const traceId = options.traceId ?? newTraceId();
    return [
      this.artifact('final_result', [{ kind: 'text', text }], {
        lastChunk: true,
        metadata: { trace_id: traceId, ...(options.agent ? { sourceAgent: options.agent } : {}) },
      }),
      this.status('completed', { final: true, metadata: { trace_id: traceId } }),
    ];
  }

  /** A form: the `working` lead-in, the `UserInputMetaData` artifact, the final `input-required`. */
  ask(form: FormSpec): [A2aResult, A2aResult, A2aResult] {
    return [
      this.status('working', { text: form.description }),
      this.artifact('UserInputMetaData', [userInputPart(form)]),
      this.status('input-required', { text: form.description, final: true }),
    ];
  }

  failed(message: string): A2aResult {
    return this.status('failed', { text: message, final: true });
  }

  canceled(): A2aResult {
    return this.status('canceled', { text: 'The task was canceled.', final: true });
  }
}
