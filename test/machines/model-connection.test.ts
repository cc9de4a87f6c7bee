/**
 * Model-based test of the Webex connection. The model below is what an operator (readiness, logs)
 * and Webex (sockets, devices, acks) observe — not the real machine, whose `invoke`s and `after`s
 * `createTestModel` refuses. Every shortest and every simple path of the model is run against the
 * real connection actor (real ws + undici) and the Webex simulator, with the machine's timers on a
 * SimulatedClock: backoffs and the 5-minute stand-downs are clock increments, never waits.
 *
 * In every state the test checks the real machine is in a state the mapping table ties to the model
 * state, and what Webex shows: sockets, devices, readiness, messages delivered exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { backoffDelayMs } from '../../src/machines/close-policy.js';
import { readinessOf, webexConnectionMachine } from '../../src/machines/webex-connection.js';
import type { SimMessage, SimPerson, SimRoom } from '../../src/simulator/webex/index.js';
import { activeLeafPaths, mappingProblems, modelPaths } from '../helpers/model/state-paths.js';
import {
  botRequests,
  type Harness,
  liveBotDevices,
  startHarness,
} from '../integration/connection/harness.js';

/** What is observed of the connection. */
const connectionModel = createMachine({
  id: 'connectionModel',
  initial: 'connecting',
  states: {
    connecting: { on: { ONLINE: 'online' } },
    online: {
      on: {
        DROP_TCP: 'dropped',
        CLOSE_1000_IDLE: 'dropped',
        CLOSE_1001: 'dropped',
        CLOSE_1011: 'dropped',
        PONGS_SWALLOWED: 'dropped',
        DEVICE_DELETED: 'staleDevice',
        CLOSE_4000_REPLACED: 'replaced',
        CLOSE_4401: 'fatal',
        SHUTDOWN_FRAME: 'switched',
        STOP: 'stopped',
      },
    },
    /** The socket is gone; the first retry is due in 1 s. */
    dropped: { on: { RETRY: 'reconnected', RETRY_NEVER_READY: 'backoff' } },
    /** A retry failed too (the socket never became ready): the next one waits longer. */
    backoff: { on: { RETRY: 'reconnected' } },
    /** The handshake said 404: the device is gone and will be replaced. */
    staleDevice: { on: { RETRY: 'reregistered' } },
    /** Another process took the device (4000): stand down for 5 minutes. */
    replaced: { on: { RETRY: 'reconnected' } },
    /** The token was refused (4401): not ready, one slow retry. */
    fatal: { on: { RETRY: 'reconnected' } },
    /** Online again on the same device; what Webex buffered meanwhile is delivered once. */
    reconnected: { on: { STOP: 'stopped' } },
    /** Online again on a freshly registered device. */
    reregistered: { on: { STOP: 'stopped' } },
    /** A shutdown frame moved the connection to a new socket without going offline. */
    switched: { on: { STOP: 'stopped' } },
    /** Shut down: socket closed, device kept for the next process. */
    stopped: { type: 'final' },
  },
});

type ModelState =
  | 'connecting'
  | 'online'
  | 'dropped'
  | 'backoff'
  | 'staleDevice'
  | 'reregistered'
  | 'replaced'
  | 'fatal'
  | 'reconnected'
  | 'switched'
  | 'stopped';

/** Every state of the real machine and the model states it can stand for. */
const REAL_TO_MODEL: Record<string, readonly ModelState[]> = {
  setup: ['connecting'],
  'setup.identity': ['connecting'],
  'setup.catalog': ['connecting'],
  'setup.device': ['connecting'],
  'setup.refreshDevice': ['connecting'],
  connected: ['connecting', 'online', 'reconnected', 'reregistered', 'switched'],
  'connected.connecting': ['connecting'],
  'connected.online': ['online', 'reconnected', 'reregistered', 'switched'],
  'connected.online.awaitingPong': ['online', 'reconnected', 'reregistered', 'switched'],
  'connected.online.idle': ['online', 'reconnected', 'reregistered', 'switched'],
  // Closing after a lost pong, on the way to a reconnect.
  'connected.closing': ['dropped'],
  backoff: ['dropped', 'backoff', 'staleDevice'],
  notReady: ['fatal'],
  standingDown: ['replaced'],
  shuttingDown: ['stopped'],
  stopped: ['stopped'],
};

/** One path's world: the harness plus what the users sent and where it must arrive. */
interface PathRun {
  h: Harness;
  ada: SimPerson;
  room: SimRoom;
  /** Messages that must reach the bot exactly once. */
  sent: SimMessage[];
  /** Posted while offline: must arrive at the next online state. */
  pending: SimMessage[];
  originalDevice: string;
}

let run: PathRun | undefined;

afterEach(async () => {
  await run?.h.close();
  run = undefined;
});

function current(): PathRun {
  if (!run) throw new Error('no path is running');
  return run;
}

function realStates(h: Harness): string[] {
  return activeLeafPaths(h.conn.actor.getSnapshot().value);
}

function expectRealStateIn(h: Harness, model: ModelState): void {
  const states = realStates(h);
  for (const state of states)
    expect(REAL_TO_MODEL[state], `real ${state} as model ${model}`).toContain(model);
}

/** Advances the machine clock past the delay the real machine is waiting on right now. */
function elapseRetry(h: Harness): void {
  const snapshot = h.conn.actor.getSnapshot();
  if (snapshot.matches('backoff')) h.clock.increment(backoffDelayMs(snapshot.context.attempt, () => 0));
  else if (snapshot.matches('standingDown') || snapshot.matches('notReady')) h.clock.increment(300_000);
  else throw new Error(`nothing to retry in ${JSON.stringify(snapshot.value)}`);
}

/** A user message while the bot is offline: Webex buffers it for the device. */
function postWhileDown(r: PathRun, text: string): void {
  const message = r.h.sim.post(r.ada, r.room, { text });
  r.sent.push(message);
  r.pending.push(message);
}

async function expectOnlineAndDelivering(r: PathRun): Promise<void> {
  const snapshot = await r.h.online();
  expect(readinessOf(snapshot)).toEqual({ ready: true });
  expect(r.h.sim.sockets().filter((s) => s.state === 'open')).toHaveLength(1);
  for (const message of r.pending.splice(0)) await r.h.nextEvent((e) => e.activityId === message.uuid);
  const probe = r.h.sim.post(r.ada, r.room, { text: `probe ${r.sent.length}` });
  r.sent.push(probe);
  await r.h.nextEvent((e) => e.activityId === probe.uuid);
  expect(liveBotDevices(r.h.sim)).toHaveLength(1);
}

async function closeAndAwait(r: PathRun, code: number, reason: string): Promise<void> {
  const [socket] = r.h.sim.sockets();
  r.h.sim.faults.close(code, reason);
  await r.h.sim.waitFor('socket', (s) => s.type === 'closed' && s.socketId === socket!.id);
}

async function dropBy(r: PathRun, fault: () => void): Promise<void> {
  fault();
  await r.h.until((s) => s.matches('backoff'));
}

const events = {
  ONLINE: async () => {
    await current().h.online();
  },
  DROP_TCP: async () => {
    const r = current();
    await dropBy(r, () => r.h.sim.faults.dropTcp());
  },
  CLOSE_1000_IDLE: async () => {
    const r = current();
    await closeAndAwait(r, 1000, 'idle');
    await r.h.until((s) => s.matches('backoff'));
  },
  CLOSE_1001: async () => {
    const r = current();
    await closeAndAwait(r, 1001, 'going away');
    await r.h.until((s) => s.matches('backoff'));
  },
  CLOSE_1011: async () => {
    const r = current();
    await closeAndAwait(r, 1011, 'unexpected error');
    await r.h.until((s) => s.matches('backoff'));
  },
  PONGS_SWALLOWED: async () => {
    const r = current();
    // The first ping goes out at readiness; once its pong is in, silence the pongs.
    await r.h.until((s) => s.matches({ connected: { online: 'idle' } }));
    r.h.sim.faults.swallowPongs(true);
    r.h.clock.increment(15_000);
    await r.h.until((s) => s.matches({ connected: { online: 'awaitingPong' } }));
    r.h.clock.increment(14_000);
    const closed = await r.h.sim.waitFor('socket', (s) => s.type === 'closed');
    expect(closed).toMatchObject({ code: 1000, reason: 'Pong not received', closedBy: 'client' });
    await r.h.until((s) => s.matches('backoff'));
    r.h.sim.faults.swallowPongs(false);
  },
  DEVICE_DELETED: async () => {
    const r = current();
    r.h.sim.faults.deleteDevice(r.originalDevice);
    await dropBy(r, () => r.h.sim.faults.dropTcp());
    // The first retry meets the 404 and marks the device stale.
    elapseRetry(r.h);
    await r.h.sim.waitFor('socket', (s) => s.type === 'rejected' && s.code === 404);
    await r.h.until((s) => s.matches('backoff') && s.context.staleDeviceUrl !== undefined);
  },
  CLOSE_4000_REPLACED: async () => {
    const r = current();
    await closeAndAwait(r, 4000, 'Replaced');
    await r.h.until((s) => s.matches('standingDown'));
  },
  CLOSE_4401: async () => {
    const r = current();
    await closeAndAwait(r, 4401, 'authentication failed');
    await r.h.until((s) => s.matches('notReady'));
  },
  SHUTDOWN_FRAME: async () => {
    const r = current();
    const [old] = r.h.sim.sockets();
    r.h.sim.faults.shutdown();
    await r.h.sim.waitFor('socket', (s) => s.type === 'closed' && s.socketId === old!.id && s.code === 4001);
  },
  RETRY: async () => {
    elapseRetry(current().h);
  },
  RETRY_NEVER_READY: async () => {
    const r = current();
    r.h.sim.faults.withholdBufferState(true);
    const authorizedBefore = r.h.sim.log.socketEvents.filter((s) => s.type === 'authorized').length;
    elapseRetry(r.h);
    await r.h.sim.waitFor(
      'socket',
      (s) =>
        s.type === 'authorized' &&
        r.h.sim.log.socketEvents.filter((x) => x.type === 'authorized').length > authorizedBefore,
    );
    await r.h.until((s) => s.matches({ connected: 'connecting' }));
    r.h.clock.increment(30_000);
    await r.h.until((s) => s.matches('backoff') && s.context.attempt === 1);
    r.h.sim.faults.withholdBufferState(false);
  },
  STOP: async () => {
    await current().h.conn.stop({ timeoutMs: 5_000 });
  },
};

const states: Record<ModelState, () => Promise<void>> = {
  connecting: async () => {
    const r = current();
    expectRealStateIn(r.h, 'connecting');
    expect(readinessOf(r.h.conn.actor.getSnapshot()).ready).toBe(false);
  },
  online: async () => {
    const r = current();
    await expectOnlineAndDelivering(r);
    expectRealStateIn(r.h, 'online');
    expect(deviceUuidOf(r)).toBe(r.originalDevice);
  },
  reconnected: async () => {
    const r = current();
    await expectOnlineAndDelivering(r);
    expectRealStateIn(r.h, 'reconnected');
    expect(deviceUuidOf(r)).toBe(r.originalDevice);
    expect(botRequests(r.h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(1);
    expect(r.h.metrics.reconnects.length).toBeGreaterThan(0);
  },
  dropped: async () => {
    const r = current();
    expectRealStateIn(r.h, 'dropped');
    expect(readinessOf(r.h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'reconnecting' });
    expect(r.h.sim.sockets().filter((s) => s.state === 'open')).toHaveLength(0);
    postWhileDown(r, `while dropped ${r.sent.length}`);
  },
  backoff: async () => {
    const r = current();
    expectRealStateIn(r.h, 'backoff');
    expect(r.h.conn.actor.getSnapshot().context.attempt).toBe(1);
    expect(readinessOf(r.h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'reconnecting' });
    postWhileDown(r, `while backing off ${r.sent.length}`);
  },
  staleDevice: async () => {
    const r = current();
    expectRealStateIn(r.h, 'staleDevice');
    expect(r.h.conn.actor.getSnapshot().context.device).toBeUndefined();
    expect(liveBotDevices(r.h.sim)).toHaveLength(0);
  },
  reregistered: async () => {
    const r = current();
    await expectOnlineAndDelivering(r);
    expectRealStateIn(r.h, 'reregistered');
    const [device] = liveBotDevices(r.h.sim);
    expect(device!.uuid).not.toBe(r.originalDevice);
    expect(botRequests(r.h.sim, 'POST', '/wdm/api/v1/devices')).toHaveLength(2);
  },
  replaced: async () => {
    const r = current();
    expectRealStateIn(r.h, 'replaced');
    expect(readinessOf(r.h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'replaced' });
    expect(r.h.log.text()).toContain('another process uses this bot token');
    // No reconnect storm while standing down.
    const connects = r.h.sim.log.socketEvents.filter((s) => s.type === 'connected').length;
    r.h.clock.increment(299_000);
    expect(r.h.sim.log.socketEvents.filter((s) => s.type === 'connected')).toHaveLength(connects);
    expect(r.h.conn.actor.getSnapshot().matches('standingDown')).toBe(true);
    postWhileDown(r, `while replaced ${r.sent.length}`);
  },
  fatal: async () => {
    const r = current();
    expectRealStateIn(r.h, 'fatal');
    expect(readinessOf(r.h.conn.actor.getSnapshot())).toEqual({ ready: false, reason: 'unauthorized' });
    expect(
      r.h.log.records().some((l) => l.level === 'error' && String(l.msg).includes('rejected the bot token')),
    ).toBe(true);
    postWhileDown(r, `while unauthorized ${r.sent.length}`);
  },
  switched: async () => {
    const r = current();
    await expectOnlineAndDelivering(r);
    expectRealStateIn(r.h, 'switched');
    expect(r.h.metrics.reconnects).toEqual([]);
    expect(r.h.sim.sockets()).toHaveLength(1);
  },
  stopped: async () => {
    const r = current();
    expectRealStateIn(r.h, 'stopped');
    expect(r.h.conn.actor.getSnapshot().status).toBe('done');
    // Kept for the next process (this used to pin "device deleted on stop").
    expect(liveBotDevices(r.h.sim)).toHaveLength(1);
    const last = r.h.sim.sockets().at(-1);
    await r.h.sim.waitFor('socket', (s) => s.type === 'closed' && s.socketId === last?.id);
    expect(r.h.sim.sockets().filter((s) => s.state === 'open')).toHaveLength(0);
  },
};

function deviceUuidOf(r: PathRun): string | undefined {
  return r.h.conn.actor.getSnapshot().context.device?.url.split('/').at(-1);
}

const { shortest, simple, paths } = modelPaths(connectionModel);
let ran = 0;

describe('connection model', () => {
  it('maps every state of the real connection machine to a model state', () => {
    expect(mappingProblems(webexConnectionMachine, connectionModel, REAL_TO_MODEL)).toEqual([]);
  });

  it('passes through every model state on its shortest paths', () => {
    const reached = new Set(shortest.flatMap((p) => p.steps.map((step) => String(step.state.value))));
    expect([...reached].sort()).toEqual(Object.keys(states).sort());
  });

  it('covers every transition of the model', () => {
    const covered = new Set(
      paths.flatMap(([, path]) =>
        path.steps.slice(1).map((step, i) => `${String(path.steps[i]!.state.value)}+${step.event.type}`),
      ),
    );
    const declared = Object.entries(connectionModel.root.states).flatMap(([key, node]) =>
      Object.keys(node.config.on ?? {}).map((type) => `${key}+${type}`),
    );
    expect(declared.filter((t) => !covered.has(t))).toEqual([]);
  });

  it.each(paths.map(([kind, path]) => [kind, path.description, path] as const))(
    '%s: %s',
    async (_kind, _description, path) => {
      const h = await startHarness();
      const ada = h.sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
      const room = h.sim.createDirectRoom(ada);
      run = { h, ada, room, sent: [], pending: [], originalDevice: '' };
      await path.test({
        events,
        states: Object.fromEntries(
          Object.entries(states).map(([key, check]) => [
            key,
            async () => {
              if (run && run.originalDevice === '' && key === 'online') {
                await run.h.online();
                run.originalDevice = deviceUuidOf(run) ?? '';
              }
              await check();
            },
          ]),
        ),
      });
      // Nothing lost, nothing twice: every message Webex delivered arrived once; those posted
      // while offline arrived after the reconnect (checked in the online states).
      for (const message of run.sent.filter((m) => !run!.pending.includes(m))) {
        expect(
          h.events.filter((e) => e.activityId === message.uuid),
          message.text ?? '',
        ).toHaveLength(1);
      }
      for (const message of run.pending) {
        expect(h.events.filter((e) => e.activityId === message.uuid).length).toBeLessThanOrEqual(1);
      }
      ran++;
    },
    20_000,
  );

  it('ran every generated path', () => {
    console.log(
      `connection model: ${shortest.length} shortest + ${simple.length} simple paths, ${ran} ran against the simulator`,
    );
    expect(ran).toBe(paths.length);
  });
});
