/**
 * A reliability rig: the real bot (`startWorld`: simulator + runtime) against a CAIPE-shaped SSE
 * emulator that answers `message/stream` with a per-question script (an echo by default) and
 * `tasks/cancel` with a canceled task. Everything a test asserts is read from the simulator's store
 * and logs and from the emulator's recorded requests: how often each question reached the agent,
 * how often it was answered, which notices were posted, and whether the bot is still ready.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { expect } from 'vitest';
import { waitFor } from 'xstate';
import type { Clock } from '../../../src/clock.js';
import { readinessOf } from '../../../src/machines/webex-connection.js';
import type { SimPerson, SimRoom, StoredMessage } from '../../../src/simulator/webex/index.js';
import { answerScript, sentMessage } from '../../integration/conversations/support.js';
import { type Script, SseEmulator, type SseExchange } from '../a2a/sse-emulator.js';
import { startWorld, type World, type WorldOptions } from '../world.js';
import { startScaledWorld } from './scaled-world.js';

/** Answers every question with `Echo: <question>`, streamed in a few chunks, with a trace id. */
export const echoScript = answerScript((text) => `Echo: ${text}`);

export interface ScriptRule {
  /** Matches the text the agent received. */
  match: (text: string) => boolean;
  script: Script;
  /** Used once, then dropped (default: once). */
  times?: number;
}

export interface Rig {
  world: World;
  agent: SseEmulator;
  /** Task ids the agent was asked to cancel. */
  cancels: string[];
  /** Answers the next matching `message/stream` with `script` instead of the echo. */
  when(match: string | ((text: string) => boolean), script: Script, times?: number): void;
  /** `message/stream` requests whose text includes `text`. */
  asked(text: string): number;
  readyz(): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export interface RigOptions {
  env?: Record<string, string>;
  /** The agent URL the bot uses; the emulator's own by default (a proxy may stand in front). */
  agentUrl?: (emulatorUrl: string) => Promise<string> | string;
  stores?: WorldOptions['stores'];
  /** Runs the bot on this clock (see `scaled-world.ts`); the wall clock by default. */
  clock?: Clock;
  logLevel?: 'debug' | 'info' | 'warn';
  writeLimit?: WorldOptions['writeLimit'];
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const rules: ScriptRule[] = [];
  const cancels: string[] = [];
  const dispatch: Script = async (exchange: SseExchange) => {
    const json = exchange.request.json;
    if (json?.method === 'tasks/cancel') {
      const taskId = String(json.params?.id ?? '');
      cancels.push(taskId);
      await exchange.json(200, {
        jsonrpc: '2.0',
        id: json.id ?? null,
        result: { kind: 'task', id: taskId, contextId: 'ctx', status: { state: 'canceled' } },
      });
      return;
    }
    if (json?.method === 'tasks/resubscribe' || json?.method === 'tasks/get') {
      // This agent keeps no tasks: a cut stream cannot be recovered, as with a restarted supervisor.
      await exchange.json(200, {
        jsonrpc: '2.0',
        id: json.id ?? null,
        error: { code: -32001, message: 'Task not found' },
      });
      return;
    }
    const text = sentMessage(json).text;
    const index = rules.findIndex((rule) => rule.match(text));
    const rule = index >= 0 ? rules[index] : undefined;
    if (rule) {
      rule.times = (rule.times ?? 1) - 1;
      if (rule.times <= 0) rules.splice(index, 1);
      await rule.script(exchange);
      return;
    }
    await echoScript(exchange);
  };
  const agent = await SseEmulator.start({ defaultScript: dispatch });
  const agentUrl = options.agentUrl ? await options.agentUrl(agent.url) : agent.url;
  const worldOptions: WorldOptions = {
    agentUrl,
    env: { WEBEX_RETRY_AFTER_DEFAULT_S: '1', ...options.env },
    ...(options.stores ? { stores: options.stores } : {}),
    ...(options.writeLimit ? { writeLimit: options.writeLimit } : {}),
  };
  const world = options.clock
    ? await startScaledWorld({
        ...worldOptions,
        env: { WEBEX_UPDATE_INTERVAL_MS: '100', ...worldOptions.env },
        clock: options.clock,
        ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      })
    : await startWorld(worldOptions);
  return {
    world,
    agent,
    cancels,
    when: (match, script, times = 1) =>
      void rules.push({
        match: typeof match === 'string' ? (text) => text.includes(match) : match,
        script,
        times,
      }),
    asked: (text) =>
      agent.requests.filter(
        (r) => r.json?.method === 'message/stream' && sentMessage(r.json).text.includes(text),
      ).length,
    readyz: async () => {
      const response = await fetch(`http://127.0.0.1:${world.runtime.http.port}/readyz`);
      return { status: response.status, body: await response.text() };
    },
    close: async () => {
      await world.close();
      await agent.close();
    },
  };
}

// ── Reading what Webex shows ────────────────────────────────────────────────────────────────────

/** The bot's visible (not deleted) messages in a room whose markdown starts with `prefix`. */
export function botMessagesStartingWith(world: World, roomId: string, prefix: string): StoredMessage[] {
  return world.visibleBotMessages(roomId).filter((m) => (m.markdown ?? '').startsWith(prefix));
}

/** How many answers to `question` are visible in the room (the echo starts with `Echo: <question>`). */
export function answersTo(world: World, roomId: string, question: string): number {
  return botMessagesStartingWith(world, roomId, `Echo: ${question}`).length;
}

/** Resolves once the bot's message starting with `prefix` is stored in the room (past ones count). */
export async function untilBotMessage(
  world: World,
  roomId: string,
  prefix: string,
  timeoutMs = 15_000,
): Promise<void> {
  const found = () => botMessagesStartingWith(world, roomId, prefix).length > 0;
  if (found()) return;
  await world.sim.waitFor(
    'request',
    (r) => r.method === 'POST' && r.path === '/v1/messages' && r.status === 200 && found(),
    { futureOnly: true, timeoutMs },
  );
}

/** Resolves once the question has been answered in the room. */
export function untilAnswered(world: World, roomId: string, question: string, timeoutMs = 15_000) {
  return untilBotMessage(world, roomId, `Echo: ${question}`, timeoutMs);
}

/** Working messages still showing in the room (every one must be gone once answers are in). */
export function visibleWorkingMessages(world: World, roomId: string): StoredMessage[] {
  return world
    .visibleBotMessages(roomId)
    .filter(
      (m) => (m.markdown ?? '').startsWith('⏳ Working') || (m.markdown ?? '').startsWith('🔄 Working'),
    );
}

/** Resolves once no working message shows in the room. */
export async function untilNoWorking(world: World, roomId: string, timeoutMs = 15_000): Promise<void> {
  while (visibleWorkingMessages(world, roomId).length > 0) {
    await world.sim.waitFor('request', (r) => r.method === 'DELETE', { futureOnly: true, timeoutMs });
  }
}

/** Resolves once the bot's connection is online again. */
export async function untilOnline(world: World, timeoutMs = 15_000): Promise<void> {
  await waitFor(world.runtime.connection, (s) => readinessOf(s).ready, { timeout: timeoutMs });
}

/** Resolves once the connection has left `online` (a drop was noticed). */
export async function untilOffline(world: World, timeoutMs = 15_000): Promise<void> {
  await waitFor(world.runtime.connection, (s) => !readinessOf(s).ready, { timeout: timeoutMs });
}

/**
 * The bot is healthy: `/readyz` answers 200 and a new question is answered exactly once, with no
 * working message left behind.
 */
export async function expectHealthy(
  rig: Rig,
  user: SimPerson,
  room: SimRoom,
  question = `follow-up ${Math.random().toString(36).slice(2, 8)}.`,
): Promise<void> {
  await untilOnline(rig.world);
  rig.world.sim.post(user, room, { text: question });
  await untilAnswered(rig.world, room.id, question);
  await untilNoWorking(rig.world, room.id);
  expect(answersTo(rig.world, room.id, question)).toBe(1);
  expect(rig.asked(question)).toBe(1);
  const ready = await rig.readyz();
  expect(ready.status).toBe(200);
}

// ── An agent address that can refuse connections ────────────────────────────────────────────────

/**
 * A loopback port that refuses connections until `up()` starts a TCP relay on it to the real
 * agent; `down()` makes it refuse again. For "agent down, then back" on one fixed `CAIPE_URL`.
 */
export class SwitchableAgentPort {
  readonly port: number;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  private constructor(port: number) {
    this.port = port;
  }

  static async reserve(): Promise<SwitchableAgentPort> {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return new SwitchableAgentPort(port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(targetUrl: string): Promise<void> {
    const target = Number(new URL(targetUrl).port);
    const { connect } = await import('node:net');
    this.#server = createServer((socket) => {
      const upstream = connect(target, '127.0.0.1');
      for (const s of [socket, upstream]) {
        this.#sockets.add(s);
        s.once('close', () => this.#sockets.delete(s));
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    }).listen(this.port, '127.0.0.1');
    await once(this.#server, 'listening');
  }

  async down(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
