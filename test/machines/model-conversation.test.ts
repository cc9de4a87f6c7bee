/**
 * Model-based test of one conversation as a user sees it in Webex. The model is a plain machine of
 * observable states (no invoke/after, which `createTestModel` refuses); every shortest and every
 * simple path runs against the real running bot (`startWorld`: simulator + runtime) and a
 * CAIPE-shaped SSE agent scripted step by step by the path's events. In each state the test checks
 * what Webex shows (working message, answer, notices, form card, feedback card) and what the agent
 * received (contextId, taskId, resume data, tasks/cancel), and that the real conversation actor is
 * in a state the mapping table ties to the model state.
 *
 * Expiry runs with HITL_TIMEOUT_S=1 (only on paths that expire) and is awaited as the notice, not
 * slept for. Feedback cards are on (LANGFUSE_SCORING_ENABLED with a local fake Langfuse).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AnyActorRef, createMachine, waitFor } from 'xstate';
import { conversationMachine } from '../../src/machines/conversation.js';
import { MAIN_THREAD } from '../../src/machines/conversation-key.js';
import { messages } from '../../src/render/messages.js';
import type { SimPerson, SimRoom, StoredMessage } from '../../src/simulator/webex/index.js';
import type { SseExchange } from '../helpers/a2a/sse-emulator.js';
import {
  botMessagesStartingWith,
  type Rig,
  startRig,
  untilBotMessage,
  untilNoWorking,
  visibleWorkingMessages,
} from '../helpers/model/rig.js';
import { activeLeafPaths, mappingProblems, modelPaths } from '../helpers/model/state-paths.js';
import {
  CaipeTurn,
  DEPLOY_FORM_PART,
  markdownOf,
  sentMessage,
} from '../integration/conversations/support.js';
import { type FakeLangfuse, startFakeLangfuse } from '../integration/langfuse/fake-langfuse.js';

const conversationModel = createMachine({
  id: 'conversationModel',
  initial: 'idle',
  states: {
    idle: { on: { MESSAGE: 'working' } },
    working: {
      on: {
        PROGRESS: 'progress',
        COMPLETE: 'answered',
        FAIL: 'failed',
        CANCEL: 'cancelled',
        ASK_INPUT: 'waitingForInput',
      },
    },
    progress: {
      on: { COMPLETE: 'answered', FAIL: 'failed', CANCEL: 'cancelled', ASK_INPUT: 'waitingForInput' },
    },
    waitingForInput: {
      on: { SUBMIT_FORM: 'submitted', REPLY_TEXT: 'submitted', EXPIRE: 'expired', CANCEL: 'cancelled' },
    },
    submitted: { on: { COMPLETE: 'answered' } },
    answered: { on: { FEEDBACK: 'feedback' } },
    feedback: {},
    failed: {},
    cancelled: {},
    expired: {},
  },
});

type ModelState =
  | 'idle'
  | 'working'
  | 'progress'
  | 'waitingForInput'
  | 'submitted'
  | 'answered'
  | 'feedback'
  | 'failed'
  | 'cancelled'
  | 'expired';

const AFTER_A_TURN: readonly ModelState[] = ['answered', 'feedback', 'failed', 'cancelled', 'expired'];

/** Every state of the real conversation machine and the model states it can stand for. */
const REAL_TO_MODEL: Record<string, readonly ModelState[]> = {
  restoring: ['idle', 'working'],
  restoreRetry: ['idle', 'working'],
  restored: ['working'],
  idle: ['idle', ...AFTER_A_TURN],
  // Also after a form submission or a reply to an open task: the space is checked again.
  authorizing: ['working', 'submitted'],
  // The intake's decision (a new message) …
  'authorizing.deciding': ['working', 'submitted'],
  // … or, for a form answer resuming a task, the space is checked again.
  'authorizing.checkingSpace': ['submitted'],
  // An unauthorized space: the user is told, as with a failure.
  denied: ['failed'],
  answering: ['working', 'progress', 'submitted'],
  'answering.fetchingContext': ['working', 'submitted'],
  'answering.streaming': ['working', 'progress', 'submitted'],
  // The answer (and its feedback card) being posted: the model's "answered" comes once they are up.
  'answering.postingAnswer': ['working', 'progress', 'submitted'],
  'answering.postingFeedback': ['working', 'progress', 'submitted'],
  'answering.askingForInput': ['working', 'progress', 'submitted'],
  'answering.reportingFailure': ['working', 'progress', 'submitted'],
  saving: AFTER_A_TURN,
  savingWaiting: ['waitingForInput'],
  waitingForInput: ['waitingForInput'],
  next: AFTER_A_TURN,
  // Stopped after the idle timeout: the conversation lives on in the store.
  stopped: ['idle', ...AFTER_A_TURN],
  // Shutdown with a durable store: the running answer is left for the next process.
  handedOver: ['working', 'progress', 'submitted'],
  // Restored with an answer a previous process left running (not on the model's paths: one process).
  'answering.reattaching': ['working', 'progress'],
  'answering.reportingInterruption': ['working', 'progress'],
  // Another process took the conversation's lease (replicas; not on the model's paths: one process).
  yielded: ['idle', 'working', 'progress', 'submitted', 'waitingForInput'],
};

interface CardAction {
  type: string;
  data?: Record<string, unknown>;
}

/** One path's world and what the test has learned along it. */
interface PathRun {
  rig: Rig;
  langfuse: FakeLangfuse;
  user: SimPerson;
  room: SimRoom;
  /** The agent turn the next events act on. */
  turn?: CaipeTurn;
  /** Exchanges the bot opened, in order (message/stream only). */
  turns: CaipeTurn[];
  /** The task left waiting for input, and the first turn's context. */
  inputTaskId?: string;
  contextId?: string;
  resumedBy?: 'form' | 'text';
  answerText?: string;
  traceId?: string;
}

let run: PathRun | undefined;

afterEach(async () => {
  await run?.rig.close();
  await run?.langfuse.close();
  run = undefined;
});

function current(): PathRun {
  if (!run) throw new Error('no path is running');
  return run;
}

function streamRequests(r: PathRun) {
  return r.rig.agent.requests.filter((q) => q.json?.method === 'message/stream');
}

function cardsIn(r: PathRun): StoredMessage[] {
  return r.rig.world.visibleBotMessages(r.room.id).filter((m) => (m.attachments?.length ?? 0) > 0);
}

function actionsOf(message: StoredMessage): CardAction[] {
  const card = message.attachments?.[0] as { content?: { actions?: CardAction[] } } | undefined;
  return card?.content?.actions ?? [];
}

function formCard(r: PathRun): StoredMessage | undefined {
  return cardsIn(r).find((m) => actionsOf(m).some((a) => JSON.stringify(a.data).includes('"form"')));
}

function feedbackCard(r: PathRun): StoredMessage | undefined {
  return cardsIn(r).find((m) => actionsOf(m).some((a) => JSON.stringify(a.data).includes('"feedback"')));
}

function conversationActor(r: PathRun): AnyActorRef | undefined {
  return r.rig.world.runtime.bot.system.get(`conversation:${r.room.id}/${MAIN_THREAD}`);
}

/** The real conversation settles in a state the table maps to `model` (a stopped actor counts as `stopped`). */
async function expectRealStateIn(r: PathRun, model: ModelState): Promise<void> {
  const fits = (paths: string[]) => paths.every((p) => REAL_TO_MODEL[p]?.includes(model));
  const actor = conversationActor(r);
  if (!actor) {
    expect(REAL_TO_MODEL.stopped).toContain(model);
    return;
  }
  const snapshot = await waitFor(actor, (s) => s.status !== 'active' || fits(activeLeafPaths(s.value)), {
    timeout: 10_000,
  });
  expect(fits(activeLeafPaths(snapshot.value)), JSON.stringify(snapshot.value)).toBe(true);
}

/** Opens the next agent turn once the bot has sent it. */
async function nextTurn(r: PathRun): Promise<CaipeTurn> {
  const before = r.turns.length;
  while (r.turns.length === before) await r.rig.agent.nextExchange();
  return r.turns.at(-1)!;
}

const events: Record<string, () => Promise<void>> = {
  MESSAGE: async () => {
    const r = current();
    const arrived = nextTurn(r);
    r.rig.world.sim.post(r.user, r.room, { text: 'deploy the api please' });
    r.turn = await arrived;
    await r.turn.open();
    r.contextId = r.turn.contextId;
  },
  PROGRESS: async () => {
    const r = current();
    await r.turn!.toolStart('Sync_App', 'argocd');
  },
  COMPLETE: async () => {
    const r = current();
    r.answerText = `Done: ${r.turn!.userText.slice(0, 40)}`;
    await r.turn!.answer(r.answerText);
  },
  FAIL: async () => {
    const r = current();
    await r.turn!.status('failed', 'the deploy pipeline is broken', undefined, true);
    await r.turn!.exchange.end();
  },
  CANCEL: async () => {
    const r = current();
    r.rig.world.sim.post(r.user, r.room, { text: 'cancel' });
    await untilBotMessage(r.rig.world, r.room.id, messages.cancelled);
  },
  ASK_INPUT: async () => {
    const r = current();
    await r.turn!.artifact('UserInputMetaData', [DEPLOY_FORM_PART]);
    await r.turn!.status('input-required', 'Which environment?', undefined, true);
    await r.turn!.exchange.end();
    r.inputTaskId = r.turn!.taskId;
  },
  SUBMIT_FORM: async () => {
    const r = current();
    const card = formCard(r)!;
    const submit = actionsOf(card).find(
      (a) => a.type === 'Action.Submit' && JSON.stringify(a.data).includes('"form"'),
    )!;
    const arrived = nextTurn(r);
    // Webex merges the Action.Submit data into the inputs it reports.
    r.rig.world.sim.submitCard(r.user, card.id, { ...submit.data, 'field:env': 'prod' });
    r.turn = await arrived;
    r.resumedBy = 'form';
    await r.turn.open();
  },
  REPLY_TEXT: async () => {
    const r = current();
    const arrived = nextTurn(r);
    r.rig.world.sim.post(r.user, r.room, { text: 'prod, please' });
    r.turn = await arrived;
    r.resumedBy = 'text';
    await r.turn.open();
  },
  EXPIRE: async () => {
    const r = current();
    await untilBotMessage(r.rig.world, r.room.id, messages.formExpired);
  },
  FEEDBACK: async () => {
    const r = current();
    const card = feedbackCard(r)!;
    const up = actionsOf(card).find((a) => JSON.stringify(a.data).includes('"positive"'))!;
    r.rig.world.sim.submitCard(r.user, card.id, { ...up.data });
    await untilBotMessage(r.rig.world, r.room.id, messages.feedbackThanks(true));
  },
};

const states: Record<ModelState, () => Promise<void>> = {
  idle: async () => {
    const r = current();
    expect(r.rig.world.visibleBotMessages(r.room.id)).toEqual([]);
    expect(streamRequests(r)).toHaveLength(0);
    await expectRealStateIn(r, 'idle');
  },
  working: async () => {
    const r = current();
    await untilBotMessage(r.rig.world, r.room.id, messages.working);
    expect(visibleWorkingMessages(r.rig.world, r.room.id)).toHaveLength(1);
    const [first] = streamRequests(r);
    expect(streamRequests(r)).toHaveLength(1);
    expect(sentMessage(first!.json)).toMatchObject({ text: 'deploy the api please' });
    expect(sentMessage(first!.json).contextId).toBeUndefined();
    expect(sentMessage(first!.json).taskId).toBeUndefined();
    await expectRealStateIn(r, 'working');
  },
  progress: async () => {
    const r = current();
    await r.rig.world.sim.waitFor(
      'request',
      (q) => q.method === 'PUT' && markdownOf(q).includes('Sync_App'),
      {
        timeoutMs: 10_000,
      },
    );
    const [working] = visibleWorkingMessages(r.rig.world, r.room.id);
    expect(working?.markdown).toContain('Sync_App');
    expect(working?.editCount).toBeGreaterThan(0);
    await expectRealStateIn(r, 'progress');
  },
  waitingForInput: async () => {
    const r = current();
    await untilBotMessage(r.rig.world, r.room.id, 'Which environment?');
    await r.rig.world.sim.waitFor(
      'request',
      (q) => q.method === 'POST' && JSON.stringify(q.body).includes('attachments'),
    );
    await untilNoWorking(r.rig.world, r.room.id);
    expect(formCard(r)).toBeDefined();
    expect(feedbackCard(r)).toBeUndefined();
    await expectRealStateIn(r, 'waitingForInput');
  },
  submitted: async () => {
    const r = current();
    await untilBotMessage(r.rig.world, r.room.id, messages.working);
    const resumed = streamRequests(r).at(-1)!;
    expect(streamRequests(r)).toHaveLength(2);
    expect(sentMessage(resumed.json).contextId).toBe(r.contextId);
    expect(sentMessage(resumed.json).taskId).toBe(r.inputTaskId);
    const parts = resumed.json.params.message.parts as Array<{ kind: string; data?: { resume?: unknown } }>;
    const resumeParts = parts.filter((p) => p.kind === 'data' && p.data?.resume !== undefined);
    if (r.resumedBy === 'form') {
      expect(sentMessage(resumed.json).text).toContain('prod');
      expect(resumeParts).toHaveLength(1);
    } else {
      expect(sentMessage(resumed.json).text).toContain('prod, please');
      expect(resumeParts).toHaveLength(0);
    }
    await expectRealStateIn(r, 'submitted');
  },
  answered: async () => {
    const r = current();
    await untilBotMessage(r.rig.world, r.room.id, r.answerText!);
    await untilNoWorking(r.rig.world, r.room.id);
    expect(botMessagesStartingWith(r.rig.world, r.room.id, r.answerText!)).toHaveLength(1);
    // An answer with a trace id gets its feedback card.
    await r.rig.world.sim.waitFor(
      'request',
      (q) => q.method === 'POST' && JSON.stringify(q.body).includes('"feedback"'),
    );
    expect(feedbackCard(r)).toBeDefined();
    expect(r.rig.cancels).toEqual([]);
    await expectRealStateIn(r, 'answered');
  },
  feedback: async () => {
    const r = current();
    expect(botMessagesStartingWith(r.rig.world, r.room.id, messages.feedbackThanks(true))).toHaveLength(1);
    const scored = await r.langfuse.waitForRequest((q) => q.method === 'POST' && q.status < 300);
    expect(scored.body).toMatchObject({ name: 'user_feedback', value: 'positive' });
    expect(r.langfuse.scores.size).toBe(1);
    await expectRealStateIn(r, 'feedback');
  },
  failed: async () => {
    const r = current();
    const notice = messages.agentFailed('CAIPE', 'the deploy pipeline is broken');
    await untilBotMessage(r.rig.world, r.room.id, notice);
    await untilNoWorking(r.rig.world, r.room.id);
    expect(botMessagesStartingWith(r.rig.world, r.room.id, notice)).toHaveLength(1);
    expect(feedbackCard(r)).toBeUndefined();
    await expectRealStateIn(r, 'failed');
  },
  cancelled: async () => {
    const r = current();
    await untilNoWorking(r.rig.world, r.room.id);
    expect(botMessagesStartingWith(r.rig.world, r.room.id, messages.cancelled)).toHaveLength(1);
    const cancelledTask = r.inputTaskId ?? r.turn!.taskId;
    while (!r.rig.cancels.includes(cancelledTask)) await r.rig.agent.nextExchange();
    expect(r.rig.cancels).toEqual([cancelledTask]);
    expect(feedbackCard(r)).toBeUndefined();
    // `cancel` is a command: it never reached the agent as a question.
    expect(streamRequests(r).every((q) => sentMessage(q.json).text !== 'cancel')).toBe(true);
    await expectRealStateIn(r, 'cancelled');
  },
  expired: async () => {
    const r = current();
    expect(botMessagesStartingWith(r.rig.world, r.room.id, messages.formExpired)).toHaveLength(1);
    while (!r.rig.cancels.includes(r.inputTaskId!)) await r.rig.agent.nextExchange();
    expect(r.rig.cancels).toEqual([r.inputTaskId]);
    await expectRealStateIn(r, 'expired');
    // A late submission of the expired form is refused with a notice, and the agent is not asked.
    const card = formCard(r)!;
    const submit = actionsOf(card).find(
      (a) => a.type === 'Action.Submit' && JSON.stringify(a.data).includes('"form"'),
    )!;
    r.rig.world.sim.submitCard(r.user, card.id, { ...submit.data, 'field:env': 'prod' });
    while (botMessagesStartingWith(r.rig.world, r.room.id, messages.formExpired).length < 2) {
      await r.rig.world.sim.waitFor('request', (q) => q.method === 'POST', {
        futureOnly: true,
        timeoutMs: 10_000,
      });
    }
    expect(streamRequests(r)).toHaveLength(1);
  },
};

const { shortest, simple, paths } = modelPaths(conversationModel);
let ran = 0;

describe('conversation model', () => {
  it('maps every state of the real conversation machine to a model state', () => {
    expect(mappingProblems(conversationMachine, conversationModel, REAL_TO_MODEL)).toEqual([]);
  });

  it('covers every model state and transition with its paths', () => {
    const visited = new Set(paths.flatMap(([, p]) => p.steps.map((s) => String(s.state.value))));
    expect([...visited].sort()).toEqual(Object.keys(states).sort());
    const covered = new Set(
      paths.flatMap(([, p]) =>
        p.steps.slice(1).map((s, i) => `${String(p.steps[i]!.state.value)}+${s.event.type}`),
      ),
    );
    const declared = Object.entries(conversationModel.root.states).flatMap(([key, node]) =>
      Object.keys(node.config.on ?? {}).map((type) => `${key}+${type}`),
    );
    expect(declared.filter((t) => !covered.has(t))).toEqual([]);
  });

  it.each(paths.map(([kind, path]) => [kind, path.description, path] as const))(
    '%s: %s',
    async (_kind, _description, path) => {
      const expires = path.steps.some((s) => s.event.type === 'EXPIRE');
      const langfuse = await startFakeLangfuse({ publicKey: 'pk-lf-model', secretKey: 'sk-lf-model' });
      const turns: CaipeTurn[] = [];
      const rig = await startRig({
        env: {
          LANGFUSE_SCORING_ENABLED: 'true',
          LANGFUSE_PUBLIC_KEY: 'pk-lf-model',
          LANGFUSE_SECRET_KEY: 'sk-lf-model',
          LANGFUSE_HOST: langfuse.baseUrl,
          // Paths may end mid-answer: shutting down cancels it at once instead of waiting.
          SHUTDOWN_GRACE_S: '0',
          ...(expires ? { HITL_TIMEOUT_S: '1' } : {}),
        },
      });
      // Every question is held open for the path's events to drive.
      rig.when(
        () => true,
        async (exchange: SseExchange) => {
          turns.push(new CaipeTurn(exchange));
          await exchange.clientClosed();
        },
        Number.POSITIVE_INFINITY,
      );
      const user = rig.world.sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
      run = { rig, langfuse, user, room: rig.world.sim.createDirectRoom(user), turns };
      await path.test({ events, states });
      ran++;
    },
    30_000,
  );

  it('ran every generated path', () => {
    console.log(
      `conversation model: ${shortest.length} shortest + ${simple.length} simple paths, ${ran} ran against the running bot`,
    );
    expect(ran).toBe(paths.length);
  });
});
