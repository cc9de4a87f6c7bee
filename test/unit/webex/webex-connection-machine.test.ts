import { afterEach, describe, expect, it } from 'vitest';
import { type Actor, createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import type { ServiceCatalog } from '../../../src/adapters/webex/catalog.js';
import type { WdmDevice } from '../../../src/adapters/webex/devices.js';
import { WebexApiError } from '../../../src/errors.js';
import type { InboundEvent } from '../../../src/machines/inbound-event.js';
import {
  type BotIdentity,
  deviceRefreshMachine,
  type EnsureDeviceInput,
  type InboundCommand,
  type RefreshDeviceInput,
  type ReleaseDeviceInput,
  readinessOf,
  type SocketCommand,
  type SocketEvent,
  type WebexConnectionEvent,
  webexConnectionMachine,
} from '../../../src/machines/webex-connection.js';

const identity: BotIdentity = {
  personId: 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ib3Q',
  email: 'bot@webex.bot',
  displayName: 'CAIPE',
};
const catalog: ServiceCatalog = { wdmUrl: 'http://wdm', serviceLinks: {}, hostClusters: {} };
const device = (n: number): WdmDevice => ({
  url: `http://wdm/devices/${n}`,
  webSocketUrl: `ws://mercury/${n}`,
  userId: 'bot-uuid',
  name: 'caipe-webex-bot',
});

/** A fake world around the pure machine: every effect is recorded and driven by the test. */
function harness(options: { identityError?: unknown; refreshError?: () => unknown } = {}) {
  const clock = new SimulatedClock();
  const sockets: Array<{
    url: string;
    held: boolean;
    commands: SocketCommand[];
    send: (e: SocketEvent) => void;
    stopped: boolean;
  }> = [];
  const ensureCalls: EnsureDeviceInput[] = [];
  const inboundCommands: InboundCommand[] = [];
  let inboundSendBack: ((event: WebexConnectionEvent) => void) | undefined;
  const released: Array<WdmDevice | undefined> = [];
  const releaseInputs: ReleaseDeviceInput[] = [];
  let deviceCount = 0;
  const reports: string[] = [];
  const refreshCalls: RefreshDeviceInput[] = [];

  const machine = webexConnectionMachine.provide({
    actors: {
      fetchIdentity: fromPromise<BotIdentity>(async () => {
        if (options.identityError) throw options.identityError;
        return identity;
      }),
      fetchCatalog: fromPromise<ServiceCatalog>(async () => catalog),
      ensureDevice: fromPromise<WdmDevice, EnsureDeviceInput>(async ({ input }) => {
        ensureCalls.push(input);
        return device(++deviceCount);
      }),
      releaseDevice: fromPromise(async ({ input }) => {
        released.push((input as { device?: WdmDevice }).device);
        releaseInputs.push(input as ReleaseDeviceInput);
      }),
      mercurySocket: fromCallback<
        SocketCommand,
        { webSocketUrl: string; holdActivities: boolean },
        SocketEvent
      >(({ input, sendBack, receive }) => {
        const socket = {
          url: input.webSocketUrl,
          held: input.holdActivities,
          commands: [] as SocketCommand[],
          send: sendBack,
          stopped: false,
        };
        sockets.push(socket);
        receive((command) => socket.commands.push(command));
        return () => {
          socket.stopped = true;
        };
      }),
      inboundProcessor: fromCallback<InboundCommand, void, WebexConnectionEvent>(({ sendBack, receive }) => {
        inboundSendBack = sendBack;
        receive((command) => inboundCommands.push(command));
        return () => {};
      }),
      deviceRefresher: deviceRefreshMachine.provide({
        actors: {
          refreshDevice: fromPromise<WdmDevice, RefreshDeviceInput>(async ({ input }) => {
            refreshCalls.push(input);
            const error = options.refreshError?.();
            if (error) throw error;
            return input.device;
          }),
        },
      }),
    },
    delays: { backoff: ({ context }) => 1000 * 2 ** Math.min(context.attempt, 5) },
    actions: {
      reportClosed: () => void reports.push('closed'),
      reportNotReady: ({ context }) => void reports.push(`notReady:${context.notReadyReason}`),
      reportGap: () => void reports.push('gap'),
    },
  });
  const actor = createActor(machine, { clock });
  const emitted: InboundEvent[] = [];
  actor.on('inbound', ({ event }) => emitted.push(event));
  return {
    clock,
    actor,
    sockets,
    ensureCalls,
    inboundCommands,
    emitted,
    released,
    releaseInputs,
    reports,
    refreshCalls,
    lastSocket: () => sockets.at(-1)!,
    inbound: (event: WebexConnectionEvent) => inboundSendBack?.(event),
  };
}

/** Lets the fake promise actors settle (microtasks only, no wall-clock waiting). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

async function bringOnline(h: ReturnType<typeof harness>): Promise<void> {
  h.actor.start();
  await settle();
  h.lastSocket().send({ type: 'SOCKET.OPEN' });
  h.lastSocket().send({ type: 'SOCKET.READY' });
}

let running: Actor<typeof webexConnectionMachine> | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

describe('webexConnection machine', () => {
  it('goes identity → catalog → device → socket and is online only after buffer_state', async () => {
    const h = harness();
    running = h.actor;
    h.actor.start();
    await settle();
    expect(h.sockets).toHaveLength(1);
    expect(h.sockets[0]!.url).toBe('ws://mercury/1');
    expect(readinessOf(h.actor.getSnapshot())).toEqual({ ready: false, reason: 'starting' });
    h.lastSocket().send({ type: 'SOCKET.OPEN' });
    expect(h.actor.getSnapshot().hasTag('online')).toBe(false);
    h.lastSocket().send({ type: 'SOCKET.READY' });
    expect(readinessOf(h.actor.getSnapshot())).toEqual({ ready: true });
    // The first ping goes out at readiness.
    expect(h.lastSocket().commands).toEqual([{ type: 'PING' }]);
  });

  it('pings every 15 s after a pong and closes with "Pong not received" after 14 s of silence', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.PONG' });
    h.clock.increment(14_999);
    expect(h.lastSocket().commands).toHaveLength(1);
    h.clock.increment(1);
    expect(h.lastSocket().commands).toEqual([{ type: 'PING' }, { type: 'PING' }]);
    h.clock.increment(13_999);
    expect(h.actor.getSnapshot().hasTag('online')).toBe(true);
    h.clock.increment(1);
    expect(h.lastSocket().commands.at(-1)).toEqual({
      type: 'CLOSE',
      code: 1000,
      reason: 'Pong not received',
    });
    expect(h.actor.getSnapshot().hasTag('online')).toBe(false);
    // The socket reports our own close; the policy reconnects to the same device after backoff.
    h.lastSocket().send({
      type: 'SOCKET.CLOSED',
      phase: 'open',
      code: 1000,
      reason: 'Pong not received',
      byClient: true,
    });
    expect(h.actor.getSnapshot().value).toBe('backoff');
    h.clock.increment(1000);
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[1]!.url).toBe('ws://mercury/1');
    expect(h.ensureCalls).toHaveLength(1);
  });

  it('drops a socket that does not finish closing within 2 s and reconnects', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.clock.increment(14_000);
    h.clock.increment(2_000);
    expect(h.sockets[0]!.stopped).toBe(true);
    expect(h.actor.getSnapshot().value).toBe('backoff');
  });

  it('backs off 1 s, 2 s, 4 s … while connecting keeps failing, and resets once online', async () => {
    const h = harness();
    running = h.actor;
    h.actor.start();
    await settle();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'handshake' });
      const before = h.sockets.length;
      let waited = 0;
      while (h.sockets.length === before) {
        h.clock.increment(500);
        waited += 500;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    h.lastSocket().send({ type: 'SOCKET.READY' });
    expect(h.actor.getSnapshot().context.attempt).toBe(0);
  });

  it('re-registers the device after a handshake 404, avoiding the stale one', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 1006, reason: '' });
    h.clock.increment(1000);
    await settle();
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'handshake', httpStatus: 404 });
    h.clock.increment(2000);
    await settle();
    expect(h.ensureCalls).toEqual([
      { catalog, avoid: undefined },
      { catalog, avoid: 'http://wdm/devices/1' },
    ]);
    expect(h.lastSocket().url).toBe('ws://mercury/2');
  });

  it('re-registers after close 4404', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 4404, reason: 'not found' });
    h.clock.increment(1000);
    await settle();
    expect(h.ensureCalls.at(-1)?.avoid).toBe('http://wdm/devices/1');
  });

  it('stands down for 5 minutes on 4000 Replaced, then tries the same device again', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 4000, reason: 'Replaced' });
    expect(readinessOf(h.actor.getSnapshot())).toEqual({ ready: false, reason: 'replaced' });
    expect(h.reports).toContain('notReady:replaced');
    h.clock.increment(299_999);
    expect(h.sockets).toHaveLength(1);
    h.clock.increment(1);
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[1]!.url).toBe('ws://mercury/1');
  });

  it('reconnects on 4000 with any other reason', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 4000, reason: 'Something else' });
    expect(h.actor.getSnapshot().value).toBe('backoff');
  });

  it.each([
    [4401, 'unauthorized'],
    [4403, 'forbidden'],
    [4400, 'bad-request'],
  ])('is not ready after %i (%s) and does not reconnect before the slow retry', async (code, reason) => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code, reason: '' });
    expect(readinessOf(h.actor.getSnapshot())).toEqual({ ready: false, reason });
    h.clock.increment(299_000);
    expect(h.sockets).toHaveLength(1);
    h.clock.increment(1_000);
    await settle();
    // The slow retry starts over from the identity check.
    expect(h.sockets).toHaveLength(2);
  });

  it('is not ready with reason unauthorized when people/me answers 401', async () => {
    const h = harness({
      identityError: new WebexApiError({ status: 401, method: 'GET', route: 'GET /people/me' }),
    });
    running = h.actor;
    h.actor.start();
    await settle();
    expect(readinessOf(h.actor.getSnapshot())).toEqual({ ready: false, reason: 'unauthorized' });
    expect(h.actor.getSnapshot().value).toBe('notReady');
  });

  it('leaves online when another part of the bot reports a REST 401', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.actor.send({ type: 'TOKEN.REJECTED' });
    expect(readinessOf(h.actor.getSnapshot())).toEqual({ ready: false, reason: 'unauthorized' });
    expect(h.sockets[0]!.stopped).toBe(true);
    expect(h.reports).toContain('notReady:unauthorized');
  });

  it('retries setup with backoff on a transient failure', async () => {
    const h = harness({ identityError: new Error('socket hang up') });
    running = h.actor;
    h.actor.start();
    await settle();
    expect(h.actor.getSnapshot().value).toBe('backoff');
    expect(readinessOf(h.actor.getSnapshot()).reason).toBe('reconnecting');
  });

  it('forwards activities with the bot identity and emits what the processor returns', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.ACTIVITY', activity: { id: 'a1' }, receivedAt: 5 });
    await settle();
    expect(h.inboundCommands.filter((c) => c.type !== 'CATCH_UP')).toEqual([
      {
        type: 'ACTIVITY',
        activity: { id: 'a1' },
        receivedAt: 5,
        self: { userId: 'bot-uuid', personId: identity.personId },
        hostClusters: {},
      },
    ]);
    const event: InboundEvent = {
      kind: 'botAdded',
      activityId: 'a1',
      roomId: 'r',
      roomType: 'group',
      person: { id: 'p', email: 'e' },
      receivedAt: 5,
    };
    h.inbound({ type: 'INBOUND.EVENT', event });
    expect(h.emitted).toEqual([event]);
  });

  it('counts sequence gaps without leaving online', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.GAP', expected: 5, received: 8 });
    expect(h.actor.getSnapshot().context.sequenceGaps).toBe(1);
    expect(h.reports).toContain('gap');
    expect(h.actor.getSnapshot().hasTag('online')).toBe(true);
  });

  it('releases the device on SHUTDOWN, keeping it unless asked to delete it, and finishes', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.actor.send({ type: 'SHUTDOWN' });
    await settle();
    expect(h.sockets[0]!.stopped).toBe(true);
    expect(h.releaseInputs).toEqual([{ catalog, device: device(1), deleteDevice: false }]);
    // What still arrives while stopping is left for the next process.
    expect(h.inboundCommands).toContainEqual({ type: 'HOLD' });
    expect(h.actor.getSnapshot().status).toBe('done');

    const other = harness();
    running = other.actor;
    await bringOnline(other);
    other.actor.send({ type: 'SHUTDOWN', deleteDevice: true });
    await settle();
    expect(other.releaseInputs).toEqual([{ catalog, device: device(1), deleteDevice: true }]);
  });

  it('on INBOUND.HOLD tells the intake and the socket, and a later socket starts held', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    expect(h.lastSocket().held).toBe(false);
    h.actor.send({ type: 'INBOUND.HOLD' });
    expect(h.inboundCommands.at(-1)).toEqual({ type: 'HOLD' });
    expect(h.lastSocket().commands).toContainEqual({ type: 'HOLD' });
    expect(h.actor.getSnapshot().context.inboundHeld).toBe(true);
    // Still online: running answers may need the socket until the process stops.
    expect(h.actor.getSnapshot().hasTag('online')).toBe(true);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 1006, reason: '' });
    h.clock.increment(1_000);
    expect(h.sockets).toHaveLength(2);
    expect(h.lastSocket().held).toBe(true);
  });

  it('takes INBOUND.HOLD while not connected without a socket to tell', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 1006, reason: '' });
    expect(h.actor.getSnapshot().matches('backoff')).toBe(true);
    h.actor.send({ type: 'INBOUND.HOLD' });
    expect(h.inboundCommands.at(-1)).toEqual({ type: 'HOLD' });
    expect(h.actor.getSnapshot().status).toBe('active');
  });
});

/** Advances the clock in ping intervals, answering every ping, so the socket stays online. */
function keepOnline(h: ReturnType<typeof harness>, ms: number): void {
  for (let left = ms; left > 0; left -= 15_000) {
    const commands = h.lastSocket().commands;
    if (commands.at(-1)?.type === 'PING') h.lastSocket().send({ type: 'SOCKET.PONG' });
    h.clock.increment(Math.min(15_000, left));
  }
}

const twelveHours = 12 * 3_600_000;

describe('webexConnection machine: device refresh', () => {
  it('refreshes the device every 12 h while online', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    keepOnline(h, twelveHours - 15_000);
    h.lastSocket().send({ type: 'SOCKET.PONG' });
    h.clock.increment(14_999);
    await settle();
    expect(h.refreshCalls).toEqual([]);
    h.clock.increment(1);
    await settle();
    expect(h.refreshCalls).toEqual([{ device: device(1), wdmUrl: catalog.wdmUrl }]);
    expect(h.actor.getSnapshot().hasTag('online')).toBe(true);
    h.lastSocket().send({ type: 'SOCKET.PONG' });
    keepOnline(h, twelveHours);
    await settle();
    expect(h.refreshCalls).toHaveLength(2);
    expect(h.sockets).toHaveLength(1);
  });

  it('registers a new device when the refresh answers 404, and catches up once online again', async () => {
    const h = harness({
      refreshError: () => new WebexApiError({ status: 404, method: 'PUT', route: 'PUT /wdm/devices/{id}' }),
    });
    running = h.actor;
    await bringOnline(h);
    keepOnline(h, twelveHours);
    await settle();
    expect(h.refreshCalls).toHaveLength(1);
    // The old socket is closed with `connected`; the stale device is replaced, not reused.
    expect(h.sockets[0]!.stopped).toBe(true);
    expect(h.ensureCalls.at(-1)).toEqual({ catalog, avoid: 'http://wdm/devices/1' });
    expect(readinessOf(h.actor.getSnapshot())).toEqual({ ready: false, reason: 'reconnecting' });
    expect(h.lastSocket().url).toBe('ws://mercury/2');
    h.lastSocket().send({ type: 'SOCKET.READY' });
    expect(h.actor.getSnapshot().hasTag('online')).toBe(true);
    expect(h.inboundCommands.filter((c) => c.type === 'CATCH_UP')).toEqual([
      { type: 'CATCH_UP', reason: 'startup', self: { userId: 'bot-uuid', personId: identity.personId } },
      { type: 'CATCH_UP', reason: 'reconnect', self: { userId: 'bot-uuid', personId: identity.personId } },
    ]);
  });

  it('tries a failed refresh again after 5 minutes without leaving online', async () => {
    let failures = 1;
    const h = harness({
      refreshError: () =>
        failures-- > 0
          ? new WebexApiError({ status: 503, method: 'PUT', route: 'PUT /wdm/devices/{id}' })
          : undefined,
    });
    running = h.actor;
    await bringOnline(h);
    keepOnline(h, twelveHours);
    await settle();
    expect(h.refreshCalls).toHaveLength(1);
    expect(h.actor.getSnapshot().hasTag('online')).toBe(true);
    keepOnline(h, 300_000);
    await settle();
    expect(h.refreshCalls).toHaveLength(2);
    expect(h.ensureCalls).toHaveLength(1);
  });

  it('does not refresh while offline: the timer starts again when online', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    keepOnline(h, twelveHours / 2);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 1006, reason: '' });
    h.clock.increment(1_000);
    h.lastSocket().send({ type: 'SOCKET.READY' });
    keepOnline(h, twelveHours / 2 + 15_000);
    await settle();
    expect(h.refreshCalls).toEqual([]);
  });
});

describe('webexConnection machine: catch-up requests', () => {
  const self = { userId: 'bot-uuid', personId: identity.personId };
  const catchUps = (h: ReturnType<typeof harness>) => h.inboundCommands.filter((c) => c.type === 'CATCH_UP');

  // Reversed on purpose: the first connect used to ask for none. A new process must list what
  // arrived while no process ran.
  it('asks for one at the first connect, then one per reconnect', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    expect(catchUps(h)).toEqual([{ type: 'CATCH_UP', reason: 'startup', self }]);
    h.lastSocket().send({ type: 'SOCKET.CLOSED', phase: 'open', code: 1006, reason: '' });
    h.clock.increment(1_000);
    expect(catchUps(h)).toHaveLength(1);
    h.lastSocket().send({ type: 'SOCKET.READY' });
    expect(catchUps(h)).toEqual([
      { type: 'CATCH_UP', reason: 'startup', self },
      { type: 'CATCH_UP', reason: 'reconnect', self },
    ]);
    expect(h.actor.getSnapshot().context.catchUps).toBe(2);
  });

  it('asks for one on a sequence gap', async () => {
    const h = harness();
    running = h.actor;
    await bringOnline(h);
    h.lastSocket().send({ type: 'SOCKET.GAP', expected: 4, received: 6 });
    expect(catchUps(h).at(-1)).toEqual({ type: 'CATCH_UP', reason: 'sequenceGap', self });
    expect(catchUps(h)).toHaveLength(2);
  });
});
