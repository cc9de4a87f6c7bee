/**
 * The intake's decision about one normalised Webex event: is it the first time anyone handles it
 * (the store claim, across restarts and replicas), is it for the bot (mention, listen mode, space
 * authorization), and what does the bot machine get (mention removed, card data read).
 *
 * It runs inside the intake's per-room order, so the answer for a room's events comes in the
 * order they arrived ("do X" before "cancel").
 */
import type { EventClaims, ListenMode, PendingMessages } from '../../adapters/store/ports.js';
import type { SpaceAuthorization } from '../../adapters/store/spaceAuthorization.js';
import type { InboundEvent, InboundMessageEvent } from '../../adapters/webex/inboundEvent.js';
import { stripBotMention } from '../../adapters/webex/normalize.js';
import type { PersonPolicy } from '../../adapters/webex/personPolicy.js';
import { asCodedError } from '../../errors.js';
import { type BotFacts, botDisplayName } from '../../facts.js';
import type { Logger } from '../../logger.js';
import type { BotEvent } from '../../machines/bot.js';
import { parseCommand } from '../../machines/commands.js';
import { conversationKeyOf, replyTargetOf, targetOfKey } from '../../machines/conversationKey.js';
import type { CardAction, CardSubmission, Notice, ReplyTarget } from '../../machines/types.js';
import type { BotMetrics } from '../../metrics.js';
import type { CrashHook } from '../handover/crashPoints.js';

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
  /** Test-only crash points (`../handover/crashPoints.ts`). */
  crash?: CrashHook | undefined;
}

/** Decides one event; undefined when the bot does nothing with it. Never throws. */
export type Admission = (event: InboundEvent) => Promise<BotEvent | undefined>;

type GroupOutcome = 'handled' | 'unauthorized' | 'unavailable' | 'ignored';

export function createAdmission(deps: AdmissionDeps): Admission {
  const { log, metrics } = deps;

  /** Once per activity, also across replicas; a store that cannot say is not a reason to go mute. */
  async function firstTime(activityId: string): Promise<boolean> {
    try {
      return await deps.claims.claim(activityId, deps.dedupeTtlMs);
    } catch (error) {
      metrics?.storeErrors.inc({ store: 'claims' });
      log.warn(
        { err: asCodedError(error), activityId },
        'event claim failed; handling it (the socket dedupes too)',
      );
      return true;
    }
  }

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
  async function groupOutcome(event: InboundMessageEvent): Promise<GroupOutcome> {
    const decision = await deps.spaces.check(event.roomId, 'group');
    if (isMentioned(event.mentionedPeople)) {
      if (decision.allowed) return 'handled';
      return decision.refusal === 'store-unavailable' ? 'unavailable' : 'unauthorized';
    }
    const mode = decision.listenMode ?? deps.listenMode;
    return decision.allowed && mode !== 'mention' ? 'handled' : 'ignored';
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

  return async (event) => {
    const owed = deps.pending !== undefined && isQuestion(event);
    const claim = { won: false };
    const delivered = await decide(event, owed, claim);
    // Claimed as a question but not going on to be answered (refused, ignored, an unauthorized
    // space's notice): nothing is owed.
    const answered = delivered?.type === 'MESSAGE' && delivered.message.spaceAllowed === true;
    if (owed && claim.won && !answered) settle(event);
    return delivered;
  };

  async function decide(
    event: InboundEvent,
    owed: boolean,
    claim: { won: boolean },
  ): Promise<BotEvent | undefined> {
    try {
      if (deps.crash) await deps.crash('before-claim', { activityId: event.activityId });
      if (!(await firstTime(event.activityId))) {
        metrics?.events.inc({ kind: event.kind, outcome: 'duplicate' });
        return undefined;
      }
      claim.won = true;
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
          const outcome = event.roomType === 'group' ? await groupOutcome(event) : 'handled';
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
          return messageEvent(event, outcome === 'handled', outcome === 'unavailable');
        }
      }
    } catch (error) {
      log.error({ err: asCodedError(error), activityId: event.activityId }, 'inbound event not handled');
      return undefined;
    }
  }
}
