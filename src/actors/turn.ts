/**
 * One turn of a conversation, as a protocol (SPEC §4 "Answering"):
 *
 *   working message (at once) → progress edits while the agent streams (throttled, budgeted)
 *   → the answer as new message(s) in the thread → the working message deleted → outcome.
 *
 * Agent failures become a short, specific message in the thread and a `failed` outcome; the
 * conversation carries on. An aborted signal (cancel, reset, shutdown) cancels the agent task and
 * removes the working message, so nothing is left showing progress.
 */
import type { AgentClient, AgentForm, TurnPart, TurnState } from '../adapters/agent/index.js';
import { finalText, initialTurnState, reduceTurn } from '../adapters/agent/index.js';
import type { ProgressStream, WebexSender } from '../adapters/webex/sender/index.js';
import { createProgressStream } from '../adapters/webex/sender/index.js';
import type { Clock } from '../clock.js';
import { AgentError, asCodedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TurnInput } from '../machines/conversation.js';
import type { TurnOutcome } from '../machines/types.js';

/** How a turn's texts look; bound to `src/render` by the composition root. */
export interface TurnRendering {
  /** The working message's markdown from the latest agent state. */
  progress(state: TurnState, elapsedMs: number): string;
  /** The answer split into messages, the footer on the last one. */
  answer(text: string, info: { agent?: string; inThread: boolean; omittedChars?: number }): string[];
  /** The agent asked for input: what to show (the question), before any form card. */
  question(state: TurnState): string;
  /** A short, specific message for a failed turn. */
  failure(error: AgentError | undefined, state: TurnState): string;
  /** The agent finished without any text. */
  emptyAnswer(): string;
  /** The question came with files the bot does not read. */
  filesNotRead(): string;
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

export interface TurnHooks {
  /** The working message is up: time from the inbound event, for `first_reply_seconds`. */
  onFirstReply?(seconds: number): void;
  /** The answer is posted, for `answer_seconds`. */
  onAnswered?(seconds: number): void;
  onStreamEnded?(outcome: TurnOutcome['status'] | 'error'): void;
  /** After the answer: e.g. post a feedback card (when a trace id exists) or a form card. */
  afterAnswer?(input: TurnInput, state: TurnState, outcome: TurnOutcome): Promise<void>;
  /** Builds the text sent to the agent (thread context + request); the raw text by default. */
  prompt?(input: TurnInput, signal: AbortSignal): Promise<string>;
}

export interface TurnDeps {
  agent: AgentClient;
  sender: WebexSender;
  clock: Clock;
  log: Logger;
  rendering: TurnRendering;
  cards?: TurnCards;
  updateIntervalMs: number;
  hooks?: TurnHooks;
  /** A card action names only the person: their email (for `metadata.user_email`) is looked up. */
  lookupEmail?(personId: string, signal: AbortSignal): Promise<string | undefined>;
}

/** How long `tasks/cancel` may take when a turn is stopped. */
const AGENT_CANCEL_TIMEOUT_MS = 5_000;

export async function runTurn(input: TurnInput, deps: TurnDeps, signal: AbortSignal): Promise<TurnOutcome> {
  const { agent, sender, clock, rendering, hooks = {} } = deps;
  const log = deps.log.child({
    roomId: input.target.roomId,
    threadKey: input.key,
    activityId: input.message.activityId,
  });
  const { roomId, parentId } = input.target;
  const startedAt = input.message.receivedAt;
  let state = initialTurnState({ contextId: input.contextId, taskId: input.taskId });

  const progress = createProgressStream(sender, {
    roomId,
    parentId,
    intervalMs: deps.updateIntervalMs,
    clock,
    logger: log,
    startedAt,
    keepAliveMs: Math.max(deps.updateIntervalMs, 15_000),
    render: ({ elapsedMs }) => rendering.progress(state, elapsedMs),
  });
  await progress.start();
  hooks.onFirstReply?.((clock.now() - startedAt) / 1000);

  const post = (markdown: string) => sender.post({ roomId, parentId, markdown });
  if (input.message.hasFiles) await post(rendering.filesNotRead());

  try {
    const request = await turnRequest(input, deps, signal);
    const stream = agent.streamTurn(request, { signal });
    for await (const event of stream) {
      state = reduceTurn(state, event);
      progress.update();
    }
  } catch (error) {
    if (signal.aborted) return abandon(state, progress, deps, log);
    const agentError = error instanceof AgentError ? error : undefined;
    if (!agentError) log.error({ err: asCodedError(error) }, 'turn failed');
    else log.warn({ kind: agentError.kind, status: agentError.status, err: agentError }, 'agent turn failed');
    hooks.onStreamEnded?.('error');
    await finishingProgress(progress, log, () => post(rendering.failure(agentError, state)));
    return outcome('failed', state);
  }

  if (state.status === 'failed' || state.status === 'rejected' || state.status === 'canceled') {
    hooks.onStreamEnded?.(state.status === 'canceled' ? 'canceled' : 'failed');
    await finishingProgress(progress, log, () => post(rendering.failure(undefined, state)));
    return outcome(state.status === 'canceled' ? 'canceled' : 'failed', state);
  }

  // Cancelled (or shut down) after the stream ended but before anything was posted: post nothing,
  // so no answer appears next to "Stopped".
  if (signal.aborted) return abandon(state, progress, deps, log);

  const waiting = state.status === 'input-required' || state.status === 'auth-required';
  const result = outcome(waiting ? 'input-required' : 'completed', state);
  const answer = waiting ? undefined : finalText(state);
  const parts = waiting
    ? [rendering.question(state)]
    : answer
      ? rendering.answer(answer.text, {
          agent: answer.agent,
          inThread: parentId !== undefined,
          omittedChars: answer.omittedChars,
        })
      : [rendering.emptyAnswer()];

  await finishingProgress(progress, log, async () => {
    let last: string | undefined;
    for (const part of parts) last = (await post(part)).id;
    result.answerMessageId = last;
    await postCards(input, deps, state, result, waiting, log);
  });
  hooks.onAnswered?.((clock.now() - startedAt) / 1000);
  hooks.onStreamEnded?.(result.status);
  await hooks.afterAnswer?.(input, state, result);
  return result;
}

/**
 * Runs the final posts of a turn, then takes the working message down — also when Webex refused a
 * post (the error still reaches the conversation, which tells the user): a refused answer must not
 * leave "Working on it" showing forever.
 */
async function finishingProgress(progress: ProgressStream, log: Logger, posts: () => Promise<unknown>) {
  try {
    await posts();
  } catch (error) {
    await progress.finish().catch((finishError: unknown) => {
      log.warn({ err: asCodedError(finishError) }, 'working message not removed');
    });
    throw error;
  }
  await progress.finish();
}

/** The form card of a turn waiting for input, or the feedback card of an answer with a trace id. */
async function postCards(
  input: TurnInput,
  deps: TurnDeps,
  state: TurnState,
  result: TurnOutcome,
  waiting: boolean,
  log: Logger,
): Promise<void> {
  const { sender, clock } = deps;
  const { roomId, parentId } = input.target;
  const cards = deps.cards;
  if (waiting && state.form && cards) {
    const cardId = cards.newCardId();
    const card = cards.form({ form: state.form, conversationKey: input.key, cardId });
    const sent = await sender.post({ roomId, parentId, ...card });
    result.pendingForm = {
      cardId,
      cardMessageId: sent.id,
      deadlineAt: clock.now() + cards.formTimeoutMs,
      form: state.form,
    };
  }
  if (!waiting && state.traceId && cards?.feedback) {
    const cardId = cards.newCardId();
    const card = cards.feedback({ traceId: state.traceId, conversationKey: input.key, cardId });
    const sent = await sender.post({ roomId, parentId, ...card }).catch((error: unknown) => {
      log.warn({ err: asCodedError(error) }, 'feedback card not posted');
      return undefined;
    });
    if (sent) result.feedbackCard = { cardId, cardMessageId: sent.id, traceId: state.traceId };
  }
}

/** What goes to the agent: the prompt (with thread context), or a form's answer with its `resume` part. */
async function turnRequest(input: TurnInput, deps: TurnDeps, signal: AbortSignal) {
  let userEmail = input.message.personEmail;
  if (!userEmail && deps.lookupEmail)
    // A failed lookup only costs the metadata, never the user's answer to a form.
    userEmail =
      (await deps.lookupEmail(input.message.personId, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
        deps.log.warn({ err: asCodedError(error) }, 'email of the person not looked up');
        return undefined;
      })) ?? '';
  const base = { contextId: input.contextId, taskId: input.taskId, userEmail };
  if (input.formAnswer && deps.cards) {
    const answer = deps.cards.formAnswer(input.formAnswer.form, input.formAnswer.fields);
    const parts: TurnPart[] = [{ kind: 'data', data: { resume: answer.resume } }];
    return { ...base, text: answer.text, parts };
  }
  const text = deps.hooks?.prompt ? await deps.hooks.prompt(input, signal) : input.message.text;
  return { ...base, text };
}

function outcome(status: TurnOutcome['status'], state: TurnState): TurnOutcome {
  return { status, contextId: state.contextId, taskId: state.taskId, traceId: state.traceId };
}

/** The turn was stopped from outside: cancel the agent's task and take the working message down. */
async function abandon(
  state: TurnState,
  progress: ProgressStream,
  deps: TurnDeps,
  log: Logger,
): Promise<TurnOutcome> {
  deps.hooks?.onStreamEnded?.('canceled');
  if (state.taskId) {
    // A fresh signal: the turn's own is aborted, and the cancel must still reach the agent — but
    // briefly: a stuck agent must not hold shutdown (the idle timeout would be minutes).
    await deps.agent
      .cancel(state.taskId, { signal: AbortSignal.timeout(AGENT_CANCEL_TIMEOUT_MS) })
      .catch((error: unknown) => log.info({ err: error, taskId: state.taskId }, 'agent task cancel refused'));
  }
  await progress.finish().catch((error: unknown) => log.warn({ err: error }, 'working message not removed'));
  return outcome('canceled', state);
}
