/**
 * The effects of the conversation's `answering` state, one per step of the chart (SPEC §4
 * "Answering"):
 *
 *   workingMessage   the "Working on it" message: posted at once, edited as progress arrives
 *                    (throttled, budgeted), deleted when the turn ends whichever way
 *   buildRequest     what the agent is asked (thread context or a form's answer, the asker's email)
 *   agentStream      the agent's stream, folded into the turn state; a stopped stream cancels the task
 *   postAnswer       the answer, split into messages with the footer on the last
 *   postFeedback     the 👍 / 👎 card under an answer with a trace id
 *   askForInput      the agent's question and its form card
 *   reportFailure    a short, specific message for what went wrong
 *
 * Turns are counted from the working message's start to the end of its cleanup (and of any agent
 * cancel), which is what the shutdown sequence waits for.
 *
 * With a journal (`../handover/journal.ts`) the turn is kept in the conversation's record as it
 * goes: begun before the working message goes up, the agent's ids as they arrive, each message's
 * intent before it is posted and its id after. A turn handed over at shutdown keeps its working
 * message and its agent task for the next process; a taken-over turn skips what was posted.
 */

import { fromCallback, fromPromise } from 'xstate';
import type { AgentClient, AgentForm, TurnPart, TurnState } from '../../adapters/agent/index.js';
import { finalText, initialTurnState, reduceTurn } from '../../adapters/agent/index.js';
import type { FeedbackCardRecord } from '../../adapters/store/ports.js';
import type { ProgressStream, WebexSender } from '../../adapters/webex/sender/index.js';
import { createProgressStream, guardedSender } from '../../adapters/webex/sender/index.js';
import type { Clock } from '../../clock.js';
import { AgentError, asCodedError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type {
  AgentStreamInput,
  AskedForInput,
  PostedAnswer,
  TurnInput,
  TurnResultInput,
  WorkingMessageEvent,
  WorkingMessageInput,
} from '../../machines/conversation.js';
import type { AgentAsk, AgentTurn, HistoryMessage, TurnFailure, TurnStatus } from '../../machines/types.js';
import { cancelAgentTask } from '../cancel-agent-task.js';
import type { CrashHook } from '../handover/crash-points.js';
import { hashPost, type PartKind, type TurnJournal } from '../handover/journal.js';

/** How a turn's texts look; bound to `src/render` by the composition root. */
export interface TurnRendering {
  /** The working message's markdown from the latest agent state. */
  progress(state: TurnState, elapsedMs: number): string;
  /** The answer split into messages, the footer on the last one. */
  answer(text: string, info: { agent?: string; inThread: boolean; omittedChars?: number }): string[];
  /** The agent asked for input: what to show (the question), before any form card. */
  question(state: TurnState): string;
  /** A short, specific message for a failed turn. */
  failure(error: TurnFailure | undefined, state: TurnState): string;
  /** The agent finished without any text. */
  emptyAnswer(): string;
  /** The question came with files the bot does not read. */
  filesNotRead(): string;
  /** A taken-over answer that could not be recovered (optional: the catalogue's words otherwise). */
  interrupted?(): string;
  /** True for a working message's text (how a working message left by a dead process is recognised). */
  isWorkingMessage?(markdown: string): boolean;
}

/** A card ready to post: fallback markdown plus the Adaptive Card attachment. */
export interface CardPost {
  markdown: string;
  attachments: ReadonlyArray<{ contentType: string; content: unknown }>;
}

/** Cards around a turn: the HITL form and the feedback buttons (bound to `src/render/cards`). */
export interface TurnCards {
  form(options: { form: AgentForm; conversationKey: string; cardId: string; question?: string }): CardPost;
  /** Only when scoring is enabled; undefined otherwise. */
  feedback?(options: { traceId: string; conversationKey: string; cardId: string }): CardPost;
  /** The text and `resume` data part answering a form. */
  formAnswer(
    form: AgentForm,
    fields: Record<string, unknown>,
  ): { text: string; resume: Record<string, unknown> };
  /** A fresh card id. */
  newCardId(): string;
  /** `HITL_TIMEOUT_S` in ms. */
  formTimeoutMs: number;
}

/** Timings and outcomes of turns, for the metrics. */
export interface TurnObserver {
  /** The working message is up: seconds from the inbound event (`first_reply_seconds`). */
  firstReply?(seconds: number): void;
  /** The answer (or the question) is posted (`answer_seconds`). */
  answered?(seconds: number): void;
  streamEnded?(outcome: TurnStatus | 'error'): void;
  started?(): void;
  ended?(): void;
}

/** Builds the text sent to the agent (thread context + request). */
export type PromptBuilder = (input: TurnInput, signal: AbortSignal) => Promise<string>;

export interface AnsweringDeps {
  agent: AgentClient;
  sender: WebexSender;
  /**
   * The conversation's lease, checked right before each of its writes goes out (replicas): false
   * drops the write. Absent: every write goes out.
   */
  fence?: ((key: string) => boolean | Promise<boolean>) | undefined;
  clock: Clock;
  log: Logger;
  rendering: TurnRendering;
  cards?: TurnCards | undefined;
  /** `WEBEX_UPDATE_INTERVAL_MS`. */
  updateIntervalMs: number;
  /** The request's text; the message's own text when unset. */
  prompt?: PromptBuilder | undefined;
  /** A card action names only the person: their email (for `metadata.user_email`) is looked up. */
  lookupEmail?: ((personId: string, signal?: AbortSignal) => Promise<string | undefined>) | undefined;
  observer?: TurnObserver | undefined;
  /** `MAX_CONCURRENT_TURNS` and `MAX_TURNS_PER_PERSON`; unlimited when unset. */
  limits?: { total: number; perPerson: number } | undefined;
  /** Keeps each running turn in the store (durable stores); without it nothing is recorded. */
  journal?: TurnJournal | undefined;
  /** Test-only crash points (`../handover/crash-points.ts`). */
  crash?: CrashHook | undefined;
  /** How much history a conversation keeps for memoryless agents (`WEBEX_THREAD_CONTEXT_*`). */
  historyLimits?: { maxMessages: number; maxChars: number } | undefined;
}

/** The turns running, for the shutdown sequence. */
export interface RunningTurns {
  /** Answers running now (including stopped ones still cleaning up). */
  count(): number;
  /** Resolves when no turn runs and every cleanup is done (including turns that start meanwhile). */
  settled(): Promise<void>;
}

export function createAnsweringEffects(deps: AnsweringDeps) {
  const { agent, sender, clock, rendering } = deps;
  const { fence } = deps;
  /** The writes of one conversation, fenced by its lease. */
  const senderFor = (key: string): WebexSender => (fence ? guardedSender(sender, () => fence(key)) : sender);
  const observer = deps.observer ?? {};
  /** The turns running, each with its person: the concurrency limits count these. */
  const live = new Map<object, string>();
  /** Each running turn's working message, by conversation: its answer may take the message's place. */
  const working = new Map<string, ProgressStream>();
  const cleanups = new Set<Promise<unknown>>();
  /** Each conversation's cleanups still running: its lease is kept until they are done. */
  const cleanupsByKey = new Map<string, Set<Promise<unknown>>>();
  const trackCleanup = (work: Promise<unknown>, key: string) => {
    cleanups.add(work);
    const mine = cleanupsByKey.get(key) ?? new Set<Promise<unknown>>();
    cleanupsByKey.set(key, mine);
    mine.add(work);
    void work.finally(() => {
      cleanups.delete(work);
      mine.delete(work);
      if (mine.size === 0 && cleanupsByKey.get(key) === mine) cleanupsByKey.delete(key);
    });
  };
  const logFor = (key: string, roomId: string) => deps.log.child({ roomId, threadKey: key });
  const since = (receivedAt: number) => (clock.now() - receivedAt) / 1000;
  /** The effect layer made every turn state the chart carries: it is whole. */
  const stateOf = (turn: AgentTurn) => turn as TurnState;

  const busyScope = (personId: string): 'bot' | 'person' | undefined => {
    if (!deps.limits) return undefined;
    if (live.size >= deps.limits.total) return 'bot';
    let mine = 0;
    for (const owner of live.values()) if (owner === personId) mine += 1;
    return mine >= deps.limits.perPerson ? 'person' : undefined;
  };

  /**
   * The turn's lifetime: it counts against the limits from here until its working message is gone.
   * Over a limit it posts nothing and says so (`TURN.BUSY`); the chart tells the person.
   */
  const workingMessage = fromCallback<WorkingMessageEvent, WorkingMessageInput>(
    ({ input, receive, sendBack }) => {
      // A turn taken over from a previous process was admitted there: it is finished, not refused.
      const busy = deps.journal?.takeover(input.key) ? undefined : busyScope(input.personId);
      if (busy) {
        sendBack({ type: 'TURN.BUSY', scope: busy });
        return () => {};
      }
      const token = {};
      live.set(token, input.personId);
      observer.started?.();
      const log = logFor(input.key, input.target.roomId);
      const { journal } = deps;
      let latest = initialTurnState();
      let stopped = false;
      const progress = createProgressStream(senderFor(input.key), {
        roomId: input.target.roomId,
        parentId: input.target.parentId,
        intervalMs: deps.updateIntervalMs,
        clock,
        logger: log,
        startedAt: input.receivedAt,
        keepAliveMs: Math.max(deps.updateIntervalMs, 15_000),
        render: ({ elapsedMs }) => rendering.progress(latest, elapsedMs),
        ...(journal ? { onPosted: (messageId: string) => journal.workingPosted(input.key, messageId) } : {}),
      });
      working.set(input.key, progress);
      // The turn is recorded before its first post, so a post of a process that dies is found.
      const begun =
        journal && input.start
          ? journal.begin(input.key, input.start.record, { ...input.start })
          : Promise.resolve();
      let changedBeforeStart = false;
      begun
        .then(() => {
          if (stopped) return;
          const starting = progress.start();
          // Progress that arrived while the turn was being recorded is shown at the next edit.
          if (changedBeforeStart) progress.update();
          return starting.then(() => observer.firstReply?.(since(input.receivedAt)));
        })
        // The answer can still be posted; a missing working message is not worth failing it for.
        .catch((error: unknown) => log.warn({ err: asCodedError(error) }, 'working message not posted'));
      receive((event) => {
        latest = stateOf(event.turn);
        if (progress.state === 'idle') changedBeforeStart = true;
        progress.update();
      });
      return () => {
        stopped = true;
        // Handed over: the message stays up and the turn stays recorded, for the next process.
        const handedOver = journal?.isHandedOver(input.key) === true;
        if (working.get(input.key) === progress) working.delete(input.key);
        const removed = begun
          .then(() => (handedOver ? progress.abandon() : progress.finish()))
          .catch((error: unknown) => log.warn({ err: asCodedError(error) }, 'working message not removed'));
        journal?.end(input.key, removed);
        trackCleanup(
          removed.finally(() => {
            live.delete(token);
            observer.ended?.();
          }),
          input.key,
        );
      };
    },
  );

  const buildRequest = fromPromise<AgentAsk, TurnInput>(async ({ input, signal }) => {
    const log = logFor(input.key, input.target.roomId);
    let userEmail = input.message.personEmail;
    if (!userEmail && deps.lookupEmail) {
      // A failed lookup only costs the metadata, never the user's answer to a form.
      userEmail =
        (await deps.lookupEmail(input.message.personId, signal).catch((error: unknown) => {
          if (signal.aborted) throw error;
          log.warn({ err: asCodedError(error) }, 'email of the person not looked up');
          return undefined;
        })) ?? '';
    }
    const base = {
      userEmail,
      ...(input.contextId ? { contextId: input.contextId } : {}),
      ...(input.taskId ? { taskId: input.taskId } : {}),
      origin: {
        roomId: input.target.roomId,
        roomType: input.roomType,
        messageId: input.message.messageId,
        ...(input.target.parentId ? { threadRootId: input.target.parentId } : {}),
        personId: input.message.personId,
        generation: input.generation ?? 0,
      },
      // Always sent, empty too: the conversation record is the thread's memory (after a reset, the
      // agent client must not fall back to what it remembers of the thread).
      history: input.history ?? [],
      ...(input.message.agentId ? { agentId: input.message.agentId } : {}),
    };
    if (input.formAnswer && deps.cards) {
      const answer = deps.cards.formAnswer(input.formAnswer.form, input.formAnswer.fields);
      return { ...base, text: answer.text, parts: [{ kind: 'data', data: { resume: answer.resume } }] };
    }
    const text = deps.prompt ? await deps.prompt(input, signal) : input.message.text;
    return { ...base, text };
  });

  const agentStream = fromCallback<{ type: string }, AgentStreamInput>(({ input, sendBack }) => {
    const log = logFor(input.key, input.target.roomId);
    const aborter = new AbortController();
    const { ask } = input;
    let state = initialTurnState({
      ...(ask.contextId ? { contextId: ask.contextId } : {}),
      ...(ask.taskId ? { taskId: ask.taskId } : {}),
    });
    let over = false;
    const finish = (outcome: TurnStatus | 'error') => {
      over = true;
      observer.streamEnded?.(outcome);
    };
    void (async () => {
      try {
        const request = {
          text: ask.text,
          userEmail: ask.userEmail,
          ...(ask.contextId ? { contextId: ask.contextId } : {}),
          ...(ask.taskId ? { taskId: ask.taskId } : {}),
          ...(ask.parts ? { parts: ask.parts as TurnPart[] } : {}),
          ...(ask.origin ? { origin: ask.origin } : {}),
          ...(ask.history ? { history: ask.history } : {}),
          ...(ask.agentId ? { agentId: ask.agentId } : {}),
        };
        for await (const event of agent.streamTurn(request, { signal: aborter.signal })) {
          state = reduceTurn(state, event);
          if (event.type === 'ids' || event.type === 'trace') deps.journal?.ids(input.key, idsOf(state));
          sendBack({ type: 'AGENT.PROGRESS', turn: state });
          if (deps.crash) await deps.crash('mid-stream', { key: input.key });
        }
        if (aborter.signal.aborted) return;
        finish(streamOutcome(state));
        sendBack({ type: 'AGENT.DONE', turn: state });
      } catch (error) {
        if (aborter.signal.aborted) return;
        const agentError = error instanceof AgentError ? error : undefined;
        if (agentError)
          log.warn(
            { kind: agentError.kind, status: agentError.status, err: agentError },
            'agent turn failed',
          );
        else log.error({ err: asCodedError(error) }, 'turn failed');
        finish('error');
        sendBack({ type: 'AGENT.FAILED', turn: state, failure: failureOf(error) });
      }
    })();
    return () => {
      aborter.abort(new Error('turn stopped'));
      if (over) return;
      // Stopped from outside (cancel, reset, shutdown): the agent's task is cancelled too, unless
      // the turn was handed over to the next process, which re-attaches to it.
      finish('canceled');
      const taskId = state.taskId;
      if (!taskId || deps.journal?.isHandedOver(input.key)) return;
      trackCleanup(cancelAgentTask(agent, taskId, log), input.key);
    };
  });

  /**
   * Posts parts in order; a stopped turn posts nothing more (no answer next to "Stopped"). Each
   * part's intent is recorded before its post and its id after; a part a previous process already
   * posted (a taken-over turn) is not posted again. Through the working message's stream: the
   * first part takes its place if it has not left the send queue.
   */
  const postParts = async (
    input: TurnResultInput,
    parts: readonly string[],
    signal: AbortSignal,
    kind: PartKind = 'answer',
  ) => {
    const { journal } = deps;
    let last: string | undefined;
    const progress = working.get(input.key);
    for (const [index, part] of parts.entries()) {
      const posted = journal?.postedPart(input.key, kind, index);
      if (posted?.messageId) {
        last = posted.messageId;
        continue;
      }
      signal.throwIfAborted();
      await journal?.partIntent(input.key, kind, index, part);
      signal.throwIfAborted();
      last = (
        progress
          ? await progress.reply(part)
          : await senderFor(input.key).post({
              roomId: input.target.roomId,
              parentId: input.target.parentId,
              markdown: part,
            })
      ).id;
      if (deps.crash) await deps.crash('part-posted', { key: input.key });
      // Recorded also when the turn was stopped meanwhile (handed over): the next process needs it.
      await journal?.partPosted(input.key, kind, index, last);
    }
    return last;
  };

  const postAnswer = fromPromise<PostedAnswer, TurnResultInput>(async ({ input, signal }) => {
    const answer = finalText(stateOf(input.turn));
    const parts = answer
      ? rendering.answer(answer.text, {
          ...(answer.agent ? { agent: answer.agent } : {}),
          inThread: input.target.parentId !== undefined,
          ...(answer.omittedChars ? { omittedChars: answer.omittedChars } : {}),
        })
      : [rendering.emptyAnswer()];
    const answerMessageId = await postParts(
      input,
      input.hasFiles ? [rendering.filesNotRead(), ...parts] : parts,
      signal,
    );
    observer.answered?.(since(input.receivedAt));
    const history = nextHistory(input, answer?.text, deps.historyLimits);
    return { ...(answerMessageId ? { answerMessageId } : {}), ...(history ? { history } : {}) };
  });

  const postFeedback = fromPromise<FeedbackCardRecord | undefined, TurnResultInput>(async ({ input }) => {
    const traceId = input.turn.traceId;
    if (!traceId || !deps.cards?.feedback) return undefined;
    const { journal } = deps;
    const recorded = journal?.turn(input.key)?.feedback;
    if (recorded?.messageId) return { cardId: recorded.cardId, cardMessageId: recorded.messageId, traceId };
    const cardId = recorded?.cardId ?? deps.cards.newCardId();
    const card = deps.cards.feedback({ traceId, conversationKey: input.key, cardId });
    await journal?.change(input.key, (t) => ({
      ...t,
      feedback: { cardId, traceId, hash: hashPost(card.markdown), intentAt: clock.now() },
    }));
    const sent = await senderFor(input.key)
      .post({ roomId: input.target.roomId, parentId: input.target.parentId, ...card })
      .catch((error: unknown) => {
        logFor(input.key, input.target.roomId).warn({ err: asCodedError(error) }, 'feedback card not posted');
        return undefined;
      });
    if (!sent) return undefined;
    if (deps.crash) await deps.crash('part-posted', { key: input.key });
    await journal?.change(input.key, (t) =>
      t.feedback ? { ...t, feedback: { ...t.feedback, messageId: sent.id } } : t,
    );
    return { cardId, cardMessageId: sent.id, traceId };
  });

  const askForInput = fromPromise<AskedForInput, TurnResultInput>(async ({ input, signal }) => {
    const state = stateOf(input.turn);
    const answerMessageId = await postParts(input, [rendering.question(state)], signal, 'question');
    const result: AskedForInput = answerMessageId ? { answerMessageId } : {};
    if (state.form && deps.cards) {
      const { journal } = deps;
      // The card id and deadline are chosen once: a taken-over turn posts the same card.
      const recorded = journal?.turn(input.key)?.form;
      const cardId = recorded?.cardId ?? deps.cards.newCardId();
      const deadlineAt = recorded?.deadlineAt ?? clock.now() + deps.cards.formTimeoutMs;
      let cardMessageId = recorded?.messageId;
      if (!cardMessageId) {
        const card = deps.cards.form({ form: state.form, conversationKey: input.key, cardId });
        signal.throwIfAborted();
        await journal?.change(input.key, (t) => ({
          ...t,
          form: { cardId, deadlineAt, hash: hashPost(card.markdown), intentAt: clock.now() },
        }));
        signal.throwIfAborted();
        const sent = await senderFor(input.key).post({
          roomId: input.target.roomId,
          parentId: input.target.parentId,
          ...card,
        });
        cardMessageId = sent.id;
        if (deps.crash) await deps.crash('part-posted', { key: input.key });
        await journal?.change(input.key, (t) =>
          t.form ? { ...t, form: { ...t.form, messageId: sent.id } } : t,
        );
      }
      result.pendingForm = { cardId, cardMessageId, deadlineAt, form: state.form };
    }
    observer.answered?.(since(input.receivedAt));
    return result;
  });

  const reportFailure = fromPromise<void, TurnResultInput>(async ({ input, signal }) => {
    await postParts(input, [rendering.failure(input.failure, stateOf(input.turn))], signal, 'failure');
  });

  /** Resolves when the conversation's cleanups (its working message's removal, a cancel) are done. */
  const cleanedUp = async (key: string) => {
    while (cleanupsByKey.has(key)) await Promise.allSettled([...(cleanupsByKey.get(key) ?? [])]);
  };

  const turns: RunningTurns = {
    count: () => live.size,
    settled: async () => {
      while (live.size > 0 || cleanups.size > 0) await Promise.allSettled([...cleanups, nextTick()]);
      // The running turns' last records (a handover, a part's id) are written before the store closes.
      await deps.journal?.flushed();
    },
  };

  return {
    actors: {
      workingMessage,
      buildRequest,
      agentStream,
      postAnswer,
      postFeedback,
      askForInput,
      reportFailure,
    },
    turns,
    cleanedUp,
  };
}

function idsOf(state: TurnState): { taskId?: string; contextId?: string; traceId?: string } {
  return {
    ...(state.taskId ? { taskId: state.taskId } : {}),
    ...(state.contextId ? { contextId: state.contextId } : {}),
    ...(state.traceId ? { traceId: state.traceId } : {}),
  };
}

/**
 * The conversation's history with this turn in it (the request and the final answer), newest kept:
 * at most `maxMessages` entries and `maxChars` characters. Undefined when nothing changes.
 */
export function nextHistory(
  input: Pick<TurnResultInput, 'history' | 'asked'>,
  answer: string | undefined,
  limits: { maxMessages: number; maxChars: number } | undefined,
): HistoryMessage[] | undefined {
  if (!limits || !input.asked || !answer) return undefined;
  const all: HistoryMessage[] = [
    ...(input.history ?? []),
    { role: 'user', text: input.asked },
    { role: 'assistant', text: answer },
  ];
  const kept: HistoryMessage[] = [];
  let chars = 0;
  for (let i = all.length - 1; i >= 0 && kept.length < limits.maxMessages; i--) {
    const entry = all[i]!;
    if (chars + entry.text.length > limits.maxChars) break;
    chars += entry.text.length;
    kept.unshift(entry);
  }
  return kept;
}

/** How the stream ended: the `outcome` of `agent_streams_total{backend,outcome}`. */
function streamOutcome(state: TurnState): TurnStatus {
  if (state.status === 'failed' || state.status === 'rejected') return 'failed';
  if (state.status === 'canceled') return 'canceled';
  if (state.status === 'input-required' || state.status === 'auth-required') return 'input-required';
  return 'completed';
}

function failureOf(error: unknown): TurnFailure {
  if (error instanceof AgentError)
    return {
      kind: error.kind,
      ...(error.status !== undefined ? { status: error.status } : {}),
      message: error.message,
    };
  return { kind: 'internal', message: 'internal error' };
}

function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
