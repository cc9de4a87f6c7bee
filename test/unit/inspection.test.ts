/**
 * Live inspection's parts: the allow-list (what of an event may leave the process), the relay
 * (where it listens, who may connect, that it only ever sends) and the guard that keeps a failing
 * inspector from breaking the actor system. Whole conversations are covered in
 * `test/integration/inspection.test.ts`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { assign, createActor, fromCallback, fromPromise, type InspectionEvent, setup } from 'xstate';
import {
  allowedContext,
  machineOutline,
  startInspection,
  toInspectionRecord,
} from '../../src/inspection/index.js';
import { startInspectorRelay } from '../../src/inspection/relay.js';
import { silentLogger } from '../../src/logger.js';
import { captureLog } from '../helpers/capture.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';

const SECRET = {
  email: 'alice-canary@example.com',
  text: 'token=s3cr3t please deploy',
  output: 'agent-output-canary',
  callback: 'callback-input-canary',
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const track = closeAfterEach();

/** A machine with private context, an invoked promise (input and output) and a callback actor. */
const machine = setup({
  types: {
    context: {} as { key: string; personEmail?: string; text?: string; answer?: string },
    events: {} as { type: 'USER_MESSAGE'; personEmail: string; text: string },
  },
  actors: {
    ask: fromPromise(async ({ input }: { input: { text: string } }) => `${SECRET.output}: ${input.text}`),
    listen: fromCallback<{ type: 'noop' }, { secret: string }>(() => () => {}),
  },
}).createMachine({
  id: 'demo',
  context: { key: 'room/main' },
  initial: 'idle',
  invoke: { src: 'listen', input: { secret: SECRET.callback } },
  states: {
    idle: {
      on: {
        USER_MESSAGE: {
          target: 'answering',
          actions: assign(({ event }) => ({ personEmail: event.personEmail, text: event.text })),
        },
      },
    },
    answering: {
      invoke: {
        src: 'ask',
        input: ({ context }) => ({ text: context.text ?? '' }),
        onDone: { target: 'answered', actions: assign({ answer: ({ event }) => event.output }) },
      },
    },
    answered: {},
  },
});

function runMachine(inspect: (event: InspectionEvent) => void) {
  const actor = createActor(machine, { inspect }).start();
  const answered = new Promise<void>((resolve) =>
    actor.subscribe((s) => {
      if (s.value === 'answered') resolve();
    }),
  );
  actor.send({ type: 'USER_MESSAGE', personEmail: SECRET.email, text: SECRET.text });
  return { actor, answered };
}

function expectNothingPrivate(text: string) {
  for (const secret of Object.values(SECRET)) expect(text).not.toContain(secret);
  expect(text).not.toContain('s3cr3t');
}

describe('the allow-list', () => {
  it('keeps ids, event types and state values of every event kind; never input, output or context data', async () => {
    const records: unknown[] = [];
    const { actor, answered } = runMachine((event) => records.push(toInspectionRecord(event)));
    await answered;
    actor.stop();
    const text = JSON.stringify(records);
    expect(text).toContain('"eventType":"USER_MESSAGE"');
    expect(text).toContain('"value":"answering"');
    expect(text).toContain('"key":"room/main"');
    expectNothingPrivate(text);
  });

  it('reads no snapshot while an actor is being constructed (XState throws there)', () => {
    const seen: string[] = [];
    const { actor } = runMachine((event) => {
      const record = toInspectionRecord(event);
      if (record?.type === '@xstate.actor') seen.push(record.actorId);
    });
    actor.stop();
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it('context: only the named id keys (short strings) and queue counts', () => {
    expect(
      allowedContext({
        key: 'k',
        contextId: 'c',
        personEmail: 'a@b.c',
        queue: [{ text: 'hi' }],
        token: 't',
        taskId: { nested: 'not an id' },
        traceId: 'x'.repeat(500),
      }),
    ).toEqual({ key: 'k', contextId: 'c', queued: 1 });
    expect(allowedContext(undefined)).toBeUndefined();
    expect(allowedContext('text')).toBeUndefined();
  });

  it("a machine's outline: states, event names and targets; no actions, guards or context", () => {
    const outline = machineOutline({
      id: 'm',
      initial: 'a',
      context: { secret: SECRET.text },
      states: {
        a: { on: { GO: { target: 'b', actions: [{ type: 'x', params: { secret: SECRET.email } }] } } },
        b: { invoke: { src: 'ask', id: 'asking', input: { secret: SECRET.output } } },
      },
    });
    expect(outline).toEqual({
      id: 'm',
      initial: 'a',
      states: { a: { on: { GO: { target: ['b'] } } }, b: { invoke: [{ id: 'asking', src: 'ask' }] } },
    });
  });
});

describe('inspection modes', () => {
  it('jsonl: writes state values and event types, never emails, message text or agent output', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inspect-'));
    dirs.push(dataDir);
    const inspection = await startInspection({
      mode: 'jsonl',
      host: '127.0.0.1',
      port: 0,
      dataDir,
      log: silentLogger(),
    });
    const { actor, answered } = runMachine(inspection.inspect!);
    await answered;
    actor.stop();
    await inspection.close();

    const [file] = readdirSync(dataDir);
    const text = readFileSync(path.join(dataDir, file!), 'utf8');
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.some((r) => r.eventType === 'USER_MESSAGE')).toBe(true);
    expect(records.some((r) => r.value === 'answered')).toBe(true);
    expectNothingPrivate(text);
  });

  it('stately: listens on loopback by default; a viewer gets actors, events and states, nothing private', async () => {
    const inspection = track(
      await startInspection({
        mode: 'stately',
        host: '127.0.0.1',
        port: 0,
        dataDir: tmpdir(),
        log: silentLogger(),
      }),
    );
    expect(inspection.address?.host).toBe('127.0.0.1');
    const viewer = new WebSocket(`ws://127.0.0.1:${inspection.address!.port}`);
    track({ close: () => viewer.close() });
    await new Promise((resolve, reject) => viewer.once('open', resolve).once('error', reject));
    const received: string[] = [];
    const sawAnswered = deferred<void>();
    viewer.on('message', (data) => {
      received.push(String(data));
      if (String(data).includes('"answered"')) sawAnswered.resolve();
    });
    const { actor } = runMachine(inspection.inspect!);
    await sawAnswered.promise;
    actor.stop();
    const frames = received.map((r) => JSON.parse(r) as { type: string; definition?: string });
    expect(frames.some((f) => f.type === '@xstate.actor' && f.definition?.includes('"answering"'))).toBe(
      true,
    );
    expect(received.join('\n')).toContain('USER_MESSAGE');
    expectNothingPrivate(received.join('\n'));
  });

  it('stately: a viewer that connects late is told about the live actors and their states', async () => {
    const inspection = track(
      await startInspection({
        mode: 'stately',
        host: '127.0.0.1',
        port: 0,
        dataDir: tmpdir(),
        log: silentLogger(),
      }),
    );
    const { actor, answered } = runMachine(inspection.inspect!);
    await answered;
    const viewer = new WebSocket(`ws://127.0.0.1:${inspection.address!.port}`);
    track({ close: () => viewer.close() });
    const first = await new Promise<string>((resolve, reject) => {
      viewer.once('message', (data) => resolve(String(data)));
      viewer.once('error', reject);
    });
    actor.stop();
    expect(JSON.parse(first)).toMatchObject({ type: '@xstate.actor', snapshot: { value: 'answered' } });
  });

  it('an inspector that throws is switched off with one error line; the actors carry on', async () => {
    const log = captureLog();
    const { createLogger } = await import('../../src/logger.js');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inspect-'));
    dirs.push(dataDir);
    const inspection = await startInspection({
      mode: 'jsonl',
      host: '127.0.0.1',
      port: 0,
      dataDir,
      log: createLogger({ level: 'info', destination: log.destination }),
    });
    // A record that cannot be serialized stands for any bug in the inspector.
    const broken = (event: InspectionEvent) => {
      inspection.inspect!({ ...event, actorRef: { ...event.actorRef, sessionId: 1n } } as never);
    };
    const { actor, answered } = runMachine(broken);
    await answered;
    actor.stop();
    await inspection.close();
    const failures = log
      .text()
      .split('\n')
      .filter((line) => line.includes('live inspection failed'));
    expect(failures).toHaveLength(1);
  });

  it('false: no inspector at all', async () => {
    const inspection = await startInspection({
      mode: 'false',
      host: '127.0.0.1',
      port: 0,
      dataDir: tmpdir(),
      log: silentLogger(),
    });
    expect(inspection.inspect).toBeUndefined();
  });
});

describe('the relay', () => {
  it('refuses a browser from another origin; ignores what viewers send (no viewer can feed another)', async () => {
    const relay = track(await startInspectorRelay({ host: '127.0.0.1', port: 0, welcome: () => [] }));
    const url = `ws://127.0.0.1:${relay.port}`;
    const foreign = new WebSocket(url, { headers: { origin: 'http://evil.example' } });
    const refused = await new Promise<boolean>((resolve) => {
      foreign.once('open', () => resolve(false));
      foreign.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);

    const own = new WebSocket(url, { headers: { origin: `http://127.0.0.1:${relay.port}` } });
    const other = new WebSocket(url);
    track({ close: () => own.close() });
    track({ close: () => other.close() });
    await Promise.all(
      [own, other].map(
        (ws) => new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)),
      ),
    );
    const heardByOther: string[] = [];
    const relayed = deferred<void>();
    other.on('message', (data) => {
      heardByOther.push(String(data));
      if (String(data).includes('from-the-bot')) relayed.resolve();
    });
    own.send(JSON.stringify({ type: '@xstate.event', injected: true }));
    relay.publish(JSON.stringify({ type: 'from-the-bot' }));
    await relayed.promise;
    expect(heardByOther).toEqual([JSON.stringify({ type: 'from-the-bot' })]);
  });

  it('serves the bridge page only at /', async () => {
    const relay = track(await startInspectorRelay({ host: '127.0.0.1', port: 0, welcome: () => [] }));
    const page = await fetch(`http://127.0.0.1:${relay.port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('stately.ai/inspect');
    expect((await fetch(`http://127.0.0.1:${relay.port}/other`)).status).toBe(404);
  });
});
