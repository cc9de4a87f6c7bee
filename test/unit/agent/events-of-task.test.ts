/**
 * A task read whole (`tasks/get`) becomes the events a stream would have carried, so a takeover
 * ends in the task's state with its whole answer: ids first, each artifact complete, the status
 * (with its trace id) last. Malformed or hostile tasks give nothing rather than a crash.
 */
import { describe, expect, it } from 'vitest';
import { eventsOfTask } from '../../../src/adapters/agent/a2a/client.js';
import { finalText, initialTurnState, reduceTurn } from '../../../src/adapters/agent/index.js';

const task = {
  kind: 'task',
  id: 't1',
  contextId: 'c1',
  status: {
    state: 'completed',
    message: { kind: 'message', role: 'agent', parts: [{ kind: 'text', text: 'done' }] },
  },
  metadata: { trace_id: 'trace-1' },
  artifacts: [
    { artifactId: 's1', name: 'streaming_result', parts: [{ kind: 'text', text: 'The answer, streamed.' }] },
    { artifactId: 'f1', name: 'final_result', parts: [{ kind: 'text', text: 'The whole answer.' }] },
  ],
};

describe('eventsOfTask', () => {
  it('gives ids, then every artifact whole, then the status and trace', () => {
    const events = eventsOfTask(task);
    expect(events[0]).toEqual({ type: 'ids', contextId: 'c1', taskId: 't1' });
    expect(events.at(-2)).toMatchObject({ type: 'status', state: 'completed' });
    expect(events.at(-1)).toEqual({ type: 'trace', traceId: 'trace-1' });
    const state = events.reduce(reduceTurn, initialTurnState());
    expect(state.status).toBe('completed');
    expect(state.taskId).toBe('t1');
    expect(state.traceId).toBe('trace-1');
    expect(finalText(state)?.text).toBe('The whole answer.');
  });

  it('keeps a waiting task waiting, with its form', () => {
    const events = eventsOfTask({
      ...task,
      status: { state: 'input-required' },
      artifacts: [
        {
          artifactId: 'u1',
          name: 'UserInputMetaData',
          parts: [{ kind: 'data', data: { user_input: true, input_fields: [{ field_name: 'env' }] } }],
        },
      ],
    });
    const state = events.reduce(reduceTurn, initialTurnState());
    expect(state.status).toBe('input-required');
    expect(state.form?.fields.map((f) => f.name)).toEqual(['env']);
  });

  it('gives nothing for what is not a task, and skips artifacts it cannot read', () => {
    for (const hostile of [null, 'task', 42, [], { kind: 'task' }])
      expect(() => eventsOfTask(hostile)).not.toThrow();
    expect(eventsOfTask(null)).toEqual([]);
    const events = eventsOfTask({ ...task, artifacts: [null, 'x', { parts: 'nope' }, task.artifacts[1]] });
    const state = events.reduce(reduceTurn, initialTurnState());
    expect(finalText(state)?.text).toBe('The whole answer.');
  });
});
