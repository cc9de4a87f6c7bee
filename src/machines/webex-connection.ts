/**
 * The Webex connection as a statechart: identity → catalog → device → socket → online, and the
 * way back to online after every kind of failure.
 *
 * The machine is pure: it names its effects (actors), its reports (logging/metrics actions) and its
 * delays, and `createWebexConnectionLogic` (src/actors/webex-connection.ts) provides the real ones.
 * Timers are named delays only (ping 15 s, pong 14 s, backoff 1 s → 32 s with jitter, 5-minute
 * slow retries), so tests drive them with a SimulatedClock.
 *
 * Readiness: the state carries the tag `online` exactly while the socket is authorized and has
 * seen `mercury.buffer_state`; `context.notReadyReason` says why it is not (see `readinessOf`).
 */
import {
  assign,
  emit,
  fromCallback,
  fromPromise,
  type SnapshotFrom,
  sendParent,
  sendTo,
  setup,
} from 'xstate';
import { WebexApiError } from '../errors.js';
import { backoffDelayMs, type CloseReaction, classifyClose, type SocketCloseInfo } from './close-policy.js';
import type { InboundEvent } from './inbound-event.js';
/** The bot as `GET /people/me` describes it. */
import type { BotIdentity, Readiness } from './types.js';
import type { BotSelf, RawActivity, ServiceCatalog, WdmDevice } from './webex-types.js';

export type { BotIdentity, Readiness };

/** Events the socket actor sends to the machine. */
export type SocketEvent =
  | { type: 'SOCKET.OPEN' }
  | { type: 'SOCKET.READY' }
  | { type: 'SOCKET.PONG' }
  | { type: 'SOCKET.ACTIVITY'; activity: RawActivity; receivedAt: number }
  | { type: 'SOCKET.GAP'; expected: number; received: number }
  | { type: 'SOCKET.SWITCHING' }
  | { type: 'SOCKET.SWITCHED' }
  | ({ type: 'SOCKET.CLOSED' } & SocketCloseInfo);

/** Commands the machine sends to the socket actor. */
export type SocketCommand =
  | { type: 'PING' }
  | { type: 'CLOSE'; code: number; reason: string }
  /** Shutting down: leave activity frames unacked, so Webex keeps them for the next process. */
  | { type: 'HOLD' };

/** What the socket actor is started with. */
export interface SocketInput {
  webSocketUrl: string;
  /** Start with activities held (a socket opened after `INBOUND.HOLD`). */
  holdActivities: boolean;
}

/** What the machine hands the inbound processor for each activity. */
export interface InboundActivityCommand {
  type: 'ACTIVITY';
  activity: RawActivity;
  receivedAt: number;
  self: BotSelf;
  hostClusters: Record<string, string>;
}

/**
 * Why events may have been lost, so REST is asked for what the socket did not bring: the first
 * connect of a process (what arrived while no process ran), a reconnect, a sequence gap.
 */
export type CatchUpReason = 'startup' | 'reconnect' | 'sequenceGap';

/** Asks the inbound processor to list recently active rooms' missed messages over REST. */
export interface InboundCatchUpCommand {
  type: 'CATCH_UP';
  reason: CatchUpReason;
  self: BotSelf;
}

/** Shutting down: events are no longer handed to the bot but left for the next process. */
export interface InboundHoldCommand {
  type: 'HOLD';
}

export type InboundCommand = InboundActivityCommand | InboundCatchUpCommand | InboundHoldCommand;

/** What the device refresher needs: the device to `PUT` and the WDM it belongs to. */
export interface RefreshDeviceInput {
  device: WdmDevice;
  wdmUrl: string;
}

/** Events the device refresher sends to the connection machine. */
export type DeviceRefreshEvent =
  | { type: 'DEVICE.REFRESHED'; device: WdmDevice }
  | { type: 'DEVICE.REFRESH_FAILED'; error: unknown }
  /** WDM answered 404: the registration is gone and a new device is needed. */
  | { type: 'DEVICE.GONE' };

export type WebexConnectionEvent =
  | SocketEvent
  | DeviceRefreshEvent
  | { type: 'INBOUND.EVENT'; event: InboundEvent }
  /** Another part of the bot got a REST 401: the token is revoked, so the connection is not ready either. */
  | { type: 'TOKEN.REJECTED' }
  /**
   * The process is stopping: from now on events are left for the next process (not acked by the
   * socket, their rooms recorded for its catch-up), never handed to the bot.
   */
  | { type: 'INBOUND.HOLD' }
  /** `deleteDevice`: also delete the WDM device (by default it is kept for the next process). */
  | { type: 'SHUTDOWN'; deleteDevice?: boolean };

export type WebexConnectionEmitted =
  | { type: 'inbound'; event: InboundEvent }
  | { type: 'sequenceGap'; expected: number; received: number };

export interface WebexConnectionContext {
  identity: BotIdentity | undefined;
  catalog: ServiceCatalog | undefined;
  device: WdmDevice | undefined;
  /** A device whose socket said "unknown registration": replaced, not reused, at the next device step. */
  staleDeviceUrl: string | undefined;
  /** Webex's close before readiness could not be read (1005): refresh the device before reconnecting. */
  refreshBeforeConnect: boolean;
  /** Consecutive failed attempts since the last time online; the backoff exponent. */
  attempt: number;
  /** Why the connection is not online; undefined while online. */
  notReadyReason: string | undefined;
  /** The last close reaction, for logs and health. */
  lastReaction: CloseReaction | undefined;
  reconnects: number;
  sequenceGaps: number;
  /** True once the connection has been online: later onlines are reconnects, which catch up. */
  wasOnline: boolean;
  /** REST catch-ups requested (at the first connect, after reconnects and sequence gaps). */
  catchUps: number;
  /** Events are left for the next process (`INBOUND.HOLD`). */
  inboundHeld: boolean;
  /** The SHUTDOWN asked for the device to be deleted. */
  deleteDeviceOnStop: boolean;
}

export interface EnsureDeviceInput {
  catalog: ServiceCatalog;
  avoid: string | undefined;
}

export interface ReleaseDeviceInput {
  catalog: ServiceCatalog | undefined;
  device: WdmDevice | undefined;
  /** False by default: the device is kept, so Webex redelivers to the next process what it buffers. */
  deleteDevice: boolean;
}

/** Named delays, in ms; `backoff` depends on `context.attempt`. */
export const CONNECTION_DELAYS = {
  pingInterval: 15_000,
  pongTimeout: 14_000,
  /** Authorization + `mercury.buffer_state` must arrive within this after the upgrade starts. */
  readyTimeout: 30_000,
  /** Our close handshake gets this long before the socket is dropped. */
  forceClose: 2_000,
  replacedRetry: 300_000,
  notReadyRetry: 300_000,
} as const;

/** The device refresher's delays, in ms. */
export const DEVICE_REFRESH_DELAYS = {
  /** `PUT {deviceUrl}` this long after coming online and after each refresh. */
  deviceRefresh: 12 * 3_600_000,
  /** After a refresh failed for another reason than 404 (network, 5xx, 429). */
  deviceRefreshRetry: 300_000,
} as const;

const errorStatus = (error: unknown): number | undefined =>
  error instanceof WebexApiError ? error.status : undefined;

/**
 * Keeps the WDM registration fresh while the socket is online, like the Webex SDK: a `PUT` every
 * `deviceRefresh`. A 404 means Webex dropped the device; the connection is told (`DEVICE.GONE`) and
 * registers a new one. Invoked by `connected.online`, so its timers run on the connection's clock.
 */
export const deviceRefreshMachine = setup({
  types: {
    context: {} as RefreshDeviceInput,
    input: {} as RefreshDeviceInput,
  },
  actors: {
    refreshDevice: fromPromise<WdmDevice, RefreshDeviceInput>(async () => notProvided('refreshDevice')),
  },
  delays: DEVICE_REFRESH_DELAYS,
  guards: {
    deviceGone: ({ event }) => errorStatus((event as unknown as { error?: unknown }).error) === 404,
  },
}).createMachine({
  id: 'deviceRefresh',
  context: ({ input }) => ({ device: input.device, wdmUrl: input.wdmUrl }),
  initial: 'waiting',
  states: {
    waiting: { after: { deviceRefresh: 'refreshing' } },
    refreshing: {
      invoke: {
        src: 'refreshDevice',
        input: ({ context }) => ({ device: context.device, wdmUrl: context.wdmUrl }),
        onDone: {
          target: 'waiting',
          actions: sendParent(({ event }) => ({ type: 'DEVICE.REFRESHED', device: event.output })),
        },
        onError: [
          { guard: 'deviceGone', target: 'gone', actions: sendParent({ type: 'DEVICE.GONE' }) },
          {
            target: 'retrying',
            actions: sendParent(({ event }) => ({ type: 'DEVICE.REFRESH_FAILED', error: event.error })),
          },
        ],
      },
    },
    retrying: { after: { deviceRefreshRetry: 'refreshing' } },
    gone: { type: 'final' },
  },
});

function notProvided(name: string): never {
  throw new Error(`webexConnection: actor '${name}' is not provided (use createWebexConnectionLogic)`);
}

const closeInfoOf = (event: WebexConnectionEvent): SocketCloseInfo | undefined =>
  event.type === 'SOCKET.CLOSED' ? event : undefined;

export const webexConnectionMachine = setup({
  types: {
    context: {} as WebexConnectionContext,
    events: {} as WebexConnectionEvent,
    emitted: {} as WebexConnectionEmitted,
    tags: {} as 'online',
  },
  actors: {
    fetchIdentity: fromPromise<BotIdentity>(async () => notProvided('fetchIdentity')),
    fetchCatalog: fromPromise<ServiceCatalog>(async () => notProvided('fetchCatalog')),
    ensureDevice: fromPromise<WdmDevice, EnsureDeviceInput>(async () => notProvided('ensureDevice')),
    releaseDevice: fromPromise<void, ReleaseDeviceInput>(async () => notProvided('releaseDevice')),
    refreshDevice: fromPromise<WdmDevice, RefreshDeviceInput>(async () => notProvided('refreshDevice')),
    mercurySocket: fromCallback<SocketCommand, SocketInput, SocketEvent>(() => notProvided('mercurySocket')),
    inboundProcessor: fromCallback<InboundCommand, void, WebexConnectionEvent>(() =>
      notProvided('inboundProcessor'),
    ),
    deviceRefresher: deviceRefreshMachine,
  },
  guards: {
    closeIs: ({ event }, params: { action: CloseReaction['action'] }) => {
      const info = closeInfoOf(event);
      return info !== undefined && classifyClose(info).action === params.action;
    },
    errorStatusIs: ({ event }, params: { status: number }) =>
      errorStatus((event as unknown as { error?: unknown }).error) === params.status,
    hasDevice: ({ context }) => context.device !== undefined,
    deviceNeedsRefresh: ({ context }) =>
      context.refreshBeforeConnect && context.device !== undefined && context.catalog !== undefined,
    hasCatalog: ({ context }) => context.catalog !== undefined,
    hasIdentity: ({ context }) => context.identity !== undefined,
    wasOnline: ({ context }) => context.wasOnline,
    canRouteActivities: ({ context }) =>
      context.identity !== undefined && context.catalog !== undefined && context.device !== undefined,
  },
  delays: {
    ...CONNECTION_DELAYS,
    // Production injects its random source through createWebexConnectionLogic.
    backoff: ({ context }) => backoffDelayMs(context.attempt, Math.random),
  },
  actions: {
    // ---- context (pure) ----
    noteClose: assign({
      lastReaction: ({ event }) => {
        const info = closeInfoOf(event);
        return info ? classifyClose(info) : undefined;
      },
    }),
    notePongTimeout: assign({
      lastReaction: { action: 'reconnect', reason: 'pong-timeout' } as CloseReaction,
    }),
    markDeviceStale: assign({
      staleDeviceUrl: ({ context }) => context.device?.url,
      device: undefined,
    }),
    markOnline: assign({ attempt: 0, notReadyReason: undefined, wasOnline: true }),
    markRefreshBeforeConnect: assign({ refreshBeforeConnect: true }),
    keepDeviceAfterRefresh: assign({
      device: ({ context, event }) => (event as { output?: WdmDevice }).output ?? context.device,
      refreshBeforeConnect: false,
    }),
    /** The device is gone (refresh 404): go register another; the old socket goes with `connected`. */
    markReregistering: assign({
      notReadyReason: 'reconnecting',
      reconnects: ({ context }) => context.reconnects + 1,
    }),
    keepRefreshedDevice: assign({
      device: ({ context, event }) => {
        if (event.type !== 'DEVICE.REFRESHED') return context.device;
        // The socket keeps its URL; a device that changed identity would be a WDM surprise.
        return context.device && event.device.url === context.device.url ? event.device : context.device;
      },
    }),
    markReconnecting: assign({
      notReadyReason: 'reconnecting',
      reconnects: ({ context }) => context.reconnects + 1,
    }),
    bumpAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    setNotReady: assign({ notReadyReason: (_, params: { reason: string }) => params.reason }),
    setNotReadyFromClose: assign({
      notReadyReason: ({ event }) => {
        const info = closeInfoOf(event);
        return info ? classifyClose(info).reason : 'closed';
      },
    }),
    countGap: assign({ sequenceGaps: ({ context }) => context.sequenceGaps + 1 }),
    forwardActivity: sendTo('inbound', ({ context, event }) => {
      const activity = event as Extract<WebexConnectionEvent, { type: 'SOCKET.ACTIVITY' }>;
      return {
        type: 'ACTIVITY',
        activity: activity.activity,
        receivedAt: activity.receivedAt,
        self: { userId: context.device!.userId, personId: context.identity!.personId },
        hostClusters: context.catalog!.hostClusters,
      } satisfies InboundCommand;
    }),
    deliverInbound: emit(({ event }) => ({
      type: 'inbound' as const,
      event: (event as Extract<WebexConnectionEvent, { type: 'INBOUND.EVENT' }>).event,
    })),
    /**
     * Online (the first connect of this process, or again after having been online) or a
     * sequence gap: what the socket did not bring is listed over REST by the inbound processor.
     */
    requestCatchUp: sendTo(
      'inbound',
      ({ context, event }) =>
        ({
          type: 'CATCH_UP',
          reason: event.type === 'SOCKET.GAP' ? 'sequenceGap' : context.wasOnline ? 'reconnect' : 'startup',
          self: { userId: context.device!.userId, personId: context.identity!.personId },
        }) satisfies InboundCatchUpCommand,
    ),
    markInboundHeld: assign({ inboundHeld: true }),
    holdInboundProcessor: sendTo('inbound', { type: 'HOLD' } satisfies InboundCommand),
    /** Only while `connected` (where the socket runs); a later socket starts held from its input. */
    holdSocket: sendTo('socket', { type: 'HOLD' } satisfies SocketCommand),
    countCatchUp: assign({ catchUps: ({ context }) => context.catchUps + 1 }),
    emitGap: emit(({ event }) => {
      const gap = event as Extract<WebexConnectionEvent, { type: 'SOCKET.GAP' }>;
      return { type: 'sequenceGap' as const, expected: gap.expected, received: gap.received };
    }),
    // ---- reports (logging + metrics), provided by createWebexConnectionLogic ----
    reportSetupFailed: (_, _params: { step: string }) => {},
    reportOnline: () => {},
    reportClosed: () => {},
    reportReadyTimeout: () => {},
    reportPongTimeout: () => {},
    reportForcedClose: () => {},
    reportNotReady: () => {},
    reportGap: () => {},
    reportSwitch: () => {},
    reportShutdown: () => {},
    reportDeviceRefreshed: () => {},
    reportDeviceRefreshFailed: () => {},
    reportDeviceGone: () => {},
    reportDeviceRefreshedBeforeConnect: () => {},
  },
}).createMachine({
  id: 'webexConnection',
  context: {
    identity: undefined,
    catalog: undefined,
    device: undefined,
    staleDeviceUrl: undefined,
    refreshBeforeConnect: false,
    attempt: 0,
    notReadyReason: 'starting',
    lastReaction: undefined,
    reconnects: 0,
    sequenceGaps: 0,
    wasOnline: false,
    catchUps: 0,
    inboundHeld: false,
    deleteDeviceOnStop: false,
  },
  // The inbound processor outlives sockets: an activity acked on one socket is still fetched and
  // delivered if that socket drops meanwhile.
  invoke: { id: 'inbound', systemId: 'intake', src: 'inboundProcessor' },
  on: {
    // Whatever arrives while shutting down is left for the next process too.
    SHUTDOWN: {
      target: '.shuttingDown',
      actions: [
        assign({ deleteDeviceOnStop: ({ event }) => event.deleteDevice === true }),
        'markInboundHeld',
        'holdInboundProcessor',
      ],
    },
    'INBOUND.HOLD': { actions: ['markInboundHeld', 'holdInboundProcessor'] },
    'TOKEN.REJECTED': {
      target: '.notReady',
      actions: [{ type: 'setNotReady', params: { reason: 'unauthorized' } }, 'reportNotReady'],
    },
    'SOCKET.ACTIVITY': { guard: 'canRouteActivities', actions: 'forwardActivity' },
    'SOCKET.GAP': [
      {
        guard: 'canRouteActivities',
        actions: ['countGap', 'reportGap', 'emitGap', 'countCatchUp', 'requestCatchUp'],
      },
      { actions: ['countGap', 'reportGap', 'emitGap'] },
    ],
    'INBOUND.EVENT': { actions: 'deliverInbound' },
  },
  initial: 'setup',
  states: {
    setup: {
      initial: 'identity',
      states: {
        identity: {
          invoke: {
            src: 'fetchIdentity',
            onDone: { target: 'catalog', actions: assign({ identity: ({ event }) => event.output }) },
            onError: [
              {
                guard: { type: 'errorStatusIs', params: { status: 401 } },
                target: '#webexConnection.notReady',
                actions: [
                  { type: 'setNotReady', params: { reason: 'unauthorized' } },
                  { type: 'reportSetupFailed', params: { step: 'identity' } },
                  'reportNotReady',
                ],
              },
              {
                target: '#webexConnection.backoff',
                actions: { type: 'reportSetupFailed', params: { step: 'identity' } },
              },
            ],
          },
        },
        catalog: {
          invoke: {
            src: 'fetchCatalog',
            onDone: { target: 'device', actions: assign({ catalog: ({ event }) => event.output }) },
            onError: [
              {
                guard: { type: 'errorStatusIs', params: { status: 401 } },
                target: '#webexConnection.notReady',
                actions: [
                  { type: 'setNotReady', params: { reason: 'unauthorized' } },
                  { type: 'reportSetupFailed', params: { step: 'catalog' } },
                  'reportNotReady',
                ],
              },
              {
                target: '#webexConnection.backoff',
                actions: { type: 'reportSetupFailed', params: { step: 'catalog' } },
              },
            ],
          },
        },
        device: {
          invoke: {
            src: 'ensureDevice',
            input: ({ context }) => ({ catalog: context.catalog!, avoid: context.staleDeviceUrl }),
            onDone: {
              target: '#webexConnection.connected',
              actions: assign({ device: ({ event }) => event.output, staleDeviceUrl: undefined }),
            },
            onError: [
              {
                guard: { type: 'errorStatusIs', params: { status: 401 } },
                target: '#webexConnection.notReady',
                actions: [
                  { type: 'setNotReady', params: { reason: 'unauthorized' } },
                  { type: 'reportSetupFailed', params: { step: 'device' } },
                  'reportNotReady',
                ],
              },
              {
                target: '#webexConnection.backoff',
                actions: { type: 'reportSetupFailed', params: { step: 'device' } },
              },
            ],
          },
        },
        // After a close before readiness that could not be read (1005), as the SDK does: `PUT` the
        // device and connect again; only a 404 means a new device (and what Webex buffered for
        // the old one is gone with it).
        refreshDevice: {
          invoke: {
            src: 'refreshDevice',
            input: ({ context }) => ({ device: context.device!, wdmUrl: context.catalog!.wdmUrl }),
            onDone: {
              target: '#webexConnection.connected',
              actions: ['keepDeviceAfterRefresh', 'reportDeviceRefreshedBeforeConnect'],
            },
            onError: [
              {
                guard: { type: 'errorStatusIs', params: { status: 404 } },
                target: 'device',
                actions: ['reportDeviceGone', 'markDeviceStale', assign({ refreshBeforeConnect: false })],
              },
              {
                guard: { type: 'errorStatusIs', params: { status: 401 } },
                target: '#webexConnection.notReady',
                actions: [
                  { type: 'setNotReady', params: { reason: 'unauthorized' } },
                  { type: 'reportSetupFailed', params: { step: 'refresh' } },
                  'reportNotReady',
                ],
              },
              {
                target: '#webexConnection.backoff',
                actions: { type: 'reportSetupFailed', params: { step: 'refresh' } },
              },
            ],
          },
        },
      },
    },

    connected: {
      invoke: {
        id: 'socket',
        src: 'mercurySocket',
        input: ({ context }) => ({
          webSocketUrl: context.device!.webSocketUrl,
          holdActivities: context.inboundHeld,
        }),
        onError: { target: 'backoff', actions: 'reportClosed' },
      },
      initial: 'connecting',
      on: {
        'SOCKET.CLOSED': [
          {
            guard: { type: 'closeIs', params: { action: 'reregister' } },
            target: 'backoff',
            actions: ['noteClose', 'reportClosed', 'markDeviceStale'],
          },
          {
            guard: { type: 'closeIs', params: { action: 'refresh' } },
            target: 'backoff',
            actions: ['noteClose', 'reportClosed', 'markRefreshBeforeConnect'],
          },
          {
            guard: { type: 'closeIs', params: { action: 'standDown' } },
            target: 'standingDown',
            actions: ['noteClose', 'reportClosed', 'setNotReadyFromClose', 'reportNotReady'],
          },
          {
            guard: { type: 'closeIs', params: { action: 'notReady' } },
            target: 'notReady',
            actions: ['noteClose', 'reportClosed', 'setNotReadyFromClose', 'reportNotReady'],
          },
          { target: 'backoff', actions: ['noteClose', 'reportClosed'] },
        ],
        'INBOUND.HOLD': { actions: ['markInboundHeld', 'holdInboundProcessor', 'holdSocket'] },
        'SOCKET.SWITCHING': { actions: 'reportSwitch' },
        'SOCKET.SWITCHED': { actions: 'reportSwitch' },
      },
      states: {
        connecting: {
          after: {
            readyTimeout: {
              target: '#webexConnection.backoff',
              actions: 'reportReadyTimeout',
            },
          },
          on: {
            // Online: what the socket may not bring is listed over REST — at the first connect
            // what arrived while no process ran, after a reconnect what was lost meanwhile.
            'SOCKET.READY': { target: 'online', actions: ['countCatchUp', 'requestCatchUp'] },
          },
        },
        online: {
          tags: ['online'],
          entry: ['markOnline', 'reportOnline'],
          invoke: {
            id: 'deviceRefresher',
            src: 'deviceRefresher',
            input: ({ context }) => ({ device: context.device!, wdmUrl: context.catalog!.wdmUrl }),
          },
          on: {
            'DEVICE.REFRESHED': { actions: ['keepRefreshedDevice', 'reportDeviceRefreshed'] },
            'DEVICE.REFRESH_FAILED': { actions: 'reportDeviceRefreshFailed' },
            // The socket of a deleted device gets no more events: leaving `connected` closes it.
            'DEVICE.GONE': {
              target: '#webexConnection.setup.device',
              actions: ['reportDeviceGone', 'markDeviceStale', 'markReregistering'],
            },
          },
          initial: 'awaitingPong',
          states: {
            // The first ping goes out right at readiness, then one per interval after each pong.
            awaitingPong: {
              entry: sendTo('socket', { type: 'PING' } satisfies SocketCommand),
              on: { 'SOCKET.PONG': 'idle' },
              after: {
                pongTimeout: {
                  target: '#webexConnection.connected.closing',
                  actions: ['notePongTimeout', 'reportPongTimeout'],
                },
              },
            },
            idle: {
              after: { pingInterval: 'awaitingPong' },
            },
          },
        },
        closing: {
          entry: sendTo('socket', {
            type: 'CLOSE',
            code: 1000,
            reason: 'Pong not received',
          } satisfies SocketCommand),
          after: {
            forceClose: { target: '#webexConnection.backoff', actions: 'reportForcedClose' },
          },
        },
      },
    },

    backoff: {
      entry: 'markReconnecting',
      exit: 'bumpAttempt',
      after: {
        backoff: [
          { guard: 'deviceNeedsRefresh', target: 'setup.refreshDevice' },
          { guard: 'hasDevice', target: 'connected' },
          { guard: 'hasCatalog', target: 'setup.device' },
          { guard: 'hasIdentity', target: 'setup.catalog' },
          { target: 'setup' },
        ],
      },
    },

    // Credentials or a deliberate close: no reconnect storm, one clear log line, a slow retry
    // from the very beginning (the token may have been fixed meanwhile).
    notReady: {
      after: { notReadyRetry: { target: 'setup', actions: assign({ identity: undefined }) } },
    },

    // Another process took this device over (close 4000 "Replaced"): step aside for a while.
    standingDown: {
      after: {
        replacedRetry: [{ guard: 'hasDevice', target: 'connected' }, { target: 'setup' }],
      },
    },

    shuttingDown: {
      entry: [{ type: 'setNotReady', params: { reason: 'stopping' } }, 'reportShutdown'],
      invoke: {
        src: 'releaseDevice',
        input: ({ context }) => ({
          catalog: context.catalog,
          device: context.device,
          deleteDevice: context.deleteDeviceOnStop,
        }),
        onDone: 'stopped',
        onError: 'stopped',
      },
      // A second SHUTDOWN (or a late 401) while the device is being released changes nothing.
      on: { SHUTDOWN: {}, 'TOKEN.REJECTED': {} },
    },

    stopped: {
      type: 'final',
      entry: { type: 'setNotReady', params: { reason: 'stopped' } },
    },
  },
});

export type WebexConnectionSnapshot = SnapshotFrom<typeof webexConnectionMachine>;

/** `/readyz`'s view of the connection. */
export function readinessOf(snapshot: WebexConnectionSnapshot): Readiness {
  if (snapshot.hasTag('online')) return { ready: true };
  return { ready: false, reason: snapshot.context.notReadyReason ?? 'connecting' };
}
