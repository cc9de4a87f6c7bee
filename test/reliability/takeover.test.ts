/**
 * Takeover of a running answer by the next process (SPEC "Durability and replicas"), against the
 * official A2A SDK server, which keeps running its task after the bot's process stopped:
 *
 * - the task still runs when the next process starts: it re-attaches (`tasks/resubscribe`) and
 *   posts the answer once the task ends;
 * - the task finished while no process ran: the answer is read whole from `tasks/get` artifacts;
 * - the agent no longer knows the task: the person is told once that the answer was interrupted.
 *
 * Either way the agent saw one `message/stream`, the stale working message is gone, and the
 * answer is posted once. Processes here stop gracefully (SIGTERM past the grace period); the
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

async function setUp() {
  const peer = track(await SdkPeer.start());
  const release = deferred<void>();
  peer.enqueue(longTask(release.promise));
  const bots = track(
    await botProcesses({ agentUrl: () => peer.url, env: { SHUTDOWN_GRACE_S: '0', A2A_VERSION: '0.3' } }),
  );
  track({ close: () => release.resolve() });
  const ada = bots.sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
  const room = bots.sim.createDirectRoom(ada);
  return { peer, release, bots, sim: bots.sim, ada, room };
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
  expect(methodsFromBot(ctx.peer).filter((m) => m === 'message/stream')).toHaveLength(1);
  expect(ctx.peer.cancelRequests).toEqual([]);
}

describe('the next process takes a handed-over answer over', () => {
  it('re-attaches to a task that still runs and posts its answer once', async () => {
    const ctx = await setUp();
    await handOver(ctx);
    const staleWorking = botMessages(ctx).find((m) => !m.deleted && isProgressMarkdown(m.markdown));
    expect(staleWorking).toBeDefined();

    await ctx.bots.start();
    // It reads the task (still running), then follows it.
    await ctx.sim.waitFor('request', (r) => r.method === 'DELETE' && r.path.endsWith(staleWorking!.id), {
      timeoutMs: 10_000,
    });
    await waitForRequest(ctx.peer, 'tasks/resubscribe');
    ctx.release.resolve();
    await ctx.sim.waitFor('request', (r) => r.method === 'POST' && markdownOf(r).includes(ANSWER), {
      timeoutMs: 10_000,
    });
    await ctx.sim.waitFor('request', (r) => r.method === 'DELETE' && r.status === 204, {
      timeoutMs: 10_000,
      futureOnly: true,
    });

    expectAnsweredOnce(ctx);
    expect(methodsFromBot(ctx.peer)).toContain('tasks/get');
    expect(ctx.bots.log.text()).toContain('running answer taken over');
  });

  it('reads the whole answer from tasks/get when the task finished while no process ran', async () => {
    const ctx = await setUp();
    await handOver(ctx);
    ctx.release.resolve();
    await ctx.peer.closed.at(-1);
    // The task completes on the peer while no bot process runs.
    await waitForTaskState(ctx.peer, 'completed');

    await ctx.bots.start();
    await ctx.sim.waitFor('request', (r) => r.method === 'POST' && markdownOf(r).includes(ANSWER), {
      timeoutMs: 10_000,
    });
    await ctx.sim.waitFor(
      'request',
      (r) =>
        r.method === 'DELETE' && botMessages(ctx).every((m) => m.deleted || !isProgressMarkdown(m.markdown)),
      { timeoutMs: 10_000 },
    );

    expectAnsweredOnce(ctx);
    expect(methodsFromBot(ctx.peer)).not.toContain('tasks/resubscribe');
  });

  it('asks again whether the person may use the bot: a refused one gets no answer, the task is cancelled', async () => {
    const ctx = await setUp();
    await handOver(ctx);
    // Meanwhile the operator narrowed who may use the bot: Ada's domain is no longer allowed.
    const second = await ctx.bots.start({ env: { WEBEX_ALLOWED_EMAIL_DOMAINS: 'other.example' } });
    await ctx.sim.waitFor(
      'request',
      (r) => r.method === 'POST' && markdownOf(r) === messages.answerInterrupted,
      { timeoutMs: 10_000 },
    );
    await vi.waitUntil(() => ctx.peer.cancelRequests.length === 1, { timeout: 10_000 });
    ctx.release.resolve();
    await second.shutdown();

    const visible = botMessages(ctx).filter((m) => !m.deleted);
    expect(visible.some((m) => m.markdown?.includes(ANSWER))).toBe(false);
    expect(visible.filter((m) => isProgressMarkdown(m.markdown))).toEqual([]);
    // The agent was neither read nor followed for a refused person; its task was cancelled.
    expect(methodsFromBot(ctx.peer)).not.toContain('tasks/get');
    expect(methodsFromBot(ctx.peer)).not.toContain('tasks/resubscribe');
    expect(ctx.bots.log.text()).toContain('person of a taken-over answer refused');
  });

  it('tells the person once when the agent no longer knows the task', async () => {
    const ctx = await setUp();
    await handOver(ctx);
    // The agent was replaced meanwhile: a fresh peer that never saw the task.
    await ctx.peer.close();
    const fresh = track(await SdkPeer.start());
    const second = await ctx.bots.start({ env: { CAIPE_URL: fresh.url } });
    await ctx.sim.waitFor(
      'request',
      (r) => r.method === 'POST' && markdownOf(r) === messages.answerInterrupted,
      {
        timeoutMs: 10_000,
      },
    );
    await second.shutdown();

    const visible = botMessages(ctx).filter((m) => !m.deleted);
    expect(visible.map((m) => m.markdown)).toEqual([messages.answerInterrupted]);
    expect(methodsFromBot(fresh)).toEqual(['tasks/get']);
  });
});

async function waitForRequest(peer: SdkPeer, method: string): Promise<void> {
  await vi.waitUntil(() => peer.requests.some((r) => r.json?.method === method), { timeout: 10_000 });
}

/** Asks the peer over A2A itself (`tasks/get`) until the task is in `state`. */
async function waitForTaskState(peer: SdkPeer, state: string): Promise<void> {
  const taskId = peer.turns[0]!.taskId;
  await vi.waitUntil(
    async () => {
      const response = await fetch(peer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test-probe': '1' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: taskId } }),
      });
      const body = (await response.json()) as { result?: { status?: { state?: string } } };
      return body.result?.status?.state === state;
    },
    { timeout: 10_000, interval: 20 },
  );
}

/** The bot's requests to the peer (the test's own probes left out). */
function methodsFromBot(peer: SdkPeer): unknown[] {
  return peer.requests.filter((r) => r.headers['x-test-probe'] === undefined).map((r) => r.json?.method);
}
