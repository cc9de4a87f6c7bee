/**
 * Leases across bot processes (SPEC "Durability and replicas"): two real bot processes with one
 * token, one simulator, one shared embedded store, and the official A2A SDK server as the agent
 * (its tasks run on when a process dies; its card offers A2A v1.0, which the bot then speaks).
 * Lease periods are 1 s here.
 *
 * - kill -9 of the process running four answers: the survivor takes each over (re-attaching to the
 *   task) and it is answered exactly once; the agent is asked each question once.
 * - SIGSTOP of the process running an answer, past its lease: the other takes it over and answers;
 *   after SIGCONT the paused one posts nothing.
 * - A rolling restart of both, one after the other, under a steady stream of questions: each is
 *   answered exactly once.
 * - kill -9 of the process whose form waits: the other restores the form and its deadline fires
 *   exactly once.
 * - An answer that runs for more than three lease periods in a live process is never taken over.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it, vi } from 'vitest';
import { EmbeddedStores } from '../../src/adapters/store/embedded.js';
import { silentLogger } from '../../src/logger.js';
import { messages } from '../../src/render/messages.js';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { type PeerTurn, SdkPeer } from '../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';
import { isMessageSend, isProgressMarkdown } from '../integration/conversations/support.js';
import { type BotProcess, online, startBotProcess } from './replica-processes.js';

const TOKEN = 'replicas-leases-token-2f7c9a41e8d3b6';
const DEVICE_NAME = 'caipe-webex-bot';
const track = closeAfterEach();

/** A task that says it works, waits for `release`, then answers `Answer to <question>` and completes. */
function heldTask(release: Promise<void>) {
  return async (turn: PeerTurn) => {
    turn.task();
    turn.status(TaskState.TASK_STATE_WORKING);
    turn.artifact('tool_notification_start', ['Tool call started: lookup'], {
      metadata: { tool_name: 'lookup' },
    });
    await Promise.race([release, turn.untilCancelled()]);
    const answer = `Answer to ${turn.userText.trim()}`;
    turn.artifact('final_result', [answer], { lastChunk: true });
    turn.status(TaskState.TASK_STATE_COMPLETED);
    turn.finish();
  };
}

async function setUp(extraEnv: Record<string, string> = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-leases-'));
  track({ close: () => rmSync(dataDir, { recursive: true, force: true }) });
  const sim = track(await startWebexSimulator({ botToken: TOKEN }));
  const peer = track(await SdkPeer.start());
  const release = deferred<void>();
  track({ close: () => release.resolve() });
  peer.setDefault(heldTask(release.promise));
  const env = {
    WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN,
    WEBEX_U2C_URL: sim.urls.u2c,
    WEBEX_API_BASE_URL: sim.urls.hydra,
    CAIPE_URL: peer.url,
    HTTP_PORT: '0',
    DATA_DIR: dataDir,
    WEBEX_DEVICE_NAME: DEVICE_NAME,
    LOG_LEVEL: 'info',
    WEBEX_UPDATE_INTERVAL_MS: '200',
    LEASE_PERIOD_S: '1',
    TAKEOVER_INTERVAL_S: '1',
    SHUTDOWN_GRACE_S: '1',
    ...extraEnv,
  };
  const start = (instance: string) => startBotProcess(track, instance, env);
  return { sim, peer, release, start, dataDir };
}

/** A task that asks for a form (CAIPE's user-input artifact), then waits for its answer. */
async function formTask(turn: PeerTurn): Promise<void> {
  turn.task();
  turn.status(TaskState.TASK_STATE_WORKING);
  turn.artifact('UserInputMetaData', [
    {
      data: {
        user_input: true,
        input_title: 'Deploy',
        input_fields: [{ field_name: 'env', field_values: ['staging', 'prod'], required: true }],
      },
    },
  ]);
  turn.status(TaskState.TASK_STATE_INPUT_REQUIRED, 'Where should it go?');
  turn.finish();
}

function botMessages(sim: WebexSimulator, roomId: string) {
  return sim.roomMessages(roomId).filter((m) => m.authorUuid === sim.bot.uuid);
}

/** Visible answers to `question` in its room, and whether a working message is still up. */
function outcome(sim: WebexSimulator, roomId: string, question: string) {
  const visible = botMessages(sim, roomId).filter((m) => !m.deleted);
  return {
    // `Answer to steady 1` must not count `Answer to steady 10`.
    answers: visible.filter((m) => new RegExp(`Answer to ${question}(?!\\d)`).test(m.markdown ?? '')).length,
    working: visible.filter((m) => isProgressMarkdown(m.markdown)).length,
  };
}

function streamsAsked(peer: SdkPeer): number {
  return peer.requests.filter((r) => isMessageSend(r.json)).length;
}

const tookOver = (bot: BotProcess) =>
  bot.logged((line) => line.msg === 'taking over from a process whose leases lapsed', 20_000);

describe('leases across bot processes', () => {
  it('kill -9 during four running answers: the survivor answers each exactly once', async () => {
    const { sim, peer, release, start } = await setUp();
    const victim = start('a');
    await online(victim);
    const people = Array.from({ length: 4 }, (_, i) =>
      sim.createUser({ displayName: `Person ${i}`, email: `person${i}@example.com` }),
    );
    const rooms = people.map((person) => sim.createDirectRoom(person));
    const questions = people.map((person, i) => {
      const text = `question ${i}`;
      sim.post(person, rooms[i]!, { text });
      return text;
    });
    // All four run in the first process (the agent holds them), each with its working message up.
    await vi.waitUntil(() => streamsAsked(peer) === 4, { timeout: 20_000 });
    await vi.waitUntil(() => rooms.every((room) => botMessages(sim, room.id).some((m) => !m.deleted)), {
      timeout: 20_000,
    });
    const survivor = start('b');
    await online(survivor);

    const exited = once(victim.child, 'exit');
    victim.child.kill('SIGKILL');
    await exited;
    await tookOver(survivor);
    release.resolve();
    await vi.waitUntil(
      () =>
        rooms.every((room, i) => {
          const { answers, working } = outcome(sim, room.id, questions[i]!);
          return answers >= 1 && working === 0;
        }),
      { timeout: 30_000 },
    );
    for (const [i, room] of rooms.entries())
      expect(outcome(sim, room.id, questions[i]!), questions[i]).toEqual({ answers: 1, working: 0 });
    expect(streamsAsked(peer)).toBe(4);
    expect(peer.cancelRequests).toEqual([]);
  }, 120_000);

  it('SIGSTOP past the lease, then SIGCONT: the other process answers, the paused one posts nothing', async () => {
    const { sim, peer, release, start } = await setUp();
    const paused = start('a');
    await online(paused);
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    sim.post(ada, room, { text: 'how is the service' });
    await vi.waitUntil(() => streamsAsked(peer) === 1 && botMessages(sim, room.id).length > 0, {
      timeout: 20_000,
    });
    const other = start('b');
    await online(other);

    paused.child.kill('SIGSTOP');
    track({ close: () => void paused.child.kill('SIGCONT') });
    await tookOver(other);
    release.resolve();
    await vi.waitUntil(
      () => {
        const { answers, working } = outcome(sim, room.id, 'how is the service');
        return answers === 1 && working === 0;
      },
      { timeout: 30_000 },
    );
    const postsBefore = botMessages(sim, room.id).length;

    paused.child.kill('SIGCONT');
    // Awake, it learns at its first renewal that the conversation is another's, and stops there.
    await paused.logged((line) => line.msg === 'lease lost to another process; its work here stops', 20_000);
    // It can still talk to Webex: a new question reaches one of the two and is answered once.
    sim.post(ada, room, { text: 'and now' });
    await vi.waitUntil(() => outcome(sim, room.id, 'and now').answers === 1, { timeout: 30_000 });
    expect(outcome(sim, room.id, 'how is the service')).toEqual({ answers: 1, working: 0 });
    // Nothing else of the paused process's turn went out: the new answer is all that was added.
    const added = botMessages(sim, room.id).slice(postsBefore);
    expect(added.filter((m) => (m.markdown ?? '').includes('how is the service'))).toEqual([]);
    expect(streamsAsked(peer)).toBe(2);
  }, 120_000);

  it('a rolling restart of both under a steady stream of questions: each answered exactly once', async () => {
    const { sim, peer, release, start } = await setUp();
    release.resolve();
    let a = start('a');
    let b = start('b');
    await Promise.all([online(a), online(b)]);
    const people = Array.from({ length: 6 }, (_, i) =>
      sim.createUser({ displayName: `Person ${i}`, email: `person${i}@example.com` }),
    );
    const rooms = people.map((person) => sim.createDirectRoom(person));
    const asked: Array<{ roomId: string; text: string }> = [];
    let n = 0;
    const ask = () => {
      const i = n % people.length;
      const text = `steady ${++n}`;
      sim.post(people[i]!, rooms[i]!, { text });
      asked.push({ roomId: rooms[i]!.id, text });
    };
    const stream = setInterval(ask, 150);
    track({ close: () => clearInterval(stream) });

    const restart = async (bot: BotProcess) => {
      const exited = once(bot.child, 'exit');
      bot.child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
      const next = start(bot.instance);
      await online(next);
      return next;
    };
    a = await restart(a);
    b = await restart(b);
    clearInterval(stream);

    await vi.waitUntil(() => asked.every((q) => outcome(sim, q.roomId, q.text).answers >= 1), {
      timeout: 60_000,
    });
    for (const q of asked) expect(outcome(sim, q.roomId, q.text).answers, q.text).toBe(1);
    expect(streamsAsked(peer)).toBe(asked.length);
    console.log(`rolling restart: ${asked.length} questions, each answered once`);
    for (const bot of [a, b]) {
      const done = once(bot.child, 'exit');
      bot.child.kill('SIGTERM');
      await done;
    }
  }, 180_000);

  it('kill -9 while a form waits: the other process restores it and its deadline fires exactly once', async () => {
    const { sim, peer, start, dataDir } = await setUp({ HITL_TIMEOUT_S: '4' });
    peer.setDefault(formTask);
    const victim = start('a');
    await online(victim);
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    sim.post(ada, room, { text: 'deploy it' });
    // The form is up and its wait recorded (the card, then the record without a running turn).
    const reader = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
    track(reader);
    await vi.waitUntil(
      async () => {
        const record = await reader.conversations.get(`${room.id}/main`);
        return record?.pendingForm !== undefined && record.runningTurn === undefined;
      },
      { timeout: 20_000 },
    );
    const other = start('b');
    await online(other);
    const exited = once(victim.child, 'exit');
    victim.child.kill('SIGKILL');
    await exited;
    await tookOver(other);
    const expired = () =>
      botMessages(sim, room.id).filter((m) => !m.deleted && m.markdown === messages.formExpired).length;
    await vi.waitUntil(() => expired() >= 1, { timeout: 30_000 });

    // Everything after the deadline: the dead instance comes back, and a new question is answered.
    const back = start('a');
    await online(back);
    peer.setDefault(heldTask(Promise.resolve()));
    sim.post(ada, room, { text: 'and now' });
    await vi.waitUntil(
      () => {
        const { answers, working } = outcome(sim, room.id, 'and now');
        return answers === 1 && working === 0;
      },
      { timeout: 30_000 },
    );
    expect(expired()).toBe(1);
    expect(botMessages(sim, room.id).filter((m) => !m.deleted && isProgressMarkdown(m.markdown))).toEqual([]);
  }, 120_000);

  it('an answer running for more than three lease periods in a live process is never taken over', async () => {
    const { sim, peer, release, start } = await setUp({ LOG_LEVEL: 'debug' });
    const owner = start('a');
    await online(owner);
    const other = start('b');
    await online(other);
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    sim.post(ada, room, { text: 'a long one' });
    await vi.waitUntil(() => streamsAsked(peer) === 1, { timeout: 20_000 });
    // Both processes scan for lapsed leases every second; let each scan at least four times.
    const scans = (bot: BotProcess) => bot.lines.filter((line) => line.msg === 'takeover scan').length;
    const before = [scans(owner), scans(other)];
    await vi.waitUntil(() => scans(owner) >= before[0]! + 4 && scans(other) >= before[1]! + 4, {
      timeout: 20_000,
    });
    release.resolve();
    await vi.waitUntil(
      () => {
        const { answers, working } = outcome(sim, room.id, 'a long one');
        return answers === 1 && working === 0;
      },
      { timeout: 30_000 },
    );
    for (const bot of [owner, other])
      expect(bot.lines.some((line) => String(line.msg).startsWith('taking over'))).toBe(false);
    // Nothing but the question itself: no task read, re-attach or cancel (the agent card is no JSON-RPC).
    expect(peer.requests.filter((r) => r.json && !isMessageSend(r.json)).map((r) => r.json?.method)).toEqual(
      [],
    );
  }, 120_000);
});
