/**
 * The working message of one answer, as a small protocol object (after teams-ai's
 * `StreamingResponse`): `start()` → `update()`* → `finish()` | `abandon()`.
 *
 * - `start()` queues the working message at once, as a replaceable `first-reply` post (the first
 *   reply must be fast, also when many people ask at once). It does not wait for Webex: the caller
 *   goes on (asks the agent) while the post waits for the write rate.
 * - `reply()` posts a message of the answer and ends the progress. If the working message has not
 *   left the send queue yet, the first reply takes its place (SPEC, Answering 1: with a fast agent
 *   the answer is the first reply, and no working message is posted or deleted); a progress edit
 *   still queued is dropped, since the answer is newer than anything it would show.
 * - `update()` says "the state changed". It never sends by itself: a trailing-edge throttle sends one
 *   edit per gap, and the text is rendered at send time from the caller's latest state, so any
 *   number of updates inside a gap cost one edit (coalescing).
 * - The gap widens as the message's 10-edit budget runs low and as the run gets long; when the
 *   budget is spent, the stream continues in a fresh working message (post the new one first, then
 *   delete the old one), so progress stays alive through runs of many minutes.
 * - With `keepAliveMs`, the message is refreshed even without updates, so the elapsed time the
 *   render callback shows keeps moving.
 * - `finish()` deletes the working message (call it after the answer is posted), or withdraws it
 *   if it is still queued; `abandon()` stops and leaves the message as it is. After either,
 *   `update()` does nothing.
 *
 * All waiting uses the injected clock. Failures are logged and never thrown from `update()`.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../../clock.js';
import { WebexApiError } from '../../../errors.js';
import { truncateWithEllipsis, WEBEX_MESSAGE_BYTE_LIMIT } from '../../../render/bytes.js';
import { SenderRejectedError } from './errors.js';
import { WEBEX_MAX_EDITS_PER_MESSAGE } from './limits.js';
import type { ReplaceablePost, SentMessage, WebexSender } from './sender.js';

export interface ProgressRenderInfo {
  /** Time since the answer started (`startedAt`), for an "elapsed" line. */
  elapsedMs: number;
  /** 0 for the first working message, +1 for each fresh message the stream continued in. */
  rollovers: number;
}

export interface ProgressGapInfo {
  intervalMs: number;
  /** Edits the current working message has used. */
  editsUsed: number;
  editLimit: number;
  elapsedMs: number;
}

/**
 * The default spacing of edits: `intervalMs` while the message has budget to spare, twice that
 * for its 7th and 8th edit, four times for its 9th and 10th (and the rollover after them). A long
 * run also spaces edits by 5% of the elapsed time, at most one minute, so a 30-minute run does not
 * churn through dozens of working messages. With 3 s, one message lasts about a minute of busy
 * progress.
 */
export function defaultProgressGap(info: ProgressGapInfo): number {
  const left = info.editLimit - info.editsUsed;
  const factor = left > 4 ? 1 : left > 2 ? 2 : 4;
  const longRunFloor = Math.min(60_000, info.elapsedMs / 20);
  return Math.max(info.intervalMs * factor, longRunFloor);
}

export type ProgressSender = Pick<WebexSender, 'post' | 'postReplaceable' | 'edit' | 'delete' | 'editsLeft'>;

export interface ProgressStreamOptions {
  roomId: string;
  /** Thread root the working message replies to. */
  parentId?: string;
  /** Minimum gap between edits of one message (`WEBEX_UPDATE_INTERVAL_MS`). */
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Builds the working message's markdown from the caller's latest state; called at send time. */
  render: (info: ProgressRenderInfo) => string;
  /** Clock time the answer started (e.g. when the event arrived); defaults to `start()` time. */
  startedAt?: number;
  /** Refresh the message after this long without updates (keeps the elapsed time moving). Off if unset. */
  keepAliveMs?: number;
  /** Spacing policy; `defaultProgressGap` unless given. Never goes below `intervalMs`. */
  gap?: (info: ProgressGapInfo) => number;
  /** Told each working message's id as it is posted (the first and every rollover's). */
  onPosted?: (messageId: string) => void;
  /**
   * While the sender is busy (other writes waiting for the rate), how long the working message
   * waits in the send queue before it may go out, so that an answer ready by then is the first
   * reply instead (`DEFAULT_WORKING_HOLD_MS` unless given).
   */
  holdMs?: number;
}

/**
 * During a burst (writes already waiting for the rate), the working message waits this long before
 * it may go out. An agent that answers within it gets its answer posted as the first reply, with
 * no working message posted and deleted a moment later: two writes saved when every write counts.
 * Other answers show "Working on it" this much later, still well inside the SPEC's one second. An
 * idle sender posts the working message at once.
 */
export const DEFAULT_WORKING_HOLD_MS = 500;

export type ProgressStreamState = 'idle' | 'starting' | 'active' | 'ended' | 'failed';

export interface ProgressStream {
  /**
   * Queues the working message now. Settles when the first reply is up: the working message, or
   * the reply that took its place. Rejects (state `failed`) if the post fails, and with
   * `SenderRejectedError('withdrawn')` if `finish()` withdrew it before it went out.
   */
  start(): Promise<SentMessage>;
  /** The progress state changed; an edit follows when the throttle allows. */
  update(): void;
  /**
   * Posts a message of the answer in the thread and stops the progress edits (a queued one is
   * dropped). The first reply takes the working message's place while that is still queued.
   */
  reply(markdown: string): Promise<SentMessage>;
  /** Stops updating and deletes the working message (after the caller posted the answer). */
  finish(): Promise<void>;
  /** Stops updating and leaves the working message as it is. */
  abandon(): Promise<void>;
  readonly state: ProgressStreamState;
  /** The current working message, once posted. */
  readonly messageId: string | undefined;
  /** A reply took the working message's place: it was never posted. */
  readonly replaced: boolean;
}

export function createProgressStream(sender: ProgressSender, options: ProgressStreamOptions): ProgressStream {
  const { clock, logger, roomId, intervalMs } = options;
  const gapPolicy = options.gap ?? defaultProgressGap;
  const log = logger.child({ roomId, component: 'progress-stream' });

  let state: ProgressStreamState = 'idle';
  let startedAt = 0;
  let messageId: string | undefined;
  let rollovers = 0;
  let lastText: string | undefined;
  /** Clock time the last post/edit completed (or was attempted): the throttle measures from here. */
  let lastSentAt = 0;
  let dirty = false;
  let rolloverNeeded = false;
  let timer: unknown;
  let flushing: Promise<void> | undefined;
  let starting: Promise<SentMessage> | undefined;
  /** The working message's slot in the send queue, until it went out. */
  let pending: ReplaceablePost | undefined;
  let replaced = false;
  /** The answer is going out: no more progress edits. */
  let answering = false;
  /** Drops the progress edit waiting in the send queue, if any. */
  let editWithdrawal: AbortController | undefined;
  let ending: Promise<void> | undefined;

  function renderNow(): string {
    const text = options.render({ elapsedMs: clock.now() - startedAt, rollovers });
    const safe = truncateWithEllipsis(text, {
      maxChars: Number.POSITIVE_INFINITY,
      maxBytes: WEBEX_MESSAGE_BYTE_LIMIT,
    });
    if (safe !== text) log.warn('progress text above the Webex byte limit; truncated');
    return safe;
  }

  function currentGap(): number {
    const editsUsed = messageId === undefined ? 0 : WEBEX_MAX_EDITS_PER_MESSAGE - sender.editsLeft(messageId);
    const gap = gapPolicy({
      intervalMs,
      editsUsed,
      editLimit: WEBEX_MAX_EDITS_PER_MESSAGE,
      elapsedMs: clock.now() - startedAt,
    });
    return Math.max(intervalMs, gap);
  }

  function clearTimer(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  }

  /** Arms the one timer: for pending changes after the gap, else for the keep-alive refresh. */
  function schedule(): void {
    if (state !== 'active' || answering || flushing || timer !== undefined) return;
    const gap = currentGap();
    let due: number;
    if (dirty) due = lastSentAt + gap;
    else if (options.keepAliveMs !== undefined) due = lastSentAt + Math.max(options.keepAliveMs, gap);
    else return;
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        // Node measures a timer from the event loop's cached time, so it can fire a few ms early
        // by the wall clock; the gap is a promise to Webex, so wait out the rest.
        if (clock.now() < due) {
          schedule();
          return;
        }
        flushing = flush().finally(() => {
          flushing = undefined;
          schedule();
        });
      },
      Math.max(0, due - clock.now()),
    );
  }

  async function flush(): Promise<void> {
    dirty = false;
    const current = messageId;
    if (current === undefined || state !== 'active') return;
    if (rolloverNeeded || sender.editsLeft(current) === 0) {
      await rollover(current);
      return;
    }
    const text = renderNow();
    if (text === lastText) {
      lastSentAt = clock.now(); // nothing new to show; the next check waits a full gap
      return;
    }
    editWithdrawal = new AbortController();
    try {
      const outcome = await sender.edit(
        { messageId: current, roomId, markdown: text },
        { withdrawSignal: editWithdrawal.signal },
      );
      lastSentAt = clock.now();
      if (outcome === 'sent') lastText = text;
      else if (outcome === 'budget-exhausted') {
        rolloverNeeded = true;
        dirty = true;
      }
    } catch (error) {
      lastSentAt = clock.now();
      dirty = true; // the change still has to be shown, one gap later
      if (error instanceof WebexApiError && error.status === 404) {
        // Someone deleted the working message: continue in a fresh one.
        rolloverNeeded = true;
      }
      log.warn({ err: error }, 'progress edit failed; will try again after the next gap');
    }
  }

  /** Continues in a fresh working message: post the new one first, so progress never disappears. */
  async function rollover(old: string): Promise<void> {
    rollovers += 1;
    const text = renderNow();
    let posted: SentMessage;
    try {
      posted = await sender.post(postBody(text));
    } catch (error) {
      rollovers -= 1;
      lastSentAt = clock.now();
      dirty = true;
      log.warn({ err: error }, 'could not post a fresh working message; keeping the old one');
      return;
    }
    lastSentAt = clock.now();
    lastText = text;
    rolloverNeeded = false;
    // Also when finish()/abandon() arrived meanwhile: they wait for this flush and then handle the new id.
    messageId = posted.id;
    options.onPosted?.(posted.id);
    log.debug({ rollovers }, 'continued progress in a fresh working message');
    await deleteQuietly(old);
  }

  function postBody(markdown: string) {
    return options.parentId === undefined
      ? { roomId, markdown }
      : { roomId, parentId: options.parentId, markdown };
  }

  async function deleteQuietly(id: string): Promise<void> {
    try {
      await sender.delete({ messageId: id, roomId });
    } catch (error) {
      log.warn({ err: error }, 'could not delete a working message');
    }
  }

  async function end(deleteMessage: boolean): Promise<void> {
    state = state === 'failed' ? 'failed' : 'ended';
    clearTimer();
    // Still queued: nothing was posted, so there is nothing to delete either.
    if (deleteMessage && !replaced && pending?.withdraw()) return;
    if (starting) await starting.catch(() => undefined);
    // A flush in flight (an edit or a rollover) finishes first, so the id below is the last one.
    while (flushing) await flushing;
    if (deleteMessage && messageId !== undefined) await deleteQuietly(messageId);
  }

  return {
    start() {
      if (state !== 'idle') return Promise.reject(new Error(`progress stream already ${state}`));
      state = 'starting';
      startedAt = options.startedAt ?? clock.now();
      const text = renderNow();
      // The first thing the user sees of their answer: it may spend the tokens kept for first replies.
      pending = sender.postReplaceable(postBody(text), {
        priority: 'first-reply',
        holdMs: options.holdMs ?? DEFAULT_WORKING_HOLD_MS,
      });
      starting = pending.sent.then(
        (posted) => {
          pending = undefined;
          // A reply went out in the working message's place: there is no working message.
          if (replaced) return posted;
          messageId = posted.id;
          options.onPosted?.(posted.id);
          lastText = text;
          lastSentAt = clock.now();
          if (state === 'starting') {
            state = 'active';
            schedule();
          }
          return posted;
        },
        (error: unknown) => {
          pending = undefined;
          if (state === 'starting') state = 'failed';
          // A failed reply in its place is the reply's caller's to report.
          if (!replaced && !(error instanceof SenderRejectedError && error.reason === 'withdrawn')) {
            log.warn({ err: error }, 'working message not posted');
          }
          throw error;
        },
      );
      return starting;
    },

    reply(markdown) {
      answering = true;
      clearTimer();
      editWithdrawal?.abort();
      try {
        if (!replaced && pending?.replace({ markdown })) {
          replaced = true;
          state = 'ended';
          return pending.sent;
        }
      } catch (error) {
        return Promise.reject(error);
      }
      return sender.post(postBody(markdown));
    },

    update() {
      if (state !== 'active' && state !== 'starting') return;
      const wasDirty = dirty;
      dirty = true;
      // A keep-alive timer may be armed for later than the change's due time: re-arm.
      if (!wasDirty && timer !== undefined) clearTimer();
      schedule();
    },

    finish() {
      ending ??= end(true);
      return ending;
    },

    abandon() {
      ending ??= end(false);
      return ending;
    },

    get state() {
      return state;
    },

    get messageId() {
      return messageId;
    },

    get replaced() {
      return replaced;
    },
  };
}
