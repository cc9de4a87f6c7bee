/**
 * A2A v0.3 and v1.0 through one client: the same scripted turns served by the official
 * `@a2a-js/sdk` server give identical turn events in both versions; the v1.0 wire (method names,
 * `A2A-Version`, `ROLE_*`, kind-less parts); `A2A_VERSION=auto` from the agent card; the
 * `by user:` first line; and recovery of a cut stream by resubscribe or get-task, in both versions.
 */
import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { A2aAgentClient, type A2aAgentClientOptions } from '../../../src/adapters/agent/a2a/client.js';
import type { TurnEvent } from '../../../src/adapters/agent/port.js';
import { finalText, reduceTurnEvents } from '../../../src/adapters/agent/turn-state.js';
import { AgentError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { type PeerScript, SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { SseEmulator, type SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { collect } from '../../helpers/agent-events.js';
import { captureLog } from '../../helpers/capture.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { deferred } from '../../helpers/deferred.js';

const track = closeAfterEach();

function client(options: A2aAgentClientOptions): A2aAgentClient {
  return track(new A2aAgentClient({ closeGraceMs: 200, ...options }));
}

/** Ids differ per run (the peer mints them); everything else must match exactly. */
function withoutIds(events: TurnEvent[]): unknown[] {
  return events.map((event) => (event.type === 'ids' ? { type: 'ids' } : event));
}

/** A CAIPE-like turn: plan, tools, streamed text, the final answer, completion with a trace id. */
const planTurn: PeerScript = (turn) => {
  turn.task();
  turn.status(TaskState.TASK_STATE_WORKING, 'Looking into it');
  const steps = (second: string) => ({
    steps: [
      { step_id: 's1', title: 'Find the cluster', agent: 'argocd', status: 'completed', order: 1 },
      { step_id: 's2', title: 'Read the version', agent: 'argocd', status: second, order: 2 },
    ],
  });
  turn.artifact('execution_plan_update', [{ data: steps('in_progress') }], { artifactId: 'plan' });
  turn.artifact('tool_notification_start', ['🔧 Argocd: Calling tool: Get_Version\n'], {
    metadata: { sourceAgent: 'argocd', agentType: 'notification' },
    description: 'Tool call started: Get_Version',
  });
  turn.artifact('streaming_result', ['The version '], {
    artifactId: 'stream',
    metadata: { sourceAgent: 'argocd' },
  });
  turn.artifact('streaming_result', ['is 2.13.'], {
    artifactId: 'stream',
    append: true,
    metadata: { sourceAgent: 'argocd' },
  });
  turn.artifact('tool_notification_end', ['✅ Argocd: Tool Get_Version completed\n'], {
    metadata: { sourceAgent: 'argocd', agentType: 'notification' },
    description: 'Tool call completed: Get_Version',
  });
  turn.artifact('execution_plan_status_update', [{ data: steps('completed') }], { artifactId: 'plan' });
  turn.artifact('final_result', ['ArgoCD runs **2.13**.'], {
    lastChunk: true,
    metadata: { trace_id: 'a'.repeat(32) },
  });
  turn.status(TaskState.TASK_STATE_COMPLETED, undefined, { trace_id: 'a'.repeat(32) });
  turn.finish();
};

/** A turn that asks for input with a CAIPE form, then (second turn) completes with the answer. */
const formTurn: PeerScript = (turn) => {
  turn.task();
  turn.artifact('UserInputMetaData', [
    {
      data: {
        user_input: true,
        input_title: 'Ticket details',
        input_fields: [
          { field_name: 'summary', field_type: 'text', required: true },
          { field_name: 'priority', field_type: 'select', field_values: ['low', 'high'] },
        ],
      },
    },
  ]);
  turn.status(TaskState.TASK_STATE_INPUT_REQUIRED, 'Please fill in the ticket.');
  turn.finish();
};

describe('one A2A turn, served as v0.3 and as v1.0', () => {
  it('gives identical turn events for a plan, tools, streamed text and the answer', async () => {
    const runs: TurnEvent[][] = [];
    for (const version of ['0.3', '1.0'] as const) {
      const peer = track(await SdkPeer.start());
      peer.enqueue(planTurn);
      runs.push(
        await collect(
          client({ url: peer.url, idleTimeoutMs: 10_000, version }).streamTurn({
            text: 'version?',
            userEmail: 'dev@example.com',
          }),
        ),
      );
    }
    const [v03, v10] = runs as [TurnEvent[], TurnEvent[]];
    expect(withoutIds(v10)).toEqual(withoutIds(v03));
    const state = reduceTurnEvents(v10);
    expect(state.status).toBe('completed');
    expect(state.plan.map((s) => s.status)).toEqual(['completed', 'completed']);
    expect(state.tools).toEqual([
      expect.objectContaining({ name: 'Get_Version', agent: 'argocd', status: 'completed' }),
    ]);
    expect(state.streams[0]?.text).toBe('The version is 2.13.');
    expect(finalText(state)?.text).toBe('ArgoCD runs **2.13**.');
    expect(state.traceId).toBe('a'.repeat(32));
  });

  it('gives identical events for a form, and resumes the same task in both versions', async () => {
    const runs: TurnEvent[][] = [];
    for (const version of ['0.3', '1.0'] as const) {
      const peer = track(await SdkPeer.start());
      let resumed: unknown[] = [];
      peer.enqueue(formTurn, (turn) => {
        resumed = turn.userData;
        turn.task(TaskState.TASK_STATE_WORKING);
        turn.artifact('final_result', [`Created: ${turn.userText}`], { lastChunk: true });
        turn.status(TaskState.TASK_STATE_COMPLETED);
        turn.finish();
      });
      const a2a = client({ url: peer.url, idleTimeoutMs: 10_000, version });
      const first = await collect(a2a.streamTurn({ text: 'open a ticket', userEmail: 'dev@example.com' }));
      const paused = reduceTurnEvents(first);
      expect(paused.status).toBe('input-required');
      const second = await collect(
        a2a.streamTurn({
          text: 'summary: disk full',
          parts: [{ kind: 'data', data: { resume: { decisions: [{ type: 'edit' }] } } }],
          contextId: paused.contextId!,
          taskId: paused.taskId!,
          userEmail: 'dev@example.com',
        }),
      );
      const done = reduceTurnEvents(second);
      expect(done.taskId).toBe(paused.taskId);
      expect(resumed).toEqual([{ resume: { decisions: [{ type: 'edit' }] } }]);
      runs.push([...first, ...second]);
    }
    const [v03, v10] = runs as [TurnEvent[], TurnEvent[]];
    expect(withoutIds(v10)).toEqual(withoutIds(v03));
    const form = v10.find((e) => e.type === 'form');
    expect(form).toMatchObject({
      form: { title: 'Ticket details', fields: [{ name: 'summary' }, { name: 'priority', type: 'select' }] },
    });
  });
});

describe('a task another process started, read as v0.3 and as v1.0 (what a takeover does)', () => {
  /** A turn that streams part of its answer, waits for `release`, then finishes it. */
  const heldTurn =
    (release: Promise<void>, started: () => void): PeerScript =>
    async (turn) => {
      turn.task();
      turn.status(TaskState.TASK_STATE_WORKING);
      turn.artifact('tool_notification_start', ['Tool call started: deploy'], {
        metadata: { tool_name: 'deploy' },
      });
      turn.artifact('streaming_result', ['Deployed '], { artifactId: 'stream' });
      started();
      await release;
      turn.artifact('streaming_result', ['3 replicas.'], { artifactId: 'stream', append: true });
      turn.artifact('final_result', ['Deployed 3 replicas.'], { lastChunk: true });
      turn.status(TaskState.TASK_STATE_COMPLETED, undefined, { trace_id: 'b'.repeat(32) });
      turn.finish();
    };

  it('gives identical events: the running task, its re-attached stream, the finished task', async () => {
    const runs: Record<string, TurnEvent[]>[] = [];
    for (const { version, methods } of [
      {
        version: '0.3' as const,
        methods: ['tasks/get', 'tasks/resubscribe', 'tasks/get', 'tasks/resubscribe'],
      },
      { version: '1.0' as const, methods: ['GetTask', 'SubscribeToTask', 'GetTask', 'SubscribeToTask'] },
    ]) {
      const peer = track(await SdkPeer.start());
      const release = deferred<void>();
      const started = deferred<void>();
      track({ close: () => release.resolve() });
      peer.enqueue(heldTurn(release.promise, () => started.resolve()));
      // The first process asks, and stops reading once the agent is at work (its task runs on).
      const stopped = new AbortController();
      const first = collect(
        client({ url: peer.url, idleTimeoutMs: 10_000, version }).streamTurn(
          { text: 'deploy', userEmail: 'dev@example.com' },
          { signal: stopped.signal },
        ),
      ).catch(() => []);
      await started.promise;
      stopped.abort();
      await first;
      const taskId = peer.turns[0]!.taskId;

      // The next process: reads the task, follows it to its end, reads it again.
      const next = client({ url: peer.url, idleTimeoutMs: 10_000, version });
      const running = await next.getTask(taskId);
      const stream = next.resubscribe(taskId)[Symbol.asyncIterator]();
      // The first event is the task as it is now: from here on the peer sends what follows.
      const followed = [(await stream.next()).value as TurnEvent];
      release.resolve();
      for (let step = await stream.next(); !step.done; step = await stream.next()) followed.push(step.value);
      const finished = await next.getTask(taskId);
      // Once the task ended, re-attaching is refused (A2A: UnsupportedOperationError, -32004).
      const refused = await collect(next.resubscribe(taskId)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(AgentError);
      expect((refused as AgentError).status).toBe(-32004);
      // The same task id in each request (`{id}` in both versions), in the version's own methods.
      const fromNext = peer.requests.slice(1);
      expect(fromNext.map((r) => r.json.method)).toEqual(methods);
      expect(fromNext.map((r) => r.json.params)).toEqual(methods.map(() => ({ id: taskId })));
      expect(fromNext.map((r) => r.headers['a2a-version'])).toEqual(
        methods.map(() => (version === '1.0' ? '1.0' : undefined)),
      );
      runs.push({ running, followed, finished });
    }
    const [v03, v10] = runs as [Record<string, TurnEvent[]>, Record<string, TurnEvent[]>];
    for (const key of ['running', 'followed', 'finished'])
      expect(withoutIds(v10[key]!)).toEqual(withoutIds(v03[key]!));
    const running = reduceTurnEvents(v10.running!);
    expect(running.status).toBe('working');
    expect(running.streams[0]?.text).toBe('Deployed ');
    const finished = reduceTurnEvents(v10.finished!);
    expect(finished.status).toBe('completed');
    expect(finalText(finished)?.text).toBe('Deployed 3 replicas.');
    expect(finished.traceId).toBe('b'.repeat(32));
    expect(reduceTurnEvents([...v10.running!, ...v10.followed!]).streams[0]?.text).toBe(
      'Deployed 3 replicas.',
    );
  });
});

describe('the v1.0 wire', () => {
  it('sends SendStreamingMessage with A2A-Version 1.0, ROLE_USER and kind-less parts', async () => {
    const emulator = track(await SseEmulator.start({ eol: '\n' }));
    emulator.enqueue(async (x) => {
      await x.sendResult({ task: { id: 't1', contextId: 'c1', status: { state: 'TASK_STATE_SUBMITTED' } } });
      await x.sendResult({
        artifactUpdate: {
          taskId: 't1',
          contextId: 'c1',
          artifact: {
            artifactId: 'f',
            name: 'final_result',
            parts: [{ text: 'Done.', mediaType: 'text/plain' }],
          },
        },
      });
      await x.sendResult({
        statusUpdate: { taskId: 't1', contextId: 'c1', status: { state: 'TASK_STATE_COMPLETED' } },
      });
      await x.end();
    });
    const events = await collect(
      client({
        url: emulator.url,
        idleTimeoutMs: 10_000,
        version: '1.0',
        newMessageId: () => 'm-1',
      }).streamTurn({
        text: 'hi',
        parts: [{ kind: 'data', data: { resume: { ok: true } } }],
        contextId: 'c0',
        userEmail: 'dev@example.com',
      }),
    );
    expect(finalText(reduceTurnEvents(events))?.text).toBe('Done.');
    const request = emulator.requests[0]!;
    expect(request.headers['a2a-version']).toBe('1.0');
    expect(request.json).toEqual({
      jsonrpc: '2.0',
      id: 1,
      method: 'SendStreamingMessage',
      params: {
        message: {
          role: 'ROLE_USER',
          messageId: 'm-1',
          parts: [{ text: 'hi' }, { data: { resume: { ok: true } } }],
          contextId: 'c0',
          metadata: { user_email: 'dev@example.com' },
        },
      },
    });
  });

  it('cancels with CancelTask and reads a task with GetTask', async () => {
    const emulator = track(await SseEmulator.start());
    emulator.enqueue(
      (x) =>
        x.json(200, {
          jsonrpc: '2.0',
          id: x.rpcId,
          result: { id: 't1', status: { state: 'TASK_STATE_CANCELED' } },
        }),
      (x) =>
        x.json(200, {
          jsonrpc: '2.0',
          id: x.rpcId,
          result: {
            id: 't1',
            contextId: 'c1',
            status: { state: 'TASK_STATE_COMPLETED' },
            artifacts: [{ artifactId: 'f', name: 'final_result', parts: [{ text: 'Kept.' }] }],
          },
        }),
    );
    const a2a = client({ url: emulator.url, idleTimeoutMs: 10_000, version: '1.0' });
    await a2a.cancel('t1');
    const events = await a2a.getTask('t1');
    expect(emulator.requests.map((r) => r.json.method)).toEqual(['CancelTask', 'GetTask']);
    expect(finalText(reduceTurnEvents(events))?.text).toBe('Kept.');
    expect(reduceTurnEvents(events).status).toBe('completed');
  });
});

describe('A2A_VERSION=auto', () => {
  it('reads the agent card once and speaks v1.0 to an agent that offers it', async () => {
    const peer = track(await SdkPeer.start());
    const log = captureLog();
    const a2a = client({
      url: peer.url,
      idleTimeoutMs: 10_000,
      version: 'auto',
      logger: createLogger({ level: 'info', destination: log.destination }),
    });
    expect(a2a.version).toBeUndefined();
    await collect(a2a.streamTurn({ text: 'one', userEmail: 'dev@example.com' }));
    await collect(a2a.streamTurn({ text: 'two', userEmail: 'dev@example.com' }));
    expect(a2a.version).toBe('1.0');
    expect(peer.requests.map((r) => r.json.method)).toEqual(['SendStreamingMessage', 'SendStreamingMessage']);
    expect(log.records().filter((r) => r.event === 'agent.version')).toHaveLength(1);
  });

  it('asks for the card once for a burst of turns that start together', async () => {
    const emulator = track(await SseEmulator.start({ card: { name: 'caipe', protocolVersion: '0.3.0' } }));
    const reply = async (x: SseExchange) => {
      await x.sendResult({
        kind: 'message',
        role: 'agent',
        messageId: 'm',
        parts: [{ kind: 'text', text: 'ok' }],
      });
      await x.end();
    };
    emulator.enqueue(reply, reply, reply, reply, reply);
    const a2a = client({ url: emulator.url, idleTimeoutMs: 10_000, version: 'auto' });
    await Promise.all(
      Array.from({ length: 5 }, () => collect(a2a.streamTurn({ text: 'hi', userEmail: 'dev@example.com' }))),
    );
    expect(emulator.cardRequests).toHaveLength(1);
    expect(emulator.requests).toHaveLength(5);
  });

  it('speaks v0.3 to an agent whose card says 0.3, and to one without a card', async () => {
    for (const card of [
      { name: 'caipe', protocolVersion: '0.3.0', url: 'http://x/', preferredTransport: 'JSONRPC' },
      undefined,
    ]) {
      const emulator = track(await SseEmulator.start({ card }));
      emulator.enqueue(async (x) => {
        await x.sendResult({
          kind: 'message',
          role: 'agent',
          messageId: 'm',
          parts: [{ kind: 'text', text: 'ok' }],
        });
        await x.end();
      });
      const a2a = client({ url: emulator.url, idleTimeoutMs: 10_000, version: 'auto' });
      const state = reduceTurnEvents(
        await collect(a2a.streamTurn({ text: 'hi', userEmail: 'dev@example.com' })),
      );
      expect(state.status).toBe('completed');
      expect(a2a.version).toBe('0.3');
      expect(emulator.requests.map((r) => r.json.method)).toEqual(['message/stream']);
      expect(emulator.cardRequests.length).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('A2A_USER_PREFIX', () => {
  it('starts the text with the by-user line the CAIPE supervisor reads, and keeps user_email', async () => {
    const peer = track(await SdkPeer.start());
    await collect(
      client({ url: peer.url, idleTimeoutMs: 10_000, userPrefix: true }).streamTurn({
        text: 'what runs in prod?',
        userEmail: 'dev@example.com',
      }),
    );
    const message = peer.requests[0]!.json.params.message;
    expect(message.parts[0].text).toBe('by user: dev@example.com\n\nwhat runs in prod?');
    expect(message.metadata.user_email).toBe('dev@example.com');
  });
});

const v03 = {
  task: { kind: 'task', id: 't1', contextId: 'c1', status: { state: 'working' } },
  stream: (text: string, append: boolean) => ({
    kind: 'artifact-update',
    taskId: 't1',
    contextId: 'c1',
    artifact: { artifactId: 's', name: 'streaming_result', parts: [{ kind: 'text', text }] },
    append,
  }),
  final: {
    kind: 'artifact-update',
    taskId: 't1',
    contextId: 'c1',
    artifact: { artifactId: 'f', name: 'final_result', parts: [{ kind: 'text', text: 'All done.' }] },
    lastChunk: true,
  },
  completed: {
    kind: 'status-update',
    taskId: 't1',
    contextId: 'c1',
    status: { state: 'completed' },
    final: true,
  },
};

const v10 = {
  task: { task: { id: 't1', contextId: 'c1', status: { state: 'TASK_STATE_WORKING' } } },
  stream: (text: string, append: boolean) => ({
    artifactUpdate: {
      taskId: 't1',
      contextId: 'c1',
      artifact: { artifactId: 's', name: 'streaming_result', parts: [{ text }] },
      ...(append ? { append } : {}),
    },
  }),
  final: {
    artifactUpdate: {
      taskId: 't1',
      contextId: 'c1',
      artifact: { artifactId: 'f', name: 'final_result', parts: [{ text: 'All done.' }] },
      lastChunk: true,
    },
  },
  completed: { statusUpdate: { taskId: 't1', contextId: 'c1', status: { state: 'TASK_STATE_COMPLETED' } } },
};

describe.each([
  { version: '0.3' as const, wire: v03, resubscribe: 'tasks/resubscribe', get: 'tasks/get' },
  { version: '1.0' as const, wire: v10, resubscribe: 'SubscribeToTask', get: 'GetTask' },
])('recovery of a cut stream (v$version)', ({ version, wire, resubscribe, get }) => {
  const cutAfterStreaming = async (x: SseExchange) => {
    await x.sendResult(wire.task);
    await x.sendResult(wire.stream('All ', false));
    x.cut();
  };

  it('re-attaches to the task and finishes the turn; nobody hears of the cut', async () => {
    const emulator = track(await SseEmulator.start());
    emulator.enqueue(cutAfterStreaming, async (x) => {
      await x.sendResult(wire.task);
      await x.sendResult(wire.stream('done.', true));
      await x.sendResult(wire.final);
      await x.sendResult(wire.completed);
      await x.end();
    });
    const events = await collect(
      client({ url: emulator.url, idleTimeoutMs: 10_000, version }).streamTurn({
        text: 'go',
        userEmail: 'u@example.com',
      }),
    );
    const state = reduceTurnEvents(events);
    expect(state.status).toBe('completed');
    expect(state.streams[0]?.text).toBe('All done.');
    expect(finalText(state)?.text).toBe('All done.');
    expect(events.filter((e) => e.type === 'ids')).toHaveLength(1);
    expect(emulator.requests.map((r) => r.json.method).slice(1)).toEqual([resubscribe]);
    expect(emulator.requests[1]!.json.params).toEqual({ id: 't1' });
  });

  it('reads the finished task when re-attaching is refused', async () => {
    const emulator = track(await SseEmulator.start());
    const finished =
      version === '0.3'
        ? {
            kind: 'task',
            id: 't1',
            contextId: 'c1',
            status: { state: 'completed' },
            artifacts: [v03.final.artifact],
          }
        : {
            id: 't1',
            contextId: 'c1',
            status: { state: 'TASK_STATE_COMPLETED' },
            artifacts: [v10.final.artifactUpdate.artifact],
          };
    emulator.enqueue(
      cutAfterStreaming,
      (x) =>
        x.json(200, {
          jsonrpc: '2.0',
          id: x.rpcId,
          error: { code: -32004, message: 'Task is in a terminal state' },
        }),
      (x) => x.json(200, { jsonrpc: '2.0', id: x.rpcId, result: finished }),
    );
    const state = reduceTurnEvents(
      await collect(
        client({ url: emulator.url, idleTimeoutMs: 10_000, version }).streamTurn({
          text: 'go',
          userEmail: 'u@example.com',
        }),
      ),
    );
    expect(state.status).toBe('completed');
    expect(finalText(state)?.text).toBe('All done.');
    expect(emulator.requests.map((r) => r.json.method).slice(1)).toEqual([resubscribe, get]);
  });

  it('reports the cut when the task is still running after every attempt', async () => {
    const emulator = track(await SseEmulator.start());
    const running =
      version === '0.3'
        ? { kind: 'task', id: 't1', contextId: 'c1', status: { state: 'working' } }
        : { id: 't1', contextId: 'c1', status: { state: 'TASK_STATE_WORKING' } };
    emulator.enqueue(cutAfterStreaming, cutAfterStreaming, cutAfterStreaming, (x) =>
      x.json(200, { jsonrpc: '2.0', id: x.rpcId, result: running }),
    );
    const error = await collect(
      client({ url: emulator.url, idleTimeoutMs: 10_000, version }).streamTurn({
        text: 'go',
        userEmail: 'u@example.com',
      }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ kind: 'stream-cut' });
    expect(emulator.requests.map((r) => r.json.method).slice(1)).toEqual([resubscribe, resubscribe, get]);
  });
});
