import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Actor, createActor, fromPromise } from 'xstate';
import type { ConversationRecord, PendingForm } from '../../src/adapters/store/ports.js';
import { botMachine } from '../../src/machines/bot.js';
import type { TurnInput } from '../../src/machines/conversation.js';
import { conversationMachine } from '../../src/machines/conversation.js';
import { roomMachine } from '../../src/machines/room.js';
import type { CardAction, CardSubmission, Notice, UserMessage } from '../../src/machines/types.js';
import { type Deferred, deferred } from '../helpers/deferred.js';
import { type FakeOutcome, fakeAnswering } from '../helpers/fake-turns.js';

const ROOM = 'room-F';
const KEY = `${ROOM}/main`;
const FORM: PendingForm['form'] = {
  title: 'Deploy',
  fields: [{ name: 'env', label: 'Environment', type: 'text', required: true }],
  source: 'UserInputMetaData',
  raw: {},
};

let n = 0;
function message(text = 'deploy please'): UserMessage {
  n += 1;
  return {
    activityId: `a${n}`,
    roomId: ROOM,
    roomType: 'direct',
    messageId: `m${n}`,
    personId: 'p1',
    personEmail: 'p1@example.com',
    text,
    hasFiles: false,
    receivedAt: 10_000 + n,
  };
}

function card(
  overrides: Partial<Omit<CardAction, 'submission'>> & {
    cardMessageId: string;
    receivedAt?: number;
    /** Who submits: the requester (`p1`) unless a test says otherwise. */
    personId?: string;
  },
): { submission: CardSubmission; action: CardAction } {
  n += 1;
  const submission: CardSubmission = {
    activityId: `c${n}`,
    roomId: ROOM,
    roomType: 'direct',
    cardMessageId: overrides.cardMessageId,
    personId: overrides.personId ?? 'p1',
    inputs: {},
    receivedAt: overrides.receivedAt ?? 20_000,
  };
  return {
    submission,
    action: {
      kind: 'form',
      key: KEY,
      cardId: 'card-1',
      fields: { env: 'prod' },
      ...overridesWithoutPerson(overrides),
      submission,
    },
  };
}

function overridesWithoutPerson<T extends { personId?: string }>(overrides: T): Omit<T, 'personId'> {
  const { personId: _person, ...rest } = overrides;
  return rest;
}

function harness(stored?: ConversationRecord, options: { answeredBy?: 'requester' | 'space' } = {}) {
  const turns: Array<{ input: TurnInput; done: Deferred<FakeOutcome> }> = [];
  const notices: Notice[] = [];
  const refusals: string[] = [];
  const cancelled: string[] = [];
  const feedback: Array<{ value?: string; traceId: string }> = [];
  const saved: ConversationRecord[] = [];
  const conversation = conversationMachine.provide({
    actors: {
      loadConversation: fromPromise(async () => stored),
      checkSpace: fromPromise(async () => ({ allowed: true as boolean })),
      ...fakeAnswering((input) => {
        const done = deferred<FakeOutcome>();
        turns.push({ input, done });
        return done.promise;
      }),
      saveConversation: fromPromise(async ({ input }: { input: ConversationRecord }) => {
        saved.push(input);
      }),
    },
    actions: {
      notify: (_, { notice }) => void notices.push(notice),
      countRefusal: (_, { reason }) => void refusals.push(reason),
      cancelAgentTask: (_, { taskId }) => void cancelled.push(taskId),
      recordFeedback: (_, { action, card }) =>
        void feedback.push({ value: action.value, traceId: card.traceId }),
    },
    guards: { answersRestrictedToRequester: () => (options.answeredBy ?? 'requester') === 'requester' },
    delays: { formDeadline: 60_000 },
  });
  const room = roomMachine.provide({
    actors: { conversation },
    actions: { notify: (_, { notice }) => void notices.push(notice) },
  });
  return {
    turns,
    notices,
    refusals,
    cancelled,
    feedback,
    saved,
    bot: botMachine.provide({ actors: { room } }),
  };
}

let actor: Actor<typeof botMachine> | undefined;
afterEach(() => {
  actor?.stop();
  actor = undefined;
  vi.useRealTimers();
});

async function askAndWait(h: ReturnType<typeof harness>) {
  actor = createActor(h.bot, { input: { maxQueuedPerConversation: 3 } }).start();
  actor.send({ type: 'MESSAGE', message: message() });
  await vi.waitUntil(() => h.turns.length === 1);
  h.turns[0]!.done.resolve({
    status: 'input-required',
    contextId: 'ctx',
    taskId: 'task-7',
    pendingForm: { cardId: 'card-1', cardMessageId: 'card-msg-1', deadlineAt: 50_000, form: FORM },
  });
  await vi.waitUntil(() => h.saved.length === 1);
  return actor;
}

describe('who may answer the open task (HITL_ANSWERED_BY)', () => {
  it("requester: another person's card, text, cancel and reset are refused with who it waits for", async () => {
    const h = harness();
    const bot = await askAndWait(h);
    expect(h.saved[0]!.taskOwner).toEqual({ personId: 'p1', name: 'p1@example.com' });
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1', personId: 'p2' }) });
    bot.send({ type: 'MESSAGE', message: { ...message('prod, obviously'), personId: 'p2' } });
    bot.send({ type: 'MESSAGE', message: { ...message('cancel'), personId: 'p2' } });
    bot.send({ type: 'MESSAGE', message: { ...message('reset'), personId: 'p2' } });
    await vi.waitUntil(() => h.notices.length === 4);
    expect(h.notices).toEqual(Array(4).fill({ kind: 'formOwned', owner: 'p1@example.com' }));
    expect(h.refusals).toEqual(['form-owner', 'form-owner', 'form-owner', 'form-owner']);
    expect(h.turns).toHaveLength(1);
    expect(h.cancelled).toEqual([]);
    // The requester still answers it.
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1' }) });
    await vi.waitUntil(() => h.turns.length === 2);
    expect(h.turns[1]!.input).toMatchObject({ taskId: 'task-7', message: { personId: 'p1' } });
  });

  it('space: anyone in the space answers the open form', async () => {
    const h = harness(undefined, { answeredBy: 'space' });
    const bot = await askAndWait(h);
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1', personId: 'p2' }) });
    await vi.waitUntil(() => h.turns.length === 2);
    expect(h.turns[1]!.input).toMatchObject({ taskId: 'task-7', message: { personId: 'p2' } });
    expect(h.refusals).toEqual([]);
  });

  it('an owner restored from the store still decides after a restart', async () => {
    const h = harness({
      key: KEY,
      roomId: ROOM,
      contextId: 'ctx',
      taskId: 'task-7',
      taskOwner: { personId: 'p1', name: 'Pat' },
      pendingForm: { cardId: 'card-1', cardMessageId: 'card-msg-1', deadlineAt: 50_000, form: FORM },
      updatedAt: 1,
    });
    actor = createActor(h.bot, { input: { maxQueuedPerConversation: 3 } }).start();
    actor.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1', personId: 'p2' }) });
    await vi.waitUntil(() => h.notices.length === 1);
    expect(h.notices).toEqual([{ kind: 'formOwned', owner: 'Pat' }]);
    expect(h.turns).toHaveLength(0);
  });
});

describe('forms (human in the loop)', () => {
  it('a submission of the open card resumes the task with the form values', async () => {
    const h = harness();
    const bot = await askAndWait(h);
    expect(h.saved[0]!.pendingForm?.cardId).toBe('card-1');
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1' }) });
    await vi.waitUntil(() => h.turns.length === 2);
    expect(h.turns[1]!.input).toMatchObject({
      taskId: 'task-7',
      contextId: 'ctx',
      formAnswer: { form: FORM, fields: { env: 'prod' } },
    });
  });

  it('refuses a forged submission (a message id the bot did not send the card in)', async () => {
    const h = harness();
    const bot = await askAndWait(h);
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'someone-elses-message' }) });
    expect(h.notices).toEqual([{ kind: 'unknownCard' }]);
    expect(h.turns).toHaveLength(1);
  });

  it('answers a second submission of the same card with a notice, not a second agent call', async () => {
    const h = harness();
    const bot = await askAndWait(h);
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1' }) });
    await vi.waitUntil(() => h.turns.length === 2);
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1' }) });
    expect(h.notices).toEqual([{ kind: 'formAlreadySubmitted' }]);
    expect(h.turns).toHaveLength(2);
  });

  it('refuses a submission after the deadline, cancels the task and says the form expired', async () => {
    const h = harness();
    const bot = await askAndWait(h);
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1', receivedAt: 50_001 }) });
    expect(h.notices).toEqual([{ kind: 'formExpired' }]);
    expect(h.cancelled).toEqual(['task-7']);
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1', receivedAt: 50_002 }) });
    expect(h.notices.at(-1)).toEqual({ kind: 'formExpired' });
    expect(h.turns).toHaveLength(1);
  });

  it('expires an unanswered form at its deadline and tells the user', async () => {
    vi.useFakeTimers();
    const h = harness();
    await askAndWait(h);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.notices).toEqual([{ kind: 'formExpired' }]);
    expect(h.cancelled).toEqual(['task-7']);
  });

  it('a cancel on the form closes it and cancels the task; text typed while it waits answers the task', async () => {
    const h = harness();
    const bot = await askAndWait(h);
    bot.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1', kind: 'formCancel' }) });
    expect(h.notices).toEqual([{ kind: 'formCancelled' }]);
    expect(h.cancelled).toEqual(['task-7']);

    const h2 = harness();
    actor?.stop();
    const bot2 = await askAndWait(h2);
    bot2.send({ type: 'MESSAGE', message: message('prod') });
    await vi.waitUntil(() => h2.turns.length === 2);
    expect(h2.turns[1]!.input).toMatchObject({ taskId: 'task-7', message: { text: 'prod' } });
    expect(h2.turns[1]!.input.formAnswer).toBeUndefined();
  });

  it('a submission that arrives after a restart is checked against the stored form', async () => {
    const h = harness({
      key: KEY,
      roomId: ROOM,
      contextId: 'ctx',
      taskId: 'task-7',
      pendingForm: { cardId: 'card-1', cardMessageId: 'card-msg-1', deadlineAt: 50_000, form: FORM },
      updatedAt: 1,
    });
    actor = createActor(h.bot, { input: { maxQueuedPerConversation: 3 } }).start();
    actor.send({ type: 'CARD', ...card({ cardMessageId: 'card-msg-1' }) });
    await vi.waitUntil(() => h.turns.length === 1);
    expect(h.turns[0]!.input).toMatchObject({ taskId: 'task-7', formAnswer: { fields: { env: 'prod' } } });
  });
});

describe('feedback cards', () => {
  it('scores a click on a feedback card the conversation posted, and refuses unknown ones', async () => {
    const h = harness();
    actor = createActor(h.bot, { input: { maxQueuedPerConversation: 3 } }).start();
    actor.send({ type: 'MESSAGE', message: message() });
    await vi.waitUntil(() => h.turns.length === 1);
    h.turns[0]!.done.resolve({
      status: 'completed',
      traceId: 'trace-1',
      feedbackCard: { cardId: 'fb-1', cardMessageId: 'fb-msg-1', traceId: 'trace-1' },
    });
    await vi.waitUntil(() => h.saved.length === 1);
    actor.send({
      type: 'CARD',
      ...card({ kind: 'feedback', cardId: 'fb-1', cardMessageId: 'fb-msg-1', value: 'negative' }),
    });
    expect(h.feedback).toEqual([{ value: 'negative', traceId: 'trace-1' }]);
    actor.send({
      type: 'CARD',
      ...card({ kind: 'feedback', cardId: 'fb-1', cardMessageId: 'forged', value: 'positive' }),
    });
    expect(h.notices).toEqual([{ kind: 'unknownCard' }]);
  });

  it('refuses a card whose data names another room', async () => {
    const h = harness();
    actor = createActor(h.bot, { input: { maxQueuedPerConversation: 3 } }).start();
    const forged = card({ cardMessageId: 'x', key: 'other-room/main' });
    actor.send({ type: 'CARD', ...forged });
    expect(h.notices).toEqual([{ kind: 'unknownCard' }]);
  });
});
