/**
 * The working message while the agent works: plan and tool progress as CAIPE streams them, edits
 * spaced by the update interval, never more than 10 edits of one message, and a long run that
 * continues in fresh working messages. Counted from the simulator's request log and store.
 *
 * The agent here is driven by the bot's own writes: it sends its next event when Webex has seen
 * the previous edit, so the run has exactly the shape the test wants without any timer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestRecord, WebexSimulator } from '../../../src/simulator/webex/index.js';
import type { SseEmulator, SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { startEmulator, startWorld, type World } from '../../helpers/world.js';
import {
  botPostsIn,
  botWrites,
  CaipeTurn,
  isProgressMarkdown,
  markdownOf,
  type PlanStepInput,
  untilNoWorkingMessage,
  waitForBotPostContaining,
  workingMessages,
} from './support.js';

let world: World | undefined;
let emulator: SseEmulator | undefined;
let stopWatching: (() => void) | undefined;

afterEach(async () => {
  stopWatching?.();
  await world?.close();
  await emulator?.close();
  world = undefined;
  emulator = undefined;
  stopWatching = undefined;
});

/** Counts the bot's progress writes (edits, and posts of working messages) as Webex answers them. */
class ProgressWatcher {
  writes = 0;
  readonly #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(sim: WebexSimulator) {
    stopWatching = sim.on('request', (r) => {
      if (r.callerUuid !== sim.bot.uuid || r.status !== 200) return;
      const edit = r.method === 'PUT' && r.path.startsWith('/v1/messages/');
      const freshWorking =
        r.method === 'POST' && r.path === '/v1/messages' && isProgressMarkdown(markdownOf(r));
      if (!edit && !freshWorking) return;
      this.writes++;
      for (const waiter of [...this.#waiters]) {
        if (this.writes < waiter.count) continue;
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }

  /** Resolves once the bot has written progress `count` times in all. */
  until(count: number): Promise<void> {
    if (this.writes >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

/** Edits and posts of each working message, with the time Webex answered them. */
function progressHistory(sim: WebexSimulator, roomId: string) {
  const working = workingMessages(sim, roomId);
  const posts = botPostsIn(sim, roomId).filter((r) => isProgressMarkdown(markdownOf(r)));
  // Messages are stored in creation order and logged in answer order: the n-th working post is
  // the n-th working message.
  expect(posts).toHaveLength(working.length);
  return working.map((message, index) => {
    const edits = botWrites(sim).filter((r) => r.method === 'PUT' && r.path === `/v1/messages/${message.id}`);
    const deletes = botWrites(sim).filter(
      (r) => r.method === 'DELETE' && r.path === `/v1/messages/${message.id}`,
    );
    return { message, post: posts[index]!, edits, deletes };
  });
}

function gaps(records: readonly RequestRecord[]): number[] {
  return records.slice(1).map((r, i) => r.at - records[i]!.at);
}

const steps = (statuses: PlanStepInput['status'][]): PlanStepInput[] =>
  [
    { title: 'Look up the incident', agent: 'jira' },
    { title: 'Find the failing deployment', agent: 'argocd' },
    { title: 'Draft the fix', agent: 'github' },
  ].map((step, i) => ({ ...step, status: statuses[i]! }));

describe('progress in the working message', () => {
  it('shows the plan and tool calls as CAIPE streams them, edits spaced by the interval', async () => {
    emulator = await startEmulator();
    const intervalMs = 200;
    world = await startWorld({
      agentUrl: emulator.url,
      env: { WEBEX_UPDATE_INTERVAL_MS: String(intervalMs) },
    });
    const { sim } = world;
    const progress = new ProgressWatcher(sim);
    const editShowing = (text: string) =>
      sim.waitFor('request', (r) => r.method === 'PUT' && r.status === 200 && markdownOf(r).includes(text), {
        timeoutMs: 10_000,
      });

    emulator.enqueue(async (exchange: SseExchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await turn.plan(steps(['in_progress', 'pending', 'pending']));
      await editShowing('🔄 Look up the incident (jira)');
      await turn.toolStart('Get_Issue', 'jira');
      await editShowing('**Get_Issue**');
      await turn.toolEnd('Get_Issue', 'jira');
      await turn.plan(steps(['completed', 'in_progress', 'pending']));
      await turn.toolStart('List_Applications', 'argocd');
      await editShowing('**List_Applications**');
      await turn.toolEnd('List_Applications', 'argocd');
      await turn.plan(steps(['completed', 'completed', 'completed']));
      await editShowing('3 of 3 done');
      await turn.stream('The deployment web-7 fails its readiness probe.');
      await turn.answer('The deployment web-7 fails its readiness probe.');
    });

    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createDirectRoom(alice);
    sim.post(alice, room, { text: 'why is checkout down?' });
    await waitForBotPostContaining(sim, 'web-7 fails its readiness probe');
    await untilNoWorkingMessage(sim, room.id);

    const [only, ...others] = progressHistory(sim, room.id);
    expect(others).toHaveLength(0);
    const { message, post, edits, deletes } = only!;
    const shown = edits.map(markdownOf);
    expect(shown.some((m) => m.includes('**Plan**') && m.includes('⏳ Draft the fix (github)'))).toBe(true);
    expect(shown.some((m) => m.includes('✅ Look up the incident (jira)'))).toBe(true);
    expect(shown.some((m) => m.includes('🔧 **Get_Issue** (jira)…'))).toBe(true);
    expect(message.editCount).toBe(edits.length);
    expect(edits.length).toBeGreaterThanOrEqual(4);
    expect(edits.length).toBeLessThanOrEqual(10);
    for (const gap of gaps([post, ...edits])) expect(gap).toBeGreaterThanOrEqual(intervalMs);
    expect(deletes.map((d) => d.status)).toEqual([204]);
    expect(progress.writes).toBe(1 + edits.length);
    // The answer is a new message; the working message is gone.
    expect(world.visibleBotMessages(room.id).map((m) => m.markdown)).toEqual([
      expect.stringContaining('The deployment web-7 fails its readiness probe.'),
    ]);
  });

  it('stays alive through a long run: fresh working messages, never an 11th edit, spacing kept', async () => {
    emulator = await startEmulator();
    // The edit spacing scales with the interval and with elapsed time alike, so 6 s at 100 ms
    // is a 3-minute run at the default 3000 ms, compressed 30 times.
    const intervalMs = 100;
    const runMs = 6_000;
    world = await startWorld({
      agentUrl: emulator.url,
      env: { WEBEX_UPDATE_INTERVAL_MS: String(intervalMs) },
    });
    const { sim } = world;
    const progress = new ProgressWatcher(sim);
    const workingPosts = () =>
      botWrites(sim).filter(
        (r) => r.method === 'POST' && r.status === 200 && isProgressMarkdown(markdownOf(r)),
      ).length;

    emulator.enqueue(async (exchange: SseExchange) => {
      const turn = new CaipeTurn(exchange);
      const startedAt = Date.now();
      await turn.open();
      let step = 0;
      // Each event changes what the working message shows; the next one follows the bot's edit.
      while (Date.now() - startedAt < runMs || workingPosts() < 3) {
        const seen = progress.writes;
        step++;
        if (step > 1) await turn.toolEnd(`Tool_${step - 1}`, 'jira');
        await turn.toolStart(`Tool_${step}`, 'jira');
        await progress.until(seen + 1);
      }
      await turn.toolEnd(`Tool_${step}`, 'jira');
      await turn.answer(`Done after ${step} tool calls.`);
    });

    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createDirectRoom(alice);
    sim.post(alice, room, { text: 'run the long audit' });
    await waitForBotPostContaining(sim, 'tool calls.', 30_000);
    await untilNoWorkingMessage(sim, room.id);

    const history = progressHistory(sim, room.id);
    expect(history.length).toBeGreaterThanOrEqual(3);
    const rejected = botWrites(sim).filter((r) => r.status >= 400);
    expect(rejected).toEqual([]);
    for (const [index, { message, post, edits, deletes }] of history.entries()) {
      expect(message.editCount).toBeLessThanOrEqual(10);
      expect(message.editCount).toBe(edits.length);
      for (const gap of gaps([post, ...edits])) expect(gap).toBeGreaterThanOrEqual(intervalMs);
      expect(message.deleted).toBe(true);
      expect(deletes).toHaveLength(1);
      const next = history[index + 1];
      if (next) {
        // A full message hands over to a fresh one: the new one is posted before the old goes.
        expect(message.editCount).toBe(10);
        expect(next.post.at).toBeLessThanOrEqual(deletes[0]!.at);
        expect(botWrites(sim).indexOf(next.post)).toBeLessThan(botWrites(sim).indexOf(deletes[0]!));
      }
    }
    // The elapsed time keeps moving in what the user sees.
    const lastShown = history.at(-1)!.edits.at(-1) ?? history.at(-1)!.post;
    const seconds = Number(/Working… \((\d+)s\)/.exec(markdownOf(lastShown))?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(4);
    expect(world.visibleBotMessages(room.id)).toHaveLength(1);
  }, 40_000);
});
