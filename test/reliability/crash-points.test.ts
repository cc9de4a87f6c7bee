/**
 * Crash points (issue "Nothing lost across restarts", outcome 5): a seeded loop of at least 50
 * abrupt stops across a conversation, each at a named point of the bot's code
 * (`src/actors/handover/crash-points.ts`): before the activity's claim, after it, mid-stream,
 * between an answer part's (or card's) post and its record, while a form waits, and while its
 * deadline fires. After each stop a fresh process starts on the same embedded store file and
 * finishes what it can.
 *
 * How a process is killed: in-process (test/reliability/killable-bot.ts). The bot runs in this test
 * process; at the crash point its Webex REST connections, Mercury socket, agent connections, store
 * file handle, HTTP listener and clock timers are all cut at once, with no cleanup, and the work at
 * the point never continues. The Webex simulator and the official A2A SDK peer run on, as Webex
 * and the agent would: the peer's task keeps running after the bot's stream is cut.
 *
 * The invariant, checked in Webex's own state after each point: every user message got exactly one
 * answer or one interruption notice; no part (or card, or notice) was posted twice; no working
 * message is left visible; the agent was asked each question once at most; nothing is left
 * running or owed in the store. The seed is printed; `CRASH_SEED=<n>` replays a run,
 * `CRASH_VERBOSE=1` prints each point, `CRASH_LOG=<file>` writes the bot's log there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it, vi } from 'vitest';
import { EmbeddedStores } from '../../src/adapters/store/embedded.js';
import { silentLogger } from '../../src/logger.js';
import { messages } from '../../src/render/messages.js';
import type { SimPerson, SimRoom, StoredMessage, WebexSimulator } from '../../src/simulator/webex/index.js';
import { startWebexSimulator } from '../../src/simulator/webex/index.js';
import { type PeerTurn, SdkPeer } from '../helpers/a2a/sdk-peer.js';
import { captureLog } from '../helpers/capture.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { BOT_TOKEN } from '../helpers/world.js';
import { isMessageSend, isProgressMarkdown } from '../integration/conversations/support.js';
import { type CrashPlan, KillableBot } from './killable-bot.js';

const track = closeAfterEach();

/** Kills the loop must reach; it runs more when time allows (each takes a fraction of a second). */
const MIN_POINTS = 50;
const PLANNED_POINTS = 100;
/** The loop stops planning new points past this, so the test stays within three minutes. */
const LOOP_BUDGET_MS = 150_000;

type Scenario = 'answer' | 'form' | 'deadline';

interface Case {
  scenario: Scenario;
  plan: CrashPlan;
}

const at = (point: CrashPlan['point'], occurrence: number): CrashPlan => ({ point, occurrence });

/** Every point each scenario reaches for sure, with the occurrences that are in range. */
const CASES: Case[] = [
  { scenario: 'answer', plan: at('before-claim', 1) },
  { scenario: 'answer', plan: at('after-claim', 1) },
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ scenario: 'answer' as const, plan: at('mid-stream', n) })),
  ...[1, 2, 3].map((n) => ({ scenario: 'answer' as const, plan: at('part-posted', n) })),
  { scenario: 'form', plan: at('after-claim', 1) },
  ...[1, 2, 3, 4, 6, 7].map((n) => ({ scenario: 'form' as const, plan: at('mid-stream', n) })),
  // The question, the form card, then the answer's parts after the submission.
  ...[1, 2, 3, 4].map((n) => ({ scenario: 'form' as const, plan: at('part-posted', n) })),
  { scenario: 'form', plan: at('form-waiting', 1) },
  { scenario: 'deadline', plan: at('form-waiting', 1) },
  { scenario: 'deadline', plan: at('form-deadline', 1) },
];

/** mulberry32: small, seedable, good enough to pick crash points. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every case once, then seeded picks (deadline cases cost a second each: fewer of them). */
function schedule(seed: number, total: number): Case[] {
  const next = random(seed);
  const shuffled = [...CASES].sort(() => next() - 0.5);
  const quick = CASES.filter((c) => c.scenario !== 'deadline');
  while (shuffled.length < total) shuffled.push(quick[Math.floor(next() * quick.length)]!);
  return shuffled;
}

const answerMarkers = (q: string) => [0, 1, 2, 3, 4].map((j) => `[${q}-p${j}]`);

/** The agent: answers a question in 5 paragraphs (3 messages at 400 chars), asks a form for "[form]". */
function agentScript(turn: PeerTurn): Promise<void> {
  return (async () => {
    const asked = turn.userText;
    // A form's answer names no question: the task's first message does.
    const q = /\bq\d+\b/.exec(`${asked} ${JSON.stringify(turn.ctx.task?.history ?? [])}`)?.[0] ?? 'q?';
    const pace = () => nextTurn();
    if (turn.userData.length > 0) {
      // The form's answer: the same task completes.
      turn.task(TaskState.TASK_STATE_WORKING);
      await pace();
      turn.artifact('final_result', [answerText(q)], { lastChunk: true });
      await pace();
      turn.status(TaskState.TASK_STATE_COMPLETED);
      turn.finish();
      return;
    }
    turn.task();
    await pace();
    turn.status(TaskState.TASK_STATE_WORKING);
    await pace();
    if (asked.includes('[form]')) {
      turn.artifact('UserInputMetaData', [
        {
          data: {
            user_input: true,
            input_title: `Deploy ${q}`,
            input_fields: [{ field_name: 'env', field_values: ['staging', 'prod'], required: true }],
          },
        },
      ]);
      await pace();
      turn.status(TaskState.TASK_STATE_INPUT_REQUIRED, `Where should ${q} go?`);
      turn.finish();
      return;
    }
    turn.artifact('tool_notification_start', [`Tool call started: lookup_${q}`], {
      metadata: { tool_name: `lookup_${q}` },
    });
    await pace();
    turn.artifact('tool_notification_end', [`Tool call completed: lookup_${q}`], {
      metadata: { tool_name: `lookup_${q}` },
    });
    await pace();
    turn.artifact('streaming_result', [`Answer to ${q}`], { artifactId: 'live' });
    await pace();
    turn.artifact('streaming_result', [' (draft)'], { artifactId: 'live', append: true });
    await pace();
    turn.artifact('final_result', [answerText(q)], { lastChunk: true });
    await pace();
    turn.status(TaskState.TASK_STATE_COMPLETED);
    turn.finish();
  })();
}

function answerText(q: string): string {
  return answerMarkers(q)
    .map(
      (marker) =>
        `${marker} ${'The service answered within its budget and nothing else changed. '.repeat(2)}`,
    )
    .join('\n\n');
}

interface Iteration {
  index: number;
  q: string;
  kase: Case;
  dataDir: string;
  /** A second connection to the store file, reading what the bot wrote. */
  reader: EmbeddedStores;
  person: SimPerson;
  room: SimRoom;
  parentId?: string;
}

describe('crash points', () => {
  it(`every message gets one answer or one interruption notice across ≥${MIN_POINTS} seeded kills`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`crash points: seed ${seed} (CRASH_SEED=${seed} replays this run)`);
    const started = Date.now();
    const sim = track(await startWebexSimulator({ botToken: BOT_TOKEN }));
    const peer = track(await SdkPeer.start());
    peer.setDefault(agentScript);
    const log = captureLog();
    const cases = schedule(seed, PLANNED_POINTS);
    const crashed: string[] = [];

    for (const [index, kase] of cases.entries()) {
      if (Date.now() - started > LOOP_BUDGET_MS) break;
      const dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-crash-'));
      track({ close: () => rmSync(dataDir, { recursive: true, force: true }) });
      const placed = await place(sim, dataDir, index);
      const reader = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
      track(reader);
      const iteration: Iteration = { index, q: `q${index}`, kase, dataDir, reader, ...placed };
      const label = `#${index} ${kase.scenario} ${kase.plan.point}#${kase.plan.occurrence} (seed ${seed})`;
      try {
        const point = await runIteration(sim, peer, log, iteration);
        if (point) crashed.push(point);
        if (process.env.CRASH_VERBOSE)
          console.log(`${label}: ${point ? 'killed' : 'not reached'} at ${Date.now() - started} ms`);
        if (process.env.CRASH_LOG) writeFileSync(process.env.CRASH_LOG, log.lines.join(''));
      } catch (error) {
        throw new Error(`${label}: ${(error as Error).message}\n${tail(log)}`, { cause: error });
      }
      await checkInvariant(sim, peer, iteration).catch((error: unknown) => {
        throw new Error(`${label}: ${(error as Error).message}\n${tail(log)}`, { cause: error });
      });
    }

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const counts = new Map<string, number>();
    for (const point of crashed) counts.set(point, (counts.get(point) ?? 0) + 1);
    const byPoint = [...counts].map(([point, n]) => `${point} ×${n}`).join(', ');
    console.log(`crash points: ${crashed.length} kills in ${seconds} s (seed ${seed}): ${byPoint}`);
    expect(crashed.length).toBeGreaterThanOrEqual(MIN_POINTS);
    for (const point of [
      'before-claim',
      'after-claim',
      'mid-stream',
      'part-posted',
      'form-waiting',
      'form-deadline',
    ])
      expect(crashed, point).toContain(point);
  }, 180_000);
});

/** A fresh 1:1 space, or (every other iteration) a thread in an authorized group space. */
async function place(
  sim: WebexSimulator,
  dataDir: string,
  index: number,
): Promise<{ person: SimPerson; room: SimRoom; group?: boolean }> {
  const person = sim.createUser({ displayName: `Person ${index}`, email: `person${index}@example.com` });
  if (index % 2 === 0) return { person, room: sim.createDirectRoom(person) };
  const room = sim.createRoom({
    type: 'group',
    title: `Space ${index}`,
    members: [person, sim.bot],
    creator: person,
  });
  const store = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
  await store.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });
  await store.close();
  return { person, room, group: true };
}

/** Runs one scenario with one armed process, and a fresh one after the kill. Returns the point killed at. */
async function runIteration(
  sim: WebexSimulator,
  peer: SdkPeer,
  log: ReturnType<typeof captureLog>,
  it: Iteration,
): Promise<string | undefined> {
  const env: Record<string, string> = it.kase.scenario === 'deadline' ? { HITL_TIMEOUT_S: '1' } : {};
  const common = {
    sim,
    agentUrl: peer.url,
    dataDir: it.dataDir,
    log,
    env: { WEBEX_MAX_MESSAGE_CHARS: '400', ...env },
  };
  let bot = await KillableBot.start({ ...common, crashAt: it.kase.plan });
  let recovered = false;
  /** Waits for `done` in Webex's state; a kill meanwhile starts the next process, once. */
  const until = async (done: () => boolean | Promise<boolean>) => {
    await vi.waitUntil(async () => bot.crashed !== undefined || (await done()), {
      timeout: 20_000,
      interval: 10,
    });
    if (bot.crashed && !recovered) {
      recovered = true;
      bot = await KillableBot.start(common);
      await vi.waitUntil(done, { timeout: 20_000, interval: 10 });
    }
  };
  try {
    const question =
      it.kase.scenario === 'answer' ? `${it.q} how is the service?` : `${it.q} deploy it [form]`;
    const root = sim.post(it.person, it.room, {
      text: question,
      ...(it.room.type === 'group' ? { mentionBot: true } : {}),
    });
    if (it.room.type === 'group') it.parentId = root.id;
    if (it.kase.scenario === 'answer') {
      await until(() => settled(sim, it));
    } else {
      const expired = () =>
        botMessagesIn(sim, it).some((m) => !m.deleted && m.markdown === messages.formExpired);
      if (it.kase.scenario === 'deadline') {
        await until(() => (expired() || interrupted(sim, it)) && noWorkingMessage(sim, it));
      } else {
        // The form is up and saved (or its answer lost, when the kill came before the form).
        await until(async () => (await formSaved(it)) || interrupted(sim, it));
        if (!interrupted(sim, it)) {
          const card = cardOf(sim, it)!;
          sim.submitCard(it.person, card.id, { ...submitData(card), 'field:env': 'prod' });
        }
        await until(() => settled(sim, it));
      }
    }
    return recovered ? it.kase.plan.point : undefined;
  } finally {
    await bot.shutdown();
  }
}

function botMessagesIn(sim: WebexSimulator, it: Iteration): StoredMessage[] {
  return sim
    .roomMessages(it.room.id)
    .filter(
      (m) => m.authorUuid === sim.bot.uuid && (it.parentId === undefined || m.parentId === it.parentId),
    );
}

function interrupted(sim: WebexSimulator, it: Iteration): boolean {
  return botMessagesIn(sim, it).some((m) => !m.deleted && m.markdown === messages.answerInterrupted);
}

function noWorkingMessage(sim: WebexSimulator, it: Iteration): boolean {
  return !botMessagesIn(sim, it).some((m) => !m.deleted && isProgressMarkdown(m.markdown));
}

/** Answered in full (or told it was interrupted), and no working message left. */
function settled(sim: WebexSimulator, it: Iteration): boolean {
  const visible = botMessagesIn(sim, it).filter((m) => !m.deleted);
  const text = visible.map((m) => m.markdown ?? '').join('\n');
  const answered = answerMarkers(it.q).every((marker) => text.includes(marker));
  return (answered || interrupted(sim, it)) && noWorkingMessage(sim, it);
}

function cardOf(sim: WebexSimulator, it: Iteration): StoredMessage | undefined {
  return botMessagesIn(sim, it).find((m) => !m.deleted && (m.attachments?.length ?? 0) > 0);
}

async function formSaved(it: Iteration): Promise<boolean> {
  const record = await it.reader.conversations.get(`${it.room.id}/${it.parentId ?? 'main'}`);
  return record?.pendingForm !== undefined && record.runningTurn === undefined;
}

function submitData(card: StoredMessage): Record<string, unknown> {
  const content = (
    card.attachments?.[0] as { content?: { actions?: Array<{ type: string; data?: unknown }> } }
  )?.content;
  const action = content?.actions?.find(
    (a) => a.type === 'Action.Submit' && JSON.stringify(a.data).includes('"form"'),
  );
  return (action?.data ?? {}) as Record<string, unknown>;
}

/** The invariant, in what Webex shows, what the agent was asked, and what the store still holds. */
async function checkInvariant(sim: WebexSimulator, peer: SdkPeer, it: Iteration): Promise<void> {
  const posted = botMessagesIn(sim, it);
  const visible = posted.filter((m) => !m.deleted);
  // No working message left.
  expect(
    visible.filter((m) => isProgressMarkdown(m.markdown)),
    'visible working messages',
  ).toEqual([]);
  // Never two copies of anything the bot posted (parts, cards, notices), deleted or not.
  const texts = posted.filter((m) => !isProgressMarkdown(m.markdown)).map((m) => m.markdown ?? '');
  expect(
    texts.filter((t, i) => texts.indexOf(t) !== i),
    'posted twice',
  ).toEqual([]);
  // One answer or one interruption notice.
  const text = visible.map((m) => m.markdown ?? '').join('\n');
  const markers = answerMarkers(it.q).map((marker) => text.split(marker).length - 1);
  const notices = visible.filter((m) => m.markdown === messages.answerInterrupted).length;
  const answered = markers.every((n) => n === 1);
  const none = markers.every((n) => n === 0);
  if (it.kase.scenario === 'deadline') {
    expect(
      notices + visible.filter((m) => m.markdown === messages.formExpired).length,
      'expiry or interruption',
    ).toBe(1);
  } else {
    expect(
      answered ? notices === 0 : none && notices === 1,
      `answered once (${markers}) or told once (${notices})`,
    ).toBe(true);
  }
  // The agent was asked each question once at most (a form's answer goes to the same task).
  // (The bot speaks the version the peer's card offers, v1.0 here: `SendStreamingMessage`.)
  const asked = peer.requests.filter(
    (r) => isMessageSend(r.json) && JSON.stringify(r.json).includes(`${it.q} `),
  );
  expect(asked.length, 'asked').toBeLessThanOrEqual(1);
  // Nothing running or owed is left in the store.
  expect(await it.reader.conversations.running(10), 'running turns').toEqual([]);
  expect(await it.reader.pending.list(10), 'owed messages').toEqual([]);
}

function tail(log: ReturnType<typeof captureLog>): string {
  return log.lines
    .slice(-40)
    .map((line) => line.slice(0, 400))
    .join('');
}
