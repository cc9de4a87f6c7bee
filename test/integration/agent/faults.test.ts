/**
 * The same wire faults on every backend (A2A v0.3, A2A v1.0, AG-UI, CAIPE ≥0.6), served raw on
 * loopback: CRLF framing, a cut before the terminal event, a clean close before it, trailing events
 * after it, a server that never closes, silence with pings only, a bad line mid-stream, an error
 * mid-stream, an event past the size cap (memory stays under the cap) and one dripping past the
 * time cap. A stream that ends without its terminal event is a cut on every backend.
 */
import { describe, expect, it } from 'vitest';
import { A2aAgentClient } from '../../../src/adapters/agent/a2a/client.js';
import { AguiAgentClient } from '../../../src/adapters/agent/agui/client.js';
import { CaipeAgentClient } from '../../../src/adapters/agent/caipe/client.js';
import type { AgentClient, TurnEvent } from '../../../src/adapters/agent/port.js';
import type { SseLimits, SseReaderOptions } from '../../../src/adapters/agent/sse.js';
import { finalText, reduceTurnEvents, type TurnState } from '../../../src/adapters/agent/turn-state.js';
import { AgentError } from '../../../src/errors.js';
import { ManualTimers } from '../../helpers/a2a/manual-timers.js';
import { type Eol, SseEmulator, type SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { collect } from '../../helpers/agent-events.js';
import { closeAfterEach } from '../../helpers/cleanup.js';

const track = closeAfterEach();
const IDLE_MS = 60_000;

interface ClientOptions {
  timers?: ManualTimers;
  limits?: SseLimits;
  onBuffered?(bytes: number): void;
}

interface Backend {
  name: string;
  client(url: string, options: ClientOptions): AgentClient & { close(): Promise<void> };
  /** Answers to the calls before the stream (CAIPE: the conversation). */
  before: Array<(x: SseExchange) => Promise<void>>;
  start(x: SseExchange): Promise<void>;
  text(x: SseExchange, text: string): Promise<void>;
  end(x: SseExchange): Promise<void>;
  errorMidStream(x: SseExchange): Promise<void>;
  /** What an error mid-stream becomes: a thrown error or a failed turn. */
  errorOutcome: 'throws jsonrpc' | 'failed';
}

const common = (
  options: ClientOptions,
): { idleTimeoutMs: number; closeGraceMs: number; clock?: ManualTimers; sse: SseReaderOptions } => ({
  idleTimeoutMs: IDLE_MS,
  closeGraceMs: 100,
  ...(options.timers ? { clock: options.timers } : {}),
  sse: {
    ...(options.limits ? { limits: options.limits } : {}),
    // The event time bound runs on wall time in the bot; the tests drive it by hand.
    ...(options.timers ? { timers: options.timers } : {}),
    ...(options.onBuffered ? { onBuffered: options.onBuffered } : {}),
  },
});

function a2a(version: '0.3' | '1.0'): Backend {
  const v1 = version === '1.0';
  const ids = { taskId: 't1', contextId: 'c1' };
  const artifact = (name: string, text: string, append: boolean) =>
    v1
      ? {
          artifactUpdate: {
            ...ids,
            artifact: { artifactId: name, name, parts: [{ text }] },
            ...(append ? { append } : {}),
          },
        }
      : {
          kind: 'artifact-update',
          ...ids,
          artifact: { artifactId: name, name, parts: [{ kind: 'text', text }] },
          append,
        };
  return {
    name: `A2A v${version}`,
    client: (url, options) => new A2aAgentClient({ url, version, ...common(options) }),
    before: [],
    start: (x) =>
      x.sendResult(
        v1
          ? { task: { id: 't1', contextId: 'c1', status: { state: 'TASK_STATE_WORKING' } } }
          : { kind: 'task', id: 't1', contextId: 'c1', status: { state: 'working' } },
      ),
    text: (x, text) => x.sendResult(artifact('streaming_result', text, true)),
    end: async (x) => {
      await x.sendResult(artifact('final_result', 'The answer.', false));
      await x.sendResult(
        v1
          ? { statusUpdate: { ...ids, status: { state: 'TASK_STATE_COMPLETED' } } }
          : { kind: 'status-update', ...ids, status: { state: 'completed' }, final: true },
      );
    },
    errorMidStream: (x) => x.sendError(-32603, 'supervisor exploded'),
    errorOutcome: 'throws jsonrpc',
  };
}

const agui: Backend = {
  name: 'AG-UI',
  client: (url, options) => new AguiAgentClient({ url, ...common(options) }),
  before: [],
  start: (x) =>
    x.sendData(
      JSON.stringify({ type: 'RUN_STARTED', threadId: x.request.json.threadId, runId: x.request.json.runId }),
    ),
  text: (x, text) =>
    x.sendData(JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: text })),
  end: async (x) => {
    await x.sendData(JSON.stringify({ type: 'TOOL_CALL_START', toolCallId: 'c', toolCallName: 'search' }));
    await x.sendData(JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm2', delta: 'The answer.' }));
    await x.sendData(
      JSON.stringify({
        type: 'RUN_FINISHED',
        threadId: x.request.json.threadId,
        runId: x.request.json.runId,
      }),
    );
  },
  errorMidStream: (x) => x.sendData(JSON.stringify({ type: 'RUN_ERROR', message: 'supervisor exploded' })),
  errorOutcome: 'failed',
};

function caipeFrame(x: SseExchange, type: string, fields: Record<string, unknown> = {}): Promise<void> {
  return x.write(
    `event: ${type}${x.eol}data: ${JSON.stringify({ type, timestamp: 1724200000.25, ...fields })}${x.eol}${x.eol}`,
  );
}

const caipe: Backend = {
  name: 'CAIPE ≥0.6',
  client: (url, options) =>
    new CaipeAgentClient({
      url,
      agentId: 'agent-1',
      auth: { getAuthHeader: async () => 'Bearer t' },
      ...common(options),
    }),
  before: [(x) => x.json(201, { success: true, data: { conversation: { _id: 'conv-1' }, created: true } })],
  start: (x) => caipeFrame(x, 'RUN_STARTED', { runId: 'run-1', threadId: 'conv-1' }),
  text: (x, text) => caipeFrame(x, 'TEXT_MESSAGE_CONTENT', { messageId: 'm1', delta: text }),
  end: async (x) => {
    await caipeFrame(x, 'TOOL_CALL_START', { toolCallId: 'c', toolCallName: 'search' });
    await caipeFrame(x, 'TOOL_CALL_END', { toolCallId: 'c' });
    await caipeFrame(x, 'TEXT_MESSAGE_CONTENT', { messageId: 'm2', delta: 'The answer.' });
    await caipeFrame(x, 'RUN_FINISHED', { runId: 'run-1', threadId: 'conv-1', outcome: 'success' });
  },
  errorMidStream: (x) => caipeFrame(x, 'RUN_ERROR', { message: 'supervisor exploded' }),
  errorOutcome: 'failed',
};

const backends = [a2a('0.3'), a2a('1.0'), agui, caipe];

async function outcome(iterable: AsyncIterable<TurnEvent>): Promise<TurnState | AgentError> {
  try {
    return reduceTurnEvents(await collect(iterable));
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
}

describe.each(backends)('$name on a faulty wire', (backend) => {
  async function serve(script: (x: SseExchange) => Promise<void>, eol: Eol = '\n') {
    const emulator = track(await SseEmulator.start({ eol }));
    emulator.enqueue(...backend.before, script);
    return emulator;
  }
  const ask = { text: 'question', userEmail: 'u@example.com' };

  it('reads CRLF framing with pings between events', async () => {
    const emulator = await serve(async (x) => {
      x.start();
      await x.ping();
      await backend.start(x);
      await x.ping();
      await backend.text(x, 'Looking…');
      await backend.end(x);
      await x.end();
    }, '\r\n');
    const state = (await outcome(track(backend.client(emulator.url, {})).streamTurn(ask))) as TurnState;
    expect(state.status).toBe('completed');
    expect(finalText(state)?.text).toBe('The answer.');
  });

  it('a cut before the terminal event is a stream cut', async () => {
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await backend.text(x, 'half');
      x.cut();
    });
    expect(await outcome(track(backend.client(emulator.url, {})).streamTurn(ask))).toMatchObject({
      kind: 'stream-cut',
    });
  });

  it('a clean close before the terminal event is a stream cut, never a success', async () => {
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await backend.text(x, 'half');
      await x.end();
    });
    expect(await outcome(track(backend.client(emulator.url, {})).streamTurn(ask))).toMatchObject({
      kind: 'stream-cut',
    });
  });

  it('ignores events after the terminal one', async () => {
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await backend.end(x);
      await backend.text(x, ' and a trailing word');
      await backend.errorMidStream(x);
      await x.end();
    });
    const state = (await outcome(track(backend.client(emulator.url, {})).streamTurn(ask))) as TurnState;
    expect(state.status).toBe('completed');
    expect(finalText(state)?.text).toBe('The answer.');
  });

  it('finishes after the close grace when the server never closes', async () => {
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await backend.end(x);
      await x.clientClosed();
    });
    const state = (await outcome(track(backend.client(emulator.url, {})).streamTurn(ask))) as TurnState;
    expect(state.status).toBe('completed');
    await emulator.exchanges.at(-1)!.clientClosed();
  });

  it('silence with pings only is an idle timeout: pings never re-arm it', async () => {
    const timers = new ManualTimers();
    let chunks = 0;
    let onChunk: (() => void) | undefined;
    let startPings!: () => void;
    const pingsMayStart = new Promise<void>((resolve) => {
      startPings = resolve;
    });
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await backend.text(x, 'thinking');
      await pingsMayStart;
      for (let i = 0; i < 3; i++) await x.ping();
      await x.clientClosed();
    });
    const iterator = track(
      backend.client(emulator.url, {
        timers,
        onBuffered: () => {
          chunks++;
          onChunk?.();
        },
      }),
    )
      .streamTurn(ask)
      [Symbol.asyncIterator]();
    for (;;) {
      const next = await iterator.next();
      if (next.done) throw new Error('ended early');
      if (next.value.type === 'text') break;
    }
    const armedAtText = timers.armed;
    const seen = chunks;
    startPings();
    // The reader pulls: asking for the next event reads the pings (and waits for more).
    const failed = iterator.next().then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise<void>((resolve) => {
      onChunk = () => chunks > seen && resolve();
      if (chunks > seen) resolve();
    });
    expect(timers.armed).toBe(armedAtText);
    expect(timers.fire(IDLE_MS)).toBe(1);
    expect(await failed).toMatchObject({ kind: 'idle-timeout' });
  });

  it('skips a bad line mid-stream and carries on', async () => {
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await x.sendData('{this is not json');
      await backend.end(x);
      await x.end();
    });
    const state = (await outcome(track(backend.client(emulator.url, {})).streamTurn(ask))) as TurnState;
    expect(state.status).toBe('completed');
  });

  it('an error mid-stream ends the turn with that error', async () => {
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await backend.text(x, 'half');
      await backend.errorMidStream(x);
      await x.end();
    });
    const result = await outcome(track(backend.client(emulator.url, {})).streamTurn(ask));
    if (backend.errorOutcome === 'failed')
      expect(result).toMatchObject({ status: 'failed', statusMessage: 'supervisor exploded' });
    else expect(result).toMatchObject({ kind: 'jsonrpc', status: -32603 });
  });

  it('an event past the size cap fails the turn, holding no more than the cap', async () => {
    const cap = 64 * 1024;
    const buffered: number[] = [];
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await x.write('data: {"endless":"');
      const chunk = 'x'.repeat(16 * 1024);
      // An endless event: the bot stops reading long before the server stops writing.
      for (let i = 0; i < 64; i++) await x.write(chunk).catch(() => undefined);
    });
    const result = await outcome(
      track(
        backend.client(emulator.url, {
          limits: { maxEventBytes: cap, maxEventMs: 10_000 },
          onBuffered: (n) => buffered.push(n),
        }),
      ).streamTurn(ask),
    );
    expect(result).toMatchObject({ kind: 'event-too-large' });
    expect(Math.max(...buffered)).toBeLessThanOrEqual(cap);
    expect(Math.max(...buffered)).toBeGreaterThan(cap / 2);
  });

  it('an event dripping past the time cap fails the turn', async () => {
    const timers = new ManualTimers();
    const emulator = await serve(async (x) => {
      await backend.start(x);
      await x.write('data: {"type":');
      await x.clientClosed();
    });
    const failed = outcome(
      track(
        backend.client(emulator.url, { timers, limits: { maxEventBytes: 1024, maxEventMs: 10_000 } }),
      ).streamTurn(ask),
    );
    await timers.whenPending(10_000);
    timers.fire(10_000);
    expect(await failed).toMatchObject({ kind: 'event-too-slow' });
  });
});
