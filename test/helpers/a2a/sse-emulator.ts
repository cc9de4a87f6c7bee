/**
 * A raw CAIPE-shaped A2A endpoint on node:http, for the wire details a real SDK server will not
 * produce: sse-starlette's CRLF separators and `: ping` comments, events split across writes,
 * `final:true` on input-required, JSON-RPC errors, HTTP errors, a JSON reply instead of SSE, a
 * stream cut mid-event, silence, malformed data. Each request is answered by the next queued
 * script (or the default one) and recorded (headers + body) for assertions.
 */
import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { type LoopbackServer, startLoopbackServer } from '../loopback-server.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed JSON-RPC request, when the body was JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary request fields
  json: any;
}

export type Eol = '\r\n' | '\n';

export interface SendOptions {
  /** Line ending of the SSE framing; sse-starlette (CAIPE) uses CRLF. */
  eol?: Eol;
  /** Write the event in this many pieces, each flushed before the next (split across TCP chunks). */
  pieces?: number;
}

export class SseExchange {
  readonly request: RecordedRequest;
  readonly res: ServerResponse;
  readonly eol: Eol;
  #started = false;

  constructor(request: RecordedRequest, res: ServerResponse, eol: Eol) {
    this.request = request;
    this.res = res;
    this.eol = eol;
  }

  get rpcId(): unknown {
    return this.request.json?.id ?? null;
  }

  /** Sends the 200 with `text/event-stream` headers (done implicitly by the first event). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    this.res.flushHeaders();
  }

  /** Writes text and resolves once it is handed to the socket. */
  write(text: string): Promise<void> {
    this.start();
    return new Promise((resolve, reject) => {
      this.res.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** One SSE event whose data is the given text, optionally split into several flushed writes. */
  async sendData(data: string, options: SendOptions = {}): Promise<void> {
    const eol = options.eol ?? this.eol;
    const frame = `data: ${data}${eol}${eol}`;
    const pieces = Math.max(1, options.pieces ?? 1);
    const size = Math.ceil(frame.length / pieces);
    for (let i = 0; i < frame.length; i += size) {
      await this.write(frame.slice(i, i + size));
      // Let the socket flush so the client really sees separate chunks.
      if (pieces > 1) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One JSON-RPC response carrying an A2A result. */
  sendResult(result: unknown, options: SendOptions = {}): Promise<void> {
    return this.sendData(JSON.stringify({ jsonrpc: '2.0', id: this.rpcId, result }), options);
  }

  sendError(code: number, message: string, options: SendOptions = {}): Promise<void> {
    return this.sendData(
      JSON.stringify({ jsonrpc: '2.0', id: this.rpcId, error: { code, message } }),
      options,
    );
  }

  /** An sse-starlette keep-alive comment. */
  ping(): Promise<void> {
    return this.write(`: ping - ${new Date(0).toISOString()}${this.eol}${this.eol}`);
  }

  end(): Promise<void> {
    this.start();
    return new Promise((resolve) => this.res.end(resolve));
  }

  /** Drops the connection without finishing the chunked body. */
  cut(): void {
    this.res.socket?.destroy();
  }

  /** A plain JSON answer (what servers send for pre-stream errors). */
  json(status: number, body: unknown): Promise<void> {
    this.res.writeHead(status, { 'content-type': 'application/json' });
    return new Promise((resolve) => this.res.end(JSON.stringify(body), resolve));
  }

  /** Resolves when the client closes the connection. */
  clientClosed(): Promise<void> {
    if (this.res.closed || this.res.socket?.destroyed) return Promise.resolve();
    return once(this.res, 'close').then(() => undefined);
  }
}

export type Script = (exchange: SseExchange) => Promise<void> | void;

export interface SseEmulatorOptions {
  eol?: Eol;
  /**
   * The agent card served at `GET /.well-known/agent-card.json` (`A2A_VERSION=auto` reads it);
   * without one those GETs answer 404, as a CAIPE supervisor behind a proxy may. Card requests are
   * recorded in `cardRequests` and never take a queued script.
   */
  card?: unknown;
  /** Answers requests when no script is queued. */
  defaultScript?: Script;
}

export class SseEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly cardRequests: RecordedRequest[] = [];
  card: unknown;
  readonly exchanges: SseExchange[] = [];
  #http!: LoopbackServer;
  readonly #scripts: Script[] = [];
  readonly #eol: Eol;
  readonly #defaultScript: Script | undefined;
  readonly #arrivals: Array<(exchange: SseExchange) => void> = [];

  private constructor(options: SseEmulatorOptions) {
    this.#eol = options.eol ?? '\r\n';
    this.#defaultScript = options.defaultScript;
    this.card = options.card;
  }

  static async start(options: SseEmulatorOptions = {}): Promise<SseEmulator> {
    const emulator = new SseEmulator(options);
    emulator.#http = await startLoopbackServer((req, res) => void emulator.#handle(req, res));
    return emulator;
  }

  get url(): string {
    return this.#http.url;
  }

  /** Queues scripts for the next requests, in order. */
  enqueue(...scripts: Script[]): this {
    this.#scripts.push(...scripts);
    return this;
  }

  /** Resolves with the next exchange to arrive (or the latest one if it already did). */
  nextExchange(): Promise<SseExchange> {
    return new Promise((resolve) => this.#arrivals.push(resolve));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      json,
    };
    if (req.method === 'GET' && (req.url ?? '').endsWith('/.well-known/agent-card.json')) {
      this.cardRequests.push(recorded);
      res.writeHead(this.card === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.card ?? { error: 'not found' }));
      return;
    }
    this.requests.push(recorded);
    const exchange = new SseExchange(recorded, res, this.#eol);
    this.exchanges.push(exchange);
    for (const arrival of this.#arrivals.splice(0)) arrival(exchange);
    const script = this.#scripts.shift() ?? this.#defaultScript;
    try {
      if (!script) {
        await exchange.json(500, { error: 'no script queued' });
        return;
      }
      await script(exchange);
    } catch {
      // The client went away mid-script (abort tests): nothing to answer.
      res.destroy();
    }
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}

/** A script that streams the given results as CAIPE does: CRLF, a ping between events, each event split in two. */
export function replayScript(
  results: readonly unknown[],
  options: { pingEvery?: number; pieces?: number } = {},
): Script {
  const pingEvery = options.pingEvery ?? 5;
  return async (exchange) => {
    exchange.start();
    await exchange.ping();
    let index = 0;
    for (const result of results) {
      await exchange.sendResult(result, { pieces: options.pieces ?? 2 });
      index++;
      if (pingEvery > 0 && index % pingEvery === 0) await exchange.ping();
    }
    await exchange.end();
  };
}
