/**
 * The intake's decision about one normalised Webex event: is it the first time anyone handles it
 * (the store claim, across restarts and replicas), is it for the bot (mention, listen mode, space
 * authorization), and what does the bot machine get (mention removed, card data read).
 *
 * It runs inside the intake's per-room order, so the answer for a room's events comes in the
 * order they arrived ("do X" before "cancel").
 *
 * Nothing goes on for an activity this process has not claimed: while claims fail (a store
 * outage), activities wait in the claim queue (`claim-queue.ts`), in order, bounded, and those that
 * outlive the dedupe window are dropped. With `later`, a waiting activity does not hold up the
 * intake's room queue: the admission keeps the order itself and hands the decision to `later`.
 */
import type { EventClaims, ListenMode, PendingMessages } from '../../adapters/store/ports.js';
import type { SpaceAuthorization, SpaceDecision } from '../../adapters/store/space-authorization.js';
import { stripBotMention } from '../../adapters/webex/normalize.js';
import type { PersonPolicy } from '../../adapters/webex/person-policy.js';
import { type Clock, systemClock } from '../../clock.js';
import { asCodedError } from '../../errors.js';
import { type BotFacts, botDisplayName } from '../../facts.js';
import type { Logger } from '../../logger.js';
import type { BotEvent } from '../../machines/bot.js';
import { parseCommand } from '../../machines/commands.js';
import { conversationKeyOf, replyTargetOf, targetOfKey } from '../../machines/conversation-key.js';
import type { InboundEvent, InboundMessageEvent } from '../../machines/inbound-event.js';
import type { CardAction, CardSubmission, Notice, ReplyTarget } from '../../machines/types.js';
import type { BotMetrics } from '../../metrics.js';
import type { CrashHook } from '../handover/crash-points.js';
import { conversationLease } from '../handover/leases.js';
import { type ClaimRetry, createClaimQueue } from './claim-queue.js';
import { createLeaseGate, type GateLeases } from './lease-gate.js';

export interface AdmissionDeps {
  claims: EventClaims;
  /** `WEBEX_DEDUPE_TTL_S` in ms: how long a claim holds. */
  dedupeTtlMs: number;
  spaces: SpaceAuthorization;
  facts: BotFacts;
  /** `WEBEX_LISTEN_MODE`; a space's registry entry may override it. */
  listenMode: ListenMode;
  /** Reads the bot's `_caipe` data from a card submission; undefined when it is not one of ours. */
  parseCard: (inputs: Record<string, unknown>) => Omit<CardAction, 'submission'> | undefined;
  /**
   * Who may use the bot (SPEC "Who may use the bot"): every person is checked before anything of
   * theirs goes on; without a policy everyone may.
   */
  people?: PersonPolicy | undefined;
  /** Posts a notice (a refused person's, at most once a day). */
  notify: (notice: Notice, target: ReplyTarget) => void;
  log: Logger;
  metrics?: BotMetrics | undefined;
  /**
   * Messages claimed and owed an answer (a durable store): a question is recorded with its claim,
   * so a process that dies before starting its answer leaves it for the next one to account for.
   */
  pending?: PendingMessages | undefined;
  /** Test-only crash points (`../handover/crash-points.ts`). */
  crash?: CrashHook | undefined;
  /** Times the wait of activities whose claim failed (retry backoff, dedupe window). */
  clock?: Clock | undefined;
  /** Most activities waiting for their claim at once (1,000 by default). */
  maxWaitingClaims?: number | undefined;
  /** Backoff between claim attempts while the store fails. */
  claimRetry?: Partial<ClaimRetry> | undefined;
  /**
   * Conversation leases (replicas): an event of a conversation another process owns waits, unclaimed,
   * until the lease is free (`lease-gate.ts`); the lease stays pinned while the event is decided.
   */
  leases?: (GateLeases & { unpin(key: string, options?: { later?: boolean }): void }) | undefined;
}

export interface AdmitOptions {
  /**
   * Takes the decision on an event whose claim had to wait (the store failed, or others wait):
   * `admit` then resolves undefined at once, so the caller's room queue moves on, and the decision
   * comes here later, in the room's order. Without it, `admit` resolves once the event is decided.
   */
  later?: ((event: BotEvent) => void) | undefined;
  /** Aborted when the caller takes no more events (stopping): waiting events are left unclaimed. */
  signal?: AbortSignal | undefined;
}

/** Decides one event; undefined when the bot does nothing with it (or not yet, see `later`). Never throws. */
export type Admission = (event: InboundEvent, options?: AdmitOptions) => Promise<BotEvent | undefined>;

type GroupOutcome = 'handled' | 'unauthorized' | 'unavailable' | 'ignored';

export function createAdmission(deps: AdmissionDeps): Admission {
  const { log, metrics } = deps;

  /** Once per activity, also across replicas and restarts; nothing unclaimed goes on. */
  const claims = createClaimQueue({
    claims: deps.claims,
    ttlMs: deps.dedupeTtlMs,
    clock: deps.clock ?? systemClock,
    log,
    maxWaiting: deps.maxWaitingClaims,
    retry: deps.claimRetry,
    onStoreError: () => metrics?.storeErrors.inc({ store: 'claims' }),
    onUnclaimed: (ticket, why) => {
      if (why !== 'left') metrics?.events.inc({ kind: ticket.kind, outcome: 'unclaimed' });
    },
    onWaiting: (count) => metrics?.claimsWaiting.set(count),
  });

  const gate = deps.leases
    ? createLeaseGate({
        leases: deps.leases,
        clock: deps.clock ?? systemClock,
        log,
        maxWaitMs: deps.dedupeTtlMs,
      })
    : undefined;

  /** The lease an event needs: its conversation's (a message's thread, or the card's conversation). */
  const leaseOf = (event: InboundEvent): string | undefined => {
    if (!gate) return undefined;
    if (event.kind === 'message')
      return conversationLease(
        conversationKeyOf({
          roomId: event.roomId,
          roomType: event.roomType,
          messageId: event.messageId,
          ...(event.parentId ? { parentId: event.parentId } : {}),
        }),
      );
    if (event.kind === 'cardAction') {
      const key = deps.parseCard(event.inputs)?.key;
      // A card of another room is refused without touching that conversation.
      return key && targetOfKey(key)?.roomId === event.roomId ? conversationLease(key) : undefined;
    }
    return undefined;
  };

  const isMentioned = (mentionedPeople: readonly string[]) => {
    const personId = deps.facts.getSnapshot().context.identity?.personId;
    return (personId !== undefined && mentionedPeople.includes(personId)) || mentionedPeople.includes('all');
  };

  /**
   * Whether a group message is for the bot, and whether its space may use the agent. A mention is
   * always for the bot (an unauthorized space then gets its notice); without one, only in an
   * authorized space whose listen mode (its registry entry, else WEBEX_LISTEN_MODE) is `message` or
   * `all` — an unauthorized space stays silent.
   */
  async function groupOutcome(event: InboundMessageEvent): Promise<[GroupOutcome, SpaceDecision]> {
    const decision = await deps.spaces.check(event.roomId, 'group');
    if (isMentioned(event.mentionedPeople)) {
      if (decision.allowed) return ['handled', decision];
      return [decision.refusal === 'store-unavailable' ? 'unavailable' : 'unauthorized', decision];
    }
    const mode = decision.listenMode ?? deps.listenMode;
    return [decision.allowed && mode !== 'mention' ? 'handled' : 'ignored', decision];
  }

  /**
   * The person check; a refused person is counted, told at most once a day, and nothing of theirs
   * goes on. A policy that fails is a refusal (fail closed).
   */
  async function personAllowed(event: InboundEvent, target: ReplyTarget): Promise<boolean> {
    if (!deps.people) return true;
    const decision = await deps.people.check({
      personId: event.person.id,
      ...(event.person.orgId ? { orgId: event.person.orgId } : {}),
      ...(event.person.email ? { email: event.person.email } : {}),
    });
    if (decision.allowed) return true;
    const reason = decision.reason ?? 'person-unverified';
    metrics?.refused.inc({ reason });
    log.info({ activityId: event.activityId, roomId: event.roomId, reason }, 'person refused');
    if (decision.notify) deps.notify({ kind: 'personRefused', reason }, target);
    return false;
  }

  function messageEvent(
    event: InboundMessageEvent,
    spaceAllowed: boolean,
    spaceUnavailable: boolean,
    agentId?: string,
  ): BotEvent {
    const text = textOf(event);
    return {
      type: 'MESSAGE',
      message: {
        activityId: event.activityId,
        roomId: event.roomId,
        roomType: event.roomType,
        messageId: event.messageId,
        ...(event.parentId ? { parentId: event.parentId } : {}),
        personId: event.person.id,
        personEmail: event.person.email,
        ...(event.person.displayName ? { personName: event.person.displayName } : {}),
        text,
        hasFiles: event.files,
        receivedAt: event.receivedAt,
        spaceAllowed,
        ...(spaceUnavailable ? { spaceUnavailable } : {}),
        ...(agentId ? { agentId } : {}),
      },
    };
  }

  /** The text the conversation would get: mention removed in a group. */
  function textOf(event: InboundMessageEvent): string {
    const identity = deps.facts.getSnapshot().context.identity;
    return event.roomType === 'group'
      ? stripBotMention(event.text, event.html, botDisplayName(deps.facts), identity?.personId)
      : event.text.trim();
  }

  /** A question for the agent (not a command, not empty), addressed to the bot. */
  function isQuestion(event: InboundEvent): event is InboundMessageEvent {
    if (event.kind !== 'message') return false;
    if (event.roomType === 'group' && !isMentioned(event.mentionedPeople)) return false;
    const text = textOf(event);
    return text !== '' && parseCommand(text) === undefined;
  }

  async function owe(event: InboundMessageEvent): Promise<void> {
    if (!deps.pending) return;
    const key = conversationKeyOf({
      roomId: event.roomId,
      roomType: event.roomType,
      messageId: event.messageId,
      ...(event.parentId ? { parentId: event.parentId } : {}),
    });
    await deps.pending
      .add(
        { activityId: event.activityId, key, personId: event.person.id, at: event.receivedAt },
        deps.dedupeTtlMs,
      )
      .catch((error: unknown) => {
        metrics?.storeErrors.inc({ store: 'pending' });
        log.warn(
          { err: asCodedError(error), activityId: event.activityId },
          'claimed message not recorded as owed',
        );
      });
  }

  function settle(event: InboundEvent): void {
    deps.pending?.settle([event.activityId]).catch((error: unknown) => {
      metrics?.storeErrors.inc({ store: 'pending' });
      log.warn({ err: asCodedError(error), activityId: event.activityId }, 'pending message not settled');
    });
  }

  /**
   * The decision on an event this process has claimed (or learnt that another one did). A question
   * this process won is recorded as owed until its turn starts; one that is not going on to be
   * answered (refused, ignored, an unauthorized space's notice) is settled at once.
   */
  async function decide(event: InboundEvent, claimed: boolean): Promise<BotEvent | undefined> {
    const owed = claimed && deps.pending !== undefined && isQuestion(event);
    const delivered = await decideClaimed(event, claimed, owed);
    const answered = delivered?.type === 'MESSAGE' && delivered.message.spaceAllowed === true;
    if (owed && !answered) settle(event);
    return delivered;
  }

  async function decideClaimed(
    event: InboundEvent,
    claimed: boolean,
    owed: boolean,
  ): Promise<BotEvent | undefined> {
    try {
      if (!claimed) {
        metrics?.events.inc({ kind: event.kind, outcome: 'duplicate' });
        return undefined;
      }
      if (owed) await owe(event as InboundMessageEvent);
      if (deps.crash) await deps.crash('after-claim', { activityId: event.activityId });
      switch (event.kind) {
        case 'botAdded':
          metrics?.events.inc({ kind: event.kind, outcome: 'handled' });
          return { type: 'BOT_ADDED', roomId: event.roomId, roomType: event.roomType };
        case 'cardAction': {
          metrics?.events.inc({ kind: event.kind, outcome: 'handled' });
          const submission: CardSubmission = {
            activityId: event.activityId,
            roomId: event.roomId,
            roomType: event.roomType,
            cardMessageId: event.messageId,
            personId: event.person.id,
            inputs: event.inputs,
            receivedAt: event.receivedAt,
          };
          const parsed = deps.parseCard(event.inputs);
          // A card names its conversation; an unknown one is answered in the room.
          const target = (parsed && targetOfKey(parsed.key)) || { roomId: event.roomId };
          if (!(await personAllowed(event, target))) return undefined;
          return { type: 'CARD', submission, ...(parsed ? { action: { ...parsed, submission } } : {}) };
        }
        case 'message': {
          // 1:1 spaces need no space authorization (SPEC "Spaces and threads").
          const [outcome, space] =
            event.roomType === 'group' ? await groupOutcome(event) : (['handled'] as const);
          metrics?.events.inc({
            kind: 'message',
            outcome: outcome === 'unavailable' ? 'unauthorized' : outcome,
          });
          if (outcome === 'ignored') return undefined;
          const target = replyTargetOf({
            roomId: event.roomId,
            roomType: event.roomType,
            messageId: event.messageId,
            ...(event.parentId ? { parentId: event.parentId } : {}),
          });
          if (!(await personAllowed(event, target))) return undefined;
          if (outcome === 'unavailable') metrics?.refused.inc({ reason: 'space-unavailable' });
          return messageEvent(event, outcome === 'handled', outcome === 'unavailable', space?.agentId);
        }
      }
    } catch (error) {
      log.error({ err: asCodedError(error), activityId: event.activityId }, 'inbound event not handled');
      return undefined;
    }
  }

  return async (event, options = {}) => {
    // A crash point never settles: the event is then never claimed by this process.
    if (deps.crash) await deps.crash('before-claim', { activityId: event.activityId });
    return new Promise<BotEvent | undefined>((resolve) => {
      const { later, signal } = options;
      let waited = false;
      const ticket = {
        activityId: event.activityId,
        roomId: event.roomId,
        receivedAt: event.receivedAt,
        kind: event.kind,
        signal,
      };
      const wait = later
        ? () => {
            if (waited) return;
            waited = true;
            resolve(undefined);
          }
        : undefined;
      const failed = (error: unknown) => {
        log.error({ err: asCodedError(error), activityId: event.activityId }, 'inbound event not handled');
        resolve(undefined);
      };
      const lease = leaseOf(event);
      let pinned = lease !== undefined && gate !== undefined;
      /** The gate's pin goes once the event is decided (or dropped unclaimed, or failed). */
      const unpin = (later: boolean) => {
        if (!pinned || !lease) return;
        pinned = false;
        deps.leases?.unpin(lease, { later });
      };
      const claim = () =>
        claims
          .claim(
            ticket,
            async (claimed) => {
              const decision = await decide(event, claimed);
              // Nothing goes on: the lease taken for it goes at once; otherwise the conversation the
              // event reaches takes it over (or it goes at the next renewal).
              unpin(decision !== undefined);
              // Delivered from inside the queue's turn, so the room's next event comes after it. Once
              // claimed, an event is delivered even if the caller is stopping (as `admit`'s result is).
              if (waited && later) {
                if (decision) later(decision);
              } else resolve(decision);
            },
            wait,
          )
          .then(
            () => {
              unpin(false);
              resolve(undefined);
            },
            (error: unknown) => {
              unpin(false);
              failed(error);
            },
          );
      if (!gate || !lease) {
        void claim();
        return;
      }
      gate
        .enter(lease, { receivedAt: event.receivedAt, signal, onWait: wait })
        .then((entered) => {
          pinned = entered;
          return entered ? claim() : resolve(undefined);
        })
        .catch(failed);
    });
  };
}
