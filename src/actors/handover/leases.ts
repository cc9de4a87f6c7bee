/**
 * This process's leases (SPEC "Durability and replicas"): the conversations whose running answer or
 * form wait it owns (`conv:<key>`), and its own liveness (`instance:<owner>`). Another process may
 * take a lease only once it has expired by that process's clock, so:
 *
 * - every lease is renewed a third of a period after its last renewal (`LEASE_PERIOD_S`);
 * - a write for a conversation goes out only while the lease is valid here with a third of the
 *   period to spare (`confirm`); past that, the lease is renewed first, and a lease someone else
 *   took is lost: the write is dropped and `onLost` stops the conversation without a word. A
 *   process paused past expiry (SIGSTOP) therefore posts nothing after it resumes.
 * - while the store does not answer, nobody can take a lease either: a write waits for it (up to
 *   ten periods, then the lease counts as lost and the takeover scan recovers the work).
 *
 * The spare third is what clock skew between processes may eat; clocks must agree far better than
 * that (NTP). A lease taken for an event that spawned no conversation is let go at the next renewal.
 */
import type { LeaseStore } from '../../adapters/store/ports.js';
import type { Clock } from '../../clock.js';
import { asCodedError } from '../../errors.js';
import type { Logger } from '../../logger.js';

export interface LeaseKeeperOptions {
  store: LeaseStore;
  /** `INSTANCE_ID`, or the host name. */
  owner: string;
  clock: Clock;
  log: Logger;
  /** How long a lease lasts without renewal (ms). */
  periodMs: number;
  /** A lease of this process was taken by another (or vanished): stop what it covered, silently. */
  onLost?: (key: string) => void;
  /** `leases_held`. */
  onCount?: (held: number) => void;
  onStoreError?: () => void;
}

interface Held {
  /** Epoch ms (this process's clock) the lease expires in the store. */
  expiresAt: number;
  /** Holders that keep it (a live conversation); 0: let go at the next renewal after `since`. */
  pins: number;
  since: number;
}

/** How many lease periods a write waits for an unreachable store before its lease counts as lost. */
const STORE_WAIT_PERIODS = 10;

export const conversationLease = (key: string) => `conv:${key}`;
export const instanceLease = (owner: string) => `instance:${owner}`;

export class LeaseKeeper {
  readonly owner: string;
  readonly #opts: LeaseKeeperOptions;
  readonly #held = new Map<string, Held>();
  /** Acquisitions under way: a fence for the key waits for them. */
  readonly #acquiring = new Map<string, Promise<boolean>>();
  #timer: ReturnType<Clock['setTimeout']> | undefined;
  #renewing: Promise<void> | undefined;
  #stopped = false;

  constructor(options: LeaseKeeperOptions) {
    this.#opts = options;
    this.owner = options.owner;
  }

  get periodMs(): number {
    return this.#opts.periodMs;
  }

  /** Starts renewing, with the instance's own lease pinned. Resolves once that lease is taken. */
  async start(): Promise<void> {
    await this.acquire(instanceLease(this.owner));
    this.pin(instanceLease(this.owner));
    this.#schedule();
  }

  /** Takes `key` (or extends it when it is ours). False when another live process holds it. */
  acquire(key: string): Promise<boolean> {
    const under = this.#acquiring.get(key);
    if (under) return under;
    const acquiring = this.#acquire(key).finally(() => this.#acquiring.delete(key));
    this.#acquiring.set(key, acquiring);
    return acquiring;
  }

  /** Takes `key` if need be and keeps it until `unpin` (a live conversation). */
  async hold(key: string): Promise<boolean> {
    if (!this.holds(key) && !(await this.acquire(key))) return false;
    this.pin(key);
    return true;
  }

  async #acquire(key: string): Promise<boolean> {
    if (this.#stopped) return false;
    const now = this.#opts.clock.now();
    const expiresAt = now + this.#opts.periodMs;
    let got: boolean;
    try {
      got = await this.#opts.store.acquire(key, this.owner, now, expiresAt);
    } catch (error) {
      this.#opts.onStoreError?.();
      this.#opts.log.warn({ err: asCodedError(error), lease: key }, 'lease not taken (store error)');
      return false;
    }
    if (!got) return false;
    const held = this.#held.get(key);
    if (held) held.expiresAt = expiresAt;
    else this.#held.set(key, { expiresAt, pins: 0, since: now });
    this.#count();
    return true;
  }

  /** Whether the lease is valid here with time to spare (no store call). */
  holds(key: string): boolean {
    const held = this.#held.get(key);
    return held !== undefined && this.#opts.clock.now() < held.expiresAt - this.#spareMs();
  }

  /**
   * The fence before a write: true while the lease is valid here; past that, renewed first. A lease
   * another process took is lost (`onLost`) and false is returned: the write must not go out.
   */
  confirm(key: string): boolean | Promise<boolean> {
    if (this.holds(key)) return true;
    const acquiring = this.#acquiring.get(key);
    if (acquiring) return acquiring.then(() => this.confirm(key));
    if (!this.#held.has(key)) return false;
    return this.#confirmByStore(key);
  }

  /**
   * Renews before the write. While the store does not answer (a failover takes 10–12 s), nobody
   * can take the lease either, so the write waits rather than being dropped; after
   * `STORE_WAIT_PERIODS` periods the lease is given up as lost (the conversation stops here, and
   * the takeover scan recovers its answer once the store is back).
   */
  async #confirmByStore(key: string): Promise<boolean> {
    const { clock } = this.#opts;
    const giveUpAt = clock.now() + this.#opts.periodMs * STORE_WAIT_PERIODS;
    for (;;) {
      await this.#renew([key]);
      if (this.holds(key)) return true;
      // Lost to another process (`onLost` has run), or this process is stopping.
      if (!this.#held.has(key) || this.#stopped) return false;
      if (clock.now() >= giveUpAt) {
        this.#held.delete(key);
        this.#count();
        this.#opts.log.warn(
          { lease: key },
          'lease not renewed while the store did not answer; its work here stops',
        );
        this.#opts.onLost?.(key);
        return false;
      }
      await new Promise<void>((resolve) => clock.setTimeout(resolve, this.#spareMs()));
    }
  }

  /** A holder keeps `key` until `unpin` (a live conversation). */
  pin(key: string): void {
    const held = this.#held.get(key);
    if (held) held.pins += 1;
  }

  /**
   * The holder is done; the last one gives the lease up, at once or (`later`) at the first renewal
   * a third of a period from now, so that a holder about to take over (the conversation an
   * admitted event spawns) finds it still held.
   */
  unpin(key: string, options: { later?: boolean } = {}): void {
    const held = this.#held.get(key);
    if (!held) return;
    held.pins = Math.max(0, held.pins - 1);
    if (held.pins > 0) return;
    if (options.later) held.since = this.#opts.clock.now();
    else void this.release([key]);
  }

  /** Gives `key` up unless a holder keeps it (an event that went on to nothing). */
  letGo(key: string): void {
    const held = this.#held.get(key);
    if (held && held.pins === 0) void this.release([key]);
  }

  async release(keys: readonly string[]): Promise<void> {
    const ours = keys.filter((key) => this.#held.delete(key));
    if (ours.length === 0) return;
    this.#count();
    await this.#opts.store.release(ours, this.owner).catch((error: unknown) => {
      this.#opts.onStoreError?.();
      this.#opts.log.warn({ err: asCodedError(error), leases: ours.length }, 'leases not released');
    });
  }

  /** Keys held now. */
  keys(): string[] {
    return [...this.#held.keys()];
  }

  /** Stops renewing and gives every lease up (a graceful stop: the next owner need not wait). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
    await this.release(this.keys());
  }

  #spareMs(): number {
    return Math.floor(this.#opts.periodMs / 3);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#timer = undefined;
      const before = this.#opts.clock.now() - this.#spareMs();
      const unpinned = [...this.#held]
        .filter(([, held]) => held.pins === 0 && held.since <= before)
        .map(([key]) => key);
      void this.release(unpinned)
        .then(() => this.#renew(this.keys()))
        .finally(() => this.#schedule());
    }, this.#spareMs());
  }

  /** One renewal at a time; a renewal asked for meanwhile waits for it and runs after. */
  async #renew(keys: readonly string[]): Promise<void> {
    while (this.#renewing) await this.#renewing;
    if (keys.length === 0) return;
    this.#renewing = this.#renewNow(keys).finally(() => {
      this.#renewing = undefined;
    });
    await this.#renewing;
  }

  async #renewNow(keys: readonly string[]): Promise<void> {
    const expiresAt = this.#opts.clock.now() + this.#opts.periodMs;
    let lost: string[];
    try {
      lost = await this.#opts.store.renew(keys, this.owner, expiresAt);
    } catch (error) {
      // Unrenewed, the leases run out here as they do in the store: writes stop at the fence.
      this.#opts.onStoreError?.();
      this.#opts.log.warn({ err: asCodedError(error), leases: keys.length }, 'leases not renewed');
      return;
    }
    const gone = new Set(lost);
    for (const key of keys) {
      const held = this.#held.get(key);
      if (!held) continue;
      if (!gone.has(key)) {
        held.expiresAt = expiresAt;
        continue;
      }
      this.#held.delete(key);
      this.#opts.log.warn({ lease: key }, 'lease lost to another process; its work here stops');
      this.#opts.onLost?.(key);
    }
    if (gone.size > 0) this.#count();
  }

  #count(): void {
    this.#opts.onCount?.(this.#held.size);
  }
}
