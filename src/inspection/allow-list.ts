/**
 * What of the actor system may leave the process for a live inspector, chosen field by field.
 *
 * Nothing here copies an object it was handed: every output value is built from an allow-list of
 * ids, event types, state values and statuses. Invoked actors' `input` and `output`, machine
 * context, event payloads and errors carry message text, emails, tokens, form values and agent
 * output — none of them is read past the few named keys below, so a new private field stays
 * private without anyone remembering to strip it.
 */
import type { InspectionEvent } from 'xstate';

/** What an inspection event's actor is read for (XState's `Actor` has these; its public ref type does not). */
export interface InspectedActor {
  sessionId: string;
  id?: unknown;
  logic?: { config?: unknown };
  _parent?: { sessionId: string };
  getSnapshot(): unknown;
}

export function inspectedActor(event: InspectionEvent): InspectedActor {
  return event.actorRef as unknown as InspectedActor;
}

/** Context keys whose values are ids a developer needs to follow one conversation. */
const ID_KEYS = ['key', 'roomId', 'roomType', 'contextId', 'taskId', 'traceId'] as const;
/** Context keys whose arrays are shown as a count only. */
const COUNTED_KEYS = { queue: 'queued' } as const;
const SNAPSHOT_STATUSES = new Set(['active', 'done', 'error', 'stopped']);
/** Ids, event types and state names are short; anything longer is not one of them. */
const MAX_TOKEN_CHARS = 200;
/** Deeper state values or machine outlines than this are cut: no chart of ours nests further. */
const MAX_DEPTH = 12;

/** One inspection event reduced to what may leave the process. */
export interface InspectionRecord {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  sessionId: string;
  /** The actor's id under its parent (`bot`, a room id, a conversation key, an invoke id). */
  actorId: string;
  rootId?: string;
  parentId?: string;
  /** `@xstate.event`: the sender's session. */
  sourceId?: string;
  /** The event's `type` only. */
  eventType?: string;
  /** Machine snapshots only: the state value (state names). */
  value?: StateValue;
  status?: string;
  /** Allow-listed ids and counts from a machine's context. */
  context?: Record<string, string | number>;
}

export type StateValue = string | { [state: string]: StateValue };

function token(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_TOKEN_CHARS ? value : undefined;
}

function plainObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A machine's state value is made of state names; anything else is dropped. */
export function allowedStateValue(value: unknown, depth = 0): StateValue | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const name = token(value);
  if (name !== undefined) return name;
  const object = plainObject(value);
  if (!object) return undefined;
  const out: Record<string, StateValue> = {};
  for (const [state, inner] of Object.entries(object)) {
    const kept = token(state) !== undefined ? allowedStateValue(inner, depth + 1) : undefined;
    if (kept !== undefined) out[state] = kept;
  }
  return out;
}

export function allowedContext(context: unknown): Record<string, string | number> | undefined {
  const object = plainObject(context);
  if (!object) return undefined;
  const out: Record<string, string | number> = {};
  for (const key of ID_KEYS) {
    const id = token(object[key]);
    if (id !== undefined) out[key] = id;
  }
  for (const [key, label] of Object.entries(COUNTED_KEYS)) {
    const list = object[key];
    if (Array.isArray(list)) out[label] = list.length;
  }
  return out;
}

interface SnapshotLike {
  status?: unknown;
  value?: unknown;
  context?: unknown;
}

/** Whether the actor runs a state machine (whose snapshot has a value and a context of ours). */
function isMachine(ref: InspectedActor): boolean {
  return plainObject(ref.logic?.config) !== undefined;
}

function snapshotFields(
  ref: InspectedActor,
  snapshot: unknown,
): Pick<InspectionRecord, 'status' | 'value' | 'context'> {
  const s = (plainObject(snapshot) ?? {}) as SnapshotLike;
  const out: Pick<InspectionRecord, 'status' | 'value' | 'context'> = {};
  if (typeof s.status === 'string' && SNAPSHOT_STATUSES.has(s.status)) out.status = s.status;
  // A promise or callback actor's snapshot holds its input and output, never a state value: only
  // machines' snapshots are read past the status.
  if (!isMachine(ref)) return out;
  const value = allowedStateValue(s.value);
  if (value !== undefined) out.value = value;
  const context = allowedContext(s.context);
  if (context && Object.keys(context).length > 0) out.context = context;
  return out;
}

function eventTypeOf(event: unknown): string | undefined {
  return token(plainObject(event)?.type);
}

/**
 * An actor's registration; with a snapshot (a viewer that connects late) it carries its current
 * state too.
 */
export function actorRecord(
  ref: InspectedActor,
  rootId: string | undefined,
  snapshot?: unknown,
): InspectionRecord {
  return {
    type: '@xstate.actor',
    sessionId: ref.sessionId,
    actorId: token(ref.id) ?? ref.sessionId,
    ...(token(rootId) ? { rootId } : {}),
    ...(ref._parent ? { parentId: ref._parent.sessionId } : {}),
    ...(snapshot === undefined ? { status: 'active' } : snapshotFields(ref, snapshot)),
  };
}

/**
 * The allow-listed record of one XState inspection event, or undefined for kinds no viewer needs
 * (`@xstate.microstep`, `@xstate.action`).
 */
export function toInspectionRecord(event: InspectionEvent): InspectionRecord | undefined {
  const ref = inspectedActor(event);
  const base = {
    sessionId: ref.sessionId,
    actorId: token(ref.id) ?? ref.sessionId,
    ...(token(event.rootId) ? { rootId: event.rootId } : {}),
  };
  switch (event.type) {
    case '@xstate.actor':
      // Sent while the actor is being constructed: its snapshot cannot be read yet (XState throws).
      return actorRecord(ref, event.rootId);
    case '@xstate.event': {
      const eventType = eventTypeOf(event.event);
      return {
        type: event.type,
        ...base,
        ...(event.sourceRef ? { sourceId: event.sourceRef.sessionId } : {}),
        ...(eventType ? { eventType } : {}),
      };
    }
    case '@xstate.snapshot': {
      const eventType = eventTypeOf(event.event);
      return {
        type: event.type,
        ...base,
        ...(eventType ? { eventType } : {}),
        ...snapshotFields(ref, event.snapshot),
      };
    }
    default:
      return undefined;
  }
}

/** A machine's structure for drawing it: state names, transitions' event names and targets. */
export interface MachineOutline {
  id?: string;
  type?: string;
  initial?: string;
  states?: Record<string, MachineOutline>;
  on?: Record<string, { target: string[] }>;
  invoke?: Array<{ id?: string; src?: string }>;
  after?: Record<string, { target: string[] }>;
}

function targetsOf(transition: unknown): string[] {
  const list = Array.isArray(transition) ? transition : [transition];
  const targets: string[] = [];
  for (const item of list) {
    const object = plainObject(item);
    const raw = typeof item === 'string' ? item : object?.target;
    for (const target of Array.isArray(raw) ? raw : [raw]) {
      const name = token(target);
      if (name !== undefined) targets.push(name);
    }
  }
  return targets;
}

function transitionsOf(map: unknown): Record<string, { target: string[] }> | undefined {
  const object = plainObject(map);
  if (!object) return undefined;
  const out: Record<string, { target: string[] }> = {};
  for (const [eventType, transition] of Object.entries(object)) {
    if (token(eventType) !== undefined) out[eventType] = { target: targetsOf(transition) };
  }
  return out;
}

/**
 * The outline of a machine config, read through the same allow-list: the Stately inspector draws
 * the chart from it. Guards, actions, context factories and params are left out.
 */
export function machineOutline(config: unknown, depth = 0): MachineOutline {
  const object = plainObject(config);
  if (!object || depth > MAX_DEPTH) return {};
  const out: MachineOutline = {};
  const id = token(object.id);
  if (id !== undefined) out.id = id;
  const type = token(object.type);
  if (type !== undefined) out.type = type;
  const initial = token(object.initial);
  if (initial !== undefined) out.initial = initial;
  const states = plainObject(object.states);
  if (states) {
    out.states = {};
    for (const [name, state] of Object.entries(states)) {
      if (token(name) !== undefined) out.states[name] = machineOutline(state, depth + 1);
    }
  }
  const on = transitionsOf(object.on);
  if (on) out.on = on;
  const after = transitionsOf(object.after);
  if (after) out.after = after;
  if (object.invoke !== undefined) {
    const invokes = Array.isArray(object.invoke) ? object.invoke : [object.invoke];
    out.invoke = invokes.map((item) => {
      const invoke = plainObject(item) ?? {};
      const entry: { id?: string; src?: string } = {};
      const invokeId = token(invoke.id);
      if (invokeId !== undefined) entry.id = invokeId;
      const src = token(invoke.src);
      if (src !== undefined) entry.src = src;
      return entry;
    });
  }
  return out;
}
