/**
 * The HTTP side every agent backend shares: one undici connection pool, the `Authorization`
 * header with a single retry after a 401, non-2xx answers turned into `AgentError`s with a short,
 * redacted body, bounded reads of JSON bodies, and one abort controller per call (`Stopper`) fed
 * by the caller's signal, the idle timeout, the close grace and the stream bounds, which remembers
 * why it fired so the error can say so.
 */
import { Agent, type Dispatcher, request } from 'undici';
import type { Clock } from '../../clock.js';
import { AgentError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { describeUrl, redactText } from './a2a/redact.js';

/** The timer half of a `Clock`: all a client needs for its idle timeout, close grace and bounds. */
export type AgentTimers = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

/** Where the `Authorization` header comes from (e.g. an OAuth2 client-credentials token source). */
export interface AgentAuth {
  /** The full header value (`Bearer …`), or undefined to send none. */
  getAuthHeader(): Promise<string | undefined>;
  /** Called after a 401 before the single retry: drop the cached token. */
  onUnauthorized?(): void | Promise<void>;
}

/** Most bytes of a JSON (non-stream) answer read into memory; SSE has its own bound. */
export const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const IDENTITY_KINDS: ReadonlySet<string> = new Set(['not-linked', 'identity-unavailable', 'forbidden']);

export type ResponseBody = Dispatcher.ResponseData['body'];

/** Why a call's controller aborted. */
export type StopReason =
  | { kind: 'caller'; reason: unknown }
  | { kind: 'idle' }
  | { kind: 'grace' }
  | { kind: 'fault'; error: AgentError };

export interface StopTimer {
  readonly armed: boolean;
  arm(ms: number, onFire: () => void): void;
  clear(): void;
}

/**
 * One call's abort controller, fed by the caller's signal and by our timers (idle timeout, close
 * grace, stream bounds). Remembers why it fired.
 */
export class Stopper {
  readonly #controller = new AbortController();
  readonly #timers: AgentTimers;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: () => void;
  readonly #extra = new Set<StopTimer>();
  #timer: unknown;
  reason: StopReason | undefined;

  constructor(timers: AgentTimers, signal: AbortSignal | undefined) {
    this.#timers = timers;
    this.#signal = signal;
    this.#onAbort = () => this.#stop({ kind: 'caller', reason: signal?.reason });
    if (signal?.aborted) this.#onAbort();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The bound that stopped the call, if one did. */
  get fault(): AgentError | undefined {
    return this.reason?.kind === 'fault' ? this.reason.error : undefined;
  }

  /** (Re)arms the main timer: silence (`idle`) or the wait for the server to close (`grace`). */
  arm(ms: number, kind: 'idle' | 'grace' | 'none'): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (kind === 'none' || this.reason) return;
    this.#timer = this.#timers.setTimeout(() => this.#stop({ kind }), ms);
  }

  /** A further timer (on the call's clock, or the one given), cleared with the call. */
  timer(clock: AgentTimers = this.#timers): StopTimer {
    const timers = clock;
    let handle: unknown;
    const extra: StopTimer = {
      get armed() {
        return handle !== undefined;
      },
      arm: (ms, onFire) => {
        extra.clear();
        if (this.reason) return;
        handle = timers.setTimeout(() => {
          handle = undefined;
          onFire();
        }, ms);
      },
      clear: () => {
        if (handle !== undefined) timers.clearTimeout(handle);
        handle = undefined;
      },
    };
    this.#extra.add(extra);
    return extra;
  }

  /** Stops the call because of a bound; returns the error to throw. */
  fail(error: AgentError): AgentError {
    this.#stop({ kind: 'fault', error });
    return this.fault ?? error;
  }

  #stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.#controller.abort(
      reason.kind === 'caller'
        ? reason.reason
        : reason.kind === 'fault'
          ? reason.error
          : new Error(`agent stream ${reason.kind}`),
    );
  }

  dispose(): void {
    this.arm(0, 'none');
    for (const extra of this.#extra) extra.clear();
    this.#extra.clear();
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

export interface AgentHttpOptions {
  /** A custom undici dispatcher; by default one is created (closed by `close()`). */
  dispatcher?: Dispatcher;
  connectTimeoutMs?: number;
  /** The default credentials; a call may bring its own (a per-person token). */
  auth?: AgentAuth;
  /** The `X-Client-Source` header. */
  clientSource?: string;
  idleTimeoutMs: number;
  logger: Logger;
}

export interface CallSpec {
  url: string;
  method?: 'GET' | 'POST';
  /** JSON text. */
  body?: string;
  accept: string;
  headers?: Record<string, string>;
  /** Overrides the client's credentials for this call; `null` sends none. */
  auth?: AgentAuth | null;
  /** Names the call in logs. */
  label: string;
  /** A backend's reading of a refusal (e.g. CAIPE's 403 codes); undefined keeps the generic error. */
  mapHttpError?(status: number, text: string): AgentError | undefined;
}

export class AgentHttp {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #auth: AgentAuth | undefined;
  readonly #clientSource: string;
  readonly #idleTimeoutMs: number;
  readonly #logger: Logger;
  /** Authorization values sent so far (the last few), scrubbed from any error text. */
  readonly #sentAuth: string[] = [];

  constructor(options: AgentHttpOptions) {
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { timeout: options.connectTimeoutMs ?? 10_000 },
        // Our own idle timer covers the wait for headers and between events; undici's would be
        // reset by pings, which must not count as activity.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    this.#auth = options.auth;
    this.#clientSource = options.clientSource ?? 'webex-bot';
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#logger = options.logger;
  }

  get idleTimeoutMs(): number {
    return this.#idleTimeoutMs;
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  /** Sends the request; a 2xx answer is returned with its body unread, anything else throws. */
  async call(spec: CallSpec, stop: Stopper): Promise<Dispatcher.ResponseData> {
    const auth = spec.auth === null ? undefined : (spec.auth ?? this.#auth);
    let retried = false;
    for (;;) {
      const headers: Record<string, string> = {
        accept: spec.accept,
        'x-client-source': this.#clientSource,
        ...(spec.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...spec.headers,
      };
      const authorization = await this.#authHeader(auth);
      if (authorization) {
        headers.authorization = authorization;
        this.#remember(authorization);
      }
      const response = await request(spec.url, {
        method: spec.method ?? 'POST',
        headers,
        ...(spec.body !== undefined ? { body: spec.body } : {}),
        dispatcher: this.#dispatcher,
        signal: stop.signal,
      });
      if (response.statusCode === 401 && auth && !retried) {
        await response.body.dump();
        retried = true;
        this.#logger.warn(
          { event: 'agent.unauthorized_retry', call: spec.label },
          'agent said 401; refreshing credentials once',
        );
        await auth.onUnauthorized?.();
        continue;
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        const text = await this.readText(response.body, stop, 64 * 1024).catch(() => '');
        const mapped = spec.mapHttpError?.(response.statusCode, text);
        if (mapped) throw mapped;
        const detail = text.trim() ? `: ${redactText(text, this.secrets())}` : '';
        const kind = response.statusCode === 401 ? 'unauthorized' : 'http';
        throw new AgentError(
          kind,
          `Agent at ${describeUrl(spec.url)} answered HTTP ${response.statusCode}${detail}`,
          { status: response.statusCode },
        );
      }
      return response;
    }
  }

  /** A whole body as text, at most `maxBytes` (more is an error, not a truncation). */
  /**
   * Throws `not-sse` (with the start of the body, secrets scrubbed) unless the response is an event
   * stream; `who` names the server in the message ("Agent", "CAIPE").
   */
  async requireEventStream(
    response: { headers: Record<string, unknown>; body: ResponseBody },
    stop: Stopper,
    who: string,
  ): Promise<void> {
    const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
    if (contentType.includes('text/event-stream')) return;
    const text = await this.readText(response.body, stop, 64 * 1024);
    throw new AgentError(
      'not-sse',
      `${who} answered with ${contentType || 'no content type'} instead of an event stream` +
        (text.trim() ? `: ${redactText(text, this.secrets())}` : ''),
    );
  }

  async readText(body: ResponseBody, stop: Stopper, maxBytes = MAX_JSON_BODY_BYTES): Promise<string> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        body.destroy();
        throw new AgentError('bad-event', `Agent answer is larger than ${Math.round(maxBytes / 1024)} kB`);
      }
      chunks.push(chunk);
    }
    stop.arm(this.#idleTimeoutMs, 'idle');
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Reads a JSON body; undefined when it is not JSON. */
  async readJson(body: ResponseBody, stop: Stopper): Promise<unknown> {
    const text = await this.readText(body, stop);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }

  /** The credentials sent so far, for redacting error texts. */
  secrets(): string[] {
    return this.#sentAuth.flatMap((header) => [header, header.replace(/^\S+\s+/, '')]);
  }

  /**
   * What to throw for a failed call: the caller's abort reason, the bound or timeout that stopped
   * it, or the failure itself worded by where it happened (before or while receiving).
   */
  mapError(error: unknown, stop: Stopper, receiving: boolean, url: string): unknown {
    const reason = stop.reason;
    if (reason?.kind === 'caller') return reason.reason;
    if (reason?.kind === 'fault') return reason.error;
    if (reason?.kind === 'idle') {
      return new AgentError(
        'idle-timeout',
        `Agent stream was silent for ${Math.round(this.#idleTimeoutMs / 1000)} s`,
        { cause: error },
      );
    }
    if (error instanceof AgentError) return error;
    const code = errorCode(error);
    if (!receiving && code && UNREACHABLE_CODES.has(code)) {
      return new AgentError('unreachable', `Agent at ${describeUrl(url)} is unreachable (${code})`, {
        cause: error,
      });
    }
    if (receiving) {
      return new AgentError('stream-cut', `Agent stream broke${code ? ` (${code})` : ''}`, { cause: error });
    }
    return new AgentError(
      'unreachable',
      `Agent at ${describeUrl(url)} could not be reached${code ? ` (${code})` : ''}`,
      { cause: error },
    );
  }

  #remember(header: string): void {
    if (this.#sentAuth.includes(header)) return;
    this.#sentAuth.push(header);
    // Per-person tokens would otherwise pile up: the newest few are the ones an answer can echo.
    if (this.#sentAuth.length > 8) this.#sentAuth.shift();
  }

  async #authHeader(auth: AgentAuth | undefined): Promise<string | undefined> {
    if (!auth) return undefined;
    try {
      return await auth.getAuthHeader();
    } catch (error) {
      // Who the person is (on-behalf-of tokens) is the person's matter, not the bot's credentials.
      if (error instanceof AgentError && IDENTITY_KINDS.has(error.kind)) throw error;
      // The token source's own error may quote its request; keep it only as the cause.
      throw new AgentError('unauthorized', 'Could not get credentials for the agent', { cause: error });
    }
  }
}
