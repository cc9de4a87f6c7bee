/**
 * Taking over a running answer that a previous process left in the store (SPEC "Durability and
 * replicas"), as the effects of the conversation's `answering.reattaching` and
 * `answering.reportingInterruption` states:
 *
 *   resumeTurn          first settles what the previous process posted: a message whose intent is
 *                       recorded without an id counts as posted when one of the bot's own echoes
 *                       seen since the intent carries the same text (hash); stale working messages
 *                       (recorded, or recognised among the echoes) are deleted. Then the agent's
 *                       side: the task is read (`tasks/get`); a finished task gives the whole
 *                       answer from its artifacts, a running one is re-attached (`resubscribe`)
 *                       and read once more when it ends. The agent is never asked again.
 *   reportInterruption  the one notice for an answer that could not be recovered.
 *
 * The chart then posts the answer as for a fresh turn; the posting effects skip the parts the
 * previous process posted (`../answering/index.ts`).
 */

import { fromCallback, fromPromise } from 'xstate';
import {
  type AgentClient,
  endsTurn,
  initialTurnState,
  reduceTurn,
  type TurnEvent,
  type TurnState,
} from '../../adapters/agent/index.js';
import type {
  OwnPostEcho,
  OwnPostEchoes,
  PostIntent,
  RunningTurnRecord,
} from '../../adapters/store/ports.js';
import { guardedSender, type WebexSender } from '../../adapters/webex/sender/index.js';
import type { Clock } from '../../clock.js';
import { asCodedError, WebexApiError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ReplyTarget } from '../../machines/types.js';
import { messages } from '../../render/messages.js';
import { cancelAgentTask } from '../cancel-agent-task.js';
import type { CrashHook } from './crash-points.js';
import { hashPost, type TurnJournal } from './journal.js';

/** Echoes read per takeover: a turn posts a handful of messages. */
const MAX_ECHOES = 100;
/** Clocks of two processes (or of Webex and the bot) may differ a little: echoes this much older count too. */
const ECHO_SKEW_MS = 5_000;
export interface ResumeInput {
  key: string;
  target: ReplyTarget;
}

export interface ResumeDeps {
  agent: AgentClient;
  sender: WebexSender;
  /** The conversation's lease, checked before each write (see the answering effects). */
  fence?: ((key: string) => boolean | Promise<boolean>) | undefined;
  journal: TurnJournal;
  echoes: OwnPostEchoes;
  /** `GET /messages/{id}`: the markdown of one of the bot's own messages, undefined when gone. */
  readMessage: (messageId: string, signal: AbortSignal) => Promise<{ markdown?: string } | undefined>;
  /** Recognises a working message's text. */
  isWorkingMessage: (markdown: string) => boolean;
  /** The interruption notice's text. */
  interrupted?: () => string;
  clock: Clock;
  log: Logger;
  /**
   * Who may use the bot, asked again for the person of a taken-over answer (SPEC "Who may use the
   * bot": the check runs on answers taken over from another process too). A refused person's task
   * is cancelled and nothing more of it is read or posted but the one interruption notice.
   */
  personAllowed?:
    | ((person: RunningTurnRecord['person'], target: ReplyTarget, signal: AbortSignal) => Promise<boolean>)
    | undefined;
  /** `handovers_total{outcome}`: resumed, recovered, interrupted. */
  count?: (outcome: 'resumed' | 'recovered' | 'interrupted') => void;
  crash?: CrashHook | undefined;
}

/** Why a taken-over answer cannot be recovered (logged; the person gets the one notice). */
class Lost extends Error {
  constructor(
    message: string,
    /** A task the agent runs that no one will follow: cancelled through the backend. */
    readonly orphanTaskId?: string,
  ) {
    super(message);
  }
}

export function createResumeEffects(deps: ResumeDeps) {
  const { journal, agent, clock, fence } = deps;
  const senderFor = (key: string): WebexSender =>
    fence ? guardedSender(deps.sender, () => fence(key)) : deps.sender;

  /** What the previous process posted: confirmed by its echoes, or not posted; stale working messages go. */
  const reconcile = async (input: ResumeInput, signal: AbortSignal) => {
    const log = deps.log.child({ threadKey: input.key, roomId: input.target.roomId });
    const turn = journal.turn(input.key);
    const takeover = journal.takeover(input.key);
    if (!turn || !takeover) return;
    const echoes = await deps.echoes
      .since(input.key, turn.startedAt - ECHO_SKEW_MS, MAX_ECHOES)
      .catch((error: unknown) => {
        log.warn(
          { err: asCodedError(error) },
          'own post echoes not read; unconfirmed posts count as not made',
        );
        return [] as OwnPostEcho[];
      });
    const known = new Set(knownIds(turn));
    // Only echoes seen before this process took over: later ones are its own posts.
    const candidates = echoes.filter((e) => !known.has(e.messageId) && e.seenAt < takeover.adoptedAt);
    const texts = new Map<string, string | undefined | 'unreadable'>();
    const markdownOf = async (messageId: string) => {
      if (!texts.has(messageId)) {
        const read = await deps.readMessage(messageId, signal).then(
          (message) => message?.markdown,
          (error: unknown) => {
            if (error instanceof WebexApiError && error.status === 404) return undefined;
            log.warn({ err: asCodedError(error), messageId }, 'own message not read');
            return 'unreadable' as const;
          },
        );
        texts.set(messageId, read);
      }
      return texts.get(messageId);
    };
    const used = new Set<string>();
    for (const intent of unconfirmedIntents(turn)) {
      for (const echo of candidates) {
        if (used.has(echo.messageId) || echo.seenAt < intent.post.intentAt - ECHO_SKEW_MS) continue;
        const markdown = await markdownOf(echo.messageId);
        // A message that cannot be read is taken for the post: better a part missing than twice.
        const matches =
          markdown === 'unreadable' || (markdown !== undefined && hashPost(markdown) === intent.post.hash);
        if (!matches) continue;
        used.add(echo.messageId);
        log.info(
          { messageId: echo.messageId, post: intent.label },
          'post of the previous process confirmed by its echo',
        );
        await journal.change(input.key, (t) => intent.confirm(t, echo.messageId));
        break;
      }
    }
    // Working messages the previous process left up: recorded ones, and unrecorded ones among its echoes.
    const stale = [...takeover.staleWorking];
    for (const echo of candidates) {
      if (used.has(echo.messageId)) continue;
      const markdown = await markdownOf(echo.messageId);
      if (typeof markdown === 'string' && markdown !== 'unreadable' && deps.isWorkingMessage(markdown))
        stale.push(echo.messageId);
    }
    const removed: string[] = [];
    for (const messageId of stale) {
      try {
        await senderFor(input.key).delete({ messageId, roomId: input.target.roomId });
        removed.push(messageId);
      } catch (error) {
        if (error instanceof WebexApiError && error.status === 404) removed.push(messageId);
        else log.warn({ err: asCodedError(error), messageId }, 'stale working message not removed');
      }
    }
    if (removed.length > 0) journal.staleWorkingRemoved(input.key, removed);
  };

  /** The agent's side of the turn: a finished task read whole, or a running one re-attached. */
  const recover = async (
    input: ResumeInput,
    signal: AbortSignal,
    progress: (state: TurnState) => void,
    onTask: (taskId: string) => void,
  ): Promise<{ state: TurnState; outcome: 'resumed' | 'recovered' }> => {
    const turn = journal.turn(input.key);
    const taskId = turn?.taskId;
    if (!turn || !taskId) throw new Lost('the agent had not named its task');
    if (!agent.canReattach || !agent.getTask) throw new Lost('the agent cannot re-attach to a task', taskId);
    onTask(taskId);
    const start = initialTurnState({
      taskId,
      ...(turn.contextId ? { contextId: turn.contextId } : {}),
    });
    const read = async () => {
      try {
        return fold(start, await agent.getTask!(taskId, { signal }));
      } catch (error) {
        if (signal.aborted) throw error;
        throw new Lost(`the task could not be read (${asCodedError(error).message})`);
      }
    };
    const first = await read();
    if (endsTurn(first.status)) return { state: withTrace(first, turn), outcome: 'recovered' };
    // Still running: follow it from here; it is read whole again once it ends.
    let state = first;
    progress(state);
    try {
      for await (const event of agent.resubscribe(taskId, { signal })) {
        state = reduceTurn(state, event);
        progress(state);
        if (deps.crash) await deps.crash('mid-stream', { key: input.key });
      }
    } catch (error) {
      if (signal.aborted) throw error;
      deps.log.info({ err: asCodedError(error), taskId }, 're-attached stream ended early; reading the task');
    }
    const last = await read();
    if (!endsTurn(last.status)) throw new Lost('the task is still running but its stream cannot be followed');
    return { state: withTrace(last, { traceId: state.traceId ?? turn.traceId }), outcome: 'resumed' };
  };

  const resumeTurn = fromCallback<{ type: string }, ResumeInput>(({ input, sendBack }) => {
    const log = deps.log.child({ threadKey: input.key, roomId: input.target.roomId });
    const aborter = new AbortController();
    let over = false;
    let taskId: string | undefined;
    const cancelQuietly = (id: string) => void cancelAgentTask(agent, id, log);
    void (async () => {
      try {
        await reconcile(input, aborter.signal);
        const turn = journal.turn(input.key);
        if (
          turn &&
          deps.personAllowed &&
          !(await deps.personAllowed(turn.person, input.target, aborter.signal))
        )
          throw new Lost('the person may no longer use the bot', turn.taskId);
        const { state, outcome } = await recover(
          input,
          aborter.signal,
          (s) => sendBack({ type: 'AGENT.PROGRESS', turn: s }),
          (id) => {
            taskId = id;
          },
        );
        over = true;
        deps.count?.(outcome);
        log.info({ taskId, outcome, status: state.status }, 'running answer taken over');
        sendBack({ type: 'AGENT.DONE', turn: state });
      } catch (error) {
        if (aborter.signal.aborted) return;
        over = true;
        deps.count?.('interrupted');
        log.warn(
          { err: error instanceof Lost ? error.message : asCodedError(error), taskId },
          'running answer could not be recovered; telling the person',
        );
        if (error instanceof Lost && error.orphanTaskId) cancelQuietly(error.orphanTaskId);
        sendBack({ type: 'TURN.LOST' });
      }
    })();
    return () => {
      aborter.abort(new Error('takeover stopped'));
      // Stopped from outside (cancel, reset): the agent's task is cancelled too, unless handed over again.
      if (over || !taskId || journal.isHandedOver(input.key)) return;
      cancelQuietly(taskId);
    };
  });

  /** The one notice for an answer that could not be recovered (its intent recorded like a part's). */
  const reportInterruption = fromPromise<void, ResumeInput>(async ({ input }) => {
    const turn = journal.turn(input.key);
    if (turn?.interrupted?.messageId) return;
    const markdown = deps.interrupted?.() ?? messages.answerInterrupted;
    await journal.change(input.key, (t) => ({
      ...t,
      interrupted: { hash: hashPost(markdown), intentAt: clock.now() },
    }));
    const sent = await senderFor(input.key).post(
      { roomId: input.target.roomId, parentId: input.target.parentId, markdown },
      { priority: 'first-reply' },
    );
    if (deps.crash) await deps.crash('part-posted', { key: input.key });
    await journal.change(input.key, (t) =>
      t.interrupted ? { ...t, interrupted: { ...t.interrupted, messageId: sent.id } } : t,
    );
  });

  return { actors: { resumeTurn, reportInterruption } };
}

function fold(start: TurnState, events: readonly TurnEvent[]): TurnState {
  return events.reduce((state, event) => reduceTurn(state, event), start);
}

function withTrace(state: TurnState, known: { traceId?: string | undefined }): TurnState {
  return state.traceId || !known.traceId ? state : { ...state, traceId: known.traceId };
}

function knownIds(turn: RunningTurnRecord): string[] {
  return [
    ...turn.workingMessageIds,
    ...turn.parts.flatMap((p) => (p.messageId ? [p.messageId] : [])),
    ...[turn.form, turn.feedback, turn.interrupted].flatMap((p) => (p?.messageId ? [p.messageId] : [])),
  ];
}

interface Unconfirmed {
  label: string;
  post: PostIntent;
  confirm: (turn: RunningTurnRecord, messageId: string) => RunningTurnRecord;
}

/** Intents recorded without an id, oldest first. */
function unconfirmedIntents(turn: RunningTurnRecord): Unconfirmed[] {
  const out: Unconfirmed[] = [];
  for (const part of turn.parts) {
    if (part.messageId) continue;
    out.push({
      label: `${part.kind ?? 'answer'} ${part.index}`,
      post: part,
      confirm: (t, messageId) => ({
        ...t,
        parts: t.parts.map((p) => (p.index === part.index && p.kind === part.kind ? { ...p, messageId } : p)),
      }),
    });
  }
  const { form, feedback, interrupted } = turn;
  if (form && !form.messageId)
    out.push({
      label: 'form card',
      post: form,
      confirm: (t, messageId) => (t.form ? { ...t, form: { ...t.form, messageId } } : t),
    });
  if (feedback && !feedback.messageId)
    out.push({
      label: 'feedback card',
      post: feedback,
      confirm: (t, messageId) => (t.feedback ? { ...t, feedback: { ...t.feedback, messageId } } : t),
    });
  if (interrupted && !interrupted.messageId)
    out.push({
      label: 'interruption notice',
      post: interrupted,
      confirm: (t, messageId) => (t.interrupted ? { ...t, interrupted: { ...t.interrupted, messageId } } : t),
    });
  return out.sort((a, b) => a.post.intentAt - b.post.intentAt);
}
