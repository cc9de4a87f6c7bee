/**
 * The A2A client against a raw CAIPE-shaped SSE endpoint on loopback: SSE framing details,
 * every `AgentError` kind, the idle timeout on an injected clock, abort, 401 retry, cancel and
 * resubscribe.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  A2aAgentClient,
  type A2aAgentClientOptions,
  type AgentAuth,
} from '../../../src/adapters/agent/a2a/client.js';
import type { TurnEvent } from '../../../src/adapters/agent/port.js';
import { finalText, reduceTurnEvents } from '../../../src/adapters/agent/turn-state.js';
import { AgentError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { ManualTimers } from '../../helpers/a2a/manual-timers.js';
import { SseEmulator, type SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { collect, failure } from '../../helpers/agent-events.js';
import { captureLog } from '../../helpers/capture.js';

const IDLE_MS = 7_000;
const GRACE_MS = 250;

const task = { kind: 'task', id: 't1', contextId: 'c1', status: { state: 'submitted' } };
const working = {
  kind: 'status-update',
  taskId: 't1',
  contextId: 'c1',
  status: { state: 'working' },
  final: false,
};
const completed = {
  kind: 'status-update',
  taskId: 't1',
  contextId: 'c1',
  status: { state: 'completed' },
  final: true,
  metadata: { trace_id: '0af7651916cd43dd8448eb211c80319c' },
};
const answer = {
  kind: 'artifact-update',
  taskId: 't1',
  contextId: 'c1',
  artifact: { artifactId: 'f1', name: 'final_result', parts: [{ kind: 'text', text: 'The answer.' }] },
  append: false,
  lastChunk: true,
};

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('A2A client on the wire', () => {
  let emulator: SseEmulator;
  let timers: ManualTimers;
  const clients: A2aAgentClient[] = [];

  function client(options: Partial<A2aAgentClientOptions> = {}): A2aAgentClient {
    const created = new A2aAgentClient({
      url: emulator.url,
      idleTimeoutMs: IDLE_MS,
      closeGraceMs: GRACE_MS,
      clock: timers,
      ...options,
    });
    clients.push(created);
    return created;
  }

  const turn = { text: 'hello', userEmail: 'user@example.com' };

  beforeEach(async () => {
    emulator = await SseEmulator.start({ eol: '\r\n' });
    timers = new ManualTimers();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await emulator.close();
    timers.clear();
  });

  describe('SSE framing', () => {
    it('reads LF streams, multi-line data, comments and events split mid-line', async () => {
      emulator.enqueue(async (x) => {
        await x.write(': ping - 2026-01-01 00:00:00\n\n');
        // One JSON-RPC response spread over three data lines (joined with newlines by SSE).
        const json = JSON.stringify({ jsonrpc: '2.0', id: x.rpcId, result: task });
        await x.write(`data: ${json.slice(0, 10)}\ndata: ${json.slice(10, 30)}\n`);
        await x.write(`data: ${json.slice(30)}\n\n`);
        await x.sendResult(answer, { eol: '\n', pieces: 7 });
        await x.sendResult(completed, { eol: '\n' });
        await x.end();
      });
      const state = reduceTurnEvents(await collect(client().streamTurn(turn)));
      expect(state).toMatchObject({ status: 'completed', contextId: 'c1', taskId: 't1' });
      expect(state.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(finalText(state)).toEqual({ text: 'The answer.', source: 'final_result' });
    });

    it('ends the turn on input-required with final:true and yields the form', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendResult({
          ...working,
          status: {
            state: 'working',
            message: { role: 'agent', parts: [{ kind: 'text', text: 'Need details' }] },
          },
        });
        await x.sendResult({
          kind: 'artifact-update',
          taskId: 't1',
          contextId: 'c1',
          artifact: {
            artifactId: 'u1',
            name: 'UserInputMetaData',
            parts: [
              {
                kind: 'data',
                data: {
                  user_input: true,
                  input_title: 'Ticket',
                  input_fields: [{ field_name: 'summary', field_type: 'text' }],
                },
              },
            ],
          },
          append: false,
          lastChunk: false,
        });
        await x.sendResult({
          kind: 'status-update',
          taskId: 't1',
          contextId: 'c1',
          status: {
            state: 'input-required',
            message: { role: 'agent', parts: [{ kind: 'text', text: 'Fill in' }] },
          },
          final: true,
        });
        await x.end();
      });
      const state = reduceTurnEvents(await collect(client().streamTurn(turn)));
      expect(state.status).toBe('input-required');
      expect(state.form?.title).toBe('Ticket');
      expect(state.form?.fields.map((f) => f.name)).toEqual(['summary']);
      expect(state.statusMessage).toBe('Fill in');
    });

    it('yields ids only when they change', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendResult(working);
        await x.sendResult(completed);
        await x.end();
      });
      const events = await collect(client().streamTurn(turn));
      expect(events.filter((e) => e.type === 'ids')).toEqual([
        { type: 'ids', contextId: 'c1', taskId: 't1' },
      ]);
    });

    it('treats a lone agent Message as a complete answer', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult({
          kind: 'message',
          role: 'agent',
          messageId: 'm1',
          contextId: 'c9',
          parts: [{ kind: 'text', text: 'Hi!' }],
        });
        await x.end();
      });
      const state = reduceTurnEvents(await collect(client().streamTurn(turn)));
      expect(state).toMatchObject({ status: 'completed', contextId: 'c9' });
      expect(finalText(state)).toEqual({ text: 'Hi!', source: 'message' });
    });

    it('keeps reading after a terminal state until the server closes or the grace period ends', async () => {
      let exchange: SseExchange | undefined;
      emulator.enqueue(async (x) => {
        exchange = x;
        await x.sendResult(task);
        await x.sendResult({ ...completed, final: false, metadata: undefined });
        await x.sendResult(completed);
        // ...and then the server never closes.
      });
      const stream = collect(client().streamTurn(turn));
      await timers.whenPending(GRACE_MS);
      expect(timers.fire(GRACE_MS)).toBe(1);
      const state = reduceTurnEvents(await stream);
      // The trace id of the second `completed` was not lost to an early stop.
      expect(state.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      await exchange!.clientClosed();
    });
  });

  describe('errors', () => {
    it('jsonrpc: an error object mid-stream carries its code', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendError(-32603, 'Internal error in supervisor');
        await x.end();
      });
      const error = await failure(client().streamTurn(turn));
      expect(error).toMatchObject({ kind: 'jsonrpc', status: -32603 });
      expect(error.message).toContain('Internal error in supervisor');
    });

    it('jsonrpc: a pre-stream error comes as a plain JSON body', async () => {
      emulator.enqueue((x) =>
        x.json(200, { jsonrpc: '2.0', id: x.rpcId, error: { code: -32001, message: 'Task not found: t0' } }),
      );
      const error = await failure(client().streamTurn({ ...turn, taskId: 't0', contextId: 'c1' }));
      expect(error).toMatchObject({ kind: 'jsonrpc', status: -32001 });
    });

    it('not-sse: a JSON result instead of an event stream', async () => {
      emulator.enqueue((x) => x.json(200, { jsonrpc: '2.0', id: x.rpcId, result: task }));
      const error = await failure(client().streamTurn(turn));
      expect(error.kind).toBe('not-sse');
      expect(error.message).toContain('application/json');
    });

    it('http: a 500 gives its status and a short, redacted body', async () => {
      emulator.enqueue((x) =>
        x.json(500, { detail: 'upstream exploded', authorization: 'Bearer leaked.token.value' }),
      );
      const error = await failure(client().streamTurn(turn));
      expect(error).toMatchObject({ kind: 'http', status: 500 });
      expect(error.message).toContain('upstream exploded');
      expect(error.message).not.toContain('leaked.token.value');
    });

    it('unreachable: nothing listens on the port', async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const error = await failure(client({ url: `http://127.0.0.1:${port}` }).streamTurn(turn));
      expect(error.kind).toBe('unreachable');
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('unreachable: the host name does not resolve', async () => {
      const error = await failure(client({ url: 'http://caipe-supervisor.invalid:8000' }).streamTurn(turn));
      expect(error.kind).toBe('unreachable');
    });

    it('stream-cut: the connection drops mid-event', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.write('data: {"jsonrpc":"2.0","id":1,"result":{"kind":"status-');
        x.cut();
      });
      expect((await failure(client().streamTurn(turn))).kind).toBe('stream-cut');
    });

    it('stream-cut: the server closes cleanly before the task ended', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendResult(working);
        await x.end();
      });
      expect((await failure(client().streamTurn(turn))).kind).toBe('stream-cut');
    });

    it('bad-event: malformed data is logged and skipped, fatal only when nothing valid follows', async () => {
      const log = captureLog();
      const logger = createLogger({ level: 'debug', destination: log.destination });
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendData('{not json');
        await x.sendData(JSON.stringify({ jsonrpc: '2.0', id: x.rpcId, result: { kind: 'mystery' } }));
        await x.sendResult(answer);
        await x.sendResult(completed);
        await x.end();
      });
      const state = reduceTurnEvents(await collect(client({ logger }).streamTurn(turn)));
      expect(finalText(state)?.text).toBe('The answer.');
      const skipped = log.records().filter((r) => r.event === 'agent.bad_event');
      expect(skipped.map((r) => r.reason)).toEqual([
        'not a JSON-RPC response',
        'unknown result kind "mystery"',
      ]);

      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendData('{"jsonrpc":"2.0","id":1,"result":{"kind":"status-update"');
        await x.end();
      });
      expect((await failure(client({ logger }).streamTurn(turn))).kind).toBe('bad-event');
    });

    it('idle-timeout: pings do not count as activity', async () => {
      let exchange: SseExchange | undefined;
      const gotWorking = deferred<void>();
      emulator.enqueue(async (x) => {
        exchange = x;
        await x.sendResult(task);
        for (let i = 0; i < 3; i++) await x.ping();
        await x.sendResult(working);
        await gotWorking.promise;
        for (let i = 0; i < 3; i++) await x.ping();
      });
      const iterator = client().streamTurn(turn)[Symbol.asyncIterator]();
      const seen: TurnEvent[] = [];
      while (!seen.some((e) => e.type === 'status' && e.state === 'working')) {
        const next = await iterator.next();
        if (next.done) throw new Error('stream ended early');
        seen.push(next.value);
      }
      // Armed once for the request, once per data event (task, working); never for the pings.
      expect(timers.armed).toBe(3);
      expect(timers.pendingDelays()).toEqual([IDLE_MS]);
      gotWorking.resolve();
      const failed = iterator.next().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(timers.fire(IDLE_MS)).toBe(1);
      const error = await failed;
      expect(error).toBeInstanceOf(AgentError);
      expect(error).toMatchObject({ kind: 'idle-timeout' });
      expect((error as Error).message).toContain('7 s');
      await exchange!.clientClosed();
    });

    it('idle-timeout: the server accepts the request but never answers', async () => {
      emulator.enqueue(() => new Promise<void>(() => {}));
      const stream = failure(client().streamTurn(turn));
      await timers.whenPending(IDLE_MS);
      timers.fire(IDLE_MS);
      expect((await stream).kind).toBe('idle-timeout');
    });
  });

  describe('abort', () => {
    it('aborting mid-stream rejects with the reason and closes the connection', async () => {
      const reachedWorking = deferred<SseExchange>();
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendResult(working);
        reachedWorking.resolve(x);
        await new Promise<void>(() => {});
      });
      const controller = new AbortController();
      const events: TurnEvent[] = [];
      const run = (async () => {
        for await (const event of client().streamTurn(turn, { signal: controller.signal })) {
          events.push(event);
          if (event.type === 'status' && event.state === 'working')
            controller.abort(new Error('user said cancel'));
        }
      })();
      await expect(run).rejects.toThrow('user said cancel');
      const exchange = await reachedWorking.promise;
      await exchange.clientClosed();
      expect(events.map((e) => e.type)).toEqual(['ids', 'status', 'status']);
    });

    it('a consumer that stops iterating closes the connection', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult(task);
        await x.sendResult(working);
        await new Promise<void>(() => {});
      });
      for await (const event of client().streamTurn(turn)) {
        if (event.type === 'status' && event.state === 'working') break;
      }
      await emulator.exchanges[0]!.clientClosed();
    });

    it('an already aborted signal sends nothing', async () => {
      const controller = new AbortController();
      controller.abort(new Error('too late'));
      await expect(collect(client().streamTurn(turn, { signal: controller.signal }))).rejects.toThrow(
        'too late',
      );
      expect(emulator.requests).toHaveLength(0);
    });
  });

  describe('auth', () => {
    function tokens(...values: string[]): AgentAuth & { refreshed: number } {
      let index = 0;
      const auth = {
        refreshed: 0,
        getAuthHeader: async () => `Bearer ${values[Math.min(index, values.length - 1)]}`,
        onUnauthorized: async () => {
          auth.refreshed++;
          index++;
        },
      };
      return auth;
    }

    it('sends the token, and on a 401 refreshes it and retries once', async () => {
      emulator.enqueue(
        (x) => x.json(401, { error: 'unauthorized', reason: 'expired' }),
        async (x) => {
          await x.sendResult(task);
          await x.sendResult(completed);
          await x.end();
        },
      );
      const auth = tokens('old-token-123', 'new-token-456');
      const state = reduceTurnEvents(await collect(client({ auth }).streamTurn(turn)));
      expect(state.status).toBe('completed');
      expect(auth.refreshed).toBe(1);
      expect(emulator.requests.map((r) => r.headers.authorization)).toEqual([
        'Bearer old-token-123',
        'Bearer new-token-456',
      ]);
      // The retry is the same JSON-RPC call.
      expect(emulator.requests[1]?.json.params).toEqual(emulator.requests[0]?.json.params);
    });

    it('a second 401 is an unauthorized error that never shows the token', async () => {
      emulator.enqueue(
        (x) => x.json(401, { error: 'unauthorized', reason: `bad token ${x.request.headers.authorization}` }),
        (x) => x.json(401, { error: 'unauthorized', reason: `bad token ${x.request.headers.authorization}` }),
      );
      const error = await failure(
        client({ auth: tokens('secret-aaa-111', 'secret-bbb-222') }).streamTurn(turn),
      );
      expect(error).toMatchObject({ kind: 'unauthorized', status: 401 });
      expect(emulator.requests).toHaveLength(2);
      expect(error.message).not.toMatch(/secret-(aaa|bbb)/);
    });

    it('a token source that fails is an unauthorized error and nothing is sent', async () => {
      const auth: AgentAuth = {
        getAuthHeader: async () => {
          throw new Error('token endpoint said 503');
        },
      };
      const error = await failure(client({ auth }).streamTurn(turn));
      expect(error.kind).toBe('unauthorized');
      expect(emulator.requests).toHaveLength(0);
    });

    it('without a token source a 401 is not retried', async () => {
      emulator.enqueue((x) => x.json(401, { error: 'unauthorized' }));
      expect((await failure(client().streamTurn(turn))).kind).toBe('unauthorized');
      expect(emulator.requests).toHaveLength(1);
      expect(emulator.requests[0]?.headers).not.toHaveProperty('authorization');
    });
  });

  describe('other methods', () => {
    it('cancel sends tasks/cancel for the task id', async () => {
      emulator.enqueue((x) =>
        x.json(200, { jsonrpc: '2.0', id: x.rpcId, result: { ...task, status: { state: 'canceled' } } }),
      );
      await client().cancel('t1');
      expect(emulator.requests[0]?.json).toMatchObject({
        jsonrpc: '2.0',
        method: 'tasks/cancel',
        params: { id: 't1' },
      });
      expect(emulator.requests[0]?.headers.accept).toBe('application/json');
    });

    it('cancel of a finished task is a jsonrpc error', async () => {
      emulator.enqueue((x) =>
        x.json(200, {
          jsonrpc: '2.0',
          id: x.rpcId,
          error: { code: -32002, message: 'Task cannot be canceled' },
        }),
      );
      await expect(client().cancel('t1')).rejects.toMatchObject({ kind: 'jsonrpc', status: -32002 });
    });

    it('resubscribe streams tasks/resubscribe events for the task', async () => {
      emulator.enqueue(async (x) => {
        await x.sendResult({ ...task, status: { state: 'working' } });
        await x.sendResult(answer);
        await x.sendResult(completed);
        await x.end();
      });
      const state = reduceTurnEvents(await collect(client().resubscribe('t1')));
      expect(finalText(state)?.text).toBe('The answer.');
      expect(emulator.requests[0]?.json).toMatchObject({ method: 'tasks/resubscribe', params: { id: 't1' } });
    });

    it('numbers JSON-RPC ids per client from 1 and strips a trailing slash from the URL', async () => {
      const ok = async (x: SseExchange) => {
        await x.sendResult(task);
        await x.sendResult(completed);
        await x.end();
      };
      emulator.enqueue(ok, ok);
      const c = client({ url: `${emulator.url}/` });
      await collect(c.streamTurn(turn));
      await collect(
        c.streamTurn({
          ...turn,
          contextId: 'c1',
          messageId: 'fixed-id',
          parts: [{ kind: 'data', data: { resume: {} } }],
        }),
      );
      expect(emulator.requests.map((r) => [r.url, r.json.id])).toEqual([
        ['/', 1],
        ['/', 2],
      ]);
      expect(emulator.requests[1]?.json.params.message).toMatchObject({
        messageId: 'fixed-id',
        contextId: 'c1',
        parts: [
          { kind: 'text', text: 'hello' },
          { kind: 'data', data: { resume: {} } },
        ],
      });
    });
  });
});
