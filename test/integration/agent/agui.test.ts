/**
 * The AG-UI adapter against AG-UI 1.0 streams built with `@ag-ui/encoder`: what a run is sent
 * (a valid `RunAgentInput`: thread, fresh run, earlier turns, last state, no tools, who asks), what
 * a run shows (narration left out of the answer, tools, steps and state as the plan), interrupts of
 * AG-UI 1.0 and of LangGraph's legacy form answered as each expects, errors, cancel.
 */
import { EventType } from '@ag-ui/core';
import { describe, expect, it } from 'vitest';
import { AguiAgentClient, type AguiAgentClientOptions } from '../../../src/adapters/agent/agui/client.js';
import type { TurnEvent, TurnRequest } from '../../../src/adapters/agent/port.js';
import { finalText, reduceTurnEvents } from '../../../src/adapters/agent/turn-state.js';
import { SseEmulator, type SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { collect, failure } from '../../helpers/agent-events.js';
import { finished, runInputOf, sendEvents, started, text, toolCall } from '../../helpers/agui/frames.js';
import { closeAfterEach } from '../../helpers/cleanup.js';

const track = closeAfterEach();

let ids = 0;
function client(url: string, options: Partial<AguiAgentClientOptions> = {}): AguiAgentClient {
  return track(
    new AguiAgentClient({
      url,
      idleTimeoutMs: 10_000,
      closeGraceMs: 200,
      newId: () => `id-${++ids}`,
      ...options,
    }),
  );
}

const ask = (text: string, extra: Partial<TurnRequest> = {}): TurnRequest => ({
  text,
  userEmail: 'dev@example.com',
  ...extra,
});

/** Answers a run: its own thread and run ids, then the given frames, then the end of the body. */
function run(frames: (input: { threadId: string; runId: string }) => Parameters<typeof sendEvents>[1][]) {
  return async (x: SseExchange) => {
    x.start();
    const input = x.request.json as { threadId: string; runId: string };
    await sendEvents(x, ...frames(input));
    await x.end();
  };
}

describe('an AG-UI run', () => {
  it('sends a valid RunAgentInput and shows narration, tools, steps and the final answer', async () => {
    const agent = track(await SseEmulator.start({ eol: '\n' }));
    agent.enqueue(
      run(({ threadId, runId }) => [
        started(threadId, runId),
        ...text('m1', 'Let me look ', 'that up.'),
        { type: EventType.STEP_STARTED, stepName: 'Search the docs' },
        ...toolCall('t1', 'search_docs', { q: 'argocd' }, 'found 3 pages'),
        { type: EventType.STEP_FINISHED, stepName: 'Search the docs' },
        ...text('m2', 'ArgoCD ', 'runs **2.13**.'),
        { type: EventType.STATE_SNAPSHOT, snapshot: { todos: [{ content: 'Search', status: 'completed' }] } },
        finished(threadId, runId, { type: 'success' }),
      ]),
    );
    const events = await collect(
      client(agent.url).streamTurn(
        ask('which argocd?', {
          origin: {
            roomId: 'Y2lz-room',
            roomType: 'group',
            messageId: 'msg-1',
            threadRootId: 'root-1',
            personId: 'p1',
          },
        }),
      ),
    );
    const state = reduceTurnEvents(events);
    expect(state.status).toBe('completed');
    expect(finalText(state)?.text).toBe('ArgoCD runs **2.13**.');
    expect(state.streams.map((s) => s.text)).toEqual(['Let me look that up.', 'ArgoCD runs **2.13**.']);
    expect(state.tools).toEqual([expect.objectContaining({ name: 'search_docs', status: 'completed' })]);
    expect(state.plan).toEqual([{ id: 'todo-1', title: 'Search', status: 'completed' }]);

    const input = runInputOf(agent.requests[0]!);
    expect(input).toMatchObject({
      threadId: state.contextId,
      tools: [],
      state: {},
      forwardedProps: { user_email: 'dev@example.com' },
      messages: [{ role: 'user', content: 'which argocd?' }],
    });
    expect(input.runId).not.toBe(input.threadId);
    expect(input.context).toEqual([
      { description: 'Email of the person asking', value: 'dev@example.com' },
      { description: 'Webex space id', value: 'Y2lz-room' },
      { description: 'Webex space type', value: 'group' },
      { description: 'Webex thread id', value: 'root-1' },
    ]);
    expect(agent.requests[0]!.headers.accept).toBe('text/event-stream');
  });

  it('keeps the thread: same threadId, a fresh runId, earlier turns and the last state', async () => {
    const agent = track(await SseEmulator.start());
    const answer = (reply: string, snapshot?: unknown) =>
      run(({ threadId, runId }) => [
        started(threadId, runId),
        ...text(`m-${reply}`, reply),
        ...(snapshot ? [{ type: EventType.STATE_SNAPSHOT, snapshot }] : []),
        finished(threadId, runId),
      ]);
    agent.enqueue(answer('First answer.', { step: 1 }), answer('Second answer.'), answer('Third.'));
    const agui = client(agent.url, { historyLimits: { maxMessages: 3, maxChars: 1000 } });
    const first = reduceTurnEvents(await collect(agui.streamTurn(ask('one'))));
    await collect(agui.streamTurn(ask('two', { contextId: first.contextId! })));
    await collect(agui.streamTurn(ask('three', { contextId: first.contextId! })));
    const inputs = agent.requests.map(runInputOf);
    expect(new Set(inputs.map((i) => i.threadId)).size).toBe(1);
    expect(new Set(inputs.map((i) => i.runId)).size).toBe(3);
    expect(inputs[1]!.state).toEqual({ step: 1 });
    expect(inputs[1]!.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'one'],
      ['assistant', 'First answer.'],
      ['user', 'two'],
    ]);
    // Bounded to the newest three earlier messages, then the new one.
    expect(inputs[2]!.messages.map((m) => m.content)).toEqual([
      'First answer.',
      'two',
      'Second answer.',
      'three',
    ]);
  });

  it('sends the history a request brings instead of its own memory', async () => {
    const agent = track(await SseEmulator.start());
    agent.enqueue(
      run(({ threadId, runId }) => [started(threadId, runId), ...text('m', 'ok'), finished(threadId, runId)]),
    );
    await collect(
      client(agent.url).streamTurn(
        ask('and now?', {
          contextId: 'thread-9',
          history: [
            { role: 'user', text: 'earlier question' },
            { role: 'assistant', text: 'earlier answer' },
          ],
        }),
      ),
    );
    const input = runInputOf(agent.requests[0]!);
    expect(input.threadId).toBe('thread-9');
    expect(input.messages.map((m) => m.content)).toEqual(['earlier question', 'earlier answer', 'and now?']);
  });

  it('a RUN_ERROR fails the turn with its message', async () => {
    const agent = track(await SseEmulator.start());
    agent.enqueue(
      run(({ threadId, runId }) => [
        started(threadId, runId),
        ...text('m', 'Working…'),
        { type: EventType.RUN_ERROR, message: 'Model quota exceeded', code: 'quota' },
      ]),
    );
    const state = reduceTurnEvents(await collect(client(agent.url).streamTurn(ask('hi'))));
    expect(state.status).toBe('failed');
    expect(state.statusMessage).toBe('Model quota exceeded');
  });

  it('a cancelled outcome ends the turn as canceled', async () => {
    const agent = track(await SseEmulator.start());
    agent.enqueue(
      run(({ threadId, runId }) => [
        started(threadId, runId),
        finished(threadId, runId, { type: 'cancelled' }),
      ]),
    );
    expect(reduceTurnEvents(await collect(client(agent.url).streamTurn(ask('hi')))).status).toBe('canceled');
  });
});

describe('AG-UI interrupts', () => {
  it('1.0: a responseSchema becomes a form; the answer is a new run with resume[] and no new message', async () => {
    const agent = track(await SseEmulator.start());
    agent.enqueue(
      run(({ threadId, runId }) => [
        started(threadId, runId),
        finished(threadId, runId, {
          type: 'interrupt',
          interrupts: [
            {
              id: 'int-1',
              reason: 'input_required',
              message: 'Which environment?',
              responseSchema: {
                type: 'object',
                properties: {
                  env: { type: 'string', enum: ['dev', 'prod'], title: 'Environment' },
                  replicas: { type: 'integer' },
                },
                required: ['env'],
              },
            },
            { id: 'int-2', reason: 'input_required' },
          ],
        }),
      ]),
      run(({ threadId, runId }) => [
        started(threadId, runId),
        ...text('m', 'Deployed to prod.'),
        finished(threadId, runId),
      ]),
    );
    const agui = client(agent.url);
    const paused = reduceTurnEvents(await collect(agui.streamTurn(ask('deploy'))));
    expect(paused.status).toBe('input-required');
    expect(paused.statusMessage).toBe('Which environment?');
    expect(paused.form?.fields).toEqual([
      expect.objectContaining({ name: 'env', label: 'Environment', type: 'select', required: true }),
      expect.objectContaining({ name: 'replicas', type: 'number', required: false }),
    ]);
    const done = reduceTurnEvents(
      await collect(
        agui.streamTurn(
          ask('env: prod\nreplicas: 2', {
            contextId: paused.contextId!,
            taskId: paused.taskId!,
            parts: [
              {
                kind: 'data',
                data: {
                  resume: {
                    decisions: [
                      { type: 'edit', args: { args: { user_inputs: { env: 'prod', replicas: 2 } } } },
                    ],
                  },
                },
              },
            ],
          }),
        ),
      ),
    );
    expect(finalText(done)?.text).toBe('Deployed to prod.');
    const resumed = runInputOf(agent.requests[1]!);
    expect(resumed.threadId).toBe(paused.contextId);
    expect(resumed.resume).toEqual([
      { interruptId: 'int-1', status: 'resolved', payload: { env: 'prod', replicas: 2 } },
      { interruptId: 'int-2', status: 'cancelled' },
    ]);
    expect(resumed.messages.map((m) => m.content)).toEqual(['deploy', 'Which environment?']);
  });

  it('1.0: a tool approval becomes approve / reject; a plain-text "no" rejects', async () => {
    const agent = track(await SseEmulator.start());
    agent.enqueue(
      run(({ threadId, runId }) => [
        started(threadId, runId),
        ...toolCall('tc-7', 'delete_namespace', { name: 'staging' }),
        finished(threadId, runId, {
          type: 'interrupt',
          interrupts: [
            {
              id: 'int-7',
              reason: 'tool_approval',
              toolCallId: 'tc-7',
              metadata: { toolName: 'delete_namespace' },
            },
          ],
        }),
      ]),
      run(({ threadId, runId }) => [
        started(threadId, runId),
        ...text('m', 'Left it alone.'),
        finished(threadId, runId),
      ]),
    );
    const agui = client(agent.url);
    const paused = reduceTurnEvents(await collect(agui.streamTurn(ask('clean up staging'))));
    expect(paused.form?.title).toContain('delete_namespace');
    expect(paused.form?.fields).toEqual([
      expect.objectContaining({
        name: 'decision',
        type: 'select',
        options: [
          expect.objectContaining({ value: 'approve' }),
          expect.objectContaining({ value: 'reject' }),
        ],
      }),
    ]);
    await collect(
      agui.streamTurn(ask('no, leave it', { contextId: paused.contextId!, taskId: paused.taskId! })),
    );
    expect(runInputOf(agent.requests[1]!).resume).toEqual([
      { interruptId: 'int-7', status: 'resolved', payload: { decision: 'reject' } },
    ]);
  });

  it('LangGraph legacy: CUSTOM on_interrupt then a plain RUN_FINISHED; answered through forwardedProps.command.resume', async () => {
    const agent = track(await SseEmulator.start());
    agent.enqueue(
      run(({ threadId, runId }) => [
        started(threadId, runId),
        {
          type: EventType.CUSTOM,
          name: 'on_interrupt',
          value: JSON.stringify({ question: 'Name the release?' }),
        },
        finished(threadId, runId),
      ]),
      run(({ threadId, runId }) => [
        started(threadId, runId),
        ...text('m', 'Release v9 cut.'),
        finished(threadId, runId),
      ]),
    );
    const agui = client(agent.url);
    const paused = reduceTurnEvents(await collect(agui.streamTurn(ask('cut a release'))));
    expect(paused.status).toBe('input-required');
    expect(paused.form).toMatchObject({
      description: 'Name the release?',
      fields: [{ name: 'response', type: 'text' }],
    });
    const done = reduceTurnEvents(
      await collect(agui.streamTurn(ask('v9', { contextId: paused.contextId!, taskId: paused.taskId! }))),
    );
    expect(finalText(done)?.text).toBe('Release v9 cut.');
    const resumed = runInputOf(agent.requests[1]!);
    expect(resumed.forwardedProps).toEqual({ user_email: 'dev@example.com', command: { resume: 'v9' } });
    expect(resumed.resume).toBeUndefined();
  });
});

describe('AG-UI cancel and re-attach', () => {
  it('cancel closes a running run and the turn ends canceled; re-attaching is unsupported', async () => {
    const agent = track(await SseEmulator.start());
    let exchange: SseExchange | undefined;
    agent.enqueue(async (x) => {
      exchange = x;
      const { threadId, runId } = x.request.json;
      await sendEvents(x, started(threadId, runId), ...text('m', 'Thinking'));
      await new Promise(() => {});
    });
    const agui = client(agent.url);
    const iterator = agui.streamTurn(ask('slow'))[Symbol.asyncIterator]();
    let taskId: string | undefined;
    for (;;) {
      const next = await iterator.next();
      if (next.done) throw new Error('ended early');
      if (next.value.type === 'ids') taskId = next.value.taskId;
      if (next.value.type === 'text') break;
    }
    await agui.cancel(taskId!);
    const rest: TurnEvent[] = [];
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      rest.push(next.value);
    }
    expect(rest).toEqual([{ type: 'status', state: 'canceled' }]);
    await exchange!.clientClosed();
    expect((await failure(agui.resubscribe(taskId!))).kind).toBe('unsupported');
  });
});
