import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Actor, createActor, fromPromise } from 'xstate';
import type { ConversationRecord } from '../../src/adapters/store/ports.js';
import { botMachine } from '../../src/machines/bot.js';
import type { SpaceCheckInput, TurnInput } from '../../src/machines/conversation.js';
import { conversationMachine } from '../../src/machines/conversation.js';
import { roomMachine } from '../../src/machines/room.js';
import type { Notice, ReplyTarget, TurnFailure, UserMessage } from '../../src/machines/types.js';
import { type Deferred, deferred } from '../helpers/deferred.js';
import { type FakeOutcome, fakeAnswering } from '../helpers/fake-turns.js';

let counter = 0;
function message(overrides: Partial<UserMessage> = {}): UserMessage {
  counter += 1;
  return {
    activityId: `act-${counter}`,
    roomId: 'room-A',
    roomType: 'direct',
    messageId: `msg-${counter}`,
    personId: 'person-1',
    personEmail: 'alice@example.com',
    text: `question ${counter}`,
    hasFiles: false,
    receivedAt: 1_000 + counter,
    ...overrides,
  };
}

/** A world of fake effects the machines are provided with; every call is recorded. */
function harness(
  options: {
    allowed?: boolean;
    allowedNow?: () => boolean;
    stored?: ConversationRecord;
    loadFailures?: number;
  } = {},
) {
  let loadFailures = options.loadFailures ?? 0;
  const turns: Array<{ input: TurnInput; done: Deferred<FakeOutcome>; signal: AbortSignal }> = [];
  const notices: Array<{ notice: Notice; target: ReplyTarget }> = [];
  const saved: ConversationRecord[] = [];
  const forgotten: string[] = [];
  const checks: SpaceCheckInput[] = [];
  const failures: string[] = [];
  const reported: Array<TurnFailure | undefined> = [];

  const conversation = conversationMachine.provide({
    actors: {
      loadConversation: fromPromise(async () => {
        if (loadFailures > 0) {
          loadFailures -= 1;
          throw new Error('store briefly unavailable');
        }
        return options.stored;
      }),
      checkSpace: fromPromise(async ({ input }: { input: SpaceCheckInput }) => {
        checks.push(input);
        return { allowed: options.allowedNow ? options.allowedNow() : (options.allowed ?? true) };
      }),
      ...fakeAnswering(
        (input, signal) => {
          const done = deferred<FakeOutcome>();
          turns.push({ input, done, signal });
          return done.promise;
        },
        { onFailureReported: (failure) => void reported.push(failure) },
      ),
      saveConversation: fromPromise(async ({ input }: { input: ConversationRecord }) => {
        saved.push(input);
      }),
    },
    actions: {
      notify: (_, params) => void notices.push(params),
      forgetConversation: (_, params) => void forgotten.push(params.key),
    },
    delays: { idleTimeout: 1_000, restoreRetryDelay: 10 },
  });
  const room = roomMachine.provide({
    actors: { conversation },
    actions: {
      notify: (_, params) => void notices.push(params),
      reportConversationFailure: (_, params) => void failures.push(params.key),
    },
    delays: { roomIdleTimeout: 500 },
  });
  const bot = botMachine.provide({ actors: { room } });
  return { turns, notices, saved, forgotten, checks, failures, reported, bot, room };
}

async function nextTurn(h: ReturnType<typeof harness>, count: number) {
  await vi.waitUntil(() => h.turns.length >= count);
  return h.turns[count - 1]!;
}

let actor: Actor<typeof botMachine> | undefined;
afterEach(() => {
  actor?.stop();
  actor = undefined;
  vi.useRealTimers();
});

function start(h: ReturnType<typeof harness>) {
  actor = createActor(h.bot, { input: { maxQueuedPerConversation: 2 }, systemId: 'bot' });
  actor.start();
  return actor;
}

describe('room supervisor and conversation machines', () => {
  it('answers a message and remembers the agent context for the next turn', async () => {
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    const first = await nextTurn(h, 1);
    expect(first.input.contextId).toBeUndefined();
    expect(first.input.target).toEqual({ roomId: 'room-A' });
    first.done.resolve({ status: 'completed', contextId: 'ctx-1', taskId: 'task-1', traceId: 'trace-1' });
    await vi.waitUntil(() => h.saved.length === 1);
    expect(h.saved[0]).toMatchObject({ key: 'room-A/main', contextId: 'ctx-1', taskId: undefined });

    bot.send({ type: 'MESSAGE', message: message() });
    const second = await nextTurn(h, 2);
    expect(second.input.contextId).toBe('ctx-1');
    expect(second.input.taskId).toBeUndefined();
  });

  it('keeps one conversation serial: later messages wait, overflow gets a busy notice', async () => {
    const h = harness();
    const bot = start(h);
    const first = message();
    bot.send({ type: 'MESSAGE', message: first });
    const turn1 = await nextTurn(h, 1);
    const waiting = [message(), message()];
    for (const m of waiting) bot.send({ type: 'MESSAGE', message: m });
    bot.send({ type: 'MESSAGE', message: message() });
    bot.send({ type: 'MESSAGE', message: message() });
    // Told once per full-queue episode, not once per message.
    expect(h.notices.map((n) => n.notice.kind)).toEqual(['busy']);
    expect(h.turns).toHaveLength(1);

    turn1.done.resolve({ status: 'completed', contextId: 'ctx-1' });
    const turn2 = await nextTurn(h, 2);
    expect(turn2.input.message.messageId).toBe(waiting[0]!.messageId);
    turn2.done.resolve({ status: 'completed', contextId: 'ctx-1' });
    const turn3 = await nextTurn(h, 3);
    expect(turn3.input.message.messageId).toBe(waiting[1]!.messageId);
  });

  it('runs different threads of a group space in parallel, each answered under its root', async () => {
    const h = harness();
    const bot = start(h);
    const a = message({ roomType: 'group', roomId: 'room-G' });
    const b = message({ roomType: 'group', roomId: 'room-G' });
    bot.send({ type: 'MESSAGE', message: a });
    bot.send({ type: 'MESSAGE', message: b });
    await nextTurn(h, 2);
    expect(h.turns.map((t) => t.input.target)).toEqual([
      { roomId: 'room-G', parentId: a.messageId },
      { roomId: 'room-G', parentId: b.messageId },
    ]);
    const reply = message({ roomType: 'group', roomId: 'room-G', parentId: a.messageId });
    h.turns[0]!.done.resolve({ status: 'completed', contextId: 'ctx-a' });
    bot.send({ type: 'MESSAGE', message: reply });
    const third = await nextTurn(h, 3);
    expect(third.input.target).toEqual({ roomId: 'room-G', parentId: a.messageId });
    expect(third.input.contextId).toBe('ctx-a');
  });

  it('cancels a running answer at once: the turn is aborted and the user told', async () => {
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    const turn = await nextTurn(h, 1);
    bot.send({ type: 'MESSAGE', message: message({ text: 'Stop' }) });
    expect(turn.signal.aborted).toBe(true);
    expect(h.notices.map((n) => n.notice.kind)).toEqual(['cancelled']);
    bot.send({ type: 'MESSAGE', message: message({ text: 'cancel' }) });
    expect(h.notices.map((n) => n.notice.kind)).toEqual(['cancelled', 'nothingToCancel']);
  });

  it('reset forgets the agent context so the next message starts fresh', async () => {
    const h = harness({ stored: { key: 'room-A/main', roomId: 'room-A', contextId: 'old', updatedAt: 1 } });
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message({ text: 'new' }) });
    await vi.waitUntil(() => h.notices.length === 1);
    expect(h.notices[0]!.notice.kind).toBe('reset');
    expect(h.forgotten).toEqual(['room-A/main']);
    bot.send({ type: 'MESSAGE', message: message() });
    expect((await nextTurn(h, 1)).input.contextId).toBeUndefined();
  });

  it('tells an unauthorized thread once and never starts a turn', async () => {
    const h = harness({ allowed: false });
    const bot = start(h);
    const root = message({ roomType: 'group', roomId: 'room-U' });
    bot.send({ type: 'MESSAGE', message: root });
    bot.send({
      type: 'MESSAGE',
      message: message({ roomType: 'group', roomId: 'room-U', parentId: root.messageId }),
    });
    await vi.waitUntil(() => h.checks.length === 2);
    expect(h.turns).toHaveLength(0);
    expect(h.notices.map((n) => n.notice.kind)).toEqual(['unauthorized']);
  });

  it('continues a task that asked for input with the next message, sending its taskId', async () => {
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    (await nextTurn(h, 1)).done.resolve({ status: 'input-required', contextId: 'ctx', taskId: 'task-9' });
    await vi.waitUntil(() => h.saved.length === 1);
    expect(h.saved[0]!.taskId).toBe('task-9');
    bot.send({ type: 'MESSAGE', message: message({ text: 'prod-cluster' }) });
    const answer = await nextTurn(h, 2);
    expect(answer.input.taskId).toBe('task-9');
    // The answer to the open task passes the space check again (a space may be revoked meanwhile).
    expect(h.checks).toHaveLength(2);
  });

  it('a conversation whose turn fails unexpectedly stays usable and the room carries on', async () => {
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    (await nextTurn(h, 1)).done.reject(new Error('bug in an effect'));
    // Reported in the thread like any failure (its text is the generic internal error).
    await vi.waitUntil(() => h.reported.length === 1);
    expect(h.reported[0]?.kind).toBe('internal');
    bot.send({ type: 'MESSAGE', message: message() });
    await nextTurn(h, 2);
  });

  it('stops idle conversations and rooms, leaving no children behind', async () => {
    vi.useFakeTimers();
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    bot.send({ type: 'MESSAGE', message: message({ roomId: 'room-B' }) });
    await vi.waitUntil(() => h.turns.length === 2);
    for (const turn of h.turns) turn.done.resolve({ status: 'completed' });
    await vi.waitUntil(() => h.saved.length === 2);
    expect(Object.keys(bot.getSnapshot().children)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(500);
    expect(Object.keys(bot.getSnapshot().children)).toHaveLength(0);
    expect(bot.getSnapshot().context.rooms).toEqual([]);
  });

  it('answers the first message of a new conversation even with MAX_QUEUED_PER_CONVERSATION=0', async () => {
    const h = harness();
    actor = createActor(h.bot, { input: { maxQueuedPerConversation: 0 }, systemId: 'bot' }).start();
    actor.send({ type: 'MESSAGE', message: message() });
    await nextTurn(h, 1);
    actor.send({ type: 'MESSAGE', message: message() });
    expect(h.notices.map((n) => n.notice.kind)).toEqual(['busy']);
  });

  it('never reaches the agent with an answer to an open task once the space is no longer allowed', async () => {
    let allowed = true;
    const h = harness({ allowedNow: () => allowed });
    const bot = start(h);
    const root = message({ roomType: 'group', roomId: 'room-R' });
    bot.send({ type: 'MESSAGE', message: root });
    (await nextTurn(h, 1)).done.resolve({ status: 'input-required', contextId: 'ctx', taskId: 'task-1' });
    await vi.waitUntil(() => h.saved.length === 1);
    allowed = false;
    bot.send({
      type: 'MESSAGE',
      message: message({ roomType: 'group', roomId: 'room-R', parentId: root.messageId }),
    });
    await vi.waitUntil(() => h.notices.length === 1);
    expect(h.notices[0]!.notice.kind).toBe('unauthorized');
    expect(h.turns).toHaveLength(1);
  });

  it('a question without a form lets the conversation stop when idle (the task id stays in the store)', async () => {
    vi.useFakeTimers();
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    await vi.waitUntil(() => h.turns.length === 1);
    h.turns[0]!.done.resolve({ status: 'input-required', contextId: 'ctx', taskId: 'task-2' });
    await vi.waitUntil(() => h.saved.length === 1);
    expect(h.saved[0]!.taskId).toBe('task-2');
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(500);
    expect(Object.keys(bot.getSnapshot().children)).toHaveLength(0);
  });

  it('a room that only answered a command goes idle and stops', async () => {
    vi.useFakeTimers();
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message({ text: 'help' }) });
    expect(h.notices.map((n) => n.notice.kind)).toEqual(['help']);
    await vi.advanceTimersByTimeAsync(500);
    expect(Object.keys(bot.getSnapshot().children)).toHaveLength(0);
  });

  it('on shutdown, messages waiting behind an answer do not start new turns', async () => {
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    const turn = await nextTurn(h, 1);
    bot.send({ type: 'MESSAGE', message: message() });
    bot.send({ type: 'SHUTDOWN' });
    bot.send({ type: 'CANCEL_ALL' });
    expect(turn.signal.aborted).toBe(true);
    expect(h.notices.map((n) => n.notice.kind)).toEqual(['shuttingDown']);
    await Promise.resolve();
    expect(h.turns).toHaveLength(1);
  });

  it('reads the store once more after a failed read, keeping the agent context', async () => {
    const h = harness({
      loadFailures: 1,
      stored: { key: 'room-A/main', roomId: 'room-A', contextId: 'kept', updatedAt: 1 },
    });
    const bot = start(h);
    bot.send({ type: 'MESSAGE', message: message() });
    expect((await nextTurn(h, 1)).input.contextId).toBe('kept');
  });

  it('takes no new work while draining for shutdown', async () => {
    const h = harness();
    const bot = start(h);
    bot.send({ type: 'SHUTDOWN' });
    bot.send({ type: 'MESSAGE', message: message() });
    expect(Object.keys(bot.getSnapshot().children)).toHaveLength(0);
  });
});
