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
import type { OwnPost } from '../../adapters/webex/own-post.js';
import type { Clock } from '../../clock.js';
import { asCodedError } from '../../errors.js';
import type { BotFacts } from '../../facts.js';
import type { Logger } from '../../logger.js';
import type { BotEvent } from '../../machines/bot.js';
import { MAIN_THREAD, targetOfKey } from '../../machines/conversation-key.js';
import type { Notice, ReplyTarget } from '../../machines/types.js';
import type { TurnJournal } from './journal.js';
import { conversationLease, type LeaseKeeper } from './leases.js';

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
  /**
   * Conversation leases (replicas): only what no live process holds is taken over, and the store
   * is looked at again every `scanIntervalMs` for what a dead process left (its leases lapsed).
   */
  leases?: LeaseKeeper | undefined;
  scanIntervalMs?: number | undefined;
  /** `takeovers_total{kind}`. */
  onTakeover?: (kind: 'running' | 'waiting' | 'owed') => void;
}

export interface Takeover {
  /** The intake's `onOwnPost`. */
  ownPost(post: OwnPost & { seenAt: number }): void;
  /**
   * Once online (or after a bounded wait): take the running turns over, restore the waiting forms,
   * tell the owed messages; then, with leases, again at every scan. Resolves after the first pass.
   */
  run(bot: { send(event: BotEvent): void }): Promise<void>;
  /** Stops the scans. */
  stop(): void;
}

interface Leftovers {
  running: ConversationRecord[];
  waiting: ConversationRecord[];
  pending: PendingMessage[];
}

/** Reads what the previous process left; call before the socket connects, so its echoes are watched. */
export async function prepareTakeover(deps: TakeoverDeps): Promise<Takeover> {
  const log = deps.log.child({ component: 'takeover' });
  const { leases } = deps;
  const read = async (): Promise<Leftovers> => ({
    running: await deps.conversations.running(MAX_RUNNING).catch((error: unknown) => {
      deps.onStoreError?.('conversations');
      log.warn({ err: asCodedError(error) }, 'running answers left by other processes not read');
      return [] as ConversationRecord[];
    }),
    waiting: await deps.conversations.waiting(MAX_WAITING).catch((error: unknown) => {
      deps.onStoreError?.('conversations');
      log.warn({ err: asCodedError(error) }, 'waiting forms left by other processes not read');
      return [] as ConversationRecord[];
    }),
    pending: await deps.pending.list(MAX_PENDING).catch((error: unknown) => {
      deps.onStoreError?.('pending');
      log.warn({ err: asCodedError(error) }, 'messages owed by other processes not read');
      return [] as PendingMessage[];
    }),
  });
  const first = await read();
  /** Conversations whose running turn this process took over (their echoes are recorded). */
  const inherited = new Set(first.running.map((record) => record.key));
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  let stopped = false;

  /** This process may take `key` over: no live process (this one included) holds it. */
  const mayTake = async (key: string): Promise<boolean> => {
    if (!leases) return true;
    const lease = conversationLease(key);
    if (leases.holds(lease)) return false;
    return leases.acquire(lease);
  };

  const takeOver = async (bot: { send(event: BotEvent): void }, found: Leftovers, initial: boolean) => {
    const taken = new Set<string>();
    const resumed = new Set<string>();
    let running = 0;
    let waiting = 0;
    for (const record of found.running) {
      const turn = record.runningTurn;
      if (!turn || !(await mayTake(record.key))) continue;
      taken.add(turn.activityId);
      resumed.add(record.key);
      inherited.add(record.key);
      running += 1;
      deps.onTakeover?.('running');
      bot.send({ type: 'RESUME_TURN', key: record.key, roomId: record.roomId, roomType: turn.roomType });
    }
    // Waiting forms: restored now, their deadlines fire on time (records without a room type,
    // from an older version, wait for the thread's next message as before).
    for (const record of found.waiting) {
      if (resumed.has(record.key) || !record.roomType || !(await mayTake(record.key))) continue;
      resumed.add(record.key);
      waiting += 1;
      deps.onTakeover?.('waiting');
      bot.send({ type: 'RESUME_TURN', key: record.key, roomId: record.roomId, roomType: record.roomType });
    }
    const owed: PendingMessage[] = [];
    for (const message of found.pending) {
      if (taken.has(message.activityId)) continue;
      // A conversation taken over above answers its own; one a live process holds is its business.
      if (!resumed.has(message.key) && !(await mayTake(message.key))) continue;
      owed.push(message);
    }
    for (const message of owed) {
      const target = targetOfKey(message.key);
      if (target) deps.notify({ kind: 'answerInterrupted' }, target);
      deps.onTakeover?.('owed');
    }
    // Leases taken only to tell an owed message go again; the resumed conversations keep theirs.
    for (const key of new Set(owed.map((m) => m.key)))
      if (!resumed.has(key)) leases?.letGo(conversationLease(key));
    if (running > 0 || waiting > 0 || owed.length > 0)
      log.info(
        { running, waiting, owed: owed.length },
        initial ? 'taking over from the previous process' : 'taking over from a process whose leases lapsed',
      );
    if (owed.length > 0) {
      log.info({ messages: owed.length }, 'told the senders of messages another process never started');
      await deps.pending.settle(owed.map((m) => m.activityId)).catch((error: unknown) => {
        deps.onStoreError?.('pending');
        log.warn({ err: asCodedError(error) }, 'pending messages not settled');
      });
    }
  };

  const scanLater = (bot: { send(event: BotEvent): void }) => {
    if (!leases || !deps.scanIntervalMs || stopped) return;
    timer = deps.clock.setTimeout(() => {
      timer = undefined;
      if (stopped || deps.facts.getSnapshot().context.shuttingDown) return;
      void read()
        .then((found) => {
          log.debug(
            { running: found.running.length, waiting: found.waiting.length, pending: found.pending.length },
            'takeover scan',
          );
          return takeOver(bot, found, false);
        })
        .catch((error: unknown) => log.error({ err: asCodedError(error) }, 'takeover scan failed'))
        .finally(() => scanLater(bot));
    }, deps.scanIntervalMs);
  };

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
      try {
        await takeOver(bot, first, true);
      } finally {
        scanLater(bot);
      }
    },
    stop: () => {
      stopped = true;
      if (timer !== undefined) deps.clock.clearTimeout(timer);
      timer = undefined;
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
