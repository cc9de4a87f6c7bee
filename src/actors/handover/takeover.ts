/**
 * What a process owes at start for its predecessor (SPEC "Durability and replicas"):
 *
 * - Conversations whose record still has a running turn (the previous process handed the answer
 *   over at shutdown, or died): each is spawned once the bot is online, and restoring its record
 *   takes the turn over (`./resume.ts`).
 * - Conversations whose form waits: restored too, so the form's deadline (an absolute time in the
 *   record) fires on time rather than at the thread's next message.
 * - Messages claimed and never started (the previous process died between the claim and the
 *   answer, or had them queued behind a handed-over answer): the claim keeps anyone from answering
 *   them, so their sender is told once that the answer was interrupted.
 *
 * Also the watch on the bot's own post echoes: an echo is recorded when its conversation has a
 * running turn (in this process, or left by the previous one), so whoever finishes the turn can
 * tell a post that went out from one that did not.
 */
import type {
  ConversationRecord,
  ConversationStore,
  OwnPostEchoes,
  PendingMessage,
  PendingMessages,
} from '../../adapters/store/ports.js';
import type { OwnPost } from '../../adapters/webex/ownPost.js';
import type { Clock } from '../../clock.js';
import { asCodedError } from '../../errors.js';
import type { BotFacts } from '../../facts.js';
import type { Logger } from '../../logger.js';
import type { BotEvent } from '../../machines/bot.js';
import { MAIN_THREAD, targetOfKey } from '../../machines/conversationKey.js';
import type { Notice, ReplyTarget } from '../../machines/types.js';
import type { TurnJournal } from './journal.js';

/** Running turns taken over per start (the oldest first); more wait for the next start. */
const MAX_RUNNING = 200;
/** Waiting forms restored per start (the earliest deadline first), so their deadlines fire. */
const MAX_WAITING = 500;
/** Messages owed a notice per start. */
const MAX_PENDING = 500;
/** How long the takeover waits for the socket (whose redelivery brings echoes) before going on. */
const ONLINE_WAIT_MS = 30_000;

export interface TakeoverDeps {
  conversations: ConversationStore;
  pending: PendingMessages;
  echoes: OwnPostEchoes;
  journal: TurnJournal;
  notify: (notice: Notice, target: ReplyTarget) => void;
  facts: BotFacts;
  clock: Clock;
  log: Logger;
  onStoreError?: (store: string) => void;
}

export interface Takeover {
  /** The intake's `onOwnPost`. */
  ownPost(post: OwnPost & { seenAt: number }): void;
  /** Once online (or after a bounded wait): take the running turns over, tell the owed messages. */
  run(bot: { send(event: BotEvent): void }): Promise<void>;
}

/** Reads what the previous process left; call before the socket connects, so its echoes are watched. */
export async function prepareTakeover(deps: TakeoverDeps): Promise<Takeover> {
  const log = deps.log.child({ component: 'takeover' });
  const running = await deps.conversations.running(MAX_RUNNING).catch((error: unknown) => {
    deps.onStoreError?.('conversations');
    log.warn({ err: asCodedError(error) }, 'running answers of the previous process not read');
    return [] as ConversationRecord[];
  });
  const waiting = await deps.conversations.waiting(MAX_WAITING).catch((error: unknown) => {
    deps.onStoreError?.('conversations');
    log.warn({ err: asCodedError(error) }, 'waiting forms of the previous process not read');
    return [] as ConversationRecord[];
  });
  const pending = await deps.pending.list(MAX_PENDING).catch((error: unknown) => {
    deps.onStoreError?.('pending');
    log.warn({ err: asCodedError(error) }, 'messages owed by the previous process not read');
    return [] as PendingMessage[];
  });
  const inherited = new Set(running.map((record) => record.key));
  if (running.length > 0 || waiting.length > 0 || pending.length > 0)
    log.info(
      { running: running.length, waiting: waiting.length, pending: pending.length },
      'taking over from the previous process',
    );

  return {
    ownPost: (post) => {
      const key = `${post.roomId}/${post.parentId ?? MAIN_THREAD}`;
      if (!inherited.has(key) && deps.journal.turn(key) === undefined) return;
      deps.echoes.record({ key, messageId: post.messageId, seenAt: post.seenAt }).catch((error: unknown) => {
        deps.onStoreError?.('echoes');
        log.warn({ err: asCodedError(error), threadKey: key }, 'own post echo not recorded');
      });
    },
    run: async (bot) => {
      await online(deps.facts, deps.clock, ONLINE_WAIT_MS);
      if (deps.facts.getSnapshot().context.shuttingDown) return;
      const taken = new Set<string>();
      for (const record of running) {
        const turn = record.runningTurn;
        if (!turn) continue;
        taken.add(turn.activityId);
        bot.send({ type: 'RESUME_TURN', key: record.key, roomId: record.roomId, roomType: turn.roomType });
      }
      // Waiting forms: restored now, their deadlines fire on time (records without a room type,
      // from an older version, wait for the thread's next message as before).
      const resumed = new Set(running.map((record) => record.key));
      for (const record of waiting) {
        if (resumed.has(record.key) || !record.roomType) continue;
        bot.send({ type: 'RESUME_TURN', key: record.key, roomId: record.roomId, roomType: record.roomType });
      }
      const owed = pending.filter((message) => !taken.has(message.activityId));
      for (const message of owed) {
        const target = targetOfKey(message.key);
        if (target) deps.notify({ kind: 'answerInterrupted' }, target);
      }
      if (owed.length > 0) {
        log.info(
          { messages: owed.length },
          'told the senders of messages the previous process never started',
        );
        await deps.pending.settle(owed.map((m) => m.activityId)).catch((error: unknown) => {
          deps.onStoreError?.('pending');
          log.warn({ err: asCodedError(error) }, 'pending messages not settled');
        });
      }
    },
  };
}

/** Resolves once the socket is online (its redelivered frames follow at once), or after `maxMs`. */
function online(facts: BotFacts, clock: Clock, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const isOnline = () =>
      facts.getSnapshot().context.socket.ready || facts.getSnapshot().context.shuttingDown;
    if (isOnline()) return resolve();
    const done = () => {
      clock.clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    };
    const timer = clock.setTimeout(done, maxMs);
    const subscription = facts.subscribe(() => {
      if (isOnline()) done();
    });
  });
}
