/**
 * `webexSender`: the only writer to Webex. Every post, edit and delete the bot makes goes through
 * one instance, which keeps the promises Webex users and Webex's rate limiter care about:
 *
 * - Per-room FIFO: a room has at most one request in flight, and its requests go out in the order
 *   they were made (a coalesced edit moves to the back, so what goes out is always a subsequence of
 *   what was asked, in order). Different rooms run in parallel up to `maxInFlight`.
 * - One global write rate, learned from Webex's answers (`write-rate.ts`: slow start from 5 writes/s
 *   toward `WEBEX_WRITE_RATE_MAX`, lowered by each 429, raised again while writes succeed), spent
 *   in three classes: first replies (the "Working on it" of a new question, or the answer that took
 *   its place, `priority: 'first-reply'`), then other posts and deletes, then edits. When tokens are
 *   short, the room heads of the first class go first; other posts and deletes leave a share of the
 *   bucket to first replies while new questions are arriving, and edits always leave a share, so
 *   progress edits are thinned (coalesced while they wait) before an answer is delayed. Only
 *   posts and deletes waiting for the rate make it rise: edits never probe Webex's limit.
 * - A 429 pauses that endpoint (method + route) for every room until `Retry-After` has passed;
 *   then the waiting requests go out oldest first. Nothing is dropped or sent twice.
 * - A first reply may be posted replaceable: until it leaves the queue, the caller can swap in
 *   another message (the answer, when it is ready first) or withdraw it.
 * - Bounded retries with jitter on 5xx and transport errors; never a blind repeat of a POST that
 *   may have reached Webex.
 * - Edit coalescing (a queued edit is replaced by a newer one of the same message), an edit budget
 *   per message (never an 11th edit) and the 7439-byte limit, all checked before any request.
 *
 * It is a plain object with a promise API: the state (queues, waiters, timers, resolvers) is
 * mutable and private, and one synchronous `pump()` makes every scheduling decision, which keeps the
 * invariants in one place and easy to test with an injected clock. Turns and notices call it
 * directly (`src/app.ts`); it is the only writer to Webex.
 */
import type { Logger } from 'pino';
import { type BackoffOptions, backoffMs } from '../../../backoff.js';
import type { Clock } from '../../../clock.js';
import { WebexApiError } from '../../../errors.js';
import { utf8ByteLength, WEBEX_MESSAGE_BYTE_LIMIT } from '../../../render/bytes.js';
import { SenderRejectedError } from './errors.js';
import { WEBEX_MAX_ATTACHMENTS, WEBEX_MAX_EDITS_PER_MESSAGE } from './limits.js';
import { noopSenderMetrics, type SenderMetrics } from './metrics.js';
import { classifyFailure } from './retry-policy.js';
import type { WebexWriteMethod, WebexWriteTransport } from './transport.js';
import { AdaptiveWriteRate, type WriteRateLimits } from './write-rate.js';

/** A card attachment as Webex takes it (one per message). */
export interface WebexAttachment {
  contentType: string;
  content: unknown;
}

export interface PostMessage {
  roomId: string;
  /** The thread root's id (never a reply's id: Webex threads have one root). */
  parentId?: string;
  markdown: string;
  /** Plain-text fallback; Webex shows it in notifications and to clients without markdown. */
  text?: string;
  /** At most one card. A message with a card cannot be edited later. */
  attachments?: readonly WebexAttachment[];
}

export interface EditMessage {
  messageId: string;
  /** Webex requires the room on every edit. */
  roomId: string;
  markdown: string;
}

export interface DeleteMessage {
  messageId: string;
  roomId: string;
}

export interface SentMessage {
  id: string;
}

/**
 * - `sent`: Webex applied the edit.
 * - `superseded`: a newer edit of the same message replaced this one before it went out.
 * - `budget-exhausted`: the message has used its 10 edits; nothing was sent. Post a new message.
 */
export type EditOutcome = 'sent' | 'superseded' | 'budget-exhausted';

/** `not-found`: Webex says the message does not exist (already deleted, e.g. by an earlier try). */
export type DeleteOutcome = 'deleted' | 'not-found';

export interface RequestOptions {
  /** Aborting removes a queued request (rejecting with the signal's reason) or aborts it in flight. */
  signal?: AbortSignal;
  /**
   * Asked right before the request goes out (after any wait in the queue): false drops it with
   * `SenderRejectedError('fenced')`. The conversation's lease is checked here, so a process that
   * lost it while paused sends nothing it had queued.
   */
  guard?: () => boolean | Promise<boolean>;
}

export interface EditOptions extends RequestOptions {
  /**
   * Aborting drops the edit if it has not gone out yet: it resolves `superseded` without a request
   * (the caller has something newer to show, e.g. the answer). An edit in flight completes.
   */
  withdrawSignal?: AbortSignal;
}

/**
 * - `first-reply`: the first thing the bot says to a new question (the working message, or the
 *   answer that took its place). It may spend the tokens kept back from everything else, and its
 *   room's head request goes before the heads of rooms without one. It never overtakes an earlier
 *   request of its own room.
 * - `normal`: everything else.
 */
export type PostPriority = 'first-reply' | 'normal';

export interface PostOptions extends RequestOptions {
  /** `normal` unless given. */
  priority?: PostPriority;
}

export interface ReplaceablePostOptions extends PostOptions {
  /**
   * When other writes are already waiting for the rate, the post waits at least this long in the
   * queue (ms), so that a replacement ready by then goes out instead and the original is never
   * posted (during a burst, the working message of an answer that comes at once). An idle sender
   * sends it at once. A replacement goes out as soon as the rate allows. 0 unless given.
   */
  holdMs?: number;
}

/**
 * A post whose content may still change while it waits in the queue: the working message of an
 * answer, which the answer replaces when it is ready before the working message went out (SPEC,
 * Answering 1).
 */
export interface ReplaceablePost {
  /** Settles with whatever went out of this slot: the original message or its replacement. */
  readonly sent: Promise<SentMessage>;
  /**
   * If the post has not left the queue, `message` goes out instead (to the same room and thread),
   * in the same place and with the same priority, and `sent` resolves with its id; returns true.
   * Returns false once the post is in flight or settled: then post `message` normally. Throws
   * `SenderRejectedError` for a message the sender would refuse anyway (too large, two cards).
   */
  replace(message: Omit<PostMessage, 'roomId' | 'parentId'>): boolean;
  /**
   * If the post has not left the queue, it is dropped without a request and `sent` rejects with
   * `SenderRejectedError('withdrawn')`; returns true. False once it is in flight or settled.
   */
  withdraw(): boolean;
}

export interface WebexSender {
  post(message: PostMessage, options?: PostOptions): Promise<SentMessage>;
  /** Like `post`, but the message can be replaced or withdrawn until it leaves the queue. */
  postReplaceable(message: PostMessage, options?: ReplaceablePostOptions): ReplaceablePost;
  edit(message: EditMessage, options?: EditOptions): Promise<EditOutcome>;
  delete(message: DeleteMessage, options?: RequestOptions): Promise<DeleteOutcome>;
  /** Edits this message may still receive (10 for a message the sender has never edited). */
  editsLeft(messageId: string): number;
  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void>;
  /** Rejects everything queued with `SenderRejectedError('stopped')` and clears timers; in-flight requests finish. */
  stop(): void;
  /** Counts for health and tests. */
  stats(): SenderStats;
}

export interface SenderStats {
  queued: number;
  inFlight: number;
  rooms: number;
  /** Endpoints (`METHOD route`) paused by a 429, with the clock time each pause ends. */
  pausedUntil: Record<string, number>;
  /** The current write rate (writes per second, all endpoints together). */
  writeRate: number;
}

export interface SenderLimits {
  /** The adaptive write rate: where it starts, its ceiling, how it rises and falls (`write-rate.ts`). */
  rate: WriteRateLimits;
  /** Share of the bucket edits may not spend, kept for posts and deletes (0..1). */
  editReserve: number;
  /**
   * Share of the bucket only first replies may spend while new questions are arriving (a first
   * reply was asked for within the last `firstReplyHoldMs`), 0..1.
   */
  firstReplyReserve: number;
  /**
   * How long after the last first reply was asked for the first-reply reserve is kept. Afterwards the
   * burst is over and answers and deletes may use those tokens too (`Infinity`: always kept).
   */
  firstReplyHoldMs: number;
  /** Requests in flight at once (different rooms). */
  maxInFlight: number;
  /** Retries after 5xx/transport errors (so at most `maxRetries + 1` attempts). */
  maxRetries: number;
  /** 429s tolerated for one request before it fails with `SenderRejectedError('rate-limited')`. */
  maxRateLimitRetries: number;
  backoff: BackoffOptions;
  /** Edits per message; Webex refuses the 11th. */
  maxEditsPerMessage: number;
  /** Messages whose edit count (and card flag) is remembered, oldest forgotten first. */
  maxTrackedMessages: number;
}

/** Overrides of `DEFAULT_SENDER_LIMITS`; `rate` is merged field by field. */
export type SenderLimitsOverride = Partial<Omit<SenderLimits, 'rate'>> & { rate?: Partial<WriteRateLimits> };

/**
 * Webex does not publish its limits: they are dynamic per endpoint, app and org, enforced with 429
 * and Retry-After. So the rate is learned (`write-rate.ts`; the figures behind each number are in
 * docs/sender.md):
 *
 * - `rate.initialPerSecond: 5`: the figure usually quoted for the messages API (300 calls per
 *   minute per bot), so a fresh bot never starts above it.
 * - `rate.maxPerSecond: 100`: `WEBEX_WRITE_RATE_MAX`'s default; the composition root passes the
 *   configured value.
 * - `rate.roundMs: 100`: slow start doubles ten times a second, 5 → 100 writes/s in half a second
 *   of demand, so an unlimited Webex is used almost at once, and the overshoot past a limited one
 *   (and the 429s it costs) happens within the burst's first second.
 * - `rate.decreaseFactor: 0.5`, `rate.increaseShare: 0.1`: the first 429 quarters the rate, later
 *   ones set it just under what Webex accepted (down to a quarter at most); then it rises by a tenth of
 *   that per second of waiting writes (+3 writes/s per second against a 30/s limit), divided by
 *   the seconds a 429 pauses for.
 * - `rate.minPerSecond: 0.5`: a 429 storm never stops the sender altogether.
 * - `rate.burstSeconds: 1`: after a quiet spell a second's worth goes out at once.
 * - `firstReplyReserve: 0.5`, `firstReplyHoldMs: 2000`: while new questions keep arriving (one asked
 *   within the last 2 s), answers and deletes leave half the bucket to first replies, so the early
 *   questions of a burst, answered fast, cannot spend the tokens the later ones need for their
 *   first reply. Two seconds after the last new question the reserve is released.
 * - `editReserve: 0.5`: progress edits only use the upper half of the bucket, so they wait
 *   (and coalesce) whenever posts keep the rate busy: progress is thinned before answers are
 *   delayed.
 * - `maxInFlight: 100`: enough that 200 posts at ~200 ms latency finish well within a second.
 * - Retries: 3 after 5xx/transport errors, 0.5 s → 1 s → 2 s (equal jitter, at most 8 s).
 * - 429s: up to 20 pauses per request; with Retry-After of 10 s that is minutes of patience.
 */
export const DEFAULT_SENDER_LIMITS: SenderLimits = {
  rate: {
    initialPerSecond: 5,
    maxPerSecond: 100,
    minPerSecond: 0.5,
    burstSeconds: 1,
    roundMs: 100,
    increaseShare: 0.1,
    decreaseFactor: 0.5,
  },
  editReserve: 0.5,
  firstReplyReserve: 0.5,
  firstReplyHoldMs: 2000,
  maxInFlight: 100,
  maxRetries: 3,
  maxRateLimitRetries: 20,
  // Equal jitter: half of each step fixed, half random (no herd after a Webex blip).
  backoff: { baseMs: 500, maxMs: 8000, jitter: 0.5 },
  maxEditsPerMessage: WEBEX_MAX_EDITS_PER_MESSAGE,
  maxTrackedMessages: 50_000,
};

export interface WebexSenderOptions {
  transport: WebexWriteTransport;
  clock: Clock;
  /** Seconds to pause after a 429 without Retry-After (`WEBEX_RETRY_AFTER_DEFAULT_S`). */
  retryAfterDefaultS: number;
  logger: Logger;
  metrics?: SenderMetrics;
  limits?: SenderLimitsOverride;
  /** Jitter source, in [0, 1). */
  random?: () => number;
}

type OpKind = 'post' | 'edit' | 'delete';

/** Spending classes, in the order the bucket serves them: 0 first replies, 1 posts and deletes, 2 edits. */
type TokenClass = 0 | 1 | 2;

interface Op {
  readonly kind: OpKind;
  readonly firstReply: boolean;
  readonly seq: number;
  readonly roomId: string;
  readonly method: WebexWriteMethod;
  readonly path: string;
  readonly route: string;
  /** Changes only while queued, when a replaceable post gets its replacement. */
  body: unknown;
  readonly messageId: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly guard: RequestOptions['guard'];
  readonly withdrawSignal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Earliest clock time of the next attempt (retry backoff). */
  notBefore: number;
  /** Clock time of the latest attempt, to tell which rate decrease a 429 belongs to. */
  sentAt: number;
  retries: number;
  rateLimits: number;
  inFlight: boolean;
  onAbort: (() => void) | undefined;
  onWithdraw: (() => void) | undefined;
}

interface RoomQueue {
  ops: Op[];
  busy: boolean;
  /**
   * When the room's current head became its head (a counter, not a time). Heads are served in this
   * order within a class, so a room with much queued takes turns with the others instead of
   * holding them back until it is empty.
   */
  turn: number;
}

const MESSAGES_ROUTE = 'messages';
const MESSAGE_ROUTE = 'messages/{id}';

export function createWebexSender(options: WebexSenderOptions): WebexSender {
  const limits: SenderLimits = {
    ...DEFAULT_SENDER_LIMITS,
    ...options.limits,
    rate: { ...DEFAULT_SENDER_LIMITS.rate, ...options.limits?.rate },
  };
  const { transport, clock, logger } = options;
  const metrics = options.metrics ?? noopSenderMetrics;
  const random = options.random ?? Math.random;
  const rate = new AdaptiveWriteRate(limits.rate, clock, (perSecond) => {
    metrics.writeRate(perSecond);
    logger.debug({ writeRate: perSecond, phase: rate.phase }, 'Webex write rate changed');
  });
  metrics.writeRate(rate.perSecond);

  const rooms = new Map<string, RoomQueue>();
  /** `METHOD route` → clock time the 429 pause ends. */
  const pausedUntil = new Map<string, number>();
  /** messageId → edits that may have applied. Insertion order = age, for eviction. */
  const editsUsed = new Map<string, number>();
  /** Messages posted with a card: Webex refuses to edit them. */
  const cardMessages = new Set<string>();
  const idleWaiters: Array<() => void> = [];
  let seq = 0;
  /** Counter handing out room turns (see `RoomQueue.turn`). */
  let turns = 0;
  let inFlight = 0;
  let queued = 0;
  let stopped = false;
  let wakeTimer: unknown;
  let wakeAt = Number.POSITIVE_INFINITY;
  /** Clock time the last first reply was asked for: the first-reply reserve is held until `+ firstReplyHoldMs`. */
  let lastFirstReplyAt = Number.NEGATIVE_INFINITY;

  function endpointOf(op: Op): string {
    return `${op.method} ${op.route}`;
  }

  function usedEdits(messageId: string): number {
    return editsUsed.get(messageId) ?? 0;
  }

  function countEdit(messageId: string): void {
    const used = usedEdits(messageId) + 1;
    editsUsed.delete(messageId);
    editsUsed.set(messageId, used);
    if (editsUsed.size > limits.maxTrackedMessages) {
      const oldest = editsUsed.keys().next().value;
      if (oldest !== undefined) editsUsed.delete(oldest);
    }
  }

  function rememberCard(messageId: string): void {
    cardMessages.add(messageId);
    if (cardMessages.size > limits.maxTrackedMessages) {
      const oldest = cardMessages.values().next().value;
      if (oldest !== undefined) cardMessages.delete(oldest);
    }
  }

  function forget(messageId: string): void {
    editsUsed.delete(messageId);
    cardMessages.delete(messageId);
  }

  function checkBytes(field: string, value: string | undefined): void {
    if (value === undefined) return;
    const bytes = utf8ByteLength(value);
    if (bytes > WEBEX_MESSAGE_BYTE_LIMIT) {
      throw new SenderRejectedError(
        'too-large',
        `message ${field} is ${bytes} bytes; Webex takes at most ${WEBEX_MESSAGE_BYTE_LIMIT}`,
      );
    }
  }

  /** Queues a request; `onQueued` sees the queued request at once (a replaceable post keeps it). */
  function enqueue<T>(
    spec: Pick<Op, 'kind' | 'firstReply' | 'roomId' | 'method' | 'path' | 'route' | 'body' | 'messageId'>,
    options: RequestOptions,
    onQueued?: (op: Op) => void,
    withdraw?: { signal: AbortSignal; outcome: unknown },
  ): Promise<T> {
    const { signal } = options;
    return new Promise<T>((resolve, reject) => {
      if (stopped) return reject(new SenderRejectedError('stopped', 'the Webex sender is stopped'));
      if (signal?.aborted) return reject(signal.reason);
      if (withdraw?.signal.aborted) return resolve(withdraw.outcome as T);
      const op: Op = {
        ...spec,
        seq: ++seq,
        signal,
        guard: options.guard,
        withdrawSignal: withdraw?.signal,
        resolve: resolve as (value: unknown) => void,
        reject,
        notBefore: 0,
        sentAt: 0,
        retries: 0,
        rateLimits: 0,
        inFlight: false,
        onAbort: undefined,
        onWithdraw: undefined,
      };
      if (signal) {
        op.onAbort = () => {
          if (op.inFlight) return; // the transport sees the same signal
          removeQueued(op);
          reject(signal.reason);
          pump();
        };
        signal.addEventListener('abort', op.onAbort, { once: true });
      }
      if (withdraw) {
        op.onWithdraw = () => {
          if (!isWaiting(op)) return;
          removeQueued(op);
          resolve(withdraw.outcome as T);
          pump();
        };
        withdraw.signal.addEventListener('abort', op.onWithdraw, { once: true });
      }
      let room = rooms.get(op.roomId);
      if (!room) {
        room = { ops: [], busy: false, turn: 0 };
        rooms.set(op.roomId, room);
      }
      room.ops.push(op);
      if (room.ops.length === 1) room.turn = ++turns;
      queued += 1;
      if (op.firstReply) lastFirstReplyAt = clock.now();
      onQueued?.(op);
      pump();
    });
  }

  /** True while a request waits in its room's queue (not in flight, not settled). */
  function isWaiting(op: Op): boolean {
    return !op.inFlight && (rooms.get(op.roomId)?.ops.includes(op) ?? false);
  }

  /** Removes a request that is not in flight; returns false if it was not queued. */
  function removeQueued(op: Op): boolean {
    const room = rooms.get(op.roomId);
    if (!room) return false;
    const index = room.ops.indexOf(op);
    if (index < 0 || op.inFlight) return false;
    room.ops.splice(index, 1);
    if (index === 0) room.turn = ++turns;
    queued -= 1;
    detach(op);
    dropRoomIfEmpty(op.roomId, room);
    return true;
  }

  function detach(op: Op): void {
    if (op.onAbort) op.signal?.removeEventListener('abort', op.onAbort);
    if (op.onWithdraw) op.withdrawSignal?.removeEventListener('abort', op.onWithdraw);
  }

  function dropRoomIfEmpty(roomId: string, room: RoomQueue): void {
    if (room.ops.length === 0 && !room.busy) rooms.delete(roomId);
  }

  /** Settles the head request of its room and lets the room move on. */
  function settle(op: Op, outcome: { value: unknown } | { error: unknown }): void {
    const room = rooms.get(op.roomId);
    if (room && room.ops[0] === op) {
      room.ops.shift();
      room.turn = ++turns;
      queued -= 1;
    } else {
      removeQueued(op);
    }
    detach(op);
    if ('value' in outcome) op.resolve(outcome.value);
    else op.reject(outcome.error);
  }

  /**
   * The class a room's head spends from: the best class queued in its room. A queued first reply
   * (or answer) lends its class to the requests ahead of it, one at a time: it cannot go before
   * them, and it must not wait behind the reserve meant to speed it up, nor behind a progress edit
   * held back to the edits' share.
   */
  function tokenClassOf(room: RoomQueue): TokenClass {
    let best: TokenClass = 2;
    for (const op of room.ops) {
      if (op.firstReply) return 0;
      if (op.kind !== 'edit') best = 1;
    }
    return best;
  }

  /** Share of the bucket a class must leave. Non-decreasing by class, which `pump()` relies on. */
  function reserveOf(tokenClass: TokenClass, firstReplyHeld: boolean): number {
    const firstReplyReserve = firstReplyHeld ? limits.firstReplyReserve : 0;
    if (tokenClass === 0) return 0;
    if (tokenClass === 1) return firstReplyReserve;
    return Math.max(limits.editReserve, firstReplyReserve);
  }

  /**
   * Every scheduling decision happens here, synchronously: which room heads may go now (room
   * free, endpoint not paused, backoff over, a token available), and when to look again.
   */
  function pump(): void {
    if (stopped) return;
    const now = clock.now();
    let nextWake = Number.POSITIVE_INFINITY;
    const holdEnd =
      limits.firstReplyHoldMs === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : lastFirstReplyAt + limits.firstReplyHoldMs;
    const firstReplyHeld = now < holdEnd;
    const ready: Array<{ op: Op; room: RoomQueue; tokenClass: TokenClass }> = [];
    for (const [roomId, room] of rooms) {
      if (room.busy) continue;
      // Edits over budget are answered here, without a request, so the room moves on at once.
      while (room.ops[0]?.kind === 'edit' && refuseEdit(room.ops[0])) {}
      const head = room.ops[0];
      if (!head) {
        rooms.delete(roomId);
        continue;
      }
      const pauseEnd = pausedUntil.get(endpointOf(head)) ?? 0;
      const readyAt = Math.max(pauseEnd, head.notBefore);
      if (readyAt > now) {
        nextWake = Math.min(nextWake, readyAt);
        continue;
      }
      ready.push({ op: head, room, tokenClass: tokenClassOf(room) });
    }
    ready.sort((a, b) => a.tokenClass - b.tokenClass || a.room.turn - b.room.turn);
    for (const { op, tokenClass } of ready) {
      if (inFlight >= limits.maxInFlight) break; // a finishing request pumps again
      const reserve = reserveOf(tokenClass, firstReplyHeld);
      if (!rate.tryTake(reserve)) {
        nextWake = Math.min(nextWake, now + Math.max(1, rate.msUntil(reserve)));
        // The reserve releases when the hold ends; look again then rather than wait for a refill.
        if (firstReplyHeld && reserveOf(tokenClass, false) < reserve) nextWake = Math.min(nextWake, holdEnd);
        if (tokenClass < 2) {
          // Posts and deletes are waiting for the rate: it may rise when this round ends. Edits
          // never make it rise (they are thinned instead).
          rate.starved();
          nextWake = Math.min(nextWake, Math.max(now + 1, rate.roundEndsAt));
        }
        // Later heads are of the same or a later class, so they need at least as many tokens.
        break;
      }
      dispatch(op);
    }
    for (const [endpoint, until] of pausedUntil) if (until <= now) pausedUntil.delete(endpoint);
    scheduleWake(nextWake);
    if (queued === 0 && inFlight === 0) {
      for (const notify of idleWaiters.splice(0)) notify();
    }
  }

  /** An edit of a message that has used its budget is answered without a request. */
  function refuseEdit(op: Op): boolean {
    if (op.messageId === undefined || usedEdits(op.messageId) < limits.maxEditsPerMessage) return false;
    metrics.editBudgetExhausted();
    logger.warn({ roomId: op.roomId, route: op.route }, 'edit refused: message has used its edit budget');
    settle(op, { value: 'budget-exhausted' satisfies EditOutcome });
    return true;
  }

  function scheduleWake(at: number): void {
    if (at === wakeAt) return;
    if (wakeTimer !== undefined) clock.clearTimeout(wakeTimer);
    wakeTimer = undefined;
    wakeAt = at;
    if (!Number.isFinite(at)) return;
    wakeTimer = clock.setTimeout(
      () => {
        wakeTimer = undefined;
        wakeAt = Number.POSITIVE_INFINITY;
        pump();
      },
      Math.max(0, at - clock.now()),
    );
  }

  function fenced(): SenderRejectedError {
    return new SenderRejectedError('fenced', 'the write was refused by its guard (lease lost)');
  }

  function dispatch(op: Op): void {
    const room = rooms.get(op.roomId)!;
    room.busy = true;
    op.inFlight = true;
    op.sentAt = clock.now();
    inFlight += 1;
    if (op.kind === 'edit' && op.messageId !== undefined) {
      // Counted before the answer: an attempt that times out may still have applied, and the
      // budget must never let an 11th edit through.
      countEdit(op.messageId);
    }
    const request = { method: op.method, path: op.path, route: op.route, body: op.body };
    const send = () => transport.request<unknown>(request, op.signal ? { signal: op.signal } : {});
    let attempt: Promise<unknown>;
    try {
      const allowed = op.guard ? op.guard() : true;
      attempt =
        allowed === true
          ? send()
          : Promise.resolve(allowed).then((ok) => (ok ? send() : Promise.reject(fenced())));
    } catch (error) {
      attempt = Promise.reject(error);
    }
    attempt.then(
      (result) => finish(op, () => succeed(op, result)),
      (error: unknown) => finish(op, () => fail(op, error)),
    );
  }

  function finish(op: Op, handle: () => void): void {
    inFlight -= 1;
    op.inFlight = false;
    const room = rooms.get(op.roomId);
    if (room) room.busy = false;
    try {
      handle();
    } catch (error) {
      // Only our own bug can land here; the request still must not hang.
      settle(op, { error });
    }
    if (room) dropRoomIfEmpty(op.roomId, room);
    pump();
  }

  function succeed(op: Op, result: unknown): void {
    metrics.request({ method: op.method, route: op.route, status: op.method === 'DELETE' ? '204' : '200' });
    rate.accepted(op.sentAt);
    switch (op.kind) {
      case 'post': {
        const id = (result as { id?: unknown } | undefined)?.id;
        if (typeof id !== 'string' || id.length === 0) {
          settle(op, {
            error: new WebexApiError({
              status: 200,
              method: op.method,
              route: op.route,
              description: 'the created message has no id',
            }),
          });
          return;
        }
        const body = op.body as { attachments?: unknown[] };
        if (body.attachments && body.attachments.length > 0) rememberCard(id);
        settle(op, { value: { id } satisfies SentMessage });
        return;
      }
      case 'edit':
        settle(op, { value: 'sent' satisfies EditOutcome });
        return;
      case 'delete':
        if (op.messageId !== undefined) forget(op.messageId);
        settle(op, { value: 'deleted' satisfies DeleteOutcome });
        return;
    }
  }

  function fail(op: Op, error: unknown): void {
    if (error instanceof SenderRejectedError && error.reason === 'fenced') {
      // Never sent: nothing to count, nothing to retry.
      if (op.kind === 'edit' && op.messageId !== undefined) uncountEdit(op.messageId);
      logger.info({ roomId: op.roomId, route: op.route }, 'write dropped: its guard refused it');
      settle(op, { error });
      return;
    }
    const status = error instanceof WebexApiError ? String(error.status) : 'transport';
    metrics.request({ method: op.method, route: op.route, status });
    if (op.signal?.aborted) {
      settle(op, { error: op.signal.reason ?? error });
      return;
    }
    if (error instanceof WebexApiError) {
      if (op.kind === 'edit' && op.messageId !== undefined) {
        // A rejected attempt did not apply: give the edit back (our count stays an upper bound).
        if (error.status < 500) uncountEdit(op.messageId);
        if (error.status === 400 && /edit limit/i.test(error.description ?? '')) {
          editsUsed.set(op.messageId, limits.maxEditsPerMessage);
          metrics.editBudgetExhausted();
          settle(op, { value: 'budget-exhausted' satisfies EditOutcome });
          return;
        }
      }
      if (op.kind === 'delete' && error.status === 404) {
        if (op.messageId !== undefined) forget(op.messageId);
        settle(op, { value: 'not-found' satisfies DeleteOutcome });
        return;
      }
    }
    const decision = classifyFailure(error, op.method, options.retryAfterDefaultS);
    const context = { roomId: op.roomId, method: op.method, route: op.route, status };
    switch (decision.kind) {
      case 'rate-limited': {
        metrics.rateLimited({ method: op.method, route: op.route });
        // A 423 with Retry-After pauses too, but says nothing about the rate.
        if (
          error instanceof WebexApiError &&
          error.status === 429 &&
          rate.rateLimited(op.sentAt, decision.pauseMs)
        ) {
          logger.info({ ...context, writeRate: rate.perSecond }, 'rate limited: write rate lowered');
        }
        op.rateLimits += 1;
        if (op.rateLimits > limits.maxRateLimitRetries) {
          logger.error({ ...context, rateLimits: op.rateLimits }, 'giving up after repeated 429s');
          settle(op, {
            error: new SenderRejectedError(
              'rate-limited',
              `Webex answered 429 ${op.rateLimits} times in a row`,
            ),
          });
          return;
        }
        const endpoint = endpointOf(op);
        const until = clock.now() + decision.pauseMs;
        pausedUntil.set(endpoint, Math.max(pausedUntil.get(endpoint) ?? 0, until));
        logger.warn(
          { ...context, pauseMs: decision.pauseMs },
          `rate limited: pausing ${endpoint}, then resending in order`,
        );
        return; // stays at the head of its room; pump() sends it when the pause ends
      }
      case 'retry': {
        if (op.retries >= limits.maxRetries) {
          logger.error(
            { ...context, attempts: op.retries + 1, err: error },
            'Webex request failed; giving up',
          );
          settle(op, { error });
          return;
        }
        op.retries += 1;
        const wait = backoffMs(op.retries - 1, limits.backoff, random);
        op.notBefore = clock.now() + wait;
        logger.warn(
          { ...context, retry: op.retries, waitMs: wait },
          'Webex request failed; retrying after backoff',
        );
        return;
      }
      case 'fail':
        logger.warn({ ...context, err: error }, 'Webex request failed');
        settle(op, { error });
        return;
    }
  }

  function uncountEdit(messageId: string): void {
    const used = usedEdits(messageId);
    if (used > 0) editsUsed.set(messageId, used - 1);
  }

  function messagePath(messageId: string): string {
    return `/messages/${encodeURIComponent(messageId)}`;
  }

  /** The JSON body of a post; throws `SenderRejectedError` for what Webex would refuse. */
  function postBody(message: PostMessage): Record<string, unknown> {
    if (message.markdown.length === 0) throw new SenderRejectedError('empty', 'a message needs markdown');
    checkBytes('markdown', message.markdown);
    checkBytes('text', message.text);
    if ((message.attachments?.length ?? 0) > WEBEX_MAX_ATTACHMENTS) {
      throw new SenderRejectedError('too-many-attachments', 'Webex takes one card per message');
    }
    const body: Record<string, unknown> = { roomId: message.roomId, markdown: message.markdown };
    if (message.parentId !== undefined) body.parentId = message.parentId;
    if (message.text !== undefined) body.text = message.text;
    if (message.attachments && message.attachments.length > 0) body.attachments = message.attachments;
    return body;
  }

  function post(
    message: PostMessage,
    requestOptions: PostOptions,
    onQueued?: (op: Op) => void,
  ): Promise<SentMessage> {
    let body: Record<string, unknown>;
    try {
      body = postBody(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return enqueue<SentMessage>(
      {
        kind: 'post',
        firstReply: requestOptions.priority === 'first-reply',
        roomId: message.roomId,
        method: 'POST',
        path: '/messages',
        route: MESSAGES_ROUTE,
        body,
        messageId: undefined,
      },
      requestOptions,
      onQueued,
    );
  }

  return {
    post(message, requestOptions: PostOptions = {}) {
      return post(message, requestOptions);
    },

    postReplaceable(message, requestOptions: ReplaceablePostOptions = {}) {
      let slot: Op | undefined;
      const holdMs = Math.max(0, requestOptions.holdMs ?? 0);
      const sent = post(message, requestOptions, (op) => {
        slot = op;
        const othersWaiting = queued - inFlight - 1;
        if (holdMs > 0 && othersWaiting > 0) op.notBefore = clock.now() + holdMs;
      });
      return {
        sent,
        replace(replacement) {
          if (!slot || !isWaiting(slot)) return false;
          const { roomId, parentId } = message;
          slot.body = postBody({ ...replacement, roomId, ...(parentId === undefined ? {} : { parentId }) });
          if (slot.retries === 0) slot.notBefore = 0; // the hold was for the original; a retry keeps its backoff
          pump();
          return true;
        },
        withdraw() {
          if (!slot || !isWaiting(slot)) return false;
          removeQueued(slot);
          slot.reject(new SenderRejectedError('withdrawn', 'the post was withdrawn before it went out'));
          pump();
          return true;
        },
      };
    },

    edit(message, requestOptions: EditOptions = {}) {
      try {
        if (message.markdown.length === 0) throw new SenderRejectedError('empty', 'an edit needs markdown');
        checkBytes('markdown', message.markdown);
        if (cardMessages.has(message.messageId)) {
          throw new SenderRejectedError('not-editable', 'Webex does not edit messages that carry a card');
        }
      } catch (error) {
        return Promise.reject(error);
      }
      // Coalescing: a queued (not yet sent) edit of the same message is replaced by this one, and
      // the new one takes the back of the queue so the room's order is never broken.
      const room = rooms.get(message.roomId);
      const pending = room?.ops.find(
        (op) => op.kind === 'edit' && op.messageId === message.messageId && !op.inFlight,
      );
      if (pending && removeQueued(pending)) pending.resolve('superseded' satisfies EditOutcome);
      if (usedEdits(message.messageId) >= limits.maxEditsPerMessage) {
        metrics.editBudgetExhausted();
        pump(); // a superseded edit may have been the last queued request: wake idle() waiters
        return Promise.resolve('budget-exhausted');
      }
      return enqueue<EditOutcome>(
        {
          kind: 'edit',
          firstReply: false,
          roomId: message.roomId,
          method: 'PUT',
          path: messagePath(message.messageId),
          route: MESSAGE_ROUTE,
          body: { roomId: message.roomId, markdown: message.markdown },
          messageId: message.messageId,
        },
        requestOptions,
        undefined,
        requestOptions.withdrawSignal
          ? { signal: requestOptions.withdrawSignal, outcome: 'superseded' satisfies EditOutcome }
          : undefined,
      );
    },

    delete(message, requestOptions = {}) {
      return enqueue<DeleteOutcome>(
        {
          kind: 'delete',
          firstReply: false,
          roomId: message.roomId,
          method: 'DELETE',
          path: messagePath(message.messageId),
          route: MESSAGE_ROUTE,
          body: undefined,
          messageId: message.messageId,
        },
        requestOptions,
      );
    },

    editsLeft(messageId) {
      return Math.max(0, limits.maxEditsPerMessage - usedEdits(messageId));
    },

    idle() {
      if (queued === 0 && inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    stop() {
      if (stopped) return;
      stopped = true;
      if (wakeTimer !== undefined) clock.clearTimeout(wakeTimer);
      wakeTimer = undefined;
      const error = new SenderRejectedError(
        'stopped',
        'the Webex sender stopped before this request went out',
      );
      for (const room of rooms.values()) {
        for (const op of [...room.ops]) if (!op.inFlight) settle(op, { error });
      }
      for (const notify of idleWaiters.splice(0)) notify();
    },

    stats() {
      return {
        queued,
        inFlight,
        rooms: rooms.size,
        pausedUntil: Object.fromEntries(pausedUntil),
        writeRate: rate.perSecond,
      };
    },
  };
}
