/**
 * Live inspection of the actor system (`XSTATE_INSPECT`):
 * - `stately`: a relay on `XSTATE_INSPECT_PORT` for the hosted Stately inspector (the viewer's
 *   browser needs internet to load it); events reach it through `@statelyai/inspect`.
 * - `jsonl`: inspection events as JSON lines under `DATA_DIR`, for offline reading.
 *
 * Either way events are sanitized first: only ids, event types and state values leave the process —
 * never context (tokens, emails, message text) or event payloads.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { AnyEventObject, InspectionEvent } from 'xstate';
import type { Logger } from './logger.js';

export type InspectMode = 'false' | 'stately' | 'jsonl';

export interface Inspection {
  inspect: ((event: InspectionEvent) => void) | undefined;
  close(): Promise<void>;
}

/** What one inspection event says without anything private: who, what kind, which state. */
export interface SanitizedInspectionEvent {
  type: InspectionEvent['type'];
  at: number;
  actorId: string;
  /** For `@xstate.event`: the event's type only. */
  eventType?: string;
  /** For `@xstate.snapshot`: the state value (e.g. `answering`), never context. */
  value?: unknown;
  status?: string;
}

export function sanitizeInspectionEvent(event: InspectionEvent, now: number): SanitizedInspectionEvent {
  const ref = event.actorRef as { id?: string; sessionId?: string };
  const out: SanitizedInspectionEvent = { type: event.type, at: now, actorId: ref.id ?? ref.sessionId ?? '' };
  if ('event' in event && event.event) out.eventType = (event.event as AnyEventObject).type;
  if (event.type === '@xstate.snapshot') {
    const snapshot = event.snapshot as { value?: unknown; status?: string };
    if (snapshot.value !== undefined) out.value = snapshot.value;
    if (snapshot.status !== undefined) out.status = snapshot.status;
  }
  return out;
}

/** Keeps only an event's type: payloads carry message text and emails. */
export function sanitizeEvent(event: AnyEventObject): AnyEventObject {
  return { type: event.type };
}

/** Keeps only the ids a developer needs to follow a conversation; drops everything personal. */
export function sanitizeContext(context: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key of ['key', 'roomType', 'contextId', 'taskId', 'traceId', 'rooms', 'conversations']) {
    if (key in context) kept[key] = context[key];
  }
  if (Array.isArray(context.queue)) kept.queued = context.queue.length;
  return kept;
}

export async function startInspection(options: {
  mode: InspectMode;
  port: number;
  dataDir: string;
  log: Logger;
  now?: () => number;
}): Promise<Inspection> {
  const now = options.now ?? Date.now;
  if (options.mode === 'jsonl') {
    mkdirSync(options.dataDir, { recursive: true });
    const file = path.join(
      options.dataDir,
      `inspect-${new Date(now()).toISOString().replace(/[:.]/g, '-')}.jsonl`,
    );
    const out: WriteStream = createWriteStream(file, { flags: 'a' });
    options.log.info({ file }, 'writing sanitized inspection events');
    return {
      inspect: (event) => {
        out.write(`${JSON.stringify(sanitizeInspectionEvent(event, now()))}\n`);
      },
      close: () => new Promise<void>((resolve) => out.end(() => resolve())),
    };
  }
  if (options.mode === 'stately') {
    const { createInspectorServer } = await import('@statelyai/inspect/server');
    const { createWebSocketInspector } = await import('@statelyai/inspect');
    const server = createInspectorServer({ port: options.port, autoOpen: false });
    const inspector = createWebSocketInspector({
      url: `ws://127.0.0.1:${options.port}`,
      sanitizeEvent,
      sanitizeContext,
    });
    options.log.info(
      { port: options.port },
      'Stately inspector relay listening; open its page in a browser with internet access',
    );
    return {
      inspect: inspector.inspect as (event: InspectionEvent) => void,
      close: async () => {
        inspector.stop();
        server.stop();
      },
    };
  }
  return { inspect: undefined, close: async () => {} };
}
