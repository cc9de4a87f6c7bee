/**
 * The bot's actor system, assembled from its parts: the pure machines get their effects here
 * (space checks, the store, the turn runner, notices through the sender). `main.ts`, the demo and
 * the integration tests all build the bot through `createBot`, so what they run is the same.
 */
import { type Actor, createActor, fromPromise, type InspectionEvent } from 'xstate';
import { runTurn, type TurnCards, type TurnHooks, type TurnRendering } from './actors/turn.js';
import type { AgentClient } from './adapters/agent/index.js';
import type {
  ConversationRecord,
  ConversationStore,
  EventClaims,
  ListenMode,
} from './adapters/store/ports.js';
import type { SpaceAuthorization } from './adapters/store/spaceAuthorization.js';
import type { InboundEvent } from './adapters/webex/inboundEvent.js';
import { stripBotMention } from './adapters/webex/normalize.js';
import type { WebexSender } from './adapters/webex/sender/index.js';
import type { Clock } from './clock.js';
import { asCodedError } from './errors.js';
import { createKeyedQueue } from './keyedQueue.js';
import type { Logger } from './logger.js';
import { botMachine } from './machines/bot.js';
import { conversationMachine, type SpaceCheckInput, type TurnInput } from './machines/conversation.js';
import { replyTargetOf } from './machines/conversationKey.js';
import { roomMachine } from './machines/room.js';
import type { CardAction, Notice, ReplyTarget, RoomType } from './machines/types.js';
import type { BotMetrics } from './metrics.js';

export interface BotIdentity {
  /** Hydra PEOPLE id of the bot. */
  personId: string;
  displayName: string;
}

export interface BotSettings {
  listenMode: ListenMode;
  updateIntervalMs: number;
  maxQueuedPerConversation: number;
  dedupeTtlMs: number;
}

export interface BotDeps {
  identity: BotIdentity;
  settings: BotSettings;
  agent: AgentClient;
  sender: WebexSender;
  spaces: SpaceAuthorization;
  conversations: ConversationStore;
  claims: EventClaims;
  rendering: TurnRendering;
  /** Text of every notice (help, busy, cancelled…). */
  noticeText: (notice: Notice) => string;
  clock: Clock;
  log: Logger;
  metrics?: BotMetrics;
  /** Extensions: thread context. */
  turnHooks?: TurnHooks;
  /** Form and feedback cards; without them the bot posts no cards. */
  cards?: TurnCards;
  /** Reads the bot's `_caipe` data from a card submission; undefined when it is not one of ours. */
  parseCard?: (inputs: Record<string, unknown>) => Omit<CardAction, 'submission'> | undefined;
  /** A person's email from their id (a card action carries only the id). */
  lookupEmail?: (personId: string, signal?: AbortSignal) => Promise<string | undefined>;
  /** Scores a feedback click (Langfuse); never throws. */
  scoreFeedback?: (input: {
    traceId: string;
    personId: string;
    email?: string;
    positive: boolean;
  }) => Promise<void>;
  /** Posts the authorize card or the operator instructions; defaults to the `authorize` notice. */
  replyAuthorize?: (target: ReplyTarget, roomType: RoomType) => Promise<void>;
  inspect?: (event: InspectionEvent) => void;
}

export interface Bot {
  actor: Actor<typeof botMachine>;
  /** Hands one normalised Webex event to the actor system. Never throws. */
  handleInbound(event: InboundEvent): Promise<void>;
  /** Stops taking new conversations (shutdown). */
  drain(): void;
  /** Answers running, for the shutdown grace period. */
  busyConversations(): number;
  /** Cancels every running answer (telling each user why) and resolves once they have cleaned up. */
  cancelAll(): Promise<void>;
  /** Resolves when no answer is running (including answers that start while waiting). */
  settled(): Promise<void>;
  stop(): void;
}

export function createBot(deps: BotDeps): Bot {
  const { log, sender, clock, metrics } = deps;
  const perConversation = createKeyedQueue();
  /** Turns in progress, including cancelled ones still removing their working message. */
  const running = new Set<Promise<unknown>>();

  // A notice is the bot's first (and only) reply to what the person just did: it goes out at the
  // same priority as a working message, ahead of answers and progress edits of other rooms.
  const post = (target: ReplyTarget, markdown: string) =>
    sender
      .post({ roomId: target.roomId, parentId: target.parentId, markdown }, { priority: 'first-reply' })
      .catch((error: unknown) => {
        log.warn({ err: asCodedError(error), roomId: target.roomId }, 'could not post a notice');
      });
  const notify = (notice: Notice, target: ReplyTarget) => void post(target, deps.noticeText(notice));

  const conversation = conversationMachine.provide({
    actors: {
      loadConversation: fromPromise(async ({ input }: { input: { key: string } }) =>
        deps.conversations.get(input.key),
      ),
      checkSpace: fromPromise(async ({ input }: { input: SpaceCheckInput }) => {
        const decision = await deps.spaces.check(input.roomId, input.roomType);
        return { allowed: decision.allowed };
      }),
      runTurn: fromPromise(async ({ input, signal }: { input: TurnInput; signal: AbortSignal }) => {
        metrics?.conversationsActive.inc();
        const turn = runTurn(
          input,
          {
            agent: deps.agent,
            sender,
            clock,
            log,
            rendering: deps.rendering,
            ...(deps.cards ? { cards: deps.cards } : {}),
            ...(deps.lookupEmail ? { lookupEmail: deps.lookupEmail } : {}),
            updateIntervalMs: deps.settings.updateIntervalMs,
            hooks: withMetrics(deps.turnHooks, metrics),
          },
          signal,
        );
        running.add(turn);
        try {
          return await turn;
        } finally {
          running.delete(turn);
          metrics?.conversationsActive.dec();
        }
      }),
      saveConversation: fromPromise(async ({ input }: { input: ConversationRecord }) => {
        // Writes of one conversation stay in order: a `reset` (delete) must not be undone by a save
        // that was still in flight.
        await perConversation
          .run(input.key, () => deps.conversations.put({ ...input, updatedAt: clock.now() }))
          .catch((error: unknown) => {
            metrics?.storeErrors.inc({ store: 'conversations' });
            log.warn({ err: error, threadKey: input.key }, 'conversation not saved');
          });
      }),
    },
    actions: {
      notify: (_, { notice, target }) => notify(notice, target),
      cancelAgentTask: (_, { taskId }) => {
        deps.agent.cancel(taskId).catch((error: unknown) => {
          log.info({ err: asCodedError(error), taskId }, 'agent task cancel refused');
        });
      },
      recordFeedback: (_, { action, card, target }) => {
        const positive = action.value === 'positive';
        void (async () => {
          const email = await deps.lookupEmail?.(action.submission.personId).catch(() => undefined);
          await deps.scoreFeedback?.({
            traceId: card.traceId,
            personId: action.submission.personId,
            ...(email ? { email } : {}),
            positive,
          });
        })();
        // Thanked at once and whatever Langfuse says: the click was received.
        notify({ kind: 'feedbackThanks', positive }, target);
      },
      turnAway: (_, { messageId }) => {
        log.info({ messageId }, 'conversation queue full: message not queued (the thread was told)');
      },
      forgetConversation: (_, { key }) => {
        perConversation
          .run(key, () => deps.conversations.delete(key))
          .catch((error: unknown) => {
            metrics?.storeErrors.inc({ store: 'conversations' });
            log.warn({ err: error, threadKey: key }, 'conversation not forgotten');
          });
      },
    },
    delays: {
      // The deadline is stored; the timer is derived from it, so a restored form expires on time.
      formDeadline: ({ context }) => Math.max(0, (context.pendingForm?.deadlineAt ?? 0) - clock.now()),
    },
  });

  const room = roomMachine.provide({
    actors: { conversation },
    actions: {
      notify: (_, { notice, target }) => notify(notice, target),
      replyAuthorize: (_, { target, roomType }) => {
        // No cache invalidation here: anyone may send `authorize`; the reply reads the store itself.
        if (!deps.replyAuthorize) return notify({ kind: 'authorize' }, target);
        deps.replyAuthorize(target, roomType).catch((error: unknown) => {
          log.warn(
            { err: asCodedError(error), roomId: target.roomId },
            'could not answer the authorize command',
          );
        });
      },
      greet: (_, { roomId, roomType }) => void greet(roomId, roomType),
      reportConversationFailure: (_, { key, error }) => {
        log.error({ err: asCodedError(error), threadKey: key }, 'conversation failed; it was stopped');
      },
    },
  });

  const greet = async (roomId: string, roomType: RoomType) => {
    const decision = await deps.spaces.check(roomId, roomType);
    await post({ roomId }, deps.noticeText({ kind: 'hello', authorized: decision.allowed }));
  };

  const machine = botMachine.provide({
    actors: { room },
    actions: {
      refuseDuringShutdown: (_, { event }) => {
        log.info({ type: event.type }, 'shutting down: event not taken');
        // The person would otherwise wait for an answer that never comes: ask them to resend.
        if (event.type === 'MESSAGE') notify({ kind: 'shuttingDown' }, replyTargetOf(event.message));
      },
      reportRoomFailure: (_, { roomId, error }) => {
        log.error({ err: asCodedError(error), roomId }, 'room supervisor failed; it was stopped');
      },
    },
  });

  const actor = createActor(machine, {
    systemId: 'bot',
    input: { maxQueuedPerConversation: deps.settings.maxQueuedPerConversation },
    clock,
    inspect: deps.inspect,
  });
  // An error nobody handled must not take the process down with it (XState rethrows otherwise).
  actor.subscribe({ error: (error) => log.fatal({ err: asCodedError(error) }, 'bot actor failed') });
  actor.start();

  const isMentioned = (mentionedPeople: readonly string[]) =>
    mentionedPeople.includes(deps.identity.personId) || mentionedPeople.includes('all');

  /**
   * Whether a group message is for the bot, and whether its space may use the agent. A mention is
   * always for the bot (an unauthorized space then gets its notice); without one, only in an
   * authorized space whose listen mode (its registry entry, else WEBEX_LISTEN_MODE) is `message` or
   * `all` — an unauthorized space stays silent.
   */
  async function groupOutcome(event: { roomId: string; mentionedPeople: readonly string[] }) {
    const decision = await deps.spaces.check(event.roomId, 'group');
    if (isMentioned(event.mentionedPeople)) return decision.allowed ? 'handled' : 'unauthorized';
    const mode = decision.listenMode ?? deps.settings.listenMode;
    return decision.allowed && mode !== 'mention' ? 'handled' : 'ignored';
  }

  /**
   * Events of one room reach the bot in order; checks before dispatch (the claim, a space lookup)
   * are asynchronous, so they are chained per room to keep that order ("do X" then "cancel").
   */
  const perRoom = createKeyedQueue();

  function handleInbound(event: InboundEvent): Promise<void> {
    return perRoom.run(event.roomId, () => dispatch(event));
  }

  /** Once per activity, also across replicas; a store that cannot say is not a reason to go mute. */
  async function firstTime(activityId: string): Promise<boolean> {
    try {
      return await deps.claims.claim(activityId, deps.settings.dedupeTtlMs);
    } catch (error) {
      metrics?.storeErrors.inc({ store: 'claims' });
      log.warn(
        { err: asCodedError(error), activityId },
        'event claim failed; handling it (the socket dedupes too)',
      );
      return true;
    }
  }

  async function dispatch(event: InboundEvent): Promise<void> {
    try {
      if (!(await firstTime(event.activityId))) {
        metrics?.events.inc({ kind: event.kind, outcome: 'duplicate' });
        return;
      }
      switch (event.kind) {
        case 'botAdded':
          actor.send({ type: 'BOT_ADDED', roomId: event.roomId, roomType: event.roomType });
          break;
        case 'cardAction': {
          const submission = {
            activityId: event.activityId,
            roomId: event.roomId,
            roomType: event.roomType,
            cardMessageId: event.messageId,
            personId: event.person.id,
            inputs: event.inputs,
            receivedAt: event.receivedAt,
          };
          const parsed = deps.parseCard?.(event.inputs);
          actor.send({ type: 'CARD', submission, ...(parsed ? { action: { ...parsed, submission } } : {}) });
          break;
        }
        case 'message': {
          const group = event.roomType === 'group';
          const outcome = group ? await groupOutcome(event) : 'handled';
          metrics?.events.inc({ kind: 'message', outcome });
          if (outcome === 'ignored') return;
          const text = group
            ? stripBotMention(event.text, event.html, deps.identity.displayName, deps.identity.personId)
            : event.text.trim();
          actor.send({
            type: 'MESSAGE',
            message: {
              activityId: event.activityId,
              roomId: event.roomId,
              roomType: event.roomType,
              messageId: event.messageId,
              ...(event.parentId ? { parentId: event.parentId } : {}),
              personId: event.person.id,
              personEmail: event.person.email,
              text,
              hasFiles: event.files,
              receivedAt: event.receivedAt,
            },
          });
          return;
        }
      }
      metrics?.events.inc({ kind: event.kind, outcome: 'handled' });
    } catch (error) {
      log.error({ err: asCodedError(error), activityId: event.activityId }, 'inbound event not handled');
    }
  }

  async function settled(): Promise<void> {
    while (running.size > 0) await Promise.allSettled([...running]);
  }

  return {
    actor,
    handleInbound,
    drain: () => actor.send({ type: 'SHUTDOWN' }),
    busyConversations: () => running.size,
    cancelAll: async () => {
      actor.send({ type: 'CANCEL_ALL' });
      await settled();
    },
    settled,
    stop: () => actor.stop(),
  };
}

function withMetrics(hooks: TurnHooks | undefined, metrics: BotMetrics | undefined): TurnHooks {
  if (!metrics) return hooks ?? {};
  return {
    ...hooks,
    onFirstReply: (s) => {
      metrics.firstReplySeconds.observe(s);
      hooks?.onFirstReply?.(s);
    },
    onAnswered: (s) => {
      metrics.answerSeconds.observe(s);
      hooks?.onAnswered?.(s);
    },
    onStreamEnded: (outcome) => {
      metrics.agentStreams.inc({ outcome });
      hooks?.onStreamEnded?.(outcome);
    },
  };
}
