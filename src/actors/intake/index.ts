/**
 * The intake: the one stage every Webex input passes on its way to the bot, as a callback actor
 * that lives as long as the connection machine (its parent), so an activity acked on a socket that
 * then drops is still delivered:
 *
 *   activity → memory dedupe → REST plaintext → `InboundEvent` → (per-room order) → admission
 *   (store claim, mention, listen mode, space) → the bot machine (`system.get('bot')`).
 *
 * Without an admission (the connection run on its own, in its tests) the normalised event goes
 * back to the connection machine, which emits it.
 *
 * Fetches run concurrently (the socket never waits on them), but events of one room are delivered
 * in the order their activities arrived, so a conversation sees its messages in order even when a
 * later fetch finishes first.
 *
 * It also runs the REST catch-up (`CATCH_UP`, at the first connect, after a reconnect or a
 * sequence gap): for the rooms it delivered events in recently, it lists the messages created since the room's last event and
 * delivers the ones no one has claimed yet, through the same dedupe and the same per-room order.
 * One catch-up runs at a time (a request meanwhile runs once more afterwards), room by room, so it
 * never floods REST and never touches the socket. The first one (at the first connect) first reads
 * the rooms a previous process recorded in the store.
 *
 * Once the process is stopping (`HOLD`), nothing more is handed to the bot: an activity that
 * arrives, or whose fetch ends, is left for the next process — its room is written to the store
 * at once, so the next process's catch-up lists it, and the socket no longer acks activities, so
 * Webex redelivers them to the device the next process reuses.
 */

import {
  CATCH_UP_DEFAULTS,
  type CatchUpSettings,
  catchUpEvent,
  listMissedMessages,
  RecentRooms,
  type TrackedRoom,
} from '../../adapters/webex/catch-up.js';
import type {
  ConnectionMetrics,
  InboundKindLabel,
  InboundOutcome,
} from '../../adapters/webex/connection-metrics.js';
import type { ActivityDedupe } from '../../adapters/webex/dedupe.js';
import {
  type ActivityRoute,
  botAddedEvent,
  cardActionEvent,
  type HydraAttachmentAction,
  type HydraMessage,
  messageEvent,
  routeActivity,
} from '../../adapters/webex/normalize.js';
import { type OwnPost, ownPostOf } from '../../adapters/webex/own-post.js';
import type { WebexRestClient } from '../../adapters/webex/rest.js';
import { type BackoffOptions, backoffMs, retryAfterMs } from '../../backoff.js';
import { type Clock, delay } from '../../clock.js';
import { TransportError, WebexApiError } from '../../errors.js';
import { createKeyedQueue } from '../../keyed-queue.js';
import type { Logger } from '../../logger.js';
import type { BotEvent } from '../../machines/bot.js';
import type { InboundEvent } from '../../machines/inbound-event.js';
import type {
  InboundActivityCommand,
  InboundCatchUpCommand,
  InboundCommand,
  WebexConnectionEvent,
} from '../../machines/webex-connection.js';
import type { Admission } from './admission.js';

export interface InboundProcessorDeps {
  rest: WebexRestClient;
  dedupe: ActivityDedupe;
  logger: Logger;
  metrics: ConnectionMetrics;
  clock: Clock;
  /** REST attempts per activity for 429, 5xx and transport failures. */
  maxAttempts?: number;
  /** Wait after a 429 without `Retry-After` (`WEBEX_RETRY_AFTER_DEFAULT_S`). */
  retryAfterDefaultS?: number;
  /** REST fetches in flight at once; a burst queues instead of opening hundreds of requests. */
  maxConcurrentFetches?: number;
  /** Bounds of the REST catch-up (see `catchUpSettings`, which ties the room TTL to the dedupe TTL). */
  catchUp?: CatchUpSettings;
  /** The rooms the catch-up lists, kept in the store when it has persistence (built here otherwise). */
  rooms?: RecentRooms;
  /** The bot's decision on each event and where the result goes; see the module comment. */
  admission?: { admit: Admission; deliver: (event: BotEvent) => void };
  /**
   * The bot's own new posts (dropped as `own` otherwise), with the time their echo arrived: a
   * running answer counts a post as made when its echo was seen (SPEC "Durability and replicas").
   */
  onOwnPost?: (post: OwnPost & { seenAt: number }) => void;
}

type Resolution =
  | { event: InboundEvent }
  | { drop: InboundOutcome; detail: string; level: 'debug' | 'info' | 'warn' };

type FetchRoute = Exclude<ActivityRoute, { action: 'drop' }>;

export function runInboundProcessor(
  deps: InboundProcessorDeps,
  sendBack: (event: WebexConnectionEvent) => void,
  receive: (listener: (command: InboundCommand) => void) => void,
): () => void {
  const log = deps.logger.child({ component: 'inbound' });
  const aborter = new AbortController();
  const perRoom = createKeyedQueue();
  const maxAttempts = deps.maxAttempts ?? 3;
  const slots = new Semaphore(deps.maxConcurrentFetches ?? 16);

  const count = (kind: InboundKindLabel, outcome: InboundOutcome) => deps.metrics.inbound(kind, outcome);
  const catchUp = deps.catchUp ?? CATCH_UP_DEFAULTS;
  const rooms = deps.rooms ?? new RecentRooms(catchUp, deps.clock);
  let held = false;
  /** Activities being fetched: at a stop their rooms are recorded before the fetches are cut. */
  const fetching = new Map<string, FetchRoute & { receivedAt: number }>();
  let catchUpRunning = false;
  let catchUpAgain: InboundCatchUpCommand | undefined;

  /** Queues a resolution behind the room's earlier events, so each room's events keep their order. */
  const deliverInOrder = (
    route: FetchRoute | CatchUpRoute,
    kind: InboundKindLabel,
    resolution: Promise<Resolution>,
  ): Promise<void> => {
    // The fetch is already running; only the hand-over waits for the room's earlier events.
    return perRoom.run(route.roomId, async () => finish(route, kind, await resolution));
  };

  /** Aborted once no more events are taken (hold, stop): those still waiting for a claim are left. */
  const admitting = new AbortController();
  const deliver = (botEvent: BotEvent) => {
    if (!aborter.signal.aborted) deps.admission?.deliver(botEvent);
  };

  /**
   * Hands one event on; with an admission, its decision is part of the room's order. An event
   * whose claim must wait (store failing) does not hold up the room: the admission keeps the
   * room's order and delivers it `later`.
   */
  const handOver = async (event: InboundEvent): Promise<void> => {
    if (!deps.admission) {
      sendBack({ type: 'INBOUND.EVENT', event });
      return;
    }
    const botEvent = await deps.admission.admit(event, { later: deliver, signal: admitting.signal });
    if (botEvent) deliver(botEvent);
  };

  receive((command) => {
    if (command.type === 'CATCH_UP') requestCatchUp(command);
    else if (command.type === 'HOLD') hold();
    else onActivity(command);
  });

  const hold = () => {
    if (held) return;
    held = true;
    admitting.abort();
    // A fetch under way may still end here (then `finish` leaves its event too) or be cut by the
    // stop: either way the next process's catch-up must know the room.
    for (const route of fetching.values())
      rooms.touch(route.roomId, route.roomType, route.receivedAt, { durable: true });
    log.info({ fetching: fetching.size }, 'stopping: events from now on are left for the next process');
  };

  /** An event this process will not handle: its room is recorded for the next process's catch-up. */
  const leaveForNextProcess = (
    route: Pick<FetchRoute, 'activityId' | 'roomId' | 'roomType'>,
    kind: InboundKindLabel,
    receivedAt: number,
  ) => {
    rooms.touch(route.roomId, route.roomType, receivedAt, { durable: true });
    count(kind, 'deferred');
    log.info(
      { activityId: route.activityId, roomId: route.roomId, kind },
      'stopping: event left for the next process',
    );
  };

  const onActivity = (command: InboundActivityCommand) => {
    let route: ActivityRoute;
    try {
      route = routeActivity(command.activity, {
        self: command.self,
        catalog: { hostClusters: command.hostClusters },
      });
    } catch (error) {
      count('activity', 'malformed');
      log.warn({ err: messageOf(error) }, 'could not read an activity; ignored');
      return;
    }
    if (route.action === 'drop') {
      if (route.outcome === 'own' && deps.onOwnPost) {
        const own = ownPostOf(command.activity, {
          self: command.self,
          catalog: { hostClusters: command.hostClusters },
        });
        if (own) deps.onOwnPost({ ...own, seenAt: command.receivedAt });
      }
      count('activity', route.outcome);
      const line = { activityId: route.activityId, outcome: route.outcome, detail: route.detail };
      if (route.outcome === 'malformed') log.warn(line, 'ignored a malformed activity');
      else log.debug(line, 'activity not for the bot');
      return;
    }
    const kind = kindOf(route);
    if (held) {
      // Not claimed, not fetched; the socket left its frame unacked.
      leaveForNextProcess(route, kind, command.receivedAt);
      return;
    }
    if (!deps.dedupe.claim(route.activityId)) {
      count(kind, 'duplicate');
      log.debug({ activityId: route.activityId }, 'duplicate activity dropped');
      return;
    }

    fetching.set(route.activityId, { ...route, receivedAt: command.receivedAt });
    const resolution = slots
      .run(() => resolve(route, command.receivedAt))
      .catch((error: unknown): Resolution => ({ drop: 'failed', detail: messageOf(error), level: 'warn' }))
      .finally(() => fetching.delete(route.activityId));
    void deliverInOrder(route, kind, resolution);
  };

  const finish = async (route: FetchRoute | CatchUpRoute, kind: InboundKindLabel, result: Resolution) => {
    if (aborter.signal.aborted) return;
    if ('event' in result && held) {
      // Fetched after the stop began: the bot takes nothing new, so the next process gets it
      // (its frame was acked already; the catch-up finds the message, the claim is released).
      deps.dedupe.release(route.activityId);
      leaveForNextProcess(
        { activityId: route.activityId, roomId: result.event.roomId, roomType: result.event.roomType },
        result.event.kind,
        result.event.receivedAt,
      );
      return;
    }
    if ('event' in result) {
      count(result.event.kind, 'accepted');
      // The room becomes (or stays) a catch-up candidate from the time its event arrived.
      rooms.touch(result.event.roomId, result.event.roomType, result.event.receivedAt);
      log.debug({ activityId: route.activityId, kind: result.event.kind }, 'inbound event');
      await handOver(result.event);
      return;
    }
    count(kind, result.drop);
    const line = { activityId: route.activityId, kind, outcome: result.drop, detail: result.detail };
    if (result.drop === 'failed') {
      // Let a redelivery of this activity try again.
      deps.dedupe.release(route.activityId);
      log.warn(line, 'could not fetch an activity from Webex; dropped for now');
    } else {
      log[result.level](line, 'activity dropped');
    }
  };

  const resolve = async (route: FetchRoute, receivedAt: number): Promise<Resolution> => {
    switch (route.action) {
      case 'botAdded':
        return { event: botAddedEvent(route, receivedAt) };
      case 'fetchMessage': {
        try {
          const message = await withRetries(() =>
            deps.rest.get<HydraMessage>(`/messages/${encodeURIComponent(route.messageId)}`, {
              route: 'GET /messages/{id}',
              signal: aborter.signal,
            }),
          );
          return { event: messageEvent(route, message, receivedAt) };
        } catch (error) {
          if (error instanceof WebexApiError && (error.status === 404 || error.status === 403)) {
            // Bots read group messages only when mentioned: a 404 there is Webex hiding an
            // unmentioned post, not a fault. In a 1:1 it means the message was deleted meanwhile.
            return route.roomType === 'group'
              ? {
                  drop: 'ignored',
                  detail: 'group message not visible to the bot (no mention)',
                  level: 'debug',
                }
              : {
                  drop: 'ignored',
                  detail: `message gone before it was read (${error.status})`,
                  level: 'info',
                };
          }
          throw error;
        }
      }
      case 'fetchCardAction': {
        try {
          const action = await withRetries(() =>
            deps.rest.get<HydraAttachmentAction>(
              `/attachment/actions/${encodeURIComponent(route.actionId)}`,
              {
                route: 'GET /attachment/actions/{id}',
                signal: aborter.signal,
              },
            ),
          );
          const event = cardActionEvent(route, action, receivedAt);
          return event
            ? { event }
            : { drop: 'malformed', detail: 'attachment action without messageId', level: 'warn' };
        } catch (error) {
          if (error instanceof WebexApiError && error.status === 404) {
            return { drop: 'ignored', detail: 'card action not readable (404)', level: 'warn' };
          }
          throw error;
        }
      }
    }
  };

  const withRetries = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const waitMs = retryWaitMs(error, attempt, deps.retryAfterDefaultS ?? 10);
        if (waitMs === undefined || attempt >= maxAttempts || aborter.signal.aborted) throw error;
        await delay(deps.clock, waitMs, aborter.signal);
      }
    }
  };

  const requestCatchUp = (command: InboundCatchUpCommand) => {
    if (aborter.signal.aborted || held) return;
    if (catchUpRunning) {
      // Whatever was lost after the running catch-up listed a room is found by one more run.
      catchUpAgain = command;
      return;
    }
    catchUpRunning = true;
    void runCatchUp(command).finally(() => {
      catchUpRunning = false;
      const again = catchUpAgain;
      catchUpAgain = undefined;
      if (again) requestCatchUp(again);
    });
  };

  const runCatchUp = async (command: InboundCatchUpCommand) => {
    const startedAt = deps.clock.now();
    // What a previous process recorded (once per process; a store that fails costs only that).
    const stored = await rooms.load();
    if (command.reason === 'startup')
      log.info({ storedRooms: stored }, 'catch-up: rooms recorded by the previous process');
    const candidates = rooms.recent(catchUp.maxRooms);
    const skipped = Math.max(0, rooms.size - candidates.length);
    const totals = {
      rooms: candidates.length,
      listed: 0,
      recovered: 0,
      duplicate: 0,
      own: 0,
      failedRooms: 0,
    };
    for (const room of candidates) {
      if (aborter.signal.aborted || held) return;
      try {
        const found = await catchUpRoom(room, command);
        totals.listed += found.listed;
        totals.recovered += found.recovered;
        totals.duplicate += found.duplicate;
        totals.own += found.own;
      } catch (error) {
        if (aborter.signal.aborted) return;
        totals.failedRooms += 1;
        deps.metrics.catchUp('failed');
        if (error instanceof WebexApiError && (error.status === 403 || error.status === 404)) {
          // The bot left the room, or the room is gone: nothing to catch up there any more.
          rooms.forget(room.roomId);
          log.info({ roomId: room.roomId, status: error.status }, 'catch-up: room no longer readable');
        } else {
          log.warn({ roomId: room.roomId, err: messageOf(error) }, 'catch-up: could not list a room');
        }
      }
    }
    const line = {
      reason: command.reason,
      ...totals,
      skippedRooms: skipped,
      ms: deps.clock.now() - startedAt,
    };
    if (totals.recovered > 0) log.info(line, 'catch-up recovered messages the socket had not delivered');
    else log.info(line, 'catch-up found nothing missed');
  };

  const catchUpRoom = async (room: TrackedRoom, command: InboundCatchUpCommand) => {
    const found = await slots.run(() =>
      withRetries(() =>
        listMissedMessages(deps.rest, room, {
          since: room.lastEventAt - catchUp.skewMs,
          max: catchUp.maxMessagesPerRoom,
          signal: aborter.signal,
        }),
      ),
    );
    if (found.truncated) {
      log.warn(
        { roomId: room.roomId, listed: found.listed },
        'catch-up: more messages than one listing holds; older ones are not read',
      );
    }
    const result = { listed: found.listed, recovered: 0, duplicate: 0, own: 0 };
    const delivered: Array<Promise<void>> = [];
    const receivedAt = deps.clock.now();
    for (const message of found.messages) {
      const item = catchUpEvent(message, room, command.self, receivedAt);
      if ('skip' in item) {
        if (item.skip === 'own') {
          result.own += 1;
          deps.metrics.catchUp('own');
        } else {
          log.warn({ roomId: room.roomId }, 'catch-up: a listed message without a readable id; skipped');
        }
        continue;
      }
      // Same key as the socket's activity id: whichever path claims first handles the message.
      if (!deps.dedupe.claim(item.event.activityId)) {
        result.duplicate += 1;
        deps.metrics.catchUp('duplicate');
        continue;
      }
      result.recovered += 1;
      deps.metrics.catchUp('recovered');
      log.info(
        { activityId: item.event.activityId, roomId: room.roomId, reason: command.reason },
        'catch-up: message the socket had not delivered',
      );
      delivered.push(
        deliverInOrder(
          { activityId: item.event.activityId, roomId: item.event.roomId },
          'message',
          Promise.resolve({ event: item.event }),
        ),
      );
    }
    // The room counts as caught up once its recovered events are delivered (behind any socket
    // events of the room still being fetched).
    await Promise.allSettled(delivered);
    return result;
  };

  return () => {
    admitting.abort();
    aborter.abort(new Error('webex connection stopped'));
  };
}

/** What `finish` needs of a caught-up message (it has no socket route). */
interface CatchUpRoute {
  activityId: string;
  roomId: string;
}

/** At most `limit` tasks at once; the rest wait in arrival order. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  private readonly limit: number;

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** REST reads retry after 0.5 s, 1 s, … (the bot's one backoff policy, no jitter: few, spread reads). */
const READ_RETRY: BackoffOptions = { baseMs: 500, maxMs: 60_000, jitter: 0 };

/** How long to wait before another attempt (`attempt` counts from 1), or undefined when final. */
function retryWaitMs(error: unknown, attempt: number, retryAfterDefaultS: number): number | undefined {
  if (error instanceof WebexApiError) {
    if (error.status === 429) return retryAfterMs(error.retryAfterS, retryAfterDefaultS);
    if (error.status >= 500) return backoffMs(attempt - 1, READ_RETRY, Math.random);
    return undefined;
  }
  if (error instanceof TransportError) return backoffMs(attempt - 1, READ_RETRY, Math.random);
  return undefined;
}

function kindOf(route: FetchRoute): InboundKindLabel {
  if (route.action === 'fetchCardAction') return 'cardAction';
  if (route.action === 'botAdded') return 'botAdded';
  return 'message';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
