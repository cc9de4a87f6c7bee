/**
 * A2A v0.3 stream results (the `result` of each JSON-RPC response) → protocol-neutral `TurnEvent`s,
 * following the CAIPE supervisor's artifact catalogue. Pure and stateless: buffering by artifact id,
 * plan merging and answer priority live in the reducer (turn-state.ts).
 */
import type { AgentTaskState, PlanStep, PlanStepStatus, TurnEvent } from '../port.js';
import { isFormArtifactName, parseForm } from './form.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const STATES: ReadonlySet<string> = new Set([
  'submitted',
  'working',
  'input-required',
  'auth-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
  'unknown',
]);

/** v0.3 lowercase states; v1.0 `TASK_STATE_*` and the British spelling are accepted too. */
export function normaliseState(raw: unknown): AgentTaskState {
  if (typeof raw !== 'string') return 'unknown';
  const lower = raw
    .toLowerCase()
    .replace(/^task_state_/, '')
    .replace(/_/g, '-');
  if (lower === 'cancelled') return 'canceled';
  return STATES.has(lower) ? (lower as AgentTaskState) : 'unknown';
}

interface Part {
  kind: string;
  text?: string;
  data?: Json;
}

function readParts(raw: unknown): Part[] {
  if (!Array.isArray(raw)) return [];
  const parts: Part[] = [];
  for (const item of raw) {
    if (!isObject(item)) continue;
    const kind = str(item.kind) ?? str(item.type) ?? (typeof item.text === 'string' ? 'text' : 'unknown');
    parts.push({
      kind,
      ...(typeof item.text === 'string' ? { text: item.text } : {}),
      ...(isObject(item.data) ? { data: item.data } : {}),
    });
  }
  return parts;
}

function partsText(parts: Part[]): string {
  return parts
    .filter((p) => p.kind === 'text' && p.text !== undefined)
    .map((p) => p.text)
    .join('');
}

function partsData(parts: Part[]): Json[] {
  return parts.filter((p) => p.kind === 'data' && p.data !== undefined).map((p) => p.data as Json);
}

/** Text of a status message: a Message object, or (older builds) a bare string. */
function messageText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw.trim() ? raw : undefined;
  if (!isObject(raw)) return undefined;
  const text = partsText(readParts(raw.parts));
  return text.trim() ? text : undefined;
}

function traceOf(...metadatas: unknown[]): TurnEvent[] {
  for (const metadata of metadatas) {
    if (!isObject(metadata)) continue;
    const traceId = str(metadata.trace_id) ?? str(metadata.traceId);
    if (traceId) return [{ type: 'trace', traceId }];
  }
  return [];
}

function ids(result: Json, taskKey: 'id' | 'taskId'): TurnEvent[] {
  const contextId = str(result.contextId);
  const taskId = str(result[taskKey]);
  if (!contextId && !taskId) return [];
  return [{ type: 'ids', ...(contextId ? { contextId } : {}), ...(taskId ? { taskId } : {}) }];
}

function statusEvents(status: unknown): TurnEvent[] {
  if (!isObject(status)) return [];
  const message = messageText(status.message);
  return [{ type: 'status', state: normaliseState(status.state), ...(message ? { message } : {}) }];
}

const STEP_STATUSES: Record<string, PlanStepStatus> = {
  pending: 'pending',
  todo: 'pending',
  not_started: 'pending',
  in_progress: 'in_progress',
  'in-progress': 'in_progress',
  running: 'in_progress',
  active: 'in_progress',
  working: 'in_progress',
  completed: 'completed',
  complete: 'completed',
  done: 'completed',
  success: 'completed',
  skipped: 'completed',
  failed: 'failed',
  error: 'failed',
};

function readSteps(data: Json): PlanStep[] | undefined {
  if (!Array.isArray(data.steps)) return undefined;
  const indexed = data.steps.filter(isObject).map((step, index) => ({ step, index }));
  // `order` is the supervisor's intended sequence; keep arrival order when it is absent or tied.
  indexed.sort((a, b) => {
    const ao = typeof a.step.order === 'number' ? a.step.order : a.index;
    const bo = typeof b.step.order === 'number' ? b.step.order : b.index;
    return ao - bo || a.index - b.index;
  });
  return indexed.map(({ step, index }) => {
    const agent = str(step.agent);
    const status = STEP_STATUSES[String(step.status ?? '').toLowerCase()] ?? 'pending';
    return {
      id: str(step.step_id) ?? str(step.id) ?? `step-${index + 1}`,
      title: str(step.title) ?? str(step.name) ?? str(step.description) ?? `Step ${index + 1}`,
      status,
      ...(agent ? { agent } : {}),
    };
  });
}

const TOOL_NAME_KEYS = ['tool_name', 'toolName', 'name', 'tool', 'function_name', 'functionName', 'function'];
const TOOL_DESCRIPTION = /^Tool call (?:started|completed|failed|ended)\s*:\s*(.+)$/i;

/**
 * The tool's name: explicit metadata keys, then the supervisor's "Tool call started: X" description
 * (which names the sub-agent's own tool, where `sourceAgent` names only the agent), then
 * `sourceAgent`, then the description itself.
 */
function toolName(metadata: Json, description: string | undefined, parts: Part[]): string {
  for (const key of TOOL_NAME_KEYS) {
    const value = metadata[key];
    if (typeof value === 'string' && value.trim()) return value.trim();
    if (isObject(value) && str(value.name)) return String(value.name);
  }
  const fromDescription = description ? TOOL_DESCRIPTION.exec(description.trim())?.[1]?.trim() : undefined;
  if (fromDescription) return fromDescription;
  const agent = str(metadata.sourceAgent);
  if (agent) return agent;
  for (const data of partsData(parts)) {
    for (const key of TOOL_NAME_KEYS) {
      const value = data[key];
      if (typeof value === 'string' && value.trim()) return value.trim();
    }
  }
  return description?.trim() || 'tool';
}

function toolFailed(metadata: Json, parts: Part[], text: string): boolean {
  if (parts.some((p) => p.kind === 'error')) return true;
  const status = String(metadata.status ?? metadata.tool_status ?? '').toLowerCase();
  if (status === 'failed' || status === 'error') return true;
  // Only an explicit failure mark counts: plain "error" in a tool's text is often just its topic.
  return /^\s*(?:❌|⛔)/.test(text);
}

function artifactEvents(result: Json): TurnEvent[] {
  const artifact = result.artifact;
  if (!isObject(artifact)) return [];
  const name = str(artifact.name) ?? '';
  const lower = name.toLowerCase();
  const metadata = isObject(artifact.metadata) ? artifact.metadata : {};
  const parts = readParts(artifact.parts);
  const text = partsText(parts);
  const append = result.append === true;
  const agent = str(metadata.sourceAgent);
  const planStepId = str(metadata.plan_step_id);
  const description = str(artifact.description);
  const extra = { ...(agent ? { agent } : {}), ...(planStepId ? { planStepId } : {}) };

  // Checked in the supervisor's own order: the streaming name first, forms only by exact name.
  if (lower.includes('streaming_result')) {
    const streamId = str(artifact.artifactId) ?? name;
    return [{ type: 'text', streamId, text, append, ...extra }, ...traceOf(metadata)];
  }
  for (const source of ['final_result', 'complete_result', 'partial_result'] as const) {
    if (!lower.includes(source)) continue;
    // Structured sub-agent output comes as a data part; show it rather than nothing.
    const data = partsData(parts);
    const answer = text || (data.length > 0 ? data.map((d) => JSON.stringify(d, null, 2)).join('\n') : '');
    return [
      { type: 'answer', source, text: answer, append, ...(agent ? { agent } : {}) },
      ...traceOf(metadata, result.metadata),
    ];
  }
  if (lower.includes('tool_notification_start') || lower.includes('tool_notification_end')) {
    const phase = lower.includes('tool_notification_start') ? 'start' : 'end';
    const trimmed = text.trim();
    return [
      {
        type: 'tool',
        phase,
        name: toolName(metadata, description, parts),
        ...extra,
        ...(trimmed ? { text: trimmed } : {}),
        ...(phase === 'end' && toolFailed(metadata, parts, text) ? { failed: true } : {}),
      },
    ];
  }
  if (lower.includes('execution_plan')) {
    for (const data of partsData(parts)) {
      const steps = readSteps(data);
      if (steps) return [{ type: 'plan', steps }];
    }
    return text ? [{ type: 'plan', text, append }] : [];
  }
  if (isFormArtifactName(name)) {
    const form = parseForm({
      name,
      ...(description ? { description } : {}),
      metadata,
      data: partsData(parts),
      text,
    });
    return [{ type: 'form', form }];
  }
  const noteText =
    text ||
    partsData(parts)
      .map((d) => JSON.stringify(d))
      .join('\n');
  return noteText
    ? [{ type: 'note', name: name || 'artifact', text: noteText, ...(agent ? { agent } : {}) }]
    : [];
}

export type Classified = { ok: true; events: TurnEvent[] } | { ok: false; reason: string };

/** Events for one stream result. `ok:false` means the result is not an A2A event we understand. */
export function classifyA2AResult(result: unknown): Classified {
  if (!isObject(result)) return { ok: false, reason: 'result is not an object' };
  switch (result.kind) {
    case 'task': {
      const status = statusEvents(result.status);
      const statusMeta = isObject(result.status) ? result.status : {};
      return {
        ok: true,
        events: [...ids(result, 'id'), ...status, ...traceOf(result.metadata, statusMeta.metadata)],
      };
    }
    case 'status-update':
      return {
        ok: true,
        events: [...ids(result, 'taskId'), ...statusEvents(result.status), ...traceOf(result.metadata)],
      };
    case 'artifact-update':
      return { ok: true, events: [...ids(result, 'taskId'), ...artifactEvents(result)] };
    case 'message': {
      if (result.role === 'user') return { ok: true, events: ids(result, 'taskId') };
      const text = partsText(readParts(result.parts));
      return {
        ok: true,
        events: [...ids(result, 'taskId'), ...(text.trim() ? [{ type: 'message', text } as const] : [])],
      };
    }
    default:
      return { ok: false, reason: `unknown result kind ${JSON.stringify(result.kind)}` };
  }
}
