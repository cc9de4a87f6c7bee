/**
 * Mercury (the Webex device WebSocket) wire format: the socket URL, the frames the client sends,
 * and a classifier for the frames the server sends. Pure functions; the socket actor owns I/O.
 */

/** Query parameters every connection carries (see docs/connection.md for why each one). */
export const MERCURY_QUERY = {
  outboundWireFormat: 'text',
  bufferStates: 'true',
  aliasHttpStatus: 'true',
} as const;

export function mercuryUrl(webSocketUrl: string): string {
  const url = new URL(webSocketUrl);
  for (const [key, value] of Object.entries(MERCURY_QUERY)) url.searchParams.set(key, value);
  return url.toString();
}

export function authorizationFrame(id: string, token: string): string {
  return JSON.stringify({ id, type: 'authorization', data: { token: `Bearer ${token}` } });
}

export function ackFrame(frameId: string): string {
  return JSON.stringify({ type: 'ack', messageId: frameId });
}

export function pingFrame(id: string): string {
  return JSON.stringify({ id, type: 'ping' });
}

/** The raw activity inside a `conversation.activity` frame; fields are checked by `normalize.ts`. */
import type { RawActivity } from '../../machines/webex-types.js';

export type { RawActivity };

export type ServerFrame =
  | { kind: 'ready'; id?: string; eventType: string; sequenceNumber?: number }
  | { kind: 'pong'; id?: string; sequenceNumber?: number }
  | { kind: 'shutdown'; id?: string; sequenceNumber?: number }
  | { kind: 'activity'; id?: string; activity: RawActivity; sequenceNumber?: number }
  | { kind: 'other'; id?: string; eventType?: string; type?: string; sequenceNumber?: number }
  | { kind: 'malformed'; id?: string; problem: string };

const READY_EVENTS = new Set(['mercury.buffer_state', 'mercury.registration_status']);

/** Parses and classifies one text frame. Never throws: bad input becomes `malformed`. */
export function parseServerFrame(text: string): ServerFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'malformed', problem: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'malformed', problem: 'not a JSON object' };
  }
  const frame = value as Record<string, unknown>;
  const id = typeof frame.id === 'string' && frame.id !== '' ? frame.id : undefined;
  const seq =
    typeof frame.sequenceNumber === 'number' && Number.isSafeInteger(frame.sequenceNumber)
      ? frame.sequenceNumber
      : undefined;
  const common = {
    ...(id === undefined ? {} : { id }),
    ...(seq === undefined ? {} : { sequenceNumber: seq }),
  };
  const type = typeof frame.type === 'string' ? frame.type : undefined;
  if (type === 'pong') return { kind: 'pong', ...common };
  if (type === 'shutdown') return { kind: 'shutdown', ...common };
  const data = frame.data;
  const eventType =
    typeof data === 'object' &&
    data !== null &&
    typeof (data as Record<string, unknown>).eventType === 'string'
      ? ((data as Record<string, unknown>).eventType as string)
      : undefined;
  // Readiness counts only on "non-typed" frames, as the Webex SDK does.
  if (type === undefined && eventType !== undefined && READY_EVENTS.has(eventType)) {
    return { kind: 'ready', eventType, ...common };
  }
  if (eventType === 'conversation.activity') {
    const activity = (data as Record<string, unknown>).activity;
    if (typeof activity !== 'object' || activity === null || Array.isArray(activity)) {
      return {
        kind: 'malformed',
        ...(id === undefined ? {} : { id }),
        problem: 'conversation.activity without activity',
      };
    }
    return { kind: 'activity', activity: activity as RawActivity, ...common };
  }
  return {
    kind: 'other',
    ...common,
    ...(eventType === undefined ? {} : { eventType }),
    ...(type === undefined ? {} : { type }),
  };
}
