/**
 * The Webex connection with its real effects: `createWebexConnectionLogic(deps)` provides the
 * machine's actors (REST identity, U2C catalog, WDM device, Mercury socket, inbound processor),
 * its reports (pino lines + `ConnectionMetrics`) and its random backoff jitter.
 *
 * `startWebexConnection(options)` runs it as its own actor system with systemId `webex.connection`;
 * that is how the runtime runs it (it outlives the bot's drain: the socket stays up for the
 * answers still streaming, while new events are left for the next process).
 * The logic can also be spawned as a child of another actor (see docs/connection.md).
 */
import type { Dispatcher } from 'undici';
import type { ClientOptions } from 'ws';
import {
  type Actor,
  type ActorOptions,
  type AnyActorLogic,
  type AnyActorRef,
  createActor,
  fromCallback,
  fromPromise,
  waitFor,
} from 'xstate';
import type { ActiveRooms } from '../adapters/store/ports.js';
import { fetchCatalog, type ServiceCatalog } from '../adapters/webex/catalog.js';
import { type CatchUpSettings, catchUpSettings, RecentRooms } from '../adapters/webex/catch-up.js';
import { type ConnectionMetrics, noopConnectionMetrics } from '../adapters/webex/connection-metrics.js';
import { ActivityDedupe } from '../adapters/webex/dedupe.js';
import { type LiveInstances, type WdmDevice, WdmDevices } from '../adapters/webex/devices.js';
import { WebexRestClient } from '../adapters/webex/rest.js';
import { type Clock, delay, systemClock } from '../clock.js';
import { WebexApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BotEvent } from '../machines/bot.js';
import { backoffDelayMs, classifyClose, notReadyExplanation } from '../machines/close-policy.js';
import type { InboundEvent } from '../machines/inbound-event.js';
import {
  type BotIdentity,
  type CONNECTION_DELAYS,
  DEVICE_REFRESH_DELAYS,
  deviceRefreshMachine,
  type EnsureDeviceInput,
  type InboundCommand,
  type Readiness,
  type RefreshDeviceInput,
  type ReleaseDeviceInput,
  readinessOf,
  type SocketCommand,
  type SocketEvent,
  type SocketInput,
  type WebexConnectionEvent,
  webexConnectionMachine,
} from '../machines/webex-connection.js';
import type { Admission } from './intake/admission.js';
import { type InboundProcessorDeps, runInboundProcessor } from './intake/index.js';
import { runMercurySocket } from './webex-socket.js';

export interface WebexConnectionDeps {
  token: string;
  /** `WEBEX_API_BASE_URL`. */
  apiBaseUrl: string;
  /** `WEBEX_U2C_URL`. */
  u2cUrl: string;
  /** `WEBEX_WDM_URL`: overrides the catalog's WDM link. */
  wdmUrl?: string | undefined;
  /** This process's device name: `WEBEX_DEVICE_NAME`, or `WEBEX_DEVICE_NAME-INSTANCE_ID`. */
  deviceName: string;
  /** `WEBEX_DEVICE_NAME` when `deviceName` carries an instance suffix (tells other instances' devices apart). */
  deviceBaseName?: string;
  /** Other instances holding a lease now: only a dead instance's device may be pruned. */
  liveInstances?: () => Promise<LiveInstances>;
  /** `WEBEX_DEDUPE_TTL_S`. */
  dedupeTtlS: number;
  /** `WEBEX_RETRY_AFTER_DEFAULT_S`. */
  retryAfterDefaultS?: number;
  logger: Logger;
  metrics?: ConnectionMetrics;
  /** Time for the actors' own waits (REST retry pauses); the machine's timers use XState's clock. */
  clock?: Clock;
  /** Backoff jitter source, [0, 1). */
  random?: () => number;
  /** Share one REST client with the sender; built from the options above otherwise. */
  rest?: WebexRestClient;
  requestTimeoutMs?: number;
  dispatcher?: Dispatcher;
  webSocketOptions?: ClientOptions;
  /** `PUT {deviceUrl}` this often while online (12 h by default). */
  deviceRefreshMs?: number;
  /**
   * The socket's timers (ping, pong, ready, close). The connection runs on the bot system's clock;
   * a test that speeds that clock up keeps the socket's timers at wall-clock length through this.
   */
  socketDelays?: Partial<Record<keyof typeof CONNECTION_DELAYS, number>>;
  /** After a refresh that failed for another reason than 404 (5 minutes by default). */
  deviceRefreshRetryMs?: number;
  /** Bounds of the REST catch-up (first connect, reconnects, sequence gaps). */
  catchUp?: Partial<CatchUpSettings>;
  /**
   * The bot's decision on each normalised event; its result goes to the actor with systemId `bot`
   * in the same system. Without it the connection emits `inbound` events (its own tests).
   */
  admit?: Admission;
  /**
   * Where recently active rooms are kept across restarts (the store's `rooms`); without it the
   * catch-up at the first connect has no rooms to list.
   */
  activeRooms?: ActiveRooms;
  /** Told of each new post of the bot's own that the socket shows (`src/adapters/webex/own-post.ts`). */
  onOwnPost?: InboundProcessorDeps['onOwnPost'];
}

/** XState's scheduler clock (`SimulatedClock` in tests). */
export type XStateClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

const DEVICE_DELETE_TIMEOUT_MS = 5_000;
/** How long a stop waits for the rooms of events left for the next process to be written. */
const ROOMS_FLUSH_TIMEOUT_MS = 5_000;

/** The connection machine with every effect provided. */
export function createWebexConnectionLogic(deps: WebexConnectionDeps) {
  const log = deps.logger.child({ component: 'webex.connection' });
  const metrics = deps.metrics ?? noopConnectionMetrics;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const rest =
    deps.rest ??
    new WebexRestClient({
      token: deps.token,
      baseUrl: deps.apiBaseUrl,
      ...(deps.requestTimeoutMs ? { timeoutMs: deps.requestTimeoutMs } : {}),
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    });
  const dedupe = new ActivityDedupe({ ttlMs: deps.dedupeTtlS * 1000, clock });
  const catchUp = catchUpSettings(deps.dedupeTtlS * 1000, deps.catchUp);
  const activeRooms = deps.activeRooms;
  const rooms = new RecentRooms(
    catchUp,
    clock,
    activeRooms
      ? {
          store: activeRooms,
          onError: (error, operation) =>
            log.warn(
              { operation, err: messageOf(error) },
              operation === 'load'
                ? 'could not read the recently active rooms; the first catch-up covers only new ones'
                : 'could not record a recently active room; the next start may not catch up there',
            ),
        }
      : undefined,
  );
  const refreshDevice = fromPromise<WdmDevice, RefreshDeviceInput>(async ({ input, signal }) =>
    new WdmDevices(rest, input.wdmUrl).refresh(input.device.url, deps.deviceName, signal),
  );
  const deviceRefresher = deviceRefreshMachine.provide({
    actors: { refreshDevice },
    delays: {
      deviceRefresh: deps.deviceRefreshMs ?? DEVICE_REFRESH_DELAYS.deviceRefresh,
      deviceRefreshRetry: deps.deviceRefreshRetryMs ?? DEVICE_REFRESH_DELAYS.deviceRefreshRetry,
    },
  });

  return webexConnectionMachine.provide({
    actors: {
      fetchIdentity: fromPromise<BotIdentity>(async ({ signal }) => {
        const me = await rest.get<{ id?: string; emails?: string[]; displayName?: string }>('/people/me', {
          route: 'GET /people/me',
          signal,
        });
        if (!me?.id) throw new Error('GET /people/me answered without an id');
        const identity = { personId: me.id, email: me.emails?.[0] ?? '', displayName: me.displayName ?? '' };
        log.info({ email: identity.email, displayName: identity.displayName }, 'bot identity');
        return identity;
      }),
      fetchCatalog: fromPromise<ServiceCatalog>(async ({ signal }) => {
        const catalog = await fetchCatalog(rest, { u2cUrl: deps.u2cUrl, wdmOverride: deps.wdmUrl, signal });
        log.info(
          {
            wdm: catalog.wdmUrl,
            clusters: Object.keys(catalog.hostClusters).length,
            wdmOverride: Boolean(deps.wdmUrl),
          },
          'service catalog',
        );
        return catalog;
      }),
      ensureDevice: fromPromise<WdmDevice, EnsureDeviceInput>(async ({ input, signal }) => {
        const wdm = new WdmDevices(rest, input.catalog.wdmUrl);
        const result = await wdm.ensure(deps.deviceName, {
          ...(input.avoid ? { avoid: input.avoid } : {}),
          ...(deps.deviceBaseName ? { baseName: deps.deviceBaseName } : {}),
          ...(deps.liveInstances ? { liveInstances: deps.liveInstances } : {}),
          signal,
        });
        for (const failed of result.failedDeletes) {
          log.warn({ device: failed.url, err: messageOf(failed.error) }, 'could not delete an extra device');
        }
        if (result.pruned.length > 0) {
          log.warn(
            { pruned: result.pruned.length, otherInstances: result.prunedInstances },
            'WDM refused a new device (excessive device registrations): deleted the oldest devices of this token and registered again',
          );
        }
        log.info(
          {
            device: result.device.url,
            name: deps.deviceName,
            reused: result.reused,
            deletedExtras: result.deleted.length,
            replacedStale: Boolean(input.avoid),
          },
          result.reused ? 'reusing the bot device' : 'registered a new bot device',
        );
        return result.device;
      }),
      releaseDevice: fromPromise<void, ReleaseDeviceInput>(async ({ input }) => {
        // The rooms of events left for the next process are written before this one goes.
        const flushed = new AbortController();
        await Promise.race([
          rooms.flush(),
          delay(clock, ROOMS_FLUSH_TIMEOUT_MS, flushed.signal).then(
            () => log.warn('recording the active rooms did not finish in time'),
            () => {},
          ),
        ]);
        flushed.abort();
        if (!input.catalog || !input.device) return;
        if (!input.deleteDevice) {
          // Webex keeps what arrives for this device until the next process connects to it.
          log.info({ device: input.device.url }, 'keeping the bot device for the next process');
          return;
        }
        const signal = AbortSignal.timeout(DEVICE_DELETE_TIMEOUT_MS);
        try {
          await new WdmDevices(rest, input.catalog.wdmUrl).delete(input.device.url, signal);
          log.info({ device: input.device.url }, 'bot device deleted');
        } catch (error) {
          log.warn({ device: input.device.url, err: messageOf(error) }, 'could not delete the bot device');
        }
      }),
      mercurySocket: fromCallback<SocketCommand, SocketInput, SocketEvent>(({ input, sendBack, receive }) =>
        runMercurySocket(
          {
            token: deps.token,
            logger: log,
            metrics,
            clock,
            ...(deps.webSocketOptions ? { webSocketOptions: deps.webSocketOptions } : {}),
          },
          input,
          sendBack,
          receive,
        ),
      ),
      inboundProcessor: fromCallback<InboundCommand, void, WebexConnectionEvent>(
        ({ sendBack, receive, system }) =>
          runInboundProcessor(
            {
              ...(deps.admit
                ? {
                    admission: {
                      admit: deps.admit,
                      deliver: (event: BotEvent) =>
                        (system.get('bot') as AnyActorRef | undefined)?.send(event),
                    },
                  }
                : {}),
              rest,
              dedupe,
              logger: log,
              metrics,
              clock,
              catchUp,
              rooms,
              ...(deps.retryAfterDefaultS ? { retryAfterDefaultS: deps.retryAfterDefaultS } : {}),
              ...(deps.onOwnPost ? { onOwnPost: deps.onOwnPost } : {}),
            },
            sendBack,
            receive,
          ),
      ),
      deviceRefresher,
      refreshDevice,
    },
    delays: {
      ...deps.socketDelays,
      backoff: ({ context }) => backoffDelayMs(context.attempt, random),
    },
    actions: {
      reportSetupFailed: ({ event }, params: { step: string }) => {
        const error = (event as { error?: unknown }).error;
        const status = error instanceof WebexApiError ? error.status : undefined;
        log.warn({ step: params.step, status, err: messageOf(error) }, 'webex connection setup failed');
        if (status !== 401) metrics.reconnect('setup-failed');
      },
      reportOnline: ({ context }) => {
        log.info({ reconnects: context.reconnects }, 'webex connection online');
      },
      reportClosed: ({ event }) => {
        if (event.type !== 'SOCKET.CLOSED') {
          log.error({ err: messageOf((event as { error?: unknown }).error) }, 'mercury socket actor failed');
          metrics.reconnect('unexpected-close');
          return;
        }
        const reaction = classifyClose(event);
        const line = {
          phase: event.phase,
          code: event.code,
          reason: event.reason,
          httpStatus: event.httpStatus,
          byClient: event.byClient ?? false,
          reaction: reaction.action,
          label: reaction.reason,
        };
        if (reaction.action === 'reconnect') log.info(line, 'mercury socket closed; reconnecting');
        else if (reaction.action === 'reregister')
          log.warn(line, 'mercury registration is stale; registering a new device');
        else if (reaction.action === 'refresh')
          log.warn(
            line,
            "Webex's close before readiness could not be read; refreshing the device, then reconnecting",
          );
        else log.warn(line, 'mercury socket closed; not reconnecting now');
        metrics.reconnect(reaction.reason);
      },
      reportReadyTimeout: () => {
        log.warn('mercury socket did not become ready in time; reconnecting');
        metrics.reconnect('ready-timeout');
      },
      reportPongTimeout: () => {
        log.warn('no pong within the timeout; closing the socket');
      },
      reportForcedClose: () => {
        log.warn('the socket did not finish closing; dropping it');
        metrics.reconnect('pong-timeout');
      },
      reportNotReady: ({ context }) => {
        const reason = context.notReadyReason ?? 'unknown';
        log.error({ reason }, notReadyExplanation(reason));
      },
      reportGap: ({ event }) => {
        if (event.type !== 'SOCKET.GAP') return;
        const direction = event.received > event.expected ? 'forward' : 'backward';
        const missing = Math.max(0, event.received - event.expected);
        log.warn(
          { expected: event.expected, received: event.received, direction, missing },
          'mercury sequence gap: frames may have been lost',
        );
        // Skipped numbers for a forward gap; a backward one (numbers rewound) counts once.
        metrics.sequenceGap(direction === 'forward' ? missing : 1);
      },
      reportSwitch: ({ event }) => {
        log.info(
          { step: event.type === 'SOCKET.SWITCHED' ? 'switched' : 'switching' },
          'mercury socket switchover',
        );
      },
      reportShutdown: () => {
        log.info('webex connection shutting down');
      },
      reportDeviceRefreshed: ({ event }) => {
        if (event.type === 'DEVICE.REFRESHED') log.info({ device: event.device.url }, 'bot device refreshed');
      },
      reportDeviceRefreshFailed: ({ event }) => {
        if (event.type !== 'DEVICE.REFRESH_FAILED') return;
        const status = event.error instanceof WebexApiError ? event.error.status : undefined;
        log.warn({ status, err: messageOf(event.error) }, 'bot device refresh failed; trying again later');
      },
      reportDeviceRefreshedBeforeConnect: ({ context }) => {
        log.info({ device: context.device?.url }, 'bot device refreshed; reconnecting to it');
      },
      reportDeviceGone: ({ context }) => {
        log.warn(
          { device: context.device?.url },
          'the bot device is gone (refresh answered 404); registering a new device',
        );
        metrics.reconnect('stale-device');
      },
    },
  });
}

export type WebexConnectionLogic = ReturnType<typeof createWebexConnectionLogic>;

export interface StartWebexConnectionOptions extends WebexConnectionDeps {
  /** Receives every normalised inbound event. */
  onEvent?: (event: InboundEvent) => void;
  /** Receives sequence gaps (a REST catch-up may follow). */
  onSequenceGap?: (gap: { expected: number; received: number }) => void;
  /** XState clock for the machine's timers (a SimulatedClock in tests). */
  xstateClock?: XStateClock;
}

export interface WebexConnection {
  actor: Actor<WebexConnectionLogic>;
  readiness(): Readiness;
  /**
   * The process is stopping: events from now on are left for the next process (not acked, their
   * rooms recorded for its catch-up) instead of being handed to `onEvent`.
   */
  holdInbound(): void;
  /**
   * Leaves events for the next process, closes the socket, stops the actor. The device is kept
   * (Webex redelivers to it what arrives meanwhile) unless `deleteDevice`. Safe to call twice.
   */
  stop(options?: { timeoutMs?: number; deleteDevice?: boolean }): Promise<void>;
}

/** Runs the connection as its own actor system (systemId `webex.connection`). */
export function startWebexConnection(options: StartWebexConnectionOptions): WebexConnection {
  const logic = createWebexConnectionLogic(options);
  const actor = createActor(logic, {
    systemId: 'webex.connection',
    ...(options.xstateClock ? { clock: options.xstateClock } : {}),
  });
  actor.subscribe({
    error: (error) => options.logger.error({ err: messageOf(error) }, 'webex connection actor failed'),
  });
  if (options.onEvent) {
    const onEvent = options.onEvent;
    actor.on('inbound', ({ event }) => onEvent(event));
  }
  if (options.onSequenceGap) {
    const onGap = options.onSequenceGap;
    actor.on('sequenceGap', ({ expected, received }) => onGap({ expected, received }));
  }
  actor.start();
  let stopping: Promise<void> | undefined;
  return {
    actor,
    readiness: () => readinessOf(actor.getSnapshot()),
    holdInbound: () => {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'INBOUND.HOLD' });
    },
    stop: (stopOptions = {}) => {
      stopping ??= (async () => {
        if (actor.getSnapshot().status === 'active') {
          actor.send({ type: 'SHUTDOWN', deleteDevice: stopOptions.deleteDevice ?? false });
          try {
            await waitFor(actor, (snapshot) => snapshot.status !== 'active', {
              timeout: stopOptions.timeoutMs ?? 10_000,
            });
          } catch {
            options.logger.warn('webex connection did not stop in time; stopping it anyway');
          }
        }
        actor.stop();
      })();
      return stopping;
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
