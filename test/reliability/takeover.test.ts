/**
 * Takeover of a running answer by the next process (SPEC "Durability and replicas"), against the
 * official A2A SDK server, which keeps running its task after the bot's process stopped, over
 * A2A v0.3 and v1.0 (the v1.0 method in parentheses):
 *
 * - the task still runs when the next process starts: it re-attaches (`tasks/resubscribe`,
 *   `SubscribeToTask`) and posts the answer once the task ends;
 * - the task finished while no process ran: the answer is read whole from the task's artifacts
 *   (`tasks/get`, `GetTask`);
 * - the agent no longer knows the task: the person is told once that the answer was interrupted.
 *
 * Either way the agent was asked once (`message/stream`, `SendStreamingMessage`), every request
 * spoke the one version, the stale working message is gone, and the answer is posted once. Processes here stop gracefully (SIGTERM past the grace period); the
 * abrupt stops are in crash-points.test.ts.
 */
import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it, vi } from 'vitest';
import { messages } from '../../src/render/messages.js';
import type { Runtime } from '../../src/runtime.js';
import { type PeerTurn, SdkPeer } from '../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';
import { isProgressMarkdown, markdownOf } from '../integration/conversations/support.js';
import { botProcesses } from './handover-support.js';

const track = closeAfterEach();

const CHUNKS = ['The deployment ', 'of service A ', 'finished at 10:42 ', 'with 3 replicas.'];
const ANSWER = CHUNKS.join('');

/** A task that streams a tool call, waits for `release`, then streams its answer in chunks and completes. */
function longTask(release: Promise<void>) {
  return async (turn: PeerTurn) => {
    turn.task();
    turn.status(TaskState.TASK_STATE_WORKING);
    turn.artifact('tool_notification_start', ['Tool call started: deploy'], {
      metadata: { tool_name: 'deploy' },
    });
    await Promise.race([release, turn.untilCancelled()]);
    for (const [i, chunk] of CHUNKS.entries())
      turn.artifact('streaming_result', [chunk], { artifactId: 'answer-stream', append: i > 0 });
    turn.artifact('final_result', [ANSWER], { lastChunk: true });
    turn.status(TaskState.TASK_STATE_COMPLETED);
    turn.finish();
  };
}

/** Each A2A version's JSON-RPC methods and header, and how its `tasks/get` result names a finished task. */
const WIRES = {
  '0.3': {
    stream: 'message/stream',
    resubscribe: 'tasks/resubscribe',
    get: 'tasks/get',
    cancel: 'tasks/cancel',
    headers: {},
    completed: 'completed',
  },
  '1.0': {
    stream: 'SendStreamingMessage',
    resubscribe: 'SubscribeToTask',
    get: 'GetTask',
    cancel: 'CancelTask',
    headers: { 'a2a-version': '1.0' },
    completed: 'TASK_STATE_COMPLETED',
  },
} as const;
type Version = keyof typeof WIRES;
type Wire = (typeof WIRES)[Version];

async function setUp(version: Version) {
  const peer = track(await SdkPeer.start());
  const release = deferred<void>();
  peer.enqueue(longTask(release.promise));
  const bots = track(
    await botProcesses({ agentUrl: () => peer.url, env: { SHUTDOWN_GRACE_S: '0', A2A_VERSION: version } }),
  );
  track({ close: () => release.resolve() });
  const ada = bots.sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
  const room = bots.sim.createDirectRoom(ada);
  return { peer, release, bots, sim: bots.sim, ada, room, wire: WIRES[version] };
}

/** Starts an answer and hands it over: the first process stops while the agent works. */
async function handOver(ctx: Awaited<ReturnType<typeof setUp>>): Promise<Runtime> {
  const first = await ctx.bots.start();
  ctx.sim.post(ctx.ada, ctx.room, { text: 'deploy service A' });
  await ctx.sim.waitFor('request', (r) => r.method === 'PUT' && markdownOf(r).includes('deploy'), {
    timeoutMs: 10_000,
  });
  await first.shutdown();
  return first;
}

function botMessages(ctx: Awaited<ReturnType<typeof setUp>>) {
  return ctx.sim.roomMessages(ctx.room.id).filter((m) => m.authorUuid === ctx.sim.bot.uuid);
}

function expectAnsweredOnce(ctx: Awaited<ReturnType<typeof setUp>>) {
  const visible = botMessages(ctx).filter((m) => !m.deleted);
  expect(visible.filter((m) => isProgressMarkdown(m.markdown))).toEqual([]);
  const answers = visible.filter((m) => m.markdown?.includes(ANSWER));
  expect(answers).toHaveLength(1);
  expect(methodsFromBot(ctx.peer).filter((m) => m === ctx.wire.stream)).toHaveLength(1);
  expectOneVersion(ctx.peer, ctx.wire);
  expect(ctx.peer.cancelRequests).toEqual([]);
}

/** Every request of the bot's processes used the methods and header of the version under test. */
function expectOneVersion(peer: SdkPeer, wire: Wire) {
  const methods: unknown[] = [wire.stream, wire.resubscribe, wire.get, wire.cancel];
  const fromBot = peer.requests.filter((r) => r.headers['x-test-probe'] === undefined);
  expect(fromBot.length).toBeGreaterThan(0);
  expect(fromBot.map((r) => r.json?.method).filter((m) => !methods.includes(m))).toEqual([]);
  expect(fromBot.map((r) => r.headers['a2a-version'])).toEqual(
    fromBot.map(() => (wire.headers as { 'a2a-version'?: string })['a2a-version']),
  );
}

/**
 * Resolves once the taken-over turn has left the answering state in the second process: both
 * working messages (the previous process's, and the one this process put up while taking over)
 * are deleted. A stop before that would hand the turn over once more, its working message up.
 */
async function untilTurnEnded(ctx: Awaited<ReturnType<typeof setUp>>): Promise<void> {
  await vi.waitUntil(
    () => {
      const working = botMessages(ctx).filter((m) => isProgressMarkdown(m.markdown));
      return working.length >= 2 && working.every((m) => m.deleted);
    },
    { timeout: 10_000 },
  );
}

describe.each(['0.3', '1.0'] as const)(
  'the next process takes a handed-over answer over (A2A %s)',
  (version) => {
    it('re-attaches to a task that still runs and posts its answer once', async () => {
      const ctx = await setUp(version);
      await handOver(ctx);
      const staleWorking = botMessages(ctx).find((m) => !m.deleted && isProgressMarkdown(m.markdown));
      expect(staleWorking).toBeDefined();

      await ctx.bots.start();
      // It reads the task (still running), then follows it.
      await ctx.sim.waitFor('request', (r) => r.method === 'DELETE' && r.path.endsWith(staleWorking!.id), {
        timeoutMs: 10_000,
      });
      await waitForRequest(ctx.peer, ctx.wire.resubscribe);
      ctx.release.resolve();
      await ctx.sim.waitFor('request', (r) => r.method === 'POST' && markdownOf(r).includes(ANSWER), {
        timeoutMs: 10_000,
      });
      await ctx.sim.waitFor('request', (r) => r.method === 'DELETE' && r.status === 204, {
        timeoutMs: 10_000,
        futureOnly: true,
      });

      expectAnsweredOnce(ctx);
      expect(methodsFromBot(ctx.peer)).toContain(ctx.wire.get);
      expect(ctx.bots.log.text()).toContain('running answer taken over');
    });

    it('reads the whole answer from the task when it finished while no process ran', async () => {
      const ctx = await setUp(version);
      await handOver(ctx);
      ctx.release.resolve();
      await ctx.peer.closed.at(-1);
      // The task completes on the peer while no bot process runs.
      await waitForTaskState(ctx.peer, ctx.wire);

      await ctx.bots.start();
      await ctx.sim.waitFor('request', (r) => r.method === 'POST' && markdownOf(r).includes(ANSWER), {
        timeoutMs: 10_000,
      });
      await ctx.sim.waitFor(
        'request',
        (r) =>
          r.method === 'DELETE' &&
          botMessages(ctx).every((m) => m.deleted || !isProgressMarkdown(m.markdown)),
        { timeoutMs: 10_000 },
      );

      expectAnsweredOnce(ctx);
      expect(methodsFromBot(ctx.peer)).toContain(ctx.wire.get);
      expect(methodsFromBot(ctx.peer)).not.toContain(ctx.wire.resubscribe);
    });

    it('asks again whether the person may use the bot: a refused one gets no answer, the task is cancelled', async () => {
      const ctx = await setUp(version);
      await handOver(ctx);
      // Meanwhile the operator narrowed who may use the bot: Ada's domain is no longer allowed.
      const second = await ctx.bots.start({ env: { WEBEX_ALLOWED_EMAIL_DOMAINS: 'other.example' } });
      await ctx.sim.waitFor(
        'request',
        (r) => r.method === 'POST' && markdownOf(r) === messages.answerInterrupted,
        { timeoutMs: 10_000 },
      );
      await vi.waitUntil(() => ctx.peer.cancelRequests.length === 1, { timeout: 10_000 });
      await untilTurnEnded(ctx);
      ctx.release.resolve();
      await second.shutdown();

      const visible = botMessages(ctx).filter((m) => !m.deleted);
      expect(visible.some((m) => m.markdown?.includes(ANSWER))).toBe(false);
      expect(visible.filter((m) => isProgressMarkdown(m.markdown))).toEqual([]);
      // The agent was neither read nor followed for a refused person; its task was cancelled.
      expect(methodsFromBot(ctx.peer)).not.toContain(ctx.wire.get);
      expect(methodsFromBot(ctx.peer)).not.toContain(ctx.wire.resubscribe);
      expect(methodsFromBot(ctx.peer)).toContain(ctx.wire.cancel);
      expectOneVersion(ctx.peer, ctx.wire);
      expect(ctx.bots.log.text()).toContain('person of a taken-over answer refused');
    });

    it('tells the person once when the agent no longer knows the task', async () => {
      const ctx = await setUp(version);
      await handOver(ctx);
      // The agent was replaced meanwhile: a fresh peer that never saw the task.
      await ctx.peer.close();
      const fresh = track(await SdkPeer.start());
      const second = await ctx.bots.start({ env: { CAIPE_URL: fresh.url } });
      await ctx.sim.waitFor(
        'request',
        (r) => r.method === 'POST' && markdownOf(r) === messages.answerInterrupted,
        { timeoutMs: 10_000 },
      );
      await untilTurnEnded(ctx);
      await second.shutdown();

      const visible = botMessages(ctx).filter((m) => !m.deleted);
      expect(visible.map((m) => m.markdown)).toEqual([messages.answerInterrupted]);
      expect(methodsFromBot(fresh)).toEqual([ctx.wire.get]);
      expectOneVersion(fresh, ctx.wire);
    });
  },
);

async function waitForRequest(peer: SdkPeer, method: string): Promise<void> {
  await vi.waitUntil(() => peer.requests.some((r) => r.json?.method === method), { timeout: 10_000 });
}

/** Asks the peer over A2A itself, in the version under test, until the task has completed. */
async function waitForTaskState(peer: SdkPeer, wire: Wire): Promise<void> {
  const taskId = peer.turns[0]!.taskId;
  await vi.waitUntil(
    async () => {
      const response = await fetch(peer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test-probe': '1', ...wire.headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: wire.get, params: { id: taskId } }),
      });
      const body = (await response.json()) as { result?: { status?: { state?: string } } };
      return body.result?.status?.state === wire.completed;
    },
    { timeout: 10_000, interval: 20 },
  );
}

/** The bot's requests to the peer (the test's own probes left out). */
function methodsFromBot(peer: SdkPeer): unknown[] {
  return peer.requests.filter((r) => r.headers['x-test-probe'] === undefined).map((r) => r.json?.method);
}
