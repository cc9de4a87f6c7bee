/**
 * A fake CAIPE ≥0.6 UI backend (the BFF the bot talks to, not Dynamic Agents), written from the
 * reference sheet caipe-current.md — it imports nothing from the product:
 *
 * - `POST /api/chat/conversations` (§1.2): 400 without `title` / `client_type` / `agent_id` or with
 *   a client type other than webui|slack|webex; 403 `agent#use` when the caller may not use the
 *   agent; an idempotency hit answers 200 `created:false` with the same conversation; a new one 201
 *   `created:true` with a server UUID, owned by the token's subject.
 * - `POST /api/v1/chat/stream/start|resume` (§2.1, §2.2): 401 without a known bearer; 400 without
 *   the required fields (`resume_data` for resume); 403 `agent#use`; 404 `conversation#write` for an
 *   unknown conversation; 403 `conversation#write` for a caller who does not own a webex
 *   conversation; then the scripted stream in DA's dialect (§2.5): an `event:` line and one compact
 *   `data:` line per frame, float-second timestamps, snake_case tool results.
 * - `POST /api/v1/chat/stream/cancel`: sets a flag the running script sees; the stream then just
 *   ends, without TEXT_MESSAGE_END or RUN_FINISHED.
 * - `POST /api/feedback` (§1.7): no auth; recorded.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LoopbackServer, startLoopbackServer } from '../loopback-server.js';

export interface Caller {
  sub: string;
  email: string;
}

export interface RecordedCall {
  path: string;
  headers: IncomingMessage['headers'];
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary request fields
  body: any;
}

export interface Conversation {
  _id: string;
  title: string;
  client_type: string;
  owner_id: string;
  owner_subject: string;
  idempotency_key?: string;
  metadata: Record<string, unknown>;
}

/** One stream the fake writes; a script drives it frame by frame. */
export class CaipeStream {
  readonly res: ServerResponse;
  readonly call: RecordedCall;
  readonly conversation: Conversation;
  readonly eol: string;
  #cancelled: () => void = () => {};
  readonly cancelled: Promise<void>;

  constructor(res: ServerResponse, call: RecordedCall, conversation: Conversation, eol: string) {
    this.res = res;
    this.call = call;
    this.conversation = conversation;
    this.eol = eol;
    this.cancelled = new Promise((resolve) => {
      this.#cancelled = resolve;
    });
  }

  cancel(): void {
    this.#cancelled();
  }

  write(text: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.res.write(text, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** One DA frame: `event: TYPE`, one `data:` line repeating `type` with a float timestamp. */
  frame(type: string, fields: Record<string, unknown> = {}): Promise<void> {
    const payload = JSON.stringify({ type, timestamp: Date.now() / 1000 + 0.123, ...fields });
    return this.write(`event: ${type}${this.eol}data: ${payload}${this.eol}${this.eol}`);
  }

  ping(): Promise<void> {
    return this.write(`: ping - 2026-08-21 00:00:00${this.eol}${this.eol}`);
  }

  end(): Promise<void> {
    return new Promise((resolve) => this.res.end(resolve));
  }

  cut(): void {
    this.res.socket?.destroy();
  }

  clientClosed(): Promise<void> {
    if (this.res.closed || this.res.socket?.destroyed) return Promise.resolve();
    return once(this.res, 'close').then(() => undefined);
  }

  get runId(): string {
    return `run-${this.conversation._id.replace(/-/g, '').slice(0, 12)}`;
  }

  started(): Promise<void> {
    return this.frame('RUN_STARTED', { runId: this.runId, threadId: this.conversation._id });
  }

  finished(
    outcome: string | Record<string, unknown> = 'success',
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    return this.frame('RUN_FINISHED', {
      runId: this.runId,
      threadId: this.conversation._id,
      outcome,
      ...extra,
    });
  }

  async text(messageId: string, ...deltas: string[]): Promise<void> {
    await this.frame('TEXT_MESSAGE_START', { messageId, role: 'assistant' });
    for (const delta of deltas) await this.frame('TEXT_MESSAGE_CONTENT', { messageId, delta });
    await this.frame('TEXT_MESSAGE_END', { messageId });
  }

  /** DA's tool sequence: START, ARGS (all arguments in one frame), RESULT (snake_case, when non-empty), END. */
  async tool(toolCallId: string, toolCallName: string, args: unknown, result?: string): Promise<void> {
    await this.frame('TOOL_CALL_START', { toolCallId, toolCallName });
    await this.frame('TOOL_CALL_ARGS', { toolCallId, delta: JSON.stringify(args) });
    if (result)
      await this.frame('TOOL_CALL_RESULT', {
        message_id: `msg-${toolCallId}`,
        tool_call_id: toolCallId,
        content: result,
        role: 'tool',
      });
    await this.frame('TOOL_CALL_END', { toolCallId });
  }
}

export type CaipeScript = (stream: CaipeStream) => Promise<void>;

export interface FakeCaipeOptions {
  /** Bearer token → who it is (a map, or a function for tokens minted during the test). */
  tokens: Record<string, Caller> | ((token: string) => Caller | undefined);
  /** Which subjects may use which agents; absent: everyone may use every agent. */
  agentUse?: (sub: string, agentId: string) => boolean;
  eol?: string;
}

export class FakeCaipe {
  readonly calls: RecordedCall[] = [];
  readonly conversations = new Map<string, Conversation>();
  readonly feedback: RecordedCall[] = [];
  readonly cancels: RecordedCall[] = [];
  readonly #byKey = new Map<string, Conversation>();
  readonly #scripts: CaipeScript[] = [];
  readonly #running = new Map<string, CaipeStream>();
  readonly #options: FakeCaipeOptions;
  #http!: LoopbackServer;

  private constructor(options: FakeCaipeOptions) {
    this.#options = options;
  }

  static async start(options: FakeCaipeOptions): Promise<FakeCaipe> {
    const fake = new FakeCaipe(options);
    fake.#http = await startLoopbackServer((req, res) => void fake.#handle(req, res));
    return fake;
  }

  get url(): string {
    return this.#http.url;
  }

  /** Scripts for the next streams (start or resume), in order. */
  enqueue(...scripts: CaipeScript[]): this {
    this.#scripts.push(...scripts);
    return this;
  }

  callsTo(path: string): RecordedCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  async close(): Promise<void> {
    for (const stream of this.#running.values()) stream.cancel();
    await this.#http.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '').split('?')[0] ?? '';
    const call: RecordedCall = { path, headers: req.headers, body };
    this.calls.push(call);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method !== 'POST') return json(405, { error: 'method' });
    if (path === '/api/feedback') {
      this.feedback.push(call);
      return json(200, { success: true });
    }
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const tokens = this.#options.tokens;
    const caller = !bearer ? undefined : typeof tokens === 'function' ? tokens(bearer) : tokens[bearer];
    if (!caller) return json(401, { success: false, error: 'Not signed in', code: 'NOT_SIGNED_IN' });
    const b = (body ?? {}) as Record<string, unknown>;
    const agentId = typeof b.agent_id === 'string' ? b.agent_id : undefined;
    const denied = () =>
      json(403, {
        success: false,
        error: 'Permission denied',
        code: 'agent#use',
        reason: 'pdp_denied',
        action: 'contact_admin',
      });
    if (path === '/api/chat/conversations') {
      if (typeof b.title !== 'string' || !b.title || !agentId || typeof b.client_type !== 'string') {
        return json(400, { success: false, error: 'title, client_type and agent_id are required' });
      }
      if (!['webui', 'slack', 'webex'].includes(b.client_type))
        return json(400, { success: false, error: 'client_type' });
      if (this.#options.agentUse && !this.#options.agentUse(caller.sub, agentId)) return denied();
      const key = typeof b.idempotency_key === 'string' ? b.idempotency_key : undefined;
      // The key is a field of the conversation document: a deleted conversation takes it along.
      const found = key ? this.#byKey.get(key) : undefined;
      const existing = found && this.conversations.has(found._id) ? found : undefined;
      if (existing) return json(200, { success: true, data: { conversation: existing, created: false } });
      const conversation: Conversation = {
        _id: randomUUID(),
        title: b.title,
        client_type: b.client_type,
        owner_id: caller.email,
        owner_subject: caller.sub,
        ...(key ? { idempotency_key: key } : {}),
        metadata: { ...(b.metadata as object), total_messages: 0 },
      };
      this.conversations.set(conversation._id, conversation);
      if (key) this.#byKey.set(key, conversation);
      return json(201, { success: true, data: { conversation, created: true } });
    }
    const chat = /^\/api\/v1\/chat\/stream\/(start|resume|cancel)$/.exec(path)?.[1];
    if (!chat) return json(404, { error: 'no route' });
    const conversationId = typeof b.conversation_id === 'string' ? b.conversation_id : undefined;
    if (!conversationId || !agentId || (chat === 'start' && typeof b.message !== 'string')) {
      return json(400, { success: false, error: 'message, conversation_id and agent_id are required' });
    }
    if (chat === 'resume' && typeof b.resume_data !== 'string') {
      return json(400, { success: false, error: 'resume_data is required' });
    }
    if (this.#options.agentUse && !this.#options.agentUse(caller.sub, agentId)) return denied();
    const conversation = this.conversations.get(conversationId);
    if (!conversation)
      return json(404, { success: false, error: 'Conversation not found', code: 'conversation#write' });
    if (conversation.client_type !== 'slack' && conversation.owner_subject !== caller.sub) {
      return json(403, { success: false, error: 'Permission denied', code: 'conversation#write' });
    }
    if (chat === 'cancel') {
      this.cancels.push(call);
      const running = this.#running.get(conversationId);
      running?.cancel();
      return json(200, {
        success: true,
        cancelled: running !== undefined,
        agent_id: agentId,
        conversation_id: conversationId,
      });
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const stream = new CaipeStream(res, call, conversation, this.#options.eol ?? '\n');
    this.#running.set(conversationId, stream);
    const script = this.#scripts.shift();
    try {
      if (!script) {
        await stream.started();
        await stream.text(`msg-${randomUUID()}`, `Echo: ${String(b.message ?? '')}`);
        await stream.finished();
        await stream.end();
      } else await script(stream);
    } catch {
      res.destroy();
    } finally {
      if (this.#running.get(conversationId) === stream) this.#running.delete(conversationId);
    }
  }
}
