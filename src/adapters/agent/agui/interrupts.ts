/**
 * Interrupts of the run-based backends as the bot's forms, and the user's answer as each backend's
 * resume payload.
 *
 * Three shapes arrive (see docs/agents.md):
 * - AG-UI 1.0: `RUN_FINISHED.outcome = {type:"interrupt", interrupts:[{id, reason, message?,
 *   toolCallId?, responseSchema?}]}`; answered by a new run with `resume:[{interruptId, status,
 *   payload}]`. A `responseSchema` with properties becomes one field per property; a tool approval
 *   (a `toolCallId`, or a reason naming approval) becomes an approve / reject choice; anything else
 *   one free-text field.
 * - LangGraph legacy (ag-ui-protocol/ag-ui `integrations/langgraph`, `LangGraphEventTypes.OnInterrupt`):
 *   a `CUSTOM` event `on_interrupt` whose `value` is the interrupt value (JSON text or a string),
 *   then a plain `RUN_FINISHED`; answered through `forwardedProps.command.resume`.
 * - CAIPE ≥0.6 (reference caipe-current.md §1.6): a string `outcome:"interrupt"` with a top-level
 *   `interrupt:{id, reason, payload}`; `human_input` carries `{prompt, fields[]}`, `tool_approval`
 *   carries `{tool_name, tool_args, allowed_decisions}`; answered on `stream/resume` with a
 *   `resume_data` JSON string.
 */
import { messages } from '../../../render/messages.js';
import { parseFormField } from '../a2a/form.js';
import type { InterruptRef } from '../handle.js';
import type { AgentForm, FormField, TurnRequest } from '../port.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Most fields a form built from an agent's schema may have; the rest are left out. */
const MAX_FIELDS = 20;
/** Most characters of a tool's arguments shown on an approval form. */
const MAX_ARGS_CHARS = 1_500;

export interface InterruptForm {
  form: AgentForm;
  ref: InterruptRef;
  /** What the agent asked, for the question above the card. */
  message?: string;
}

const DECISION_FIELD = 'decision';
const FREE_TEXT_FIELD = 'response';

function decisionField(allowed?: readonly string[]): FormField {
  const offered = (allowed ?? ['approve', 'reject']).filter((d) => d === 'approve' || d === 'reject');
  const options = (offered.length > 0 ? offered : ['approve', 'reject']).map((value) => ({
    value,
    label: value === 'approve' ? messages.approvalApprove : messages.approvalReject,
  }));
  return {
    name: DECISION_FIELD,
    label: messages.approvalDecisionLabel,
    type: 'select',
    required: true,
    options,
    defaultValue: options[0]!.value,
  };
}

function freeTextField(): FormField {
  return { name: FREE_TEXT_FIELD, label: messages.freeTextAnswerLabel, type: 'text', required: true };
}

/** Where a LangGraph `on_interrupt` came from: it names no ids of its own. */
const LEGACY: Pick<InterruptRef, 'style' | 'ids' | 'reason'> = {
  style: 'legacy',
  ids: [],
  reason: 'langgraph',
};

/** An interrupt that names no fields: one free-text answer, its message as the question. */
function freeTextInterrupt(
  from: Pick<InterruptRef, 'style' | 'ids' | 'reason'>,
  source: string,
  raw: unknown,
  message: string | undefined,
  title?: string,
): InterruptForm {
  return {
    form: {
      ...(title ? { title } : {}),
      ...(message ? { description: message } : {}),
      fields: [freeTextField()],
      source,
      raw,
    },
    ref: { ...from, ids: [...from.ids], answer: 'text', field: FREE_TEXT_FIELD },
    ...(message ? { message } : {}),
  };
}

function argsText(args: unknown): string | undefined {
  if (args === undefined || args === null) return undefined;
  const text = typeof args === 'string' ? args : JSON.stringify(args, null, 2);
  if (!text || text === '{}') return undefined;
  return text.length > MAX_ARGS_CHARS ? `${text.slice(0, MAX_ARGS_CHARS)}…` : text;
}

function approvalForm(
  source: string,
  toolName: string,
  args: unknown,
  raw: unknown,
  allowed?: string[],
): AgentForm {
  const shown = argsText(args);
  return {
    title: messages.approvalTitle(toolName),
    ...(shown ? { description: `\`${toolName}\`\n\n${shown}` } : {}),
    fields: [decisionField(allowed)],
    source,
    raw,
  };
}

/** JSON Schema `properties` as form fields (`enum` → select, arrays of enums → multiselect, formats). */
export function fieldsFromSchema(schema: unknown): FormField[] | undefined {
  if (!isObject(schema) || !isObject(schema.properties)) return undefined;
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : [],
  );
  const fields: FormField[] = [];
  for (const [name, raw] of Object.entries(schema.properties).slice(0, MAX_FIELDS)) {
    const prop = isObject(raw) ? raw : {};
    const items = isObject(prop.items) ? prop.items : {};
    const enumValues = Array.isArray(prop.enum)
      ? prop.enum
      : Array.isArray(items.enum)
        ? items.enum
        : undefined;
    const format = str(prop.format);
    const type =
      prop.type === 'array' && enumValues
        ? 'multiselect'
        : enumValues
          ? 'select'
          : prop.type === 'boolean'
            ? 'boolean'
            : prop.type === 'number' || prop.type === 'integer'
              ? 'number'
              : format === 'email'
                ? 'email'
                : format === 'uri' || format === 'url'
                  ? 'url'
                  : 'text';
    const field = parseFormField({
      field_name: name,
      field_label: str(prop.title) ?? name,
      field_description: str(prop.description),
      field_type: type,
      field_values: enumValues,
      required: required.has(name),
      default_value: prop.default,
    });
    if (field) fields.push(field);
  }
  return fields.length > 0 ? fields : undefined;
}

/** An AG-UI 1.0 `RUN_FINISHED` interrupt outcome (the first interrupt is asked; see `aguiResume`). */
export function formOfAguiInterrupts(interrupts: readonly unknown[]): InterruptForm | undefined {
  const list = interrupts.filter(isObject).filter((i) => str(i.id));
  const first = list[0];
  if (!first) return undefined;
  const ids = list.map((i) => String(i.id));
  const reason = str(first.reason) ?? 'input';
  const message = str(first.message);
  const schemaFields = fieldsFromSchema(first.responseSchema);
  if (schemaFields) {
    const title = isObject(first.responseSchema) ? str(first.responseSchema.title) : undefined;
    return {
      form: {
        ...(title ? { title } : {}),
        ...(message ? { description: message } : {}),
        fields: schemaFields,
        source: `agui:${reason}`,
        raw: first,
      },
      ref: { style: 'agui', ids, reason, answer: 'fields' },
      ...(message ? { message } : {}),
    };
  }
  if (str(first.toolCallId) || /approv/i.test(reason)) {
    const metadata = isObject(first.metadata) ? first.metadata : {};
    const toolName = str(metadata.toolName) ?? str(metadata.tool_name) ?? reason;
    const form = approvalForm(`agui:${reason}`, toolName, metadata.toolArgs ?? metadata.tool_args, first);
    return {
      form: message ? { ...form, description: message } : form,
      ref: { style: 'agui', ids, reason, answer: 'decision', field: DECISION_FIELD },
      ...(message ? { message } : {}),
    };
  }
  return freeTextInterrupt({ style: 'agui', ids, reason }, `agui:${reason}`, first, message);
}

/** A LangGraph `on_interrupt` value: JSON text (or an object) or a plain question. */
export function formOfLegacyInterrupt(value: unknown): InterruptForm {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      parsed = value;
    }
  }
  if (isObject(parsed)) {
    const rawFields = Array.isArray(parsed.fields)
      ? parsed.fields
      : Array.isArray(parsed.input_fields)
        ? parsed.input_fields
        : undefined;
    const fields = rawFields
      ?.map(parseFormField)
      .filter((f): f is FormField => f !== undefined)
      .slice(0, MAX_FIELDS);
    const schemaFields = fieldsFromSchema(parsed.responseSchema ?? parsed.schema);
    const message =
      str(parsed.message) ??
      str(parsed.question) ??
      str(parsed.prompt) ??
      str(parsed.description) ??
      str(parsed.content);
    const title = str(parsed.title);
    const chosen = fields && fields.length > 0 ? fields : schemaFields;
    if (chosen) {
      return {
        form: {
          ...(title ? { title } : {}),
          ...(message ? { description: message } : {}),
          fields: chosen,
          source: 'langgraph:on_interrupt',
          raw: parsed,
        },
        ref: { style: 'legacy', ids: [], reason: 'langgraph', answer: 'fields' },
        ...(message ? { message } : {}),
      };
    }
    return freeTextInterrupt(LEGACY, 'langgraph:on_interrupt', parsed, message, title);
  }
  const message = typeof parsed === 'string' && parsed.trim() ? parsed : undefined;
  return freeTextInterrupt(LEGACY, 'langgraph:on_interrupt', parsed ?? null, message);
}

/** CAIPE's top-level `interrupt:{id, reason, payload}`. */
export function formOfCaipeInterrupt(interrupt: unknown): InterruptForm | undefined {
  if (!isObject(interrupt)) return undefined;
  const id = str(interrupt.id) ?? '';
  const reason = str(interrupt.reason) ?? 'human_input';
  const payload = isObject(interrupt.payload) ? interrupt.payload : {};
  if (reason === 'tool_approval') {
    const approvals = Array.isArray(payload.tool_approvals) ? payload.tool_approvals.filter(isObject) : [];
    const toolName =
      str(payload.tool_name) ??
      (approvals.length > 0 ? approvals.map((a) => str(a.tool_name) ?? '?').join(', ') : undefined) ??
      'tool';
    const allowed = Array.isArray(payload.allowed_decisions)
      ? payload.allowed_decisions.filter((d): d is string => typeof d === 'string')
      : undefined;
    return {
      form: approvalForm('caipe:tool_approval', toolName, payload.tool_args, interrupt, allowed),
      ref: { style: 'caipe', ids: [id], reason, answer: 'decision', field: DECISION_FIELD },
    };
  }
  const fields = (Array.isArray(payload.fields) ? payload.fields : [])
    .map(parseFormField)
    .filter((f): f is FormField => f !== undefined)
    .slice(0, MAX_FIELDS);
  const prompt = str(payload.prompt);
  if (fields.length === 0) {
    return freeTextInterrupt({ style: 'caipe', ids: [id], reason }, `caipe:${reason}`, interrupt, prompt);
  }
  return {
    form: { ...(prompt ? { description: prompt } : {}), fields, source: `caipe:${reason}`, raw: interrupt },
    ref: { style: 'caipe', ids: [id], reason, answer: 'fields', field: fields[0]!.name },
    ...(prompt ? { message: prompt } : {}),
  };
}

export interface FormReply {
  values: Record<string, unknown>;
  /** For approvals: the user's decision. */
  approved?: boolean;
  /** True when the user dismissed the form (a `reject` decision on a fields form). */
  dismissed?: boolean;
}

const APPROVE = /^\s*(approve|approved|yes|y|ok|okay|allow|go ahead|confirm)\b/i;
const KEY_VALUE = /^\s*([A-Za-z0-9_.-]{1,64})\s*:\s*(.*)$/;

/**
 * The user's answer to an interrupt, from the turn: the form card's `resume` data part (the
 * card builder writes CAIPE's A2A HITL decision: `approve`, or `edit` with `user_inputs`), or a
 * plain-text reply in the thread (`key: value` lines, else the whole text for the form's one field).
 */
export function replyOf(request: TurnRequest, ref: InterruptRef): FormReply {
  let values: Record<string, unknown> | undefined;
  let decisionType: string | undefined;
  for (const part of request.parts ?? []) {
    if (part.kind !== 'data' || !isObject(part.data.resume)) continue;
    const decisions = Array.isArray(part.data.resume.decisions) ? part.data.resume.decisions : [];
    const decision = isObject(decisions[0]) ? decisions[0] : undefined;
    decisionType = str(decision?.type);
    const args = isObject(decision?.args) && isObject(decision.args.args) ? decision.args.args : undefined;
    if (args && isObject(args.user_inputs)) values = { ...args.user_inputs };
  }
  if (!values && decisionType === undefined) {
    values = {};
    for (const line of request.text.split('\n')) {
      const match = KEY_VALUE.exec(line);
      if (match) values[match[1]!] = match[2]!.trim();
    }
    if (Object.keys(values).length === 0 && request.text.trim())
      values[ref.field ?? FREE_TEXT_FIELD] = request.text.trim();
  }
  values ??= {};
  if (ref.answer === 'decision') {
    const said =
      values[ref.field ?? DECISION_FIELD] ?? (decisionType === 'approve' ? 'approve' : request.text);
    const approved = decisionType === 'reject' ? false : APPROVE.test(String(said ?? ''));
    return { values, approved };
  }
  if (decisionType === 'reject') return { values, dismissed: true };
  return { values };
}

/** CAIPE's `resume_data` (a JSON string) for a reply. */
export function caipeResumeData(ref: InterruptRef, reply: FormReply): string {
  if (ref.answer === 'decision') {
    return JSON.stringify({ type: 'tool_approval', decision: reply.approved ? 'approve' : 'reject' });
  }
  if (reply.dismissed) return JSON.stringify({ type: 'form_input', dismissed: true });
  return JSON.stringify({ type: 'form_input', values: reply.values });
}

/** The AG-UI resume payload of the first interrupt (see `aguiResume`). */
function payloadOf(ref: InterruptRef, reply: FormReply): unknown {
  if (ref.answer === 'decision') return { decision: reply.approved ? 'approve' : 'reject' };
  if (ref.answer === 'text') return String(reply.values[ref.field ?? FREE_TEXT_FIELD] ?? '');
  return reply.values;
}

/**
 * `RunAgentInput.resume` for a reply: the first interrupt (the one the form asked) resolved with
 * the answer, any further ones cancelled — the bot asks one thing at a time.
 */
export function aguiResume(ref: InterruptRef, reply: FormReply): Array<Record<string, unknown>> {
  return ref.ids.map((interruptId, index) =>
    index === 0 && !reply.dismissed
      ? { interruptId, status: 'resolved', payload: payloadOf(ref, reply) }
      : { interruptId, status: 'cancelled' },
  );
}

/** The value of `forwardedProps.command.resume` for a LangGraph legacy interrupt. */
export function legacyResume(ref: InterruptRef, reply: FormReply): unknown {
  return payloadOf(ref, reply);
}
