/**
 * Shared pieces of the end-to-end conversation tests: a CAIPE-shaped A2A turn for the raw SSE
 * emulator (its results written by src/demo/caipe-events.ts), and readers of what Webex shows, taken from the simulator's
 * request log and message store only.
 */

import { TaskState } from '@a2a-js/sdk';
import { MemorySpaceRegistry } from '../../../src/adapters/store/memory.js';
import type { SpaceRecord, SpaceRegistry } from '../../../src/adapters/store/ports.js';
import type { Clock } from '../../../src/clock.js';
import {
  type A2aResult,
  type ArtifactOptions,
  CaipeEvents,
  type PlanStep,
  userInputPart,
} from '../../../src/demo/caipe-events.js';
import { messages } from '../../../src/render/messages.js';
import { memoryStores, type Stores } from '../../../src/runtime.js';
import type { RequestRecord, WebexSimulator } from '../../../src/simulator/webex/index.js';
import type { PeerScript, SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import type { SseExchange } from '../../helpers/a2a/sse-emulator.js';

// ── What Webex shows ────────────────────────────────────────────────────────────────────────────

const WORKING_HEADER_PREFIX = messages.workingHeader('').replace(/\(\)$/, '');

/** True for a working message: the first "Working on it" text or a later progress rendering. */
export function isProgressMarkdown(markdown: string | undefined): boolean {
  if (markdown === undefined) return false;
  return markdown.startsWith(messages.working) || markdown.startsWith(WORKING_HEADER_PREFIX);
}

export function markdownOf(record: RequestRecord): string {
  const body = record.body as { markdown?: unknown } | undefined;
  return typeof body?.markdown === 'string' ? body.markdown : '';
}

function bodyField(record: RequestRecord, field: 'roomId' | 'parentId'): string | undefined {
  const value = (record.body as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'string' ? value : undefined;
}

export function roomIdOf(record: RequestRecord): string | undefined {
  return bodyField(record, 'roomId');
}

export function parentIdOf(record: RequestRecord): string | undefined {
  return bodyField(record, 'parentId');
}

/**
 * The bot's writes (posts, edits, deletes of messages), in the order the simulator answered them.
 * An injected fault answers before the caller is identified (no `callerUuid`); users in these tests
 * post through the driver, so every write over HTTP is the bot's.
 */
export function botWrites(sim: WebexSimulator): RequestRecord[] {
  return sim.log.requests.filter(
    (r) =>
      (r.callerUuid === sim.bot.uuid || r.callerUuid === undefined) &&
      r.path.startsWith('/v1/messages') &&
      (r.method === 'POST' || r.method === 'PUT' || r.method === 'DELETE'),
  );
}

/** The bot's successful posts in one room, in order. */
export function botPostsIn(sim: WebexSimulator, roomId: string): RequestRecord[] {
  return botWrites(sim).filter(
    (r) => r.method === 'POST' && r.status === 200 && r.path === '/v1/messages' && roomIdOf(r) === roomId,
  );
}

/** Resolves with the bot's first successful post whose markdown passes the test. */
export function waitForBotPost(
  sim: WebexSimulator,
  test: (markdown: string, record: RequestRecord) => boolean,
  timeoutMs = 10_000,
): Promise<RequestRecord> {
  return sim.waitFor(
    'request',
    (r) =>
      r.callerUuid === sim.bot.uuid &&
      r.method === 'POST' &&
      r.path === '/v1/messages' &&
      r.status === 200 &&
      test(markdownOf(r), r),
    { timeoutMs },
  );
}

/** Resolves once the bot has posted `count` messages in the room whose markdown passes the test. */
export async function untilBotPosts(
  sim: WebexSimulator,
  roomId: string,
  test: (markdown: string) => boolean,
  count: number,
): Promise<void> {
  // The count and the listener are taken in one synchronous step, so no post slips between them.
  while (botPostsIn(sim, roomId).filter((r) => test(markdownOf(r))).length < count) {
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && r.status === 200 && roomIdOf(r) === roomId && test(markdownOf(r)),
      { futureOnly: true, timeoutMs: 10_000 },
    );
  }
}

export function waitForBotPostContaining(
  sim: WebexSimulator,
  text: string,
  timeoutMs = 10_000,
): Promise<RequestRecord> {
  return waitForBotPost(sim, (markdown) => markdown.includes(text), timeoutMs);
}

/** The bot's working messages in a room as stored by Webex (deleted ones included). */
export function workingMessages(sim: WebexSimulator, roomId: string) {
  return sim
    .roomMessages(roomId)
    .filter((m) => m.authorUuid === sim.bot.uuid && (m.editCount > 0 || isProgressMarkdown(m.markdown)));
}

/** Resolves once every working message the bot posted in the room is deleted. */
export async function untilNoWorkingMessage(sim: WebexSimulator, roomId: string): Promise<void> {
  while (workingMessages(sim, roomId).some((m) => !m.deleted)) {
    await sim.waitFor('request', (r) => r.method === 'DELETE' && r.callerUuid === sim.bot.uuid, {
      futureOnly: true,
      timeoutMs: 10_000,
    });
  }
}

// ── What the agent received ─────────────────────────────────────────────────────────────────────

interface SentMessage {
  /** The user's own request (the prompt's last line). */
  text: string;
  /** Everything sent as text: thread context, if any, then the request (without the `by user:` line). */
  prompt: string;
  /** The email of the `by user:` first line (`A2A_USER_PREFIX`), when there was one. */
  byUser?: string;
  contextId?: string;
  taskId?: string;
}

/** Whether a recorded JSON-RPC request sends the agent a message (v0.3 `message/stream`, v1.0 `SendStreamingMessage`). */
// biome-ignore lint/suspicious/noExplicitAny: recorded JSON-RPC bodies are untyped
export function isMessageSend(json: any): boolean {
  return json?.method === 'message/stream' || json?.method === 'SendStreamingMessage';
}

/** The user message of a recorded `message/stream` (or v1.0 `SendStreamingMessage`) request. */
// biome-ignore lint/suspicious/noExplicitAny: recorded JSON-RPC bodies are untyped
export function sentMessage(json: any): SentMessage {
  const message = json?.params?.message ?? {};
  const parts = (message.parts ?? []) as Array<{ kind?: string; text?: string }>;
  // v0.3 text parts say `kind: "text"`; v1.0 parts are `{text}` alone.
  const sent = parts
    .filter((p) => p.kind === 'text' || (p.kind === undefined && typeof p.text === 'string'))
    .map((p) => p.text ?? '')
    .join('');
  const byUser = /^by user: ([^\n]*)\n\n/.exec(sent);
  const prompt = byUser ? sent.slice(byUser[0].length) : sent;
  return {
    text: currentRequest(prompt),
    prompt,
    ...(byUser ? { byUser: byUser[1]! } : {}),
    ...(message.contextId ? { contextId: message.contextId as string } : {}),
    ...(message.taskId ? { taskId: message.taskId as string } : {}),
  };
}

/**
 * The user's own request in a prompt: its last line. A thread reply may reach the agent with the
 * thread's earlier messages first (SPEC §4 "Thread context"), and the request always comes last.
 */
export function currentRequest(text: string): string {
  return text.split('\n').at(-1) ?? '';
}

/** The SDK peer's echo, answering only the user's own request (not the thread context before it). */
export const echoRequest: PeerScript = (turn) => {
  const request = currentRequest(turn.userText);
  turn.task();
  turn.status(TaskState.TASK_STATE_WORKING);
  turn.artifact('final_result', [`You said: ${request}`], { lastChunk: true });
  turn.status(TaskState.TASK_STATE_COMPLETED);
  turn.finish();
};

/** Queues `echoRequest` for the peer's next turns (after whatever the test queued before). */
export function echoRequests(peer: SdkPeer, turns = 20): SdkPeer {
  return peer.enqueue(...Array.from({ length: turns }, () => echoRequest));
}

// ── CAIPE-shaped results for the raw emulator ───────────────────────────────────────────────────

let nextTurn = 1;

/** A plan step as a test names it; the step id is made from its place in the plan. */
export type PlanStepInput = Omit<PlanStep, 'step_id'>;

/**
 * One turn of a CAIPE-like supervisor on an emulator exchange: the task keeps the request's
 * `contextId` (or opens a fresh one) and a new task id, as the supervisor does. The results are the
 * demo agent's (src/demo/caipe-events.ts); this sends them as sse-starlette does, artifacts split
 * across two writes.
 */
export class CaipeTurn {
  readonly exchange: SseExchange;
  readonly taskId: string;
  readonly contextId: string;
  readonly #events: CaipeEvents;
  #planSent = false;

  constructor(exchange: SseExchange) {
    const n = nextTurn++;
    this.exchange = exchange;
    this.taskId = `task-${n}`;
    this.contextId = sentMessage(exchange.request.json).contextId ?? `ctx-${n}`;
    this.#events = new CaipeEvents(this);
  }

  get userText(): string {
    return sentMessage(this.exchange.request.json).text;
  }

  #sendArtifact(result: A2aResult): Promise<void> {
    return this.exchange.sendResult(result, { pieces: 2 });
  }

  /** `task` (submitted), then `working`, each preceded by a keep-alive ping as sse-starlette does. */
  async open(): Promise<void> {
    this.exchange.start();
    await this.exchange.ping();
    await this.exchange.sendResult(this.#events.task());
    await this.status('working');
  }

  status(state: string, text?: string, metadata?: Record<string, unknown>, final = false): Promise<void> {
    return this.exchange.sendResult(
      this.#events.status(state, { ...(text ? { text } : {}), ...(metadata ? { metadata } : {}), final }),
    );
  }

  artifact(name: string, parts: unknown[], options: ArtifactOptions = {}): Promise<void> {
    return this.#sendArtifact(this.#events.artifact(name, parts, options));
  }

  /** `execution_plan_update` the first time, `execution_plan_status_update` after (same artifact id). */
  plan(steps: readonly PlanStepInput[]): Promise<void> {
    const first = !this.#planSent;
    this.#planSent = true;
    const withIds = steps.map((step, order) => ({
      step_id: `step-${order.toString(16).padStart(12, '0')}`,
      ...step,
    }));
    return this.#sendArtifact(this.#events.plan(withIds, first));
  }

  toolStart(tool: string, agent: string): Promise<void> {
    return this.#sendArtifact(this.#events.tool('start', agent, tool));
  }

  toolEnd(tool: string, agent: string): Promise<void> {
    return this.#sendArtifact(this.#events.tool('end', agent, tool));
  }

  /** Streams `text` in a few `streaming_result` chunks on one artifact. */
  async stream(text: string, chunks = 3): Promise<void> {
    const size = Math.max(1, Math.ceil(text.length / chunks));
    for (let i = 0; i < text.length; i += size) {
      await this.#sendArtifact(this.#events.text(text.slice(i, i + size), i === 0));
    }
  }

  /** `final_result` then `completed` (final, with a trace id made from the task id), then the stream closes. */
  async answer(text: string): Promise<void> {
    const traceId = `${this.taskId.replace(/[^0-9a-f]/g, '').padStart(32, 'a')}`.slice(-32);
    const [result, completed] = this.#events.answer(text, { traceId });
    await this.#sendArtifact(result);
    await this.exchange.sendResult(completed);
    await this.exchange.end();
  }
}

/**
 * An emulator script: open the task, stream a little, answer `reply(userText)`. Asked to re-attach
 * to or read a task (after a cut), it says the task is not found: it keeps none.
 */
export function answerScript(reply: (userText: string) => string) {
  return async (exchange: SseExchange): Promise<void> => {
    const json = exchange.request.json;
    if (!isMessageSend(json)) {
      await exchange.json(200, {
        jsonrpc: '2.0',
        id: json?.id ?? null,
        error: { code: -32001, message: 'Task not found' },
      });
      return;
    }
    const turn = new CaipeTurn(exchange);
    await turn.open();
    const text = reply(turn.userText);
    await turn.stream(text);
    await turn.answer(text);
  };
}

export const echo = answerScript((text) => `Echo: ${currentRequest(text)}`);

// ── A space registry the test can watch ─────────────────────────────────────────────────────────

/** The in-memory registry behind a test's own `find`: every other call goes straight to it. */
export abstract class WrappedSpaceRegistry implements SpaceRegistry {
  protected readonly inner: MemorySpaceRegistry;

  constructor(clock?: Clock) {
    this.inner = new MemorySpaceRegistry(clock);
  }

  abstract find(roomIds: readonly string[]): Promise<SpaceRecord | undefined>;

  list(): Promise<SpaceRecord[]> {
    return this.inner.list();
  }

  authorize(record: Parameters<SpaceRegistry['authorize']>[0]): Promise<SpaceRecord> {
    return this.inner.authorize(record);
  }

  revoke(roomIds: readonly string[], revokedBy: string): Promise<boolean> {
    return this.inner.revoke(roomIds, revokedBy);
  }
}

/**
 * The in-memory registry, counting finished lookups so a test knows the bot has read the
 * registry for a message (the registry is the bot's edge: MongoDB in production).
 */
export class WatchedSpaceRegistry extends WrappedSpaceRegistry {
  readonly #waiters: Array<{ count: number; resolve: () => void }> = [];
  lookups = 0;

  async find(roomIds: readonly string[]): Promise<SpaceRecord | undefined> {
    const record = await this.inner.find(roomIds);
    this.lookups++;
    for (const waiter of [...this.#waiters]) {
      if (this.lookups >= waiter.count) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
    return record;
  }

  /** Resolves once `count` lookups have been answered. */
  untilLookups(count: number): Promise<void> {
    if (this.lookups >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

export function storesWithSpaces(spaces: SpaceRegistry): Stores {
  return { ...memoryStores(), spaces };
}

/** An agent fault: the task opens, part of an answer streams, then the connection drops. */
export function cutMidAnswerScript(partial: string) {
  return async (exchange: SseExchange): Promise<void> => {
    const turn = new CaipeTurn(exchange);
    await turn.open();
    await turn.stream(partial, 2);
    exchange.cut();
  };
}

/**
 * An agent fault: the task opens, then only keep-alive pings follow (sse-starlette keeps pinging a
 * stuck stream; pings are not activity) until the bot gives up and closes the connection.
 */
export function silentWithPingsScript(pingEveryMs = 200) {
  return async (exchange: SseExchange): Promise<void> => {
    const turn = new CaipeTurn(exchange);
    await turn.open();
    const pinger = setInterval(() => void exchange.ping().catch(() => undefined), pingEveryMs);
    await exchange.clientClosed();
    clearInterval(pinger);
  };
}

/** A CAIPE `UserInputMetaData` data part: a required select and an optional text field. */
export const DEPLOY_FORM_PART = userInputPart({
  title: 'Deploy',
  description: 'Which environment?',
  fields: [
    {
      field_name: 'env',
      field_label: 'Environment',
      field_type: 'select',
      field_values: ['staging', 'prod'],
      required: true,
    },
    { field_name: 'reason', field_label: 'Reason', field_type: 'text', required: false },
  ],
});
