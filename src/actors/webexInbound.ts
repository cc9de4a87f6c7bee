/**
 * The inbound processor: activity → (dedupe) → REST plaintext → `InboundEvent`, as a callback
 * actor that lives as long as the connection machine, so an activity acked on a socket that then
 * drops is still delivered.
 *
 * Fetches run concurrently (the socket never waits on them), but events of one room are delivered
 * in the order their activities arrived, so a conversation sees its messages in order even when a
 * later fetch finishes first.
 */

import type {
  ConnectionMetrics,
  InboundKindLabel,
  InboundOutcome,
} from '../adapters/webex/connectionMetrics.js';
import type { ActivityDedupe } from '../adapters/webex/dedupe.js';
import type { InboundEvent } from '../adapters/webex/inboundEvent.js';
import {
  type ActivityRoute,
  botAddedEvent,
  cardActionEvent,
  type HydraAttachmentAction,
  type HydraMessage,
  messageEvent,
  routeActivity,
} from '../adapters/webex/normalize.js';
import type { WebexRestClient } from '../adapters/webex/rest.js';
import { type Clock, delay } from '../clock.js';
import { TransportError, WebexApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InboundCommand, WebexConnectionEvent } from '../machines/webexConnection.js';

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
}

type Resolution =
  | { event: InboundEvent }
  | { drop: InboundOutcome; detail: string; level: 'debug' | 'info' | 'warn' };

type FetchRoute = Exclude<ActivityRoute, { action: 'drop' }>;

/** Longest wait honoured between two fetch attempts, whatever `Retry-After` says. */
const MAX_RETRY_WAIT_MS = 60_000;

export function runInboundProcessor(
  deps: InboundProcessorDeps,
  sendBack: (event: WebexConnectionEvent) => void,
  receive: (listener: (command: InboundCommand) => void) => void,
): () => void {
  const log = deps.logger.child({ component: 'inbound' });
  const aborter = new AbortController();
  const roomTails = new Map<string, Promise<void>>();
  const maxAttempts = deps.maxAttempts ?? 3;
  const slots = new Semaphore(deps.maxConcurrentFetches ?? 16);

  const count = (kind: InboundKindLabel, outcome: InboundOutcome) => deps.metrics.inbound(kind, outcome);

  receive((command) => {
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
      count('activity', route.outcome);
      const line = { activityId: route.activityId, outcome: route.outcome, detail: route.detail };
      if (route.outcome === 'malformed') log.warn(line, 'ignored a malformed activity');
      else log.debug(line, 'activity not for the bot');
      return;
    }
    const kind = kindOf(route);
    if (!deps.dedupe.claim(route.activityId)) {
      count(kind, 'duplicate');
      log.debug({ activityId: route.activityId }, 'duplicate activity dropped');
      return;
    }

    const resolution = slots
      .run(() => resolve(route, command.receivedAt))
      .catch((error: unknown): Resolution => ({ drop: 'failed', detail: messageOf(error), level: 'warn' }));
    const previous = roomTails.get(route.roomId) ?? Promise.resolve();
    const tail = previous.then(() => resolution).then((result) => finish(route, kind, result));
    roomTails.set(route.roomId, tail);
    void tail.finally(() => {
      if (roomTails.get(route.roomId) === tail) roomTails.delete(route.roomId);
    });
  });

  const finish = (route: FetchRoute, kind: InboundKindLabel, result: Resolution) => {
    if (aborter.signal.aborted) return;
    if ('event' in result) {
      count(result.event.kind, 'accepted');
      log.debug({ activityId: route.activityId, kind: result.event.kind }, 'inbound event');
      sendBack({ type: 'INBOUND.EVENT', event: result.event });
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

  return () => {
    aborter.abort(new Error('webex connection stopped'));
  };
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

/** How long to wait before another attempt, or undefined when the failure is final. */
function retryWaitMs(error: unknown, attempt: number, retryAfterDefaultS: number): number | undefined {
  if (error instanceof WebexApiError) {
    if (error.status === 429)
      return Math.min(MAX_RETRY_WAIT_MS, (error.retryAfterS ?? retryAfterDefaultS) * 1000);
    if (error.status >= 500) return Math.min(MAX_RETRY_WAIT_MS, 500 * 2 ** (attempt - 1));
    return undefined;
  }
  if (error instanceof TransportError) return Math.min(MAX_RETRY_WAIT_MS, 500 * 2 ** (attempt - 1));
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
