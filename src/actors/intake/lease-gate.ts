/**
 * Replicas: an event of a conversation goes on only in the process that holds the conversation's
 * lease (SPEC "Durability and replicas"). Every device receives every event; the process that owns
 * the conversation (a running answer, a waiting form) takes it at once, the others wait here,
 * without claiming it, until the lease is free. Then they claim it as usual, and the claim tells
 * them the owner handled it already. So a form answered on any replica reaches the process whose
 * conversation waits for it, and nothing is handled twice.
 *
 * Waiting is bounded: by the number of events waiting and by the dedupe window; what gives up is
 * left to the owner, with a log line.
 */
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';

export interface GateLeases {
  /** Takes the lease (or extends it when it is this process's). */
  acquire(key: string): Promise<boolean>;
  /** Keeps it while the event is decided (a claim may wait for the store meanwhile). */
  pin(key: string): void;
  readonly periodMs: number;
}

export interface LeaseGateDeps {
  leases: GateLeases;
  clock: Clock;
  log: Logger;
  /** How long after its arrival an event may still wait (the dedupe window). */
  maxWaitMs: number;
  /** Events waiting at once; more are left to the owner. */
  maxWaiting?: number;
}

export interface EnterOptions {
  /** When the event arrived (epoch ms). */
  receivedAt: number;
  signal?: AbortSignal | undefined;
  /** Called once when the event has to wait (the caller's queue moves on). */
  onWait?: (() => void) | undefined;
}

export interface LeaseGate {
  /**
   * Resolves true once this process holds `key` (pinned: the caller unpins it once the event is
   * decided), false when the event is left to another process.
   */
  enter(key: string, options: EnterOptions): Promise<boolean>;
  waiting(): number;
}

const MAX_WAITING_DEFAULT = 1_000;

export function createLeaseGate(deps: LeaseGateDeps): LeaseGate {
  const max = deps.maxWaiting ?? MAX_WAITING_DEFAULT;
  let waiting = 0;
  const pause = (ms: number, signal: AbortSignal | undefined) =>
    new Promise<void>((resolve) => {
      const timer = deps.clock.setTimeout(done, ms);
      function done() {
        deps.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });

  return {
    waiting: () => waiting,
    async enter(key, options) {
      const take = async () => {
        if (!(await deps.leases.acquire(key))) return false;
        deps.leases.pin(key);
        return true;
      };
      if (await take()) return true;
      if (waiting >= max) {
        deps.log.warn(
          { lease: key, waiting },
          'too many events wait for a conversation owned elsewhere; left to its owner',
        );
        return false;
      }
      waiting += 1;
      options.onWait?.();
      try {
        const step = Math.max(10, Math.floor(deps.leases.periodMs / 3));
        while (!options.signal?.aborted) {
          if (deps.clock.now() - options.receivedAt > deps.maxWaitMs) {
            deps.log.info({ lease: key }, 'conversation still owned by another process; event left to it');
            return false;
          }
          await pause(step, options.signal);
          if (options.signal?.aborted) break;
          if (await take()) return true;
        }
        return false;
      } finally {
        waiting -= 1;
      }
    },
  };
}
