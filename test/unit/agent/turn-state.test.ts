import { describe, expect, it } from 'vitest';
import { parsePlanText } from '../../../src/adapters/agent/plan-text.js';
import type { TurnEvent } from '../../../src/adapters/agent/port.js';
import {
  currentPlanStep,
  finalText,
  initialTurnState,
  isTurnOver,
  reduceTurn,
  reduceTurnEvents,
  streamedText,
} from '../../../src/adapters/agent/turn-state.js';

describe('reduceTurn', () => {
  it('replaces a stream on append:false and appends on append:true, per stream id', () => {
    const state = reduceTurnEvents([
      { type: 'text', streamId: 's1', text: 'Hello', append: false },
      { type: 'text', streamId: 's1', text: ' world', append: true },
      { type: 'text', streamId: 's2', text: 'Other', append: false, agent: 'jira' },
      { type: 'text', streamId: 's1', text: 'Restart', append: false },
    ]);
    expect(state.streams).toEqual([
      { id: 's1', text: 'Restart' },
      { id: 's2', text: 'Other', agent: 'jira' },
    ]);
    expect(streamedText(state)).toBe('RestartOther');
  });

  it('picks the final text by priority: final > complete > partial > message > stream', () => {
    const steps: TurnEvent[] = [
      { type: 'text', streamId: 's', text: 'streamed', append: false, agent: 'search' },
      { type: 'message', text: 'a message' },
      { type: 'answer', source: 'partial_result', text: 'partial', append: false },
      { type: 'answer', source: 'complete_result', text: 'complete', append: false, agent: 'jira' },
      { type: 'answer', source: 'final_result', text: 'final', append: false },
    ];
    const expected = [
      { text: 'streamed', source: 'stream', agent: 'search' },
      { text: 'a message', source: 'message' },
      { text: 'partial', source: 'partial_result' },
      { text: 'complete', source: 'complete_result', agent: 'jira' },
      { text: 'final', source: 'final_result' },
    ];
    let state = initialTurnState();
    expect(finalText(state)).toBeUndefined();
    steps.forEach((event, i) => {
      state = reduceTurn(state, event);
      expect(finalText(state)).toEqual(expected[i]);
    });
  });

  it('skips a blank higher-priority candidate', () => {
    const state = reduceTurnEvents([
      { type: 'answer', source: 'final_result', text: '  \n', append: false },
      { type: 'answer', source: 'partial_result', text: 'fallback', append: false },
    ]);
    expect(finalText(state)).toEqual({ text: 'fallback', source: 'partial_result' });
  });

  it('pairs tool ends with the oldest running call of the same tool and agent', () => {
    const state = reduceTurnEvents([
      { type: 'tool', phase: 'start', name: 'search', agent: 'search' },
      { type: 'tool', phase: 'start', name: 'search', agent: 'search' },
      { type: 'tool', phase: 'start', name: 'get_issue', agent: 'jira' },
      { type: 'tool', phase: 'end', name: 'search', agent: 'search', text: 'ok' },
      { type: 'tool', phase: 'end', name: 'get_issue', agent: 'jira', failed: true },
      { type: 'tool', phase: 'end', name: 'orphan' },
    ]);
    expect(state.tools.map((t) => [t.name, t.status])).toEqual([
      ['search', 'completed'],
      ['search', 'running'],
      ['get_issue', 'failed'],
      ['orphan', 'completed'],
    ]);
    expect(state.tools[0]?.text).toBe('ok');
  });

  it('replaces the plan with each full step list and tracks the current step', () => {
    const state = reduceTurnEvents([
      {
        type: 'plan',
        steps: [
          { id: 'a', title: 'One', status: 'in_progress' },
          { id: 'b', title: 'Two', status: 'pending' },
        ],
      },
      {
        type: 'plan',
        steps: [
          { id: 'a', title: 'One', status: 'completed' },
          { id: 'b', title: 'Two', status: 'in_progress' },
        ],
      },
    ]);
    expect(state.plan.map((s) => s.status)).toEqual(['completed', 'in_progress']);
    expect(currentPlanStep(state)?.id).toBe('b');
  });

  it('builds a prose plan from appended chunks', () => {
    const state = reduceTurnEvents([
      { type: 'plan', text: '## Execution Plan\n\n1. Find', append: false },
      { type: 'plan', text: ' the app\n2. ✅ Check health\n- [x] Done one\n- [ ] Open one', append: true },
    ]);
    expect(state.plan).toEqual([
      { id: 'text-step-1', title: 'Find the app', status: 'pending' },
      { id: 'text-step-2', title: 'Check health', status: 'completed' },
      { id: 'text-step-3', title: 'Done one', status: 'completed' },
      { id: 'text-step-4', title: 'Open one', status: 'pending' },
    ]);
  });

  it('keeps the first trace id and the latest ids', () => {
    const state = reduceTurnEvents([
      { type: 'ids', contextId: 'c1', taskId: 't1' },
      { type: 'trace', traceId: 'first' },
      { type: 'trace', traceId: 'second' },
      { type: 'ids', taskId: 't2' },
    ]);
    expect(state).toMatchObject({ contextId: 'c1', taskId: 't2', traceId: 'first' });
  });

  it('ends the turn on terminal and interrupted states, never on working', () => {
    const at = (state: TurnEvent) => isTurnOver(reduceTurn(initialTurnState(), state));
    for (const s of [
      'completed',
      'failed',
      'canceled',
      'rejected',
      'input-required',
      'auth-required',
    ] as const) {
      expect(at({ type: 'status', state: s })).toBe(true);
    }
    for (const s of ['submitted', 'working', 'unknown'] as const)
      expect(at({ type: 'status', state: s })).toBe(false);
  });

  it('uses the question of an input-required status as the agent message, and keeps a failure message', () => {
    const paused = reduceTurnEvents([
      { type: 'status', state: 'working', message: 'thinking' },
      { type: 'status', state: 'input-required', message: 'Which cluster?' },
    ]);
    expect(finalText(paused)).toEqual({ text: 'Which cluster?', source: 'message' });
    const failed = reduceTurnEvents([{ type: 'status', state: 'failed', message: 'boom' }]);
    expect(failed.statusMessage).toBe('boom');
    expect(finalText(failed)).toBeUndefined();
  });

  it('counts events and does not mutate the previous state', () => {
    const before = initialTurnState({ contextId: 'c' });
    const after = reduceTurn(before, { type: 'text', streamId: 's', text: 'x', append: false });
    expect(before.streams).toEqual([]);
    expect(after.eventCount).toBe(1);
    expect(after.contextId).toBe('c');
  });
});

describe('parsePlanText', () => {
  it('ignores headings and prose, reads numbered and bulleted items', () => {
    expect(parsePlanText('## Plan\n\nSome intro.\n1) First\n* Second\n⏳ not a list item')).toEqual([
      { id: 'text-step-1', title: 'First', status: 'pending' },
      { id: 'text-step-2', title: 'Second', status: 'pending' },
    ]);
  });

  it('reads status marks', () => {
    expect(parsePlanText('1. 🔄 Running\n2. ❌ Broke\n3. [~] Partly').map((s) => s.status)).toEqual([
      'in_progress',
      'failed',
      'in_progress',
    ]);
  });
});
