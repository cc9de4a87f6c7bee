/**
 * A runaway or hostile agent cannot make a turn's state grow without bound, and each event costs
 * work in proportion to itself, not to everything before it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePlanText } from '../../../src/adapters/agent/plan-text.js';
import type { TurnEvent } from '../../../src/adapters/agent/port.js';
import {
  finalText,
  initialTurnState,
  MAX_NAME_CHARS,
  MAX_PLAN_LINE_CHARS,
  MAX_PLAN_STEPS,
  MAX_PLAN_TEXT_CHARS,
  MAX_STEP_TITLE_CHARS,
  MAX_STREAMS,
  MAX_TEXT_CHARS,
  MAX_TOOL_CALLS,
  MAX_TOOL_TEXT_CHARS,
  reduceTurn,
  reduceTurnEvents,
} from '../../../src/adapters/agent/turn-state.js';

describe('tool calls', () => {
  it('keeps at most MAX_TOOL_CALLS, dropping finished ones first', () => {
    const events: TurnEvent[] = [{ type: 'tool', phase: 'start', name: 'still-running' }];
    for (let i = 0; i < 5_000; i++) {
      events.push(
        { type: 'tool', phase: 'start', name: `t${i}` },
        { type: 'tool', phase: 'end', name: `t${i}` },
      );
    }
    const state = reduceTurnEvents(events);
    expect(state.tools).toHaveLength(MAX_TOOL_CALLS);
    expect(state.tools[0]).toMatchObject({ name: 'still-running', status: 'running' });
    expect(state.tools.at(-1)).toMatchObject({ name: 't4999', status: 'completed' });
  });

  it('cuts hostile names and texts, and still pairs an end with its start', () => {
    const name = 'n'.repeat(1_000_000);
    const state = reduceTurnEvents([
      { type: 'tool', phase: 'start', name, agent: 'a'.repeat(50_000), text: 'x'.repeat(100_000) },
      { type: 'tool', phase: 'end', name, agent: 'a'.repeat(50_000) },
    ]);
    expect(state.tools).toHaveLength(1);
    expect(state.tools[0]!.name).toHaveLength(MAX_NAME_CHARS);
    expect(state.tools[0]!.agent).toHaveLength(MAX_NAME_CHARS);
    expect(state.tools[0]!.text).toHaveLength(MAX_TOOL_TEXT_CHARS);
    expect(state.tools[0]!.status).toBe('completed');
  });
});

describe('the plan', () => {
  it('keeps at most MAX_PLAN_STEPS structured steps, titles cut', () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => ({
      id: `s${i}`,
      title: 'T'.repeat(10_000),
      status: 'pending' as const,
    }));
    const state = reduceTurn(initialTurnState(), { type: 'plan', steps });
    expect(state.plan).toHaveLength(MAX_PLAN_STEPS);
    expect(state.plan[0]!.title).toHaveLength(MAX_STEP_TITLE_CHARS);
  });

  it('reads a prose plan streamed in any chunks exactly as the whole text', () => {
    const plan = [
      '## Execution Plan',
      '',
      '1. Find the app',
      '2. ✅ Check health',
      '- [x] Done one',
      '- [ ] Open one',
      '* 🔄 Roll back',
      'not a step',
      '3) Tell the team',
    ].join('\n');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: plan.length }), { maxLength: 12 }), (cuts) => {
        const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), plan.length];
        const events: TurnEvent[] = [];
        for (let i = 1; i < points.length; i++) {
          events.push({ type: 'plan', text: plan.slice(points[i - 1], points[i]), append: i > 1 });
        }
        expect(reduceTurnEvents(events).plan).toEqual(parsePlanText(plan));
      }),
      { numRuns: 300 },
    );
  });

  it('a plan streamed one character at a time keeps a bounded line and stops reading at the cap', () => {
    let state = reduceTurn(initialTurnState(), { type: 'plan', text: '1. ', append: false });
    // An endless line: only MAX_PLAN_LINE_CHARS of it are kept to be re-read.
    for (let i = 0; i < MAX_PLAN_LINE_CHARS * 3; i++)
      state = reduceTurn(state, { type: 'plan', text: 'x', append: true });
    expect(state.planProse!.tail.length).toBeLessThanOrEqual(MAX_PLAN_LINE_CHARS);
    expect(state.plan).toHaveLength(1);
    // Past the cap a chunk is not read at all: the state is the same object.
    state = reduceTurn(state, {
      type: 'plan',
      text: `\n${'- step\n'.repeat(MAX_PLAN_TEXT_CHARS)}`,
      append: true,
    });
    expect(state.planProse!.chars).toBe(MAX_PLAN_TEXT_CHARS);
    expect(state.plan).toHaveLength(MAX_PLAN_STEPS);
    const after = reduceTurn(state, { type: 'plan', text: '- more\n', append: true });
    expect(after.plan).toBe(state.plan);
    expect(after.planProse).toBe(state.planProse);
  });
});

describe('streamed text and answers', () => {
  it('keeps MAX_TEXT_CHARS of an endless answer and counts the rest for the note', () => {
    const chunk = 'a'.repeat(400_000);
    const events: TurnEvent[] = Array.from({ length: 10 }, (_, i) => ({
      type: 'answer',
      source: 'final_result',
      text: chunk,
      append: i > 0,
    }));
    const state = reduceTurnEvents(events);
    expect(state.answers.final_result!.text).toHaveLength(MAX_TEXT_CHARS);
    expect(finalText(state)).toMatchObject({ omittedChars: 4_000_000 - MAX_TEXT_CHARS });
    // A replacing event starts over.
    const replaced = reduceTurn(state, {
      type: 'answer',
      source: 'final_result',
      text: 'short',
      append: false,
    });
    expect(replaced.answers.final_result).toEqual({ text: 'short' });
  });

  it('keeps MAX_STREAMS streams and counts the text of the others', () => {
    const events: TurnEvent[] = Array.from({ length: MAX_STREAMS + 10 }, (_, i) => ({
      type: 'text',
      streamId: `s${i}`,
      text: 'abc',
      append: true,
    }));
    const state = reduceTurnEvents(events);
    expect(state.streams).toHaveLength(MAX_STREAMS);
    expect(finalText(state)).toMatchObject({ source: 'stream', omittedChars: 30 });
  });
});
