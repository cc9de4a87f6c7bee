/**
 * HITL forms from the supervisor: a `UserInputMetaData` artifact whose data part is
 * `{user_input, input_title, input_description, input_fields:[{field_name, field_label,
 * field_description, field_type, field_values, required, placeholder, default_value}]}`, or a
 * `caipe_form` artifact carrying `{title, description, fields}` with the same field keys (snake or
 * camel case). Anything we cannot read becomes a field-less form, so the user still sees the question.
 */
import type { AgentForm, FormField, FormFieldOption, FormFieldType } from '../port.js';

const FORM_ARTIFACT_NAMES = new Set(['userinputmetadata', 'caipe_form']);

/** Only the two known names: a name that merely contains "form" ("information", "platform") is not a form. */
export function isFormArtifactName(name: string | undefined): boolean {
  return name !== undefined && FORM_ARTIFACT_NAMES.has(name.trim().toLowerCase());
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(source: Json, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = source[key];
    if (typeof value === 'string' && value.trim()) return value;
  }
  return undefined;
}

const TYPE_ALIASES: Record<string, FormFieldType> = {
  text: 'text',
  string: 'text',
  textarea: 'text',
  str: 'text',
  select: 'select',
  dropdown: 'select',
  choice: 'select',
  enum: 'select',
  radio: 'select',
  multiselect: 'multiselect',
  multi_select: 'multiselect',
  'multi-select': 'multiselect',
  checkboxes: 'multiselect',
  boolean: 'boolean',
  bool: 'boolean',
  checkbox: 'boolean',
  toggle: 'boolean',
  number: 'number',
  integer: 'number',
  int: 'number',
  float: 'number',
  url: 'url',
  uri: 'url',
  email: 'email',
};

function readOptions(value: unknown): FormFieldOption[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const options: FormFieldOption[] = [];
  for (const item of value) {
    if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
      options.push({ value: String(item), label: String(item) });
    } else if (isObject(item)) {
      const optionValue = firstString(item, ['value', 'id', 'name', 'title', 'label']);
      if (optionValue === undefined) continue;
      options.push({
        value: optionValue,
        label: firstString(item, ['label', 'title', 'name']) ?? optionValue,
      });
    }
  }
  return options.length > 0 ? options : undefined;
}

function readType(raw: unknown, hasOptions: boolean): FormFieldType {
  const alias = typeof raw === 'string' ? TYPE_ALIASES[raw.trim().toLowerCase()] : undefined;
  if (alias === 'select' || alias === 'multiselect') return hasOptions ? alias : 'text';
  if (alias) return alias;
  return hasOptions ? 'select' : 'text';
}

function readDefault(raw: unknown, type: FormFieldType): FormField['defaultValue'] | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  switch (type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string') return /^(true|yes|1|on)$/i.test(raw.trim());
      return undefined;
    case 'number': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      return Number.isFinite(n) ? n : undefined;
    }
    case 'multiselect':
      if (Array.isArray(raw)) return raw.map(String);
      return String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return typeof raw === 'object' ? undefined : String(raw);
  }
}

export function parseFormField(raw: unknown): FormField | undefined {
  if (!isObject(raw)) return undefined;
  const name = firstString(raw, ['field_name', 'name', 'fieldName', 'id', 'key']);
  if (!name) return undefined;
  const options = readOptions(raw.field_values ?? raw.options ?? raw.values ?? raw.choices);
  const type = readType(raw.field_type ?? raw.type ?? raw.fieldType, options !== undefined);
  const description = firstString(raw, ['field_description', 'description', 'fieldDescription', 'help']);
  const placeholder = firstString(raw, ['placeholder']);
  const defaultValue = readDefault(raw.default_value ?? raw.defaultValue ?? raw.default ?? raw.value, type);
  const requiredRaw = raw.required;
  return {
    name,
    label: firstString(raw, ['field_label', 'label', 'fieldLabel', 'title']) ?? name,
    type,
    // The supervisor's schema defaults `required` to true.
    required: typeof requiredRaw === 'boolean' ? requiredRaw : requiredRaw !== 'false',
    ...(description ? { description } : {}),
    ...(placeholder ? { placeholder } : {}),
    ...(type === 'select' || type === 'multiselect' ? { options: options ?? [] } : {}),
    ...(defaultValue !== undefined ? { defaultValue } : {}),
  };
}

export interface FormArtifact {
  name: string;
  description?: string;
  metadata?: Json;
  /** Data payloads of the artifact's data parts, in order. */
  data: Json[];
  /** Text of the artifact's text parts, joined. */
  text: string;
}

export function parseForm(artifact: FormArtifact): AgentForm {
  const payload =
    artifact.data.find((d) => Array.isArray(d.input_fields) || Array.isArray(d.fields)) ?? artifact.data[0];
  const meta = artifact.metadata ?? {};
  const source = payload ?? {};
  const rawFields = Array.isArray(source.input_fields)
    ? source.input_fields
    : Array.isArray(source.fields)
      ? source.fields
      : [];
  const fields = rawFields.map(parseFormField).filter((f): f is FormField => f !== undefined);
  const title = firstString(source, ['input_title', 'title']) ?? firstString(meta, ['title', 'input_title']);
  const description =
    firstString(source, ['input_description', 'description']) ??
    firstString(meta, ['description', 'input_description']) ??
    (artifact.text.trim() ? artifact.text.trim() : undefined) ??
    // The supervisor's fallback payload is a raw message dict; its `content` is the question.
    firstString(source, ['content', 'response']);
  return {
    ...(title ? { title } : {}),
    ...(description ? { description } : {}),
    fields,
    source: artifact.name,
    raw: payload ?? null,
  };
}
