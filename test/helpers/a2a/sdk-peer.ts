/**
 * A real A2A agent built with the official `@a2a-js/sdk` server (1.x, v0.3 JSON-RPC through
 * `legacyCompat`) on express, listening on 127.0.0.1:0. Each turn runs a script against a small
 * publishing API; requests (headers + JSON body) and turn contexts are recorded for assertions.
 *
 * Unlike the CAIPE supervisor this server sends LF separators and `final:false` on input-required;
 * the raw SSE emulator covers those wire differences.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type AgentCard, type Part, Role, type Task, TaskState } from '@a2a-js/sdk';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';
import type { RecordedRequest } from './sse-emulator.js';

export type PeerPart = string | { data: Record<string, unknown> };

function toPart(part: PeerPart): Part {
  const content =
    typeof part === 'string'
      ? { $case: 'text' as const, value: part }
      : { $case: 'data' as const, value: part.data };
  return {
    content,
    metadata: undefined,
    filename: '',
    mediaType: typeof part === 'string' ? 'text/plain' : 'application/json',
  };
}

export interface ArtifactOptions {
  artifactId?: string;
  append?: boolean;
  lastChunk?: boolean;
  metadata?: Record<string, unknown>;
  description?: string;
}

/** What a script can do during one turn. */
export class PeerTurn {
  readonly ctx: RequestContext;
  readonly #bus: ExecutionEventBus;
  readonly #cancelled: Promise<void>;
  #artifacts = 0;

  constructor(ctx: RequestContext, bus: ExecutionEventBus, cancelled: Promise<void>) {
    this.ctx = ctx;
    this.#bus = bus;
    this.#cancelled = cancelled;
  }

  /** Text of the user's message parts, joined, without the `by user:` line (the supervisor strips it too). */
  get userText(): string {
    const text = this.#rawText();
    const prefix = /^by user: [^\n]*\n\n/.exec(text);
    return prefix ? text.slice(prefix[0].length) : text;
  }

  /** The email of the `by user:` first line, as the CAIPE supervisor reads it. */
  get byUser(): string | undefined {
    return /^by user: ([^\n]*)\n\n/.exec(this.#rawText())?.[1];
  }

  #rawText(): string {
    return this.ctx.userMessage.parts
      .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
      .join('');
  }

  /** Data parts of the user's message. */
  get userData(): unknown[] {
    return this.ctx.userMessage.parts.filter((p) => p.content?.$case === 'data').map((p) => p.content?.value);
  }

  /** Every turn must open with the task (re-published when resuming an existing one). */
  task(state: TaskState = TaskState.TASK_STATE_SUBMITTED): void {
    const task: Task = this.ctx.task
      ? { ...this.ctx.task, status: { state, message: undefined, timestamp: undefined } }
      : {
          id: this.ctx.taskId,
          contextId: this.ctx.contextId,
          status: { state, message: undefined, timestamp: undefined },
          artifacts: [],
          history: [this.ctx.userMessage],
          metadata: undefined,
        };
    this.#bus.publish(AgentEvent.task(task));
  }

  status(state: TaskState, text?: string, metadata?: Record<string, unknown>): void {
    const message = text
      ? {
          messageId: `m-${Math.random().toString(16).slice(2)}`,
          contextId: this.ctx.contextId,
          taskId: this.ctx.taskId,
          role: Role.ROLE_AGENT,
          parts: [toPart(text)],
          metadata: undefined,
          extensions: [],
          referenceTaskIds: [],
        }
      : undefined;
    this.#bus.publish(
      AgentEvent.statusUpdate({
        taskId: this.ctx.taskId,
        contextId: this.ctx.contextId,
        status: { state, message, timestamp: undefined },
        metadata,
      }),
    );
  }

  artifact(name: string, parts: PeerPart[], options: ArtifactOptions = {}): void {
    this.#bus.publish(
      AgentEvent.artifactUpdate({
        taskId: this.ctx.taskId,
        contextId: this.ctx.contextId,
        artifact: {
          artifactId: options.artifactId ?? `${name}-${++this.#artifacts}`,
          name,
          description: options.description ?? '',
          parts: parts.map(toPart),
          metadata: options.metadata,
          extensions: [],
        },
        append: options.append ?? false,
        lastChunk: options.lastChunk ?? false,
        metadata: undefined,
      }),
    );
  }

  /** Resolves when the client asked to cancel this task. */
  untilCancelled(): Promise<void> {
    return this.#cancelled;
  }

  finish(): void {
    this.#bus.finished();
  }
}

export type PeerScript = (turn: PeerTurn) => Promise<void> | void;

/** The default turn: echo the user's text as a streamed then final answer, completed with a trace id. */
export const echoScript: PeerScript = (turn) => {
  turn.task();
  turn.status(TaskState.TASK_STATE_WORKING);
  turn.artifact('streaming_result', ['You said: '], { artifactId: 'stream-1' });
  turn.artifact('streaming_result', [turn.userText], { artifactId: 'stream-1', append: true });
  turn.artifact('final_result', [`You said: ${turn.userText}`], { lastChunk: true });
  turn.status(TaskState.TASK_STATE_COMPLETED, undefined, {
    trace_id: `trace-${turn.ctx.taskId.replace(/-/g, '')}`,
  });
  turn.finish();
};

export class SdkPeer {
  readonly requests: RecordedRequest[] = [];
  readonly turns: RequestContext[] = [];
  readonly cancelRequests: string[] = [];
  /** Resolves per JSON-RPC request when the HTTP exchange closes (finished or dropped by the client). */
  readonly closed: Array<Promise<void>> = [];
  readonly #scripts: PeerScript[] = [];
  #defaultScript: PeerScript = echoScript;
  readonly #cancels = new Map<string, () => void>();
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #url = '';

  private constructor() {}

  static async start(): Promise<SdkPeer> {
    const peer = new SdkPeer();
    const app = express();
    const executor: AgentExecutor = {
      execute: async (ctx, bus) => {
        peer.turns.push(ctx);
        let cancel!: () => void;
        const cancelled = new Promise<void>((resolve) => {
          cancel = resolve;
        });
        peer.#cancels.set(ctx.taskId, cancel);
        const script = peer.#scripts.shift() ?? peer.#defaultScript;
        await script(new PeerTurn(ctx, bus, cancelled));
      },
      cancelTask: async (taskId) => {
        peer.cancelRequests.push(taskId);
        // The running script publishes the canceled status itself (it owns the task's bus).
        peer.#cancels.get(taskId)?.();
      },
    };
    const card: AgentCard = {
      name: 'test supervisor',
      description: 'A2A peer for the agent client tests',
      supportedInterfaces: duplicateInterfacesForLegacy(
        [{ url: 'http://127.0.0.1/', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
        ['JSONRPC'],
      ),
      provider: undefined,
      version: '0.0.1',
      capabilities: { streaming: true, pushNotifications: false, extensions: [] },
      securitySchemes: {},
      securityRequirements: [],
      defaultInputModes: ['text'],
      defaultOutputModes: ['text'],
      skills: [],
      signatures: [],
    };
    const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
    app.use(
      '/.well-known/agent-card.json',
      agentCardHandler({ agentCardProvider: requestHandler, legacyCompat: { enabled: true } }),
    );
    app.use(express.json(), (req, res, next) => {
      peer.requests.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: JSON.stringify(req.body),
        json: req.body,
      });
      peer.closed.push(once(res, 'close').then(() => undefined));
      next();
    });
    app.use(
      jsonRpcHandler({
        requestHandler,
        userBuilder: UserBuilder.noAuthentication,
        legacyCompat: { enabled: true },
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    server.on('connection', (socket) => {
      peer.#sockets.add(socket);
      socket.once('close', () => peer.#sockets.delete(socket));
    });
    await once(server, 'listening');
    peer.#server = server;
    peer.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return peer;
  }

  get url(): string {
    return this.#url;
  }

  /** The script of every turn that has none queued (the echo script unless set). */
  setDefault(script: PeerScript): this {
    this.#defaultScript = script;
    return this;
  }

  /** Scripts for the next turns, in order; the default script answers when none is queued. */
  enqueue(...scripts: PeerScript[]): this {
    this.#scripts.push(...scripts);
    return this;
  }

  async close(): Promise<void> {
    // Release scripts still waiting for a cancel so their executions end.
    for (const cancel of this.#cancels.values()) cancel();
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
