/**
 * Adaptive Cards the bot sends (HITL forms, feedback, space authorization) and the reading of what
 * comes back when a user presses a button.
 *
 * Webex renders Adaptive Cards 1.3: one card per message, at most 5 top-level actions, a fallback
 * `markdown` for clients that cannot show cards. When a user presses an `Action.Submit`, Webex
 * merges the action's `data` into the attachment action's `inputs` next to the input values (keyed
 * by input id, values as strings). So every submit action carries its routing data under one key,
 * `_caipe`, and every input id starts with `field:`; a form field named `_caipe` cannot collide.
 *
 * Pure functions: no I/O, no clock. Whether a submission is trusted (its `messageId` is a card the
 * bot sent to that conversation, not yet answered, not expired) is the conversation's decision.
 */
import type { AgentForm, FormField } from '../machines/types.js';
import { truncateWithEllipsis, utf8ByteLength, WEBEX_MESSAGE_BYTE_LIMIT } from './bytes.js';
import { messages } from './messages.js';
import { neutralizeMentions } from './neutralize.js';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** The Adaptive Cards version Webex renders. */
export const ADAPTIVE_CARD_VERSION = '1.3';

/** The data key every `Action.Submit` of ours carries. */
export const CARD_DATA_KEY = '_caipe';

/** Prefix of every input id, so inputs never collide with {@link CARD_DATA_KEY}. */
export const FIELD_ID_PREFIX = 'field:';

/** Webex's limit on top-level card actions. */
export const MAX_CARD_ACTIONS = 5;

/**
 * Upper bound for a card's serialized JSON. Webex rejects large cards without documenting the
 * limit (the simulator uses 28 KB); we keep a margin below it.
 */
export const MAX_CARD_BYTES = 26 * 1024;

export interface CardMessage {
  /** Fallback text for clients that cannot render cards. */
  markdown: string;
  attachments: [{ contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; content: Record<string, unknown> }];
}

/** What every Action.Submit carries under the `_caipe` data key. */
export interface CardActionData {
  kind: 'form' | 'formCancel' | 'feedback';
  /** The conversation key (thread root), so a submission maps back to its conversation. */
  key: string;
  /** Identifies the card instance (one form, one feedback prompt). */
  cardId: string;
  traceId?: string;
  value?: 'positive' | 'negative';
}

export type FieldValue = string | string[] | boolean | number;

export interface ParsedSubmission {
  data: CardActionData;
  /** Submitted input values by form field name (the `field:` prefix removed), as Webex sent them. */
  fields: Record<string, FieldValue>;
}

type Json = Record<string, unknown>;

// ── Building ────────────────────────────────────────────────────────────────────────────────────

function card(body: Json[], actions: Json[]): Json {
  if (actions.length > MAX_CARD_ACTIONS) throw new Error(`a card takes at most ${MAX_CARD_ACTIONS} actions`);
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: ADAPTIVE_CARD_VERSION,
    body,
    ...(actions.length > 0 ? { actions } : {}),
  };
}

function cardMessage(markdown: string, content: Json): CardMessage {
  return {
    markdown: truncateWithEllipsis(markdown, { maxChars: WEBEX_MESSAGE_BYTE_LIMIT }),
    attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content }],
  };
}

function textBlock(text: string, extra: Json = {}): Json {
  return { type: 'TextBlock', text, wrap: true, ...extra };
}

function submitData(data: CardActionData): Json {
  return { [CARD_DATA_KEY]: { ...data } };
}

/** How much of each agent-supplied text survives; tighter levels are tried until the card fits. */
interface Caps {
  title: number;
  description: number;
  label: number;
  fieldDescription: number;
  placeholder: number;
  value: number;
  choiceTitle: number;
  choices: number;
}

const CAP_LEVELS: readonly Caps[] = [
  {
    title: 200,
    description: 3000,
    label: 200,
    fieldDescription: 500,
    placeholder: 200,
    value: 2000,
    choiceTitle: 200,
    choices: 100,
  },
  {
    title: 150,
    description: 1000,
    label: 120,
    fieldDescription: 150,
    placeholder: 100,
    value: 500,
    choiceTitle: 100,
    choices: 40,
  },
  {
    title: 100,
    description: 300,
    label: 80,
    fieldDescription: 0,
    placeholder: 60,
    value: 200,
    choiceTitle: 60,
    choices: 15,
  },
];

/** More fields than this are not shown; the agent can still take the rest as text. */
const MAX_FORM_FIELDS = 50;

/**
 * Text the agent wrote for people to read (titles, descriptions, labels, placeholders, choices):
 * shown, never acted on, so its mention markup is made inert before it is capped.
 */
function cap(text: string, maxChars: number): string {
  return truncateWithEllipsis(neutralizeMentions(text.trim()), { maxChars });
}

/** Flattens to one line (labels, titles, choices); Adaptive Cards would otherwise show raw newlines. */
function capLine(text: string, maxChars: number): string {
  return cap(text.replace(/\s+/g, ' '), maxChars);
}

/** An input's default value: submitted back as typed, so it is only capped, never rewritten. */
function capValue(text: string, maxChars: number): string {
  return truncateWithEllipsis(text.trim(), { maxChars });
}

const URL_REGEX = '^https?://\\S+$';
const EMAIL_REGEX = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';

function fieldInput(field: FormField, caps: Caps): Json {
  const id = `${FIELD_ID_PREFIX}${field.name}`;
  const label = capLine(field.label || field.name, caps.label);
  const common: Json = { id, label };
  const placeholder = field.placeholder ? capLine(field.placeholder, caps.placeholder) : undefined;
  const required = field.required
    ? { isRequired: true, errorMessage: messages.formFieldRequired(label) }
    : {};
  const defaultValue = field.defaultValue;

  const options = field.options ?? [];
  if ((field.type === 'select' || field.type === 'multiselect') && options.length > 0) {
    const multi = field.type === 'multiselect';
    const value = Array.isArray(defaultValue)
      ? defaultValue.join(',')
      : defaultValue !== undefined
        ? String(defaultValue)
        : undefined;
    return {
      type: 'Input.ChoiceSet',
      ...common,
      choices: options.slice(0, caps.choices).map((option) => ({
        title: capLine(option.label || option.value, caps.choiceTitle),
        value: option.value,
      })),
      style: multi ? 'expanded' : 'compact',
      ...(multi ? { isMultiSelect: true } : {}),
      ...(placeholder && !multi ? { placeholder } : {}),
      ...(value ? { value: capValue(value, caps.value) } : {}),
      ...required,
    };
  }

  switch (field.type) {
    case 'boolean': {
      // No `isRequired`: a required toggle would have to be switched on, but a yes/no question
      // accepts both answers.
      const on =
        defaultValue === true ||
        (typeof defaultValue === 'string' && /^(true|yes|1|on)$/i.test(defaultValue));
      // The toggle's own `title` names it; a `label` above it would repeat the same words.
      return {
        type: 'Input.Toggle',
        id,
        title: label,
        valueOn: 'true',
        valueOff: 'false',
        value: on ? 'true' : 'false',
        wrap: true,
      };
    }
    case 'number': {
      const value = typeof defaultValue === 'number' ? defaultValue : Number(defaultValue);
      return {
        type: 'Input.Number',
        ...common,
        ...(placeholder ? { placeholder } : {}),
        ...(defaultValue !== undefined && defaultValue !== '' && Number.isFinite(value) ? { value } : {}),
        ...(field.required ? required : { errorMessage: messages.formFieldInvalidNumber }),
      };
    }
    default: {
      const style = field.type === 'url' ? 'url' : field.type === 'email' ? 'email' : undefined;
      const regex = field.type === 'url' ? URL_REGEX : field.type === 'email' ? EMAIL_REGEX : undefined;
      const formatError =
        field.type === 'url'
          ? messages.formFieldInvalidUrl
          : field.type === 'email'
            ? messages.formFieldInvalidEmail
            : undefined;
      const value =
        defaultValue === undefined || typeof defaultValue === 'boolean'
          ? undefined
          : Array.isArray(defaultValue)
            ? defaultValue.join(', ')
            : String(defaultValue);
      return {
        type: 'Input.Text',
        ...common,
        ...(style ? { style } : {}),
        ...(placeholder ? { placeholder } : {}),
        ...(value ? { value: capValue(value, caps.value) } : {}),
        ...(value?.includes('\n') ? { isMultiline: true } : {}),
        ...(regex ? { regex } : {}),
        ...required,
        // A format error is the more useful message once the field has content.
        ...(formatError ? { errorMessage: formatError } : {}),
      };
    }
  }
}

function formBody(
  form: AgentForm,
  question: string | undefined,
  caps: Caps,
  fieldCount: number,
  shortened: boolean,
): Json[] {
  const body: Json[] = [
    textBlock(capLine(form.title ?? messages.formTitle, caps.title), { weight: 'Bolder', size: 'Medium' }),
    // Everything below is the agent's wording, not the bot's: the card says so before any of it.
    textBlock(messages.formFromAgent, { isSubtle: true, size: 'Small', spacing: 'None' }),
  ];
  const description = form.description?.trim();
  if (description) body.push(textBlock(cap(description, caps.description)));
  const ask = question?.trim();
  if (ask && ask !== description && ask !== form.title?.trim())
    body.push(textBlock(cap(ask, caps.description)));
  for (const field of form.fields.slice(0, fieldCount)) {
    body.push(fieldInput(field, caps));
    if (field.description && caps.fieldDescription > 0) {
      body.push(
        textBlock(cap(field.description, caps.fieldDescription), {
          isSubtle: true,
          size: 'Small',
          spacing: 'None',
        }),
      );
    }
  }
  if (shortened) body.push(textBlock(messages.formShortened, { isSubtle: true, size: 'Small' }));
  return body;
}

function jsonBytes(value: unknown): number {
  return utf8ByteLength(JSON.stringify(value));
}

/**
 * The HITL form: title, description (and the agent's question when it says more), one input per
 * field, Submit and Cancel. Agent-supplied text is capped so the card stays under
 * {@link MAX_CARD_BYTES}; if even the tightest caps do not fit, trailing fields are left out and the
 * card says it was shortened (the user can still answer in the thread).
 */
export function buildFormCard(options: {
  form: AgentForm;
  conversationKey: string;
  cardId: string;
  question?: string;
}): CardMessage {
  const { form, conversationKey, cardId, question } = options;
  const actions = [
    {
      type: 'Action.Submit',
      title: messages.formSubmitButton,
      style: 'positive',
      data: submitData({ kind: 'form', key: conversationKey, cardId }),
    },
    {
      type: 'Action.Submit',
      title: messages.formCancelButton,
      // Cancelling must work with required inputs still empty.
      associatedInputs: 'none',
      data: submitData({ kind: 'formCancel', key: conversationKey, cardId }),
    },
  ];
  const maxFields = Math.min(form.fields.length, MAX_FORM_FIELDS);
  let content: Json | undefined;
  for (const [level, caps] of CAP_LEVELS.entries()) {
    const candidate = card(
      formBody(form, question, caps, maxFields, level > 0 || maxFields < form.fields.length),
      actions,
    );
    if (jsonBytes(candidate) <= MAX_CARD_BYTES) {
      content = candidate;
      break;
    }
  }
  if (!content) {
    const tightest = CAP_LEVELS[CAP_LEVELS.length - 1] as Caps;
    for (let count = maxFields - 1; count >= 0 && !content; count--) {
      const candidate = card(formBody(form, question, tightest, count, true), actions);
      if (jsonBytes(candidate) <= MAX_CARD_BYTES) content = candidate;
    }
    content ??= card(formBody({ ...form, description: undefined }, undefined, tightest, 0, true), actions);
  }
  const ask = question?.trim() || form.description?.trim() || form.title?.trim();
  const markdown = ask ? `${messages.formFallback}\n\n${neutralizeMentions(ask)}` : messages.formFallback;
  return cardMessage(markdown, content);
}

/** The 👍 / 👎 card after an answer; each button carries the answer's trace id. */
export function buildFeedbackCard(options: {
  traceId: string;
  conversationKey: string;
  cardId: string;
}): CardMessage {
  const { traceId, conversationKey, cardId } = options;
  const vote = (title: string, value: 'positive' | 'negative'): Json => ({
    type: 'Action.Submit',
    title,
    data: submitData({ kind: 'feedback', key: conversationKey, cardId, traceId, value }),
  });
  const content = card(
    [textBlock(messages.feedbackPrompt)],
    [vote(messages.feedbackUpButton, 'positive'), vote(messages.feedbackDownButton, 'negative')],
  );
  return cardMessage(messages.feedbackFallback, content);
}

/** The `authorize` command's card: one `Action.OpenUrl` to the CAIPE UI's space authorization. */
export function buildAuthorizeCard(options: { url: string }): CardMessage {
  const content = card(
    [
      textBlock(`🔐 ${messages.authorizeCardTitle}`, { weight: 'Bolder', size: 'Medium' }),
      textBlock(messages.authorizeCardBody),
    ],
    [{ type: 'Action.OpenUrl', title: messages.authorizeCardButton, url: options.url, style: 'positive' }],
  );
  return cardMessage(messages.authorizeCardFallback(options.url), content);
}

// ── Reading submissions ─────────────────────────────────────────────────────────────────────────

const ACTION_KINDS = new Set<CardActionData['kind']>(['form', 'formCancel', 'feedback']);
/** Ids we issue are short; anything longer is not ours. */
const MAX_ID_CHARS = 512;
const MAX_FIELDS = 200;
const MAX_VALUE_CHARS = 20_000;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_CHARS ? value : undefined;
}

function readActionData(raw: unknown): CardActionData | undefined {
  let value = raw;
  // Some clients hand nested data back as a JSON string; accept that form too.
  if (typeof value === 'string' && value.length <= 4 * MAX_ID_CHARS) {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!isObject(value)) return undefined;
  const kind = value.kind;
  if (typeof kind !== 'string' || !ACTION_KINDS.has(kind as CardActionData['kind'])) return undefined;
  const key = idString(value.key);
  const cardId = idString(value.cardId);
  if (!key || !cardId) return undefined;
  const data: CardActionData = { kind: kind as CardActionData['kind'], key, cardId };
  if (value.traceId !== undefined) {
    const traceId = idString(value.traceId);
    if (!traceId) return undefined;
    data.traceId = traceId;
  }
  if (kind === 'feedback') {
    if (value.value !== 'positive' && value.value !== 'negative') return undefined;
    if (!data.traceId) return undefined;
    data.value = value.value;
  }
  return data;
}

function readFieldValue(value: unknown): FieldValue | undefined {
  if (typeof value === 'string') return value.length <= MAX_VALUE_CHARS ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string') && value.length <= MAX_FIELDS) {
    return value as string[];
  }
  return undefined;
}

/**
 * Reads a Webex attachment action's `inputs` (Webex merges the pressed Action.Submit's data into
 * them). Returns undefined when the inputs are not one of our cards or the routing data is malformed;
 * input values that are not plain values are dropped.
 */
export function parseCardSubmission(inputs: Record<string, unknown>): ParsedSubmission | undefined {
  if (!isObject(inputs)) return undefined;
  const data = readActionData(inputs[CARD_DATA_KEY]);
  if (!data) return undefined;
  const fields: Record<string, FieldValue> = {};
  if (data.kind === 'form') {
    let count = 0;
    for (const [id, raw] of Object.entries(inputs)) {
      if (!id.startsWith(FIELD_ID_PREFIX) || count >= MAX_FIELDS) continue;
      const name = id.slice(FIELD_ID_PREFIX.length);
      const value = readFieldValue(raw);
      if (!name || value === undefined) continue;
      // defineProperty: a field named `__proto__` is stored as data, never as the object's prototype.
      Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
      count++;
    }
  }
  return { data, fields };
}

// ── Answering a form ────────────────────────────────────────────────────────────────────────────

type AnswerValue = string | string[] | boolean | number;

/** A submitted value in the field's own type; undefined when the user left it empty. */
function typedValue(field: FormField, raw: FieldValue | undefined): AnswerValue | undefined {
  if (raw === undefined) return undefined;
  switch (field.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'number') return raw !== 0;
      if (typeof raw === 'string') {
        const text = raw.trim();
        if (!text) return undefined;
        return /^(true|yes|1|on)$/i.test(text);
      }
      return undefined;
    case 'number': {
      if (typeof raw === 'number') return raw;
      const text = String(raw).trim();
      if (!text) return undefined;
      const n = Number(text);
      // An unparsable entry is passed on as typed rather than silently lost.
      return Number.isFinite(n) ? n : text;
    }
    case 'multiselect': {
      // Webex sends a multi-select as one comma-joined string.
      const items = (Array.isArray(raw) ? raw : String(raw).split(','))
        .map((item) => String(item).trim())
        .filter(Boolean);
      return items.length > 0 ? items : undefined;
    }
    default: {
      const text = Array.isArray(raw) ? raw.join(', ') : String(raw);
      return text.trim() ? text.trim() : undefined;
    }
  }
}

function displayValue(value: AnswerValue): string {
  const text = Array.isArray(value) ? value.join(', ') : String(value);
  // One line per field, so `key: value` parsing on the agent side stays unambiguous.
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** The agent's own field descriptions with the user's value added, as CAIPE's UI sends them back. */
function inputFieldsWithValues(form: AgentForm, values: Map<string, AnswerValue>): Json[] {
  const raw = isObject(form.raw) ? form.raw : undefined;
  const rawFields =
    raw && Array.isArray(raw.input_fields)
      ? raw.input_fields
      : raw && Array.isArray(raw.fields)
        ? raw.fields
        : undefined;
  if (rawFields?.every(isObject)) {
    return rawFields.map((item) => {
      const name = [item.field_name, item.name, item.fieldName, item.id, item.key].find(
        (v): v is string => typeof v === 'string' && v.trim() !== '',
      );
      const value = name !== undefined ? values.get(name) : undefined;
      return value !== undefined ? { ...item, value } : { ...item };
    });
  }
  return form.fields.map((field) => {
    const value = values.get(field.name);
    return {
      field_name: field.name,
      field_label: field.label,
      field_type: field.type,
      required: field.required,
      ...(field.description ? { field_description: field.description } : {}),
      ...(field.options ? { field_values: field.options.map((o) => o.value) } : {}),
      ...(value !== undefined ? { value } : {}),
    };
  });
}

/**
 * The answer to a form: `field: value` lines (one per filled field, in form order) for the text part,
 * and the `resume` payload per the CAIPE supervisor's HITL contract. Send it as
 * `{ kind: 'data', data: { resume } }` after the text part, with the open task's `taskId`.
 *
 * A form with fields resumes with an `edit` decision carrying `user_inputs`; a form without fields
 * (a plain confirmation) resumes with `approve`.
 */
export function formAnswer(
  form: AgentForm,
  fields: ParsedSubmission['fields'],
): { text: string; resume: Record<string, unknown> } {
  const values = new Map<string, AnswerValue>();
  for (const field of form.fields) {
    const value = typedValue(field, Object.hasOwn(fields, field.name) ? fields[field.name] : undefined);
    if (value !== undefined) values.set(field.name, value);
  }
  if (form.fields.length === 0) {
    return {
      text: 'approve',
      resume: { decisions: [{ type: 'approve', action_name: 'CAIPEAgentResponse' }] },
    };
  }
  const userInputs = Object.fromEntries(values);
  const lines = [...values].map(([name, value]) => `${name}: ${displayValue(value)}`);
  return {
    text: lines.join('\n'),
    resume: {
      decisions: [
        {
          type: 'edit',
          action_name: 'CAIPEAgentResponse',
          args: {
            args: {
              user_inputs: userInputs,
              metadata: { input_fields: inputFieldsWithValues(form, values) },
            },
          },
        },
      ],
    },
  };
}
