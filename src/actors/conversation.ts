/**
 * The conversation machine with its effects (`createConversationLogic`): the store behind
 * `restoring` and `saving`, the space check behind `authorizing` (form answers only; the intake
 * decided the rest), the steps of `answering` (`./answering.ts`), notices, feedback scores and the
 * agent-task cancel of a closed form.
 */

import { fromCallback, fromPromise } from 'xstate';
import type { AgentClient } from '../adapters/agent/index.js';
import type {
  ConversationRecord,
  ConversationStore,
  OwnPostEchoes,
  PendingMessages,
} from '../adapters/store/ports.js';
import type { SpaceAuthorization } from '../adapters/store/space-authorization.js';
import type { WebexSender } from '../adapters/webex/sender/index.js';
import type { Clock } from '../clock.js';
import { asCodedError } from '../errors.js';
import { createKeyedQueue } from '../keyed-queue.js';
import type { Logger } from '../logger.js';
import { conversationMachine, type ResumeTurnInput, type SpaceCheckInput } from '../machines/conversation.js';
import type { Notice, ReplyTarget } from '../machines/types.js';
import type { BotMetrics } from '../metrics.js';
import {
  createAnsweringEffects,
  type PromptBuilder,
  type RunningTurns,
  type TurnCards,
  type TurnObserver,
  type TurnRendering,
} from './answering/index.js';
import { cancelAgentTask } from './cancel-agent-task.js';
import type { CrashHook } from './handover/crash-points.js';
import { TurnJournal } from './handover/journal.js';
import { conversationLease, type LeaseKeeper } from './handover/leases.js';
import { createResumeEffects, type ResumeDeps } from './handover/resume.js';

export type { RunningTurns } from './answering/index.js';

/** Posts a notice (never throws: a notice that cannot be posted is logged). */
export type Notify = (notice: Notice, target: ReplyTarget) => void;

export interface ConversationEffectsDeps {
  agent: AgentClient;
  sender: WebexSender;
  spaces: SpaceAuthorization;
  conversations: ConversationStore;
  rendering: TurnRendering;
  notify: Notify;
  clock: Clock;
  log: Logger;
  metrics?: BotMetrics | undefined;
  /** `WEBEX_UPDATE_INTERVAL_MS`. */
  updateIntervalMs: number;
  /** The request's text (thread context); the message's own text when unset. */
  prompt?: PromptBuilder | undefined;
  /** `HITL_ANSWERED_BY`. */
  answeredBy?: 'requester' | 'space';
  /** `AGENT_TURN_TIMEOUT_S` in ms. */
  turnTimeoutMs?: number;
  /** `MAX_CONCURRENT_TURNS` and `MAX_TURNS_PER_PERSON`. */
  turnLimits?: { total: number; perPerson: number };
  /** How much history a conversation keeps for memoryless agents (`WEBEX_THREAD_CONTEXT_*`). */
  historyLimits?: { maxMessages: number; maxChars: number };
  /** Form and feedback cards; without them the bot posts no cards. */
  cards?: TurnCards | undefined;
  /** A person's email from their id (a card action carries only the id). */
  lookupEmail?: ((personId: string, signal?: AbortSignal) => Promise<string | undefined>) | undefined;
  /** Scores a feedback click (Langfuse); never throws. */
  scoreFeedback?:
    | ((input: {
        traceId: string;
        personId: string;
        email?: string;
        positive: boolean;
        /** The room clicked in (CAIPE ≥0.6 reads it as the feedback's channel). */
        roomId?: string;
      }) => Promise<void>)
    | undefined;
  /**
   * Keep each running turn in the conversation's record (a durable store), so the next process
   * can take it over; off with the memory store.
   */
  keepRunningTurns?: boolean;
  /** Test-only crash points (`./handover/crash-points.ts`). */
  crash?: CrashHook | undefined;
  /** The bot's own post echoes (the takeover confirms posts by them). */
  echoes?: OwnPostEchoes | undefined;
  /** Messages claimed and not yet started: settled when started or turned away. */
  pending?: PendingMessages | undefined;
  /** `GET /messages/{id}` of one of the bot's own messages (the takeover reads its echoes). */
  readMessage?:
    | ((messageId: string, signal: AbortSignal) => Promise<{ markdown?: string } | undefined>)
    | undefined;
  /**
   * Conversation leases (replicas): a conversation holds its lease while it lives, and each of its
   * writes (Webex posts, store records, notices) goes out only while the lease is still this
   * process's. Without them every write goes out (one process).
   */
  leases?: LeaseKeeper | undefined;
  /** The person check, asked again for an answer taken over from another process. */
  personAllowed?: ResumeDeps['personAllowed'];
}

export function createConversationLogic(deps: ConversationEffectsDeps) {
  const { log, sender, clock, metrics, leases } = deps;
  /** The fence: true while this process owns the conversation (always, without leases). */
  const fence = leases
    ? (key: string): boolean | Promise<boolean> => leases.confirm(conversationLease(key))
    : undefined;
  /** Runs `write` once the fence allows it: at once while the lease is clearly held. */
  const fenced = (key: string, write: () => void) => {
    const allowed = fence ? fence(key) : true;
    if (allowed === true) return write();
    void Promise.resolve(allowed).then((ok) => {
      if (ok) write();
      else log.info({ threadKey: key }, 'write dropped: the conversation is owned by another process now');
    });
  };
  /** Conversations holding their lease here, told when another process takes it. */
  const leaseHolders = new Map<string, () => void>();
  /** A conversation's store writes stay in order: a `reset` must not be undone by a late save. */
  const perConversation = createKeyedQueue();
  const settle = (activityIds: readonly string[]) => {
    if (!deps.pending || activityIds.length === 0) return;
    deps.pending.settle(activityIds).catch((error: unknown) => {
      metrics?.storeErrors.inc({ store: 'pending' });
      log.warn({ err: asCodedError(error) }, 'pending messages not settled');
    });
  };
  const journal = deps.keepRunningTurns
    ? new TurnJournal({
        store: deps.conversations,
        queue: perConversation,
        clock,
        log,
        onStoreError: () => metrics?.storeErrors.inc({ store: 'conversations' }),
        onTurnRecorded: (activityId) => settle([activityId]),
        fence,
      })
    : undefined;
  const resume =
    journal && deps.echoes && deps.readMessage
      ? createResumeEffects({
          agent: deps.agent,
          sender,
          fence,
          journal,
          personAllowed: deps.personAllowed,
          echoes: deps.echoes,
          readMessage: deps.readMessage,
          isWorkingMessage: (markdown) => deps.rendering.isWorkingMessage?.(markdown) ?? false,
          ...(deps.rendering.interrupted ? { interrupted: deps.rendering.interrupted } : {}),
          clock,
          log,
          count: (outcome) => metrics?.handovers.inc({ outcome }),
          crash: deps.crash,
        }).actors
      : {
          // Without a journal no turn is recorded, so none is restored: a record another version
          // left is told, once, that its answer is lost.
          resumeTurn: fromCallback<{ type: string }, ResumeTurnInput>(({ sendBack }) => {
            sendBack({ type: 'TURN.LOST' });
          }),
          reportInterruption: fromPromise(async ({ input }: { input: ResumeTurnInput }) => {
            deps.notify({ kind: 'answerInterrupted' }, input.target);
          }),
        };
  const answering = createAnsweringEffects({
    agent: deps.agent,
    sender,
    fence,
    clock,
    log,
    rendering: deps.rendering,
    cards: deps.cards,
    updateIntervalMs: deps.updateIntervalMs,
    prompt: deps.prompt,
    lookupEmail: deps.lookupEmail,
    observer: metricsObserver(metrics),
    limits: deps.turnLimits,
    journal,
    crash: deps.crash,
    historyLimits: deps.historyLimits,
  });

  /** `reset`: the record goes (or keeps only its generation, so the agent's next context is new). */
  const forget = (key: string, roomId: string, generation: number) => {
    perConversation
      .run(key, () =>
        generation > 0
          ? deps.conversations.put({ key, roomId, generation, updatedAt: clock.now() })
          : deps.conversations.delete(key),
      )
      .catch((error: unknown) => {
        metrics?.storeErrors.inc({ store: 'conversations' });
        log.warn({ err: error, threadKey: key }, 'conversation not forgotten');
      });
  };

  /** While the conversation lives it keeps its lease; another process taking it stops it here. */
  const holdLease = fromCallback<{ type: string }, { key: string }>(({ input, sendBack }) => {
    if (!leases) return () => {};
    const lease = conversationLease(input.key);
    let stopped = false;
    let pinned = false;
    const lost = () => {
      journal?.leaseLost(input.key);
      sendBack({ type: 'LEASE.LOST' });
    };
    void leases.hold(lease).then((held) => {
      if (stopped) {
        if (held) leases.unpin(lease);
        return;
      }
      if (!held) {
        log.info({ threadKey: input.key }, 'conversation owned by another process; left to it');
        return lost();
      }
      pinned = true;
      leaseHolders.set(lease, lost);
    });
    return () => {
      stopped = true;
      if (leaseHolders.get(lease) === lost) leaseHolders.delete(lease);
      if (!pinned) return;
      // Kept until the conversation's last writes are out: its working message's removal, the
      // turn's last record (a handover), a cancel. They check the lease as they go.
      void Promise.allSettled([answering.cleanedUp(input.key), journal?.flushed()]).then(() =>
        leases.unpin(lease),
      );
    };
  });

  const logic = conversationMachine.provide({
    actors: {
      loadConversation: fromPromise(async ({ input }: { input: { key: string } }) =>
        deps.conversations.get(input.key),
      ),
      checkSpace: fromPromise(async ({ input }: { input: SpaceCheckInput }) => {
        const decision = await deps.spaces.check(input.roomId, input.roomType);
        return { allowed: decision.allowed };
      }),
      ...answering.actors,
      ...resume,
      holdLease,
      saveConversation: fromPromise(async ({ input }: { input: ConversationRecord }) => {
        if (fence && !(await fence(input.key))) return;
        journal?.saving(input.key);
        await perConversation
          .run(input.key, () => deps.conversations.put({ ...input, updatedAt: clock.now() }))
          .catch((error: unknown) => {
            metrics?.storeErrors.inc({ store: 'conversations' });
            log.warn({ err: error, threadKey: input.key }, 'conversation not saved');
          });
        if (deps.crash && input.pendingForm) await deps.crash('form-waiting', { key: input.key });
      }),
    },
    actions: {
      notify: ({ context }, { notice, target }) => {
        // A form's deadline passed: the notice is about to go out (a synchronous point: actions are).
        if (deps.crash && notice.kind === 'formExpired') void deps.crash('form-deadline', {});
        fenced(context.key, () => deps.notify(notice, target));
      },
      countRefusal: (_, { reason }) => metrics?.refused.inc({ reason }),
      handOverTurn: (_, { key }) => {
        journal?.handOver(key);
        metrics?.handovers.inc({ outcome: 'handed-over' });
        log.info({ threadKey: key, taskId: journal?.turn(key)?.taskId }, 'running answer handed over');
      },
      adoptTurn: (_, { key, record }) => {
        journal?.adopt(key, record);
        log.info({ threadKey: key, taskId: record.runningTurn?.taskId }, 'taking over a running answer');
      },
      settleMessages: (_, { activityIds }) => settle(activityIds),
      handOverRefused: (_, { key }) => {
        metrics?.handovers.inc({ outcome: 'cancelled' });
        log.info({ threadKey: key }, 'running answer cannot be handed over; cancelling it');
      },
      cancelAgentTask: (_, { taskId }) => void cancelAgentTask(deps.agent, taskId, log),
      recordFeedback: (_, { action, card, target }) => {
        const positive = action.value === 'positive';
        void (async () => {
          const email = await deps.lookupEmail?.(action.submission.personId).catch(() => undefined);
          await deps.scoreFeedback?.({
            traceId: card.traceId,
            personId: action.submission.personId,
            ...(email ? { email } : {}),
            positive,
            roomId: target.roomId,
          });
        })();
        // Thanked at once and whatever Langfuse says: the click was received.
        deps.notify({ kind: 'feedbackThanks', positive }, target);
      },
      turnAway: (_, { messageId }) => {
        log.info({ messageId }, 'conversation queue full: message not queued (the thread was told)');
      },
      forgetConversation: (_, { key, roomId, generation }) => {
        fenced(key, () => forget(key, roomId, generation));
      },
    },
    guards: {
      answersRestrictedToRequester: () => (deps.answeredBy ?? 'requester') === 'requester',
      // Only a turn whose task the agent named, recorded in the store, on a backend that lets
      // another process re-attach to it (A2A), can be left running.
      mayHandOver: ({ context }) =>
        deps.agent.canReattach === true && journal?.turn(context.key)?.taskId !== undefined,
    },
    delays: {
      ...(deps.turnTimeoutMs !== undefined ? { turnDeadline: deps.turnTimeoutMs } : {}),
      // The deadline is stored; the timer is derived from it, so a restored form expires on time.
      formDeadline: ({ context }) => Math.max(0, (context.pendingForm?.deadlineAt ?? 0) - clock.now()),
    },
  });

  const turns: RunningTurns = answering.turns;
  /** The lease keeper's `onLost`: the conversation that held the lease stops without a word. */
  const leaseLost = (lease: string) => leaseHolders.get(lease)?.();
  return { logic, turns, journal, leaseLost };
}

function metricsObserver(metrics: BotMetrics | undefined): TurnObserver | undefined {
  if (!metrics) return undefined;
  return {
    firstReply: (seconds) => metrics.firstReplySeconds.observe(seconds),
    answered: (seconds) => metrics.answerSeconds.observe(seconds),
    streamEnded: (outcome) => metrics.agentStreams.inc({ outcome }),
    started: () => metrics.conversationsActive.inc(),
    ended: () => metrics.conversationsActive.dec(),
  };
}
