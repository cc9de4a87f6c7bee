/**
 * Errors by fault domain, each with a string `code` a caller can switch on:
 * - `WebexApiError`: Webex answered and said no (status, trackingId).
 * - `TransportError`: the request never completed (refused, reset, timed out).
 * - `AgentError`: the agent failed (HTTP, JSON-RPC error, bad or oversized stream, refused identity).
 * - `ConfigError`: the environment is wrong; the process stops with exit code 78.
 * - `StoreTimeoutError`: the store did not answer within its bound (a stalled MongoDB).
 * - `BotError`: our own code failed while handling a conversation.
 */

export abstract class CodedError extends Error {
  abstract readonly code: string;
}

export interface WebexApiErrorDetails {
  status: number;
  method: string;
  /** The route template or path, never a URL with a token in it. */
  route: string;
  trackingId?: string;
  /** Webex's `message` field or first `errors[].description`. */
  description?: string;
  /** Seconds from a `Retry-After` header, when Webex sent one. */
  retryAfterS?: number;
}

export class WebexApiError extends CodedError {
  readonly code = 'WEBEX_API';
  readonly status: number;
  readonly method: string;
  readonly route: string;
  readonly trackingId: string | undefined;
  readonly description: string | undefined;
  readonly retryAfterS: number | undefined;

  constructor(details: WebexApiErrorDetails) {
    super(
      `Webex ${details.method} ${details.route} answered ${details.status}` +
        (details.description ? `: ${details.description}` : '') +
        (details.trackingId ? ` (trackingId ${details.trackingId})` : ''),
    );
    this.name = 'WebexApiError';
    this.status = details.status;
    this.method = details.method;
    this.route = details.route;
    this.trackingId = details.trackingId;
    this.description = details.description;
    this.retryAfterS = details.retryAfterS;
  }
}

export class TransportError extends CodedError {
  readonly code = 'TRANSPORT';
  /** True when the request may have reached the server (a timeout after sending), so a POST is not retried blindly. */
  readonly ambiguous: boolean;

  constructor(message: string, options: { cause?: unknown; ambiguous?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TransportError';
    this.ambiguous = options.ambiguous ?? false;
  }
}

/** A store call that did not finish within its bound; nothing is known about whether it took effect. */
export class StoreTimeoutError extends CodedError {
  readonly code = 'STORE_TIMEOUT';
  readonly operation: string;
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number) {
    super(`the store did not answer ${operation} within ${timeoutMs} ms`);
    this.name = 'StoreTimeoutError';
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

export type AgentErrorKind =
  | 'unreachable'
  | 'http'
  | 'jsonrpc'
  | 'not-sse'
  | 'stream-cut'
  | 'idle-timeout'
  | 'bad-event'
  | 'task-failed'
  | 'unauthorized'
  /** One SSE event grew past the size cap (4 MB) before it ended. */
  | 'event-too-large'
  /** One SSE event was still incomplete after the time cap (10 s) of trickling bytes. */
  | 'event-too-slow'
  /** The agent refused this person (CAIPE: no `can_use` on the agent, 403 `agent#use`). */
  | 'forbidden'
  /** CAIPE on behalf of a person: someone other than the conversation's owner wrote in its thread (403). */
  | 'not-owner'
  /** On-behalf-of mode: the Webex person has no linked CAIPE (Keycloak) account yet. */
  | 'not-linked'
  /** On-behalf-of mode: the identity provider could not say who the person is or mint their token. */
  | 'identity-unavailable'
  /** The backend cannot do this (e.g. re-attach to a run: AG-UI and CAIPE ≥0.6 have no resubscribe). */
  | 'unsupported';

export class AgentError extends CodedError {
  readonly code = 'AGENT';
  readonly kind: AgentErrorKind;
  /** HTTP status or JSON-RPC error code, when there was one. */
  readonly status: number | undefined;

  constructor(kind: AgentErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AgentError';
    this.kind = kind;
    this.status = options.status;
  }
}

export class ConfigError extends CodedError {
  readonly code = 'CONFIG';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export class BotError extends CodedError {
  readonly code = 'BOT';
  readonly roomId: string | undefined;
  readonly threadKey: string | undefined;

  constructor(message: string, context: { roomId?: string; threadKey?: string; cause?: unknown } = {}) {
    super(message, { cause: context.cause });
    this.name = 'BotError';
    this.roomId = context.roomId;
    this.threadKey = context.threadKey;
  }
}

/** Normalises anything thrown into a `CodedError`, keeping the original as `cause`. */
export function asCodedError(error: unknown): CodedError {
  if (error instanceof CodedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BotError(message, { cause: error });
}
