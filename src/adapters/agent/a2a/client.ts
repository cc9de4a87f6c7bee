/**
 * The A2A v0.3 adapter of the agent port: JSON-RPC `message/stream` POSTed to the agent URL itself,
 * answered with SSE (CRLF or LF, `: ping` comments, multi-line data, events split across chunks,
 * all handled by eventsource-parser). Each SSE `data` is one JSON-RPC response whose `result` is
 * classified into `TurnEvent`s.
 *
 * The turn ends by task state (terminal or interrupted), never by `final`: CAIPE sets `final` on
 * input-required, the JS SDK does not, and the small UI captures send a `completed` before the
 * `final` one. After such a state the stream is read until the server closes it, or for a short
 * grace period, so trailing events (a second `completed` with the trace id) are not lost.
 */
import { randomUUID } from 'node:crypto';
import { createParser } from 'eventsource-parser';
import { Agent, type Dispatcher, request } from 'undici';
import { type Clock, systemClock } from '../../../clock.js';
import { AgentError } from '../../../errors.js';
import { type Logger, silentLogger } from '../../../logger.js';
import { type AgentClient, type CallOptions, endsTurn, type TurnEvent, type TurnRequest } from '../port.js';
import { classifyA2AResult } from './classify.js';
import { describeUrl, redactText } from './redact.js';

/** The timer half of a `Clock`: all the client needs to run its idle timeout and close grace. */
export type AgentTimers = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

/** Where the `Authorization` header comes from (e.g. an OAuth2 client-credentials token source). */
export interface AgentAuth {
  /** The full header value (`Bearer …`), or undefined to send none. */
  getAuthHeader(): Promise<string | undefined>;
  /** Called after a 401 before the single retry: drop the cached token. */
  onUnauthorized?(): void | Promise<void>;
}

export interface A2aAgentClientOptions {
  /** The JSON-RPC endpoint (`CAIPE_URL`); requests go to this URL itself. */
  url: string;
  /** A stream silent this long (comments and pings excluded) is treated as cut: `A2A_IDLE_TIMEOUT_S` × 1000. */
  idleTimeoutMs: number;
  connectTimeoutMs?: number;
  /** How long to keep reading after the turn ended, waiting for the server to close. */
  closeGraceMs?: number;
  /** The `X-Client-Source` header. */
  clientSource?: string;
  auth?: AgentAuth;
  logger?: Logger;
  /** Runs the idle timeout and close grace; tests pass a clock they drive by hand. */
  clock?: AgentTimers;
  /** A custom undici dispatcher; by default the client owns one (closed by `close()`). */
  dispatcher?: Dispatcher;
  newMessageId?: () => string;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

interface JsonRpcResponse {
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

type Body = Dispatcher.ResponseData['body'];

/** Why our own controller aborted the request. */
type StopReason = { kind: 'caller'; reason: unknown } | { kind: 'idle' } | { kind: 'grace' };

export class A2aAgentClient implements AgentClient {
  /** A2A tasks outlive the connection that started them: any process can resubscribe or read them. */
  readonly canReattach = true;
  readonly #url: string;
  readonly #idleTimeoutMs: number;
  readonly #closeGraceMs: number;
  readonly #clientSource: string;
  readonly #auth: AgentAuth | undefined;
  readonly #logger: Logger;
  readonly #timers: AgentTimers;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #newMessageId: () => string;
  #nextId = 1;
  /** The last Authorization value sent, scrubbed from any error text. */
  #lastAuthHeader: string | undefined;

  constructor(options: A2aAgentClientOptions) {
    this.#url = options.url.replace(/\/+$/, '');
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#closeGraceMs = options.closeGraceMs ?? 1_000;
    this.#clientSource = options.clientSource ?? 'webex-bot';
    this.#auth = options.auth;
    this.#logger = options.logger ?? silentLogger();
    this.#timers = options.clock ?? systemClock;
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
    this.#newMessageId = options.newMessageId ?? randomUUID;
  }

  /** Closes the connection pool this client created. */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  streamTurn(turn: TurnRequest, options: CallOptions = {}): AsyncIterable<TurnEvent> {
    const parts: unknown[] = [];
    if (turn.text) parts.push({ kind: 'text', text: turn.text });
    for (const part of turn.parts ?? []) parts.push(part);
    const message = {
      role: 'user',
      kind: 'message',
      messageId: turn.messageId ?? this.#newMessageId(),
      parts,
      ...(turn.contextId ? { contextId: turn.contextId } : {}),
      ...(turn.taskId ? { taskId: turn.taskId } : {}),
      metadata: { ...turn.metadata, user_email: turn.userEmail },
    };
    return this.#stream('message/stream', { message }, options);
  }

  resubscribe(taskId: string, options: CallOptions = {}): AsyncIterable<TurnEvent> {
    return this.#stream('tasks/resubscribe', { id: taskId }, options);
  }

  /** `tasks/get`: the task as it is now, as turn events (ids, then its artifacts, then its status). */
  async getTask(taskId: string, options: CallOptions = {}): Promise<TurnEvent[]> {
    const stop = this.#stopper(options.signal);
    stop.arm(this.#idleTimeoutMs, 'idle');
    try {
      const body = await this.#post('tasks/get', { id: taskId }, 'application/json', stop);
      const reply = this.#parseJson(await this.#readBody(body.body, stop));
      if (reply?.error) throw this.#jsonRpcError(reply.error);
      if (!reply || !('result' in reply)) {
        throw new AgentError('bad-event', 'Agent answered tasks/get with something other than JSON-RPC');
      }
      return eventsOfTask(reply.result);
    } catch (error) {
      throw this.#mapError(error, stop.reason, false);
    } finally {
      stop.dispose();
    }
  }

  async cancel(taskId: string, options: CallOptions = {}): Promise<void> {
    const stop = this.#stopper(options.signal);
    stop.arm(this.#idleTimeoutMs, 'idle');
    try {
      const body = await this.#post('tasks/cancel', { id: taskId }, 'application/json', stop);
      const text = await this.#readBody(body.body, stop);
      const reply = this.#parseJson(text);
      if (reply?.error) throw this.#jsonRpcError(reply.error);
      if (!reply || !('result' in reply)) {
        throw new AgentError('bad-event', `Agent answered tasks/cancel with something other than JSON-RPC`);
      }
      this.#logger.info({ event: 'agent.cancelled', taskId }, 'agent task cancel accepted');
    } catch (error) {
      throw this.#mapError(error, stop.reason, false);
    } finally {
      stop.dispose();
    }
  }

  async *#stream(method: string, params: unknown, options: CallOptions): AsyncGenerator<TurnEvent> {
    const stop = this.#stopper(options.signal);
    let body: Body | undefined;
    let receiving = false;
    try {
      stop.arm(this.#idleTimeoutMs, 'idle');
      const response = await this.#post(method, params, 'text/event-stream', stop);
      body = response.body;
      const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
      if (!contentType.includes('text/event-stream')) {
        throw await this.#notSse(body, contentType, stop);
      }
      receiving = true;
      yield* this.#readEvents(body, stop);
    } catch (error) {
      throw this.#mapError(error, stop.reason, receiving);
    } finally {
      stop.dispose();
      // Closing the body closes the connection: the server sees the client go away.
      if (body && !body.destroyed) body.destroy();
    }
  }

  async *#readEvents(body: Body, stop: Stopper): AsyncGenerator<TurnEvent> {
    const pending: string[] = [];
    const parser = createParser({
      onEvent: (event) => pending.push(event.data),
      onError: (error) =>
        this.#logger.warn({ event: 'agent.sse_error', type: error.type }, 'bad SSE line skipped'),
    });
    const decoder = new TextDecoder();
    let contextId: string | undefined;
    let taskId: string | undefined;
    let turnEnded = false;
    let sawTask = false;
    let sawMessage = false;
    let lastWasBad = false;

    const handle = (data: string): TurnEvent[] => {
      let reply: JsonRpcResponse | undefined;
      try {
        const parsed: unknown = JSON.parse(data);
        if (typeof parsed === 'object' && parsed !== null) reply = parsed as JsonRpcResponse;
      } catch {
        // fall through: logged below
      }
      if (reply?.error) throw this.#jsonRpcError(reply.error);
      const classified = reply && 'result' in reply ? classifyA2AResult(reply.result) : undefined;
      if (!classified?.ok) {
        lastWasBad = true;
        this.#logger.warn(
          {
            event: 'agent.bad_event',
            reason: classified?.reason ?? 'not a JSON-RPC response',
            bytes: data.length,
          },
          'agent stream event skipped',
        );
        this.#logger.debug({ event: 'agent.bad_event_data', data: redactText(data, this.#secrets(), 500) });
        return [];
      }
      lastWasBad = false;
      const kind = (reply?.result as { kind?: unknown } | undefined)?.kind;
      if (kind === 'task') sawTask = true;
      if (kind === 'message') sawMessage = true;
      const out: TurnEvent[] = [];
      for (const event of classified.events) {
        if (event.type === 'ids') {
          // Only changes are news; every A2A event repeats the ids.
          const changed =
            (event.contextId && event.contextId !== contextId) || (event.taskId && event.taskId !== taskId);
          contextId = event.contextId ?? contextId;
          taskId = event.taskId ?? taskId;
          if (changed)
            out.push({ type: 'ids', ...(contextId ? { contextId } : {}), ...(taskId ? { taskId } : {}) });
          continue;
        }
        if (event.type === 'status') turnEnded = endsTurn(event.state);
        out.push(event);
      }
      return out;
    };

    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        while (pending.length > 0) {
          const events = handle(pending.shift()!);
          // Any data, even malformed, is activity; comments and pings are not.
          this.#rearm(stop, turnEnded);
          yield* events;
        }
      }
    } catch (error) {
      // The turn had ended and the server kept the stream open past the grace period: done.
      if (stop.reason?.kind === 'grace' && turnEnded) return;
      throw error;
    }
    // A last event without its blank line is still an event.
    parser.feed(`${decoder.decode()}\n\n`);
    while (pending.length > 0) yield* handle(pending.shift()!);

    if (turnEnded) return;
    if (sawMessage && !sawTask) {
      // A bare Message reply (no task) is a complete answer by the spec.
      yield { type: 'status', state: 'completed' };
      return;
    }
    if (lastWasBad) throw new AgentError('bad-event', 'Agent stream ended with an event we could not read');
    throw new AgentError('stream-cut', 'Agent stream ended before the task finished');
  }

  #rearm(stop: Stopper, turnEnded: boolean): void {
    if (turnEnded) stop.arm(this.#closeGraceMs, 'grace');
    else stop.arm(this.#idleTimeoutMs, 'idle');
  }

  async #post(
    method: string,
    params: unknown,
    accept: string,
    stop: Stopper,
  ): Promise<Dispatcher.ResponseData> {
    const id = this.#nextId++;
    const payload = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    let retried = false;
    for (;;) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept,
        'x-client-source': this.#clientSource,
      };
      const authorization = await this.#authHeader();
      if (authorization) {
        headers.authorization = authorization;
        this.#lastAuthHeader = authorization;
      }
      const response = await request(this.#url, {
        method: 'POST',
        headers,
        body: payload,
        dispatcher: this.#dispatcher,
        signal: stop.signal,
      });
      if (response.statusCode === 401 && this.#auth && !retried) {
        await response.body.dump();
        retried = true;
        this.#logger.warn(
          { event: 'agent.unauthorized_retry', method },
          'agent said 401; refreshing credentials once',
        );
        await this.#auth.onUnauthorized?.();
        continue;
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        const text = await this.#readBody(response.body, stop).catch(() => '');
        const detail = text.trim() ? `: ${redactText(text, this.#secrets())}` : '';
        const kind = response.statusCode === 401 ? 'unauthorized' : 'http';
        throw new AgentError(
          kind,
          `Agent at ${describeUrl(this.#url)} answered HTTP ${response.statusCode}${detail}`,
          {
            status: response.statusCode,
          },
        );
      }
      return response;
    }
  }

  async #authHeader(): Promise<string | undefined> {
    if (!this.#auth) return undefined;
    try {
      return await this.#auth.getAuthHeader();
    } catch (error) {
      // The token source's own error may quote its request; keep it only as the cause.
      throw new AgentError('unauthorized', 'Could not get credentials for the agent', { cause: error });
    }
  }

  /** A non-SSE answer to a streaming call: a JSON-RPC error (pre-stream) or something unusable. */
  async #notSse(body: Body, contentType: string, stop: Stopper): Promise<AgentError> {
    const text = await this.#readBody(body, stop);
    const reply = this.#parseJson(text);
    if (reply?.error) return this.#jsonRpcError(reply.error);
    return new AgentError(
      'not-sse',
      `Agent answered with ${contentType || 'no content type'} instead of an event stream` +
        (text.trim() ? `: ${redactText(text, this.#secrets())}` : ''),
    );
  }

  async #readBody(body: Body, stop: Stopper): Promise<string> {
    const text = await body.text();
    stop.arm(this.#idleTimeoutMs, 'idle');
    return text;
  }

  #parseJson(text: string): JsonRpcResponse | undefined {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null ? (parsed as JsonRpcResponse) : undefined;
    } catch {
      return undefined;
    }
  }

  #jsonRpcError(error: { code?: unknown; message?: unknown }): AgentError {
    const code = typeof error.code === 'number' ? error.code : undefined;
    const message =
      typeof error.message === 'string' ? redactText(error.message, this.#secrets()) : 'no message';
    return new AgentError('jsonrpc', `Agent JSON-RPC error ${code ?? '(no code)'}: ${message}`, {
      ...(code !== undefined ? { status: code } : {}),
    });
  }

  #secrets(): string[] {
    const header = this.#lastAuthHeader;
    if (!header) return [];
    return [header, header.replace(/^\S+\s+/, '')];
  }

  #mapError(error: unknown, reason: StopReason | undefined, receiving: boolean): unknown {
    if (reason?.kind === 'caller') return reason.reason;
    if (reason?.kind === 'idle') {
      return new AgentError(
        'idle-timeout',
        `Agent stream was silent for ${Math.round(this.#idleTimeoutMs / 1000)} s`,
        {
          cause: error,
        },
      );
    }
    if (error instanceof AgentError) return error;
    const code = errorCode(error);
    if (!receiving && code && UNREACHABLE_CODES.has(code)) {
      return new AgentError('unreachable', `Agent at ${describeUrl(this.#url)} is unreachable (${code})`, {
        cause: error,
      });
    }
    if (receiving) {
      return new AgentError('stream-cut', `Agent stream broke${code ? ` (${code})` : ''}`, { cause: error });
    }
    return new AgentError(
      'unreachable',
      `Agent at ${describeUrl(this.#url)} could not be reached${code ? ` (${code})` : ''}`,
      {
        cause: error,
      },
    );
  }

  #stopper(signal: AbortSignal | undefined): Stopper {
    return new Stopper(this.#timers, signal);
  }
}

/**
 * A task read whole (`tasks/get`) as the events a stream would have carried: its ids, each artifact
 * as a complete (non-appending) update, then its status (with its trace id), so a reducer ends in
 * the task's state with the whole answer.
 */
export function eventsOfTask(task: unknown): TurnEvent[] {
  if (typeof task !== 'object' || task === null) return [];
  const record = task as { id?: unknown; contextId?: unknown; artifacts?: unknown };
  const head = classifyA2AResult({ ...record, kind: 'task' });
  if (!head.ok) return [];
  const events: TurnEvent[] = head.events.filter((e) => e.type === 'ids');
  for (const artifact of Array.isArray(record.artifacts) ? record.artifacts : []) {
    const update = classifyA2AResult({
      kind: 'artifact-update',
      taskId: record.id,
      contextId: record.contextId,
      artifact,
      append: false,
      lastChunk: true,
    });
    if (update.ok) events.push(...update.events.filter((e) => e.type !== 'ids'));
  }
  events.push(...head.events.filter((e) => e.type === 'status' || e.type === 'trace'));
  return events;
}

/**
 * One request's abort controller, fed by the caller's signal and by our timers (idle timeout,
 * close grace). Remembers why it fired so errors can say so.
 */
class Stopper {
  readonly #controller = new AbortController();
  readonly #timers: AgentTimers;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: () => void;
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

  arm(ms: number, kind: 'idle' | 'grace' | 'none'): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (kind === 'none' || this.reason) return;
    this.#timer = this.#timers.setTimeout(() => this.#stop({ kind }), ms);
  }

  #stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.#controller.abort(
      reason.kind === 'caller' ? reason.reason : new Error(`agent stream ${reason.kind}`),
    );
  }

  dispose(): void {
    this.arm(0, 'none');
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
