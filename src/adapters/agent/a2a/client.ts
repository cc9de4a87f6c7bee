/**
 * The A2A adapter of the agent port, v0.3 and v1.0: JSON-RPC POSTed to the agent URL itself
 * (`message/stream` or `SendStreamingMessage`), answered with SSE read by the shared bounded reader
 * (CRLF or LF, `: ping` comments, multi-line data, events split across chunks, 4 MB / 10 s per
 * event). Each SSE `data` is one JSON-RPC response whose `result` is classified into `TurnEvent`s.
 *
 * The turn ends by task state (terminal or interrupted), never by `final`: CAIPE sets `final` on
 * input-required, the JS SDK does not, and v1.0 has no `final` at all. After such a state the stream
 * is read until the server closes it, or for a short grace period, so trailing events (a second
 * `completed` with the trace id) are not lost.
 *
 * A stream cut before the turn ended is recovered before anyone is told: the client re-attaches
 * (`tasks/resubscribe` / `SubscribeToTask`) and, if that does not finish the turn, reads the task
 * (`tasks/get` / `GetTask`). Only when neither gives an ending does the cut reach the caller.
 */

import { randomUUID } from 'node:crypto';
import { untilAborted } from '../../../abort.js';
import { systemClock } from '../../../clock.js';
import { AgentError } from '../../../errors.js';
import { type Logger, silentLogger } from '../../../logger.js';
import { type AgentAuth, AgentHttp, type AgentTimers, type ResponseBody, Stopper } from '../http.js';
import { type AgentClient, type CallOptions, endsTurn, type TurnEvent, type TurnRequest } from '../port.js';
import { readSse, type SseReaderOptions } from '../sse.js';
import { cardUrls, versionFromCard } from './card.js';
import { classifyA2AResult } from './classify.js';
import { redactText } from './redact.js';
import { type A2aDialect, type A2aVersion, dialectOf } from './wire.js';

export type { AgentAuth, AgentTimers } from '../http.js';

export interface A2aAgentClientOptions {
  /** The JSON-RPC endpoint (`CAIPE_URL`); requests go to this URL itself. */
  url: string;
  /** A stream silent this long (comments and pings excluded) is treated as cut: `A2A_IDLE_TIMEOUT_S` × 1000. */
  idleTimeoutMs: number;
  /** `A2A_VERSION`: `auto` reads the agent card once (falling back to 0.3). Default `0.3`. */
  version?: A2aVersion | 'auto';
  /** `A2A_USER_PREFIX`: start the text with `by user: <email>` and a blank line. Default false. */
  userPrefix?: boolean;
  /** How many times a cut stream is re-attached before the task is read instead. Default 2. */
  resubscribeAttempts?: number;
  connectTimeoutMs?: number;
  /** How long to keep reading after the turn ended, waiting for the server to close. */
  closeGraceMs?: number;
  /** The `X-Client-Source` header. */
  clientSource?: string;
  auth?: AgentAuth;
  logger?: Logger;
  /** Runs the idle timeout, close grace and stream bounds; tests pass a clock they drive by hand. */
  clock?: AgentTimers;
  /** A custom undici dispatcher; by default the client owns one (closed by `close()`). */
  dispatcher?: import('undici').Dispatcher;
  newMessageId?: () => string;
  /** The SSE reader's bounds (SPEC: 4 MB, 10 s of wall time) and an observer of what it holds. */
  sse?: SseReaderOptions;
}

interface JsonRpcResponse {
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

/** What a stream learnt so far, shared with the recovery streams of the same turn. */
interface TurnProgress {
  contextId?: string;
  taskId?: string;
  ended: boolean;
}

export class A2aAgentClient implements AgentClient {
  /** A2A tasks outlive the connection that started them: any process can resubscribe or read them. */
  readonly canReattach = true;
  readonly #url: string;
  readonly #idleTimeoutMs: number;
  readonly #closeGraceMs: number;
  readonly #logger: Logger;
  readonly #timers: AgentTimers;
  readonly #http: AgentHttp;
  readonly #newMessageId: () => string;
  readonly #version: A2aVersion | 'auto';
  readonly #userPrefix: boolean;
  readonly #resubscribeAttempts: number;
  readonly #sse: SseReaderOptions;
  #discovered: A2aVersion | undefined;
  #discovery: Promise<A2aVersion | undefined> | undefined;
  #nextId = 1;

  constructor(options: A2aAgentClientOptions) {
    this.#url = options.url.replace(/\/+$/, '');
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#closeGraceMs = options.closeGraceMs ?? 1_000;
    this.#logger = options.logger ?? silentLogger();
    this.#timers = options.clock ?? systemClock;
    this.#http = new AgentHttp({
      idleTimeoutMs: options.idleTimeoutMs,
      logger: this.#logger,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.clientSource ? { clientSource: options.clientSource } : {}),
    });
    this.#newMessageId = options.newMessageId ?? randomUUID;
    this.#version = options.version ?? '0.3';
    this.#userPrefix = options.userPrefix ?? false;
    this.#resubscribeAttempts = options.resubscribeAttempts ?? 2;
    this.#sse = options.sse ?? {};
  }

  /** The wire version in use; for `auto`, known after the first call. */
  get version(): A2aVersion | undefined {
    return this.#version === 'auto' ? this.#discovered : this.#version;
  }

  /** Closes the connection pool this client created. */
  async close(): Promise<void> {
    await this.#http.close();
  }

  async *streamTurn(turn: TurnRequest, options: CallOptions = {}): AsyncGenerator<TurnEvent> {
    const dialect = await this.#dialect(options.signal);
    const text =
      this.#userPrefix && turn.userEmail && turn.text && !turn.text.startsWith('by user: ')
        ? `by user: ${turn.userEmail}\n\n${turn.text}`
        : turn.text;
    const message = dialect.message({
      messageId: turn.messageId ?? this.#newMessageId(),
      text,
      parts: turn.parts ?? [],
      ...(turn.contextId ? { contextId: turn.contextId } : {}),
      ...(turn.taskId ? { taskId: turn.taskId } : {}),
      metadata: { ...turn.metadata, user_email: turn.userEmail },
    });
    // Starts empty, so the first event names the ids even when they are the request's own.
    const progress: TurnProgress = { ended: false };
    try {
      yield* this.#stream(dialect, dialect.methods.stream, { message }, options, progress);
    } catch (error) {
      if (!this.#recoverable(error, progress, options)) throw error;
      yield* this.#recover(dialect, progress, error as AgentError, options);
    }
  }

  async *resubscribe(taskId: string, options: CallOptions = {}): AsyncGenerator<TurnEvent> {
    const dialect = await this.#dialect(options.signal);
    yield* this.#stream(dialect, dialect.methods.resubscribe, { id: taskId }, options, {
      taskId,
      ended: false,
    });
  }

  async cancel(taskId: string, options: CallOptions = {}): Promise<void> {
    const dialect = await this.#dialect(options.signal);
    const result = await this.#call(dialect, dialect.methods.cancel, { id: taskId }, options);
    this.#logger.info(
      { event: 'agent.cancelled', taskId, state: stateOf(result) },
      'agent task cancel accepted',
    );
  }

  /** Reads the task as it is now: its status, artifacts and trace id as turn events. */
  async getTask(taskId: string, options: CallOptions = {}): Promise<TurnEvent[]> {
    const dialect = await this.#dialect(options.signal);
    const task = dialect.taskResult(await this.#call(dialect, dialect.methods.get, { id: taskId }, options));
    return eventsOfTask(task);
  }

  #recoverable(error: unknown, progress: TurnProgress, options: CallOptions): boolean {
    return (
      error instanceof AgentError &&
      error.kind === 'stream-cut' &&
      progress.taskId !== undefined &&
      !progress.ended &&
      !options.signal?.aborted
    );
  }

  async *#recover(
    dialect: A2aDialect,
    progress: TurnProgress,
    cut: AgentError,
    options: CallOptions,
  ): AsyncGenerator<TurnEvent> {
    const taskId = progress.taskId!;
    for (let attempt = 1; attempt <= this.#resubscribeAttempts; attempt++) {
      this.#logger.info(
        { event: 'agent.resubscribe', taskId, attempt, method: dialect.methods.resubscribe },
        'agent stream cut; re-attaching to the task',
      );
      try {
        yield* this.#stream(dialect, dialect.methods.resubscribe, { id: taskId }, options, progress);
        return;
      } catch (error) {
        if (options.signal?.aborted) throw error;
        this.#logger.info(
          { event: 'agent.resubscribe_failed', taskId, attempt, err: error },
          'agent task not re-attached',
        );
        // Only another cut is worth another attempt; a refusal will be the same next time.
        if (!(error instanceof AgentError && error.kind === 'stream-cut')) break;
      }
    }
    let events: TurnEvent[];
    try {
      events = await this.getTask(taskId, options);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      this.#logger.info({ event: 'agent.get_task_failed', taskId, err: error }, 'agent task not read');
      throw cut;
    }
    const status = events.findLast((e) => e.type === 'status');
    if (!status || !endsTurn(status.state)) {
      this.#logger.info({ event: 'agent.task_unfinished', taskId }, 'agent task still running after the cut');
      throw cut;
    }
    this.#logger.info(
      { event: 'agent.recovered', taskId, state: status.state },
      'agent turn recovered from the task',
    );
    progress.ended = true;
    yield* events;
  }

  async #dialect(signal: AbortSignal | undefined): Promise<A2aDialect> {
    if (this.#version !== 'auto') return dialectOf(this.#version);
    if (this.#discovered) return dialectOf(this.#discovered);
    // One card request for every turn that starts before the first answer (a burst at start-up),
    // bounded by the idle timeout; each turn stops waiting when its own signal aborts.
    this.#discovery ??= this.#discover(undefined).finally(() => {
      this.#discovery = undefined;
    });
    const found = await untilAborted(this.#discovery, signal);
    return dialectOf(found ?? '0.3');
  }

  /** The version from the agent card; undefined (not remembered) when the card could not be asked. */
  async #discover(signal: AbortSignal | undefined): Promise<A2aVersion | undefined> {
    for (const url of cardUrls(this.#url)) {
      const stop = new Stopper(this.#timers, signal);
      stop.arm(this.#idleTimeoutMs, 'idle');
      try {
        const response = await this.#http.call(
          { url, method: 'GET', accept: 'application/json', label: 'agent-card' },
          stop,
        );
        const card = await this.#http.readJson(response.body, stop);
        const version = versionFromCard(card);
        this.#discovered = version;
        this.#logger.info({ event: 'agent.version', version, card: url }, `agent speaks A2A ${version}`);
        return version;
      } catch (error) {
        if (stop.reason?.kind === 'caller') throw stop.reason.reason;
        if (error instanceof AgentError && error.kind === 'http' && error.status === 404) continue;
        if (error instanceof AgentError && (error.kind === 'http' || error.kind === 'unauthorized')) {
          // The agent answered but has no readable card: it is not going to grow one.
          this.#discovered = '0.3';
          this.#logger.info(
            { event: 'agent.version', version: '0.3', status: error.status },
            'agent card not readable; speaking A2A 0.3',
          );
          return '0.3';
        }
        this.#logger.warn(
          { event: 'agent.card_failed', err: error },
          'agent card not fetched; trying A2A 0.3',
        );
        return undefined;
      } finally {
        stop.dispose();
      }
    }
    this.#discovered = '0.3';
    this.#logger.info({ event: 'agent.version', version: '0.3' }, 'agent has no card; speaking A2A 0.3');
    return '0.3';
  }

  /** A JSON-RPC call with a plain JSON answer: its `result`, or the error it carries. */
  async #call(dialect: A2aDialect, method: string, params: unknown, options: CallOptions): Promise<unknown> {
    const stop = new Stopper(this.#timers, options.signal);
    stop.arm(this.#idleTimeoutMs, 'idle');
    try {
      const response = await this.#post(dialect, method, params, 'application/json', stop);
      const reply = asReply(await this.#http.readJson(response.body, stop));
      if (reply?.error) throw this.#jsonRpcError(reply.error);
      if (!reply || !('result' in reply)) {
        throw new AgentError('bad-event', `Agent answered ${method} with something other than JSON-RPC`);
      }
      return reply.result;
    } catch (error) {
      throw this.#http.mapError(error, stop, false, this.#url);
    } finally {
      stop.dispose();
    }
  }

  async *#stream(
    dialect: A2aDialect,
    method: string,
    params: unknown,
    options: CallOptions,
    progress: TurnProgress,
  ): AsyncGenerator<TurnEvent> {
    const stop = new Stopper(this.#timers, options.signal);
    let body: ResponseBody | undefined;
    let receiving = false;
    try {
      stop.arm(this.#idleTimeoutMs, 'idle');
      const response = await this.#post(dialect, method, params, 'text/event-stream', stop);
      body = response.body;
      const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
      if (!contentType.includes('text/event-stream')) {
        throw await this.#notSse(body, contentType, stop);
      }
      receiving = true;
      yield* this.#readEvents(dialect, body, stop, progress);
    } catch (error) {
      throw this.#http.mapError(error, stop, receiving, this.#url);
    } finally {
      stop.dispose();
      // Closing the body closes the connection: the server sees the client go away.
      if (body && !body.destroyed) body.destroy();
    }
  }

  async *#readEvents(
    dialect: A2aDialect,
    body: ResponseBody,
    stop: Stopper,
    progress: TurnProgress,
  ): AsyncGenerator<TurnEvent> {
    let sawTask = false;
    let sawMessage = false;
    let lastWasBad = false;

    const handle = (data: string): TurnEvent[] => {
      const reply = asReply(parseJson(data));
      if (reply?.error) {
        const error = this.#jsonRpcError(reply.error);
        if (!progress.ended) throw error;
        // After the ending, an error cannot take the answer back: note it and keep the answer.
        this.#logger.warn(
          { event: 'agent.trailing_error', err: error },
          'agent sent an error after the turn ended',
        );
        return [];
      }
      const result = reply && 'result' in reply ? dialect.streamResult(reply.result) : undefined;
      const classified = reply && 'result' in reply ? classifyA2AResult(result) : undefined;
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
        this.#logger.debug({
          event: 'agent.bad_event_data',
          data: redactText(data, this.#http.secrets(), 500),
        });
        return [];
      }
      lastWasBad = false;
      const kind = (result as { kind?: unknown } | undefined)?.kind;
      if (kind === 'task') sawTask = true;
      if (kind === 'message') sawMessage = true;
      const out: TurnEvent[] = [];
      for (const event of classified.events) {
        if (event.type === 'ids') {
          // Only changes are news; every A2A event repeats the ids.
          const changed =
            (event.contextId && event.contextId !== progress.contextId) ||
            (event.taskId && event.taskId !== progress.taskId);
          progress.contextId = event.contextId ?? progress.contextId;
          progress.taskId = event.taskId ?? progress.taskId;
          if (changed)
            out.push({
              type: 'ids',
              ...(progress.contextId ? { contextId: progress.contextId } : {}),
              ...(progress.taskId ? { taskId: progress.taskId } : {}),
            });
          continue;
        }
        if (event.type === 'status') progress.ended = endsTurn(event.state);
        out.push(event);
      }
      return out;
    };

    try {
      for await (const sse of readSse(body as AsyncIterable<Uint8Array>, {
        stop,
        ...this.#sse,
      })) {
        const events = handle(sse.data);
        // Any data, even malformed, is activity; comments and pings are not.
        if (progress.ended) stop.arm(this.#closeGraceMs, 'grace');
        else stop.arm(this.#idleTimeoutMs, 'idle');
        yield* events;
      }
    } catch (error) {
      // The turn had ended: a server that keeps the stream open past the grace period, or drops
      // it afterwards, has already said everything that matters.
      if (progress.ended && stop.reason?.kind !== 'caller') return;
      throw error;
    }

    if (progress.ended) return;
    if (sawMessage && !sawTask) {
      // A bare Message reply (no task) is a complete answer by the spec.
      progress.ended = true;
      yield { type: 'status', state: 'completed' };
      return;
    }
    if (lastWasBad) throw new AgentError('bad-event', 'Agent stream ended with an event we could not read');
    throw new AgentError('stream-cut', 'Agent stream ended before the task finished');
  }

  async #post(dialect: A2aDialect, method: string, params: unknown, accept: string, stop: Stopper) {
    const id = this.#nextId++;
    return this.#http.call(
      {
        url: this.#url,
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        accept,
        headers: dialect.headers,
        label: method,
      },
      stop,
    );
  }

  /** A non-SSE answer to a streaming call: a JSON-RPC error (pre-stream) or something unusable. */
  async #notSse(body: ResponseBody, contentType: string, stop: Stopper): Promise<AgentError> {
    const text = await this.#http.readText(body, stop);
    const reply = asReply(parseJson(text));
    if (reply?.error) return this.#jsonRpcError(reply.error);
    return new AgentError(
      'not-sse',
      `Agent answered with ${contentType || 'no content type'} instead of an event stream` +
        (text.trim() ? `: ${redactText(text, this.#http.secrets())}` : ''),
    );
  }

  #jsonRpcError(error: { code?: unknown; message?: unknown }): AgentError {
    const code = typeof error.code === 'number' ? error.code : undefined;
    const message =
      typeof error.message === 'string' ? redactText(error.message, this.#http.secrets()) : 'no message';
    return new AgentError('jsonrpc', `Agent JSON-RPC error ${code ?? '(no code)'}: ${message}`, {
      ...(code !== undefined ? { status: code } : {}),
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function asReply(value: unknown): JsonRpcResponse | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonRpcResponse)
    : undefined;
}

function stateOf(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return undefined;
  const status = (result as { status?: { state?: unknown } }).status;
  return status?.state;
}

/**
 * A task read whole (`tasks/get`) as the events a stream would have carried: its ids, each
 * artifact as a fresh (non-appending) update, then its status and trace id.
 */
export function eventsOfTask(task: unknown): TurnEvent[] {
  if (typeof task !== 'object' || task === null) return [];
  const record = task as { id?: unknown; contextId?: unknown; artifacts?: unknown };
  const events: TurnEvent[] = [];
  const head = classifyA2AResult({ ...record, kind: 'task' });
  if (!head.ok) return [];
  const status = head.events.filter((e) => e.type === 'status' || e.type === 'trace');
  events.push(...head.events.filter((e) => e.type === 'ids'));
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
  events.push(...status);
  return events;
}
