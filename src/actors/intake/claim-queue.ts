/**
 * The store claim of each inbound activity, in arrival order, failing closed.
 *
 * Every process that shares the bot token receives every activity; the claim in the shared store
 * (`EventClaims.claim`) is what makes exactly one of them handle it. So an activity whose claim
 * cannot be made is not handled at all — not "handled anyway" — or a store outage would give one
 * answer (or one notice) per replica. Instead it waits here:
 *
 * - While anything waits, every new activity queues behind it without trying the store (one probe
 *   at a time instead of one failing call per event), so each room's events keep their order.
 * - The head is retried with backoff on the injected clock (`retry`); when the store answers again
 *   the queue drains in order, each activity's continuation (the rest of the admission and the
 *   delivery to the bot) finishing before the next one is claimed.
 * - Bounded: past `maxWaiting` a new activity is dropped with a warn line.
 * - An activity older than the dedupe window is dropped with a warn line, never claimed: by then
 *   another replica's claim may have expired, and claiming it now could answer it twice.
 * - An activity whose `signal` aborts (the process is stopping) is left unclaimed for the next
 *   process.
 *
 * Its clock is the process's: age is measured from when this process received the activity.
 */

import type { EventClaims } from '../../adapters/store/ports.js';
import { backoffMs } from '../../backoff.js';
import { type Clock, delay } from '../../clock.js';
import { asCodedError } from '../../errors.js';
import type { Logger } from '../../logger.js';

export interface ClaimTicket {
  activityId: string;
  roomId: string;
  /** Epoch ms (the process's clock) at which this process received the activity. */
  receivedAt: number;
  /** `message`, `cardAction`, `botAdded`: for log lines and metrics. */
  kind: string;
  /** Aborted when this process takes no more events: a waiting activity is then left unclaimed. */
  signal?: AbortSignal | undefined;
}

/** What became of an activity that never reached its continuation. */
export type Unclaimed = 'expired' | 'overflow' | 'left';

export interface ClaimRetry {
  /** First wait after a failed claim. */
  baseMs: number;
  /** Longest wait between two attempts. */
  maxMs: number;
}

export const CLAIM_RETRY_DEFAULTS: ClaimRetry = { baseMs: 500, maxMs: 30_000 };
export const MAX_WAITING_CLAIMS_DEFAULT = 1_000;

export interface ClaimQueueDeps {
  claims: EventClaims;
  /** `WEBEX_DEDUPE_TTL_S` in ms: how long a claim holds, and how long an activity may wait. */
  ttlMs: number;
  clock: Clock;
  log: Logger;
  /** Most activities waiting at once (`MAX_WAITING_CLAIMS_DEFAULT`). */
  maxWaiting?: number | undefined;
  retry?: Partial<ClaimRetry> | undefined;
  /** A claim attempt failed (the store threw). */
  onStoreError?: (() => void) | undefined;
  /** An activity was dropped or left without being claimed. */
  onUnclaimed?: ((ticket: ClaimTicket, why: Unclaimed) => void) | undefined;
  /** How many activities wait, after every change. */
  onWaiting?: ((count: number) => void) | undefined;
}

export interface ClaimQueue {
  /**
   * Claims the ticket's activity and runs `then` with the store's answer (true: this process is the
   * first; false: someone else claimed it). Resolves with what `then` returned, or undefined when
   * the activity was dropped or left unclaimed (then `then` never runs).
   *
   * `onWait` is called when the activity has to wait (the store failed, or others wait already):
   * a caller that must not block on the wait (the intake's room queue) can move on then; `then`
   * still runs later, in order.
   */
  claim<T>(
    ticket: ClaimTicket,
    then: (claimed: boolean) => Promise<T>,
    onWait?: () => void,
  ): Promise<T | undefined>;
  /** Activities waiting for their claim. */
  readonly waiting: number;
}

interface Waiting {
  ticket: ClaimTicket;
  run: (claimed: boolean) => Promise<void>;
  drop: (why: Unclaimed) => void;
}

export function createClaimQueue(deps: ClaimQueueDeps): ClaimQueue {
  const { log, clock } = deps;
  const retry = { ...CLAIM_RETRY_DEFAULTS, ...deps.retry };
  const maxWaiting = Math.max(1, deps.maxWaiting ?? MAX_WAITING_CLAIMS_DEFAULT);
  const queue: Waiting[] = [];
  /** True from the first failed claim until the queue has drained (its last continuation included). */
  let draining = false;
  let failures = 0;

  const changed = () => deps.onWaiting?.(queue.length);

  const attempt = (activityId: string) => deps.claims.claim(activityId, deps.ttlMs);

  const failed = (error: unknown, ticket: ClaimTicket) => {
    deps.onStoreError?.();
    failures += 1;
    log.warn(
      { err: asCodedError(error), activityId: ticket.activityId, waiting: queue.length, failures },
      'event claim failed; events wait for the store (nothing is handled unclaimed)',
    );
  };

  const drop = (entry: Waiting, why: Unclaimed) => {
    const { ticket } = entry;
    const line = {
      activityId: ticket.activityId,
      roomId: ticket.roomId,
      kind: ticket.kind,
      waitedMs: clock.now() - ticket.receivedAt,
    };
    if (why === 'expired')
      log.warn(line, 'event dropped: not claimed within the dedupe window (the store was failing)');
    else if (why === 'overflow')
      log.warn({ ...line, maxWaiting }, 'event dropped: too many events wait for the store');
    else log.info(line, 'stopping: event waiting for its claim left for the next process');
    deps.onUnclaimed?.(ticket, why);
    entry.drop(why);
  };

  /** Drops what may no longer be claimed (too old, or its process is stopping). */
  const sweep = () => {
    const now = clock.now();
    for (let i = 0; i < queue.length; ) {
      const entry = queue[i]!;
      const why: Unclaimed | undefined = entry.ticket.signal?.aborted
        ? 'left'
        : now - entry.ticket.receivedAt >= deps.ttlMs
          ? 'expired'
          : undefined;
      if (why) {
        queue.splice(i, 1);
        drop(entry, why);
      } else i += 1;
    }
    changed();
  };

  // The bot's one retry policy, without jitter: one head is retried, by this process alone.
  const nextWaitMs = () => backoffMs(failures - 1, { ...retry, jitter: 0 }, () => 0);

  /** Retries the head until the queue is empty; one loop at a time. */
  const drain = async () => {
    let recovered = false;
    for (;;) {
      await delay(clock, nextWaitMs());
      for (;;) {
        sweep();
        const head = queue[0];
        if (!head) {
          draining = false;
          failures = 0;
          if (recovered) log.info('event claims work again; no event waits');
          return;
        }
        let claimed: boolean;
        try {
          claimed = await attempt(head.ticket.activityId);
        } catch (error) {
          failed(error, head.ticket);
          break; // back off, then try the head again
        }
        failures = 0;
        recovered = true;
        queue.shift();
        changed();
        // The continuation finishes before the next activity is claimed: per-room order.
        await head.run(claimed);
      }
    }
  };

  const startDraining = () => {
    if (draining) return;
    draining = true;
    void drain().catch((error: unknown) => {
      // `run` never rejects (see `claim`); anything else is a bug worth a loud line, not a crash.
      draining = false;
      log.error({ err: asCodedError(error) }, 'event claim queue stopped');
    });
  };

  const enqueue = <T>(
    ticket: ClaimTicket,
    then: (claimed: boolean) => Promise<T>,
    onWait: (() => void) | undefined,
  ): Promise<T | undefined> =>
    new Promise<T | undefined>((resolve) => {
      const entry: Waiting = {
        ticket,
        run: async (claimed) => {
          try {
            resolve(await then(claimed));
          } catch (error) {
            log.error(
              { err: asCodedError(error), activityId: ticket.activityId },
              'inbound event not handled',
            );
            resolve(undefined);
          }
        },
        drop: () => resolve(undefined),
      };
      if (queue.length >= maxWaiting) {
        drop(entry, 'overflow');
        return;
      }
      queue.push(entry);
      changed();
      onWait?.();
      startDraining();
    });

  return {
    get waiting() {
      return queue.length;
    },
    async claim(ticket, then, onWait) {
      if (ticket.signal?.aborted) return undefined;
      // Others wait: this one queues behind them (order), without a call the store would fail too.
      if (draining) return enqueue(ticket, then, onWait);
      let claimed: boolean;
      try {
        claimed = await attempt(ticket.activityId);
      } catch (error) {
        failed(error, ticket);
        return enqueue(ticket, then, onWait);
      }
      return then(claimed);
    },
  };
}
