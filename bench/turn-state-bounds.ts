/**
 * What a runaway agent costs the turn state: a prose plan streamed one character at a time (each
 * event is read once, so the whole plan costs linear time), thousands of tool calls, and an answer
 * far past the cap. Prints time and heap growth for each.
 *
 *   npx tsx bench/turn-state-bounds.ts
 */
import { performance } from 'node:perf_hooks';
import type { TurnEvent } from '../src/adapters/agent/port.js';
import { initialTurnState, reduceTurn, type TurnState } from '../src/adapters/agent/turn-state.js';

function run(label: string, events: () => Iterable<TurnEvent>): TurnState {
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let state = initialTurnState();
  let count = 0;
  for (const event of events()) {
    state = reduceTurn(state, event);
    count++;
  }
  const ms = performance.now() - started;
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  console.log(
    `${label.padEnd(48)} ${String(count).padStart(9)} events  ${ms.toFixed(0).padStart(6)} ms  ` +
      `${((ms * 1000) / count).toFixed(2).padStart(8)} µs/event  heap +${heapMb.toFixed(1)} MB`,
  );
  return state;
}

const planLine = (i: number) => `${i + 1}. 🔄 Step number ${i} of a long plan\n`;

run('prose plan, 1 char per event (64k chars)', function* () {
  let first = true;
  for (let i = 0; ; i++) {
    for (const char of planLine(i)) {
      yield { type: 'plan', text: char, append: !first };
      first = false;
    }
    if (i > 3_000) return;
  }
});

run('endless plan line, 1 char per event (200k chars)', function* () {
  yield { type: 'plan', text: '1. ', append: false };
  for (let i = 0; i < 200_000; i++) yield { type: 'plan', text: 'x', append: true };
});

run('tool calls, 100k start+end', function* () {
  for (let i = 0; i < 100_000; i++) {
    yield { type: 'tool', phase: 'start', name: `tool_${i % 50}` };
    yield { type: 'tool', phase: 'end', name: `tool_${i % 50}` };
  }
});

const state = run('answer, 16 MB in 16 KiB chunks', function* () {
  const chunk = 'a'.repeat(16 * 1024);
  for (let i = 0; i < 1_024; i++)
    yield { type: 'answer', source: 'final_result', text: chunk, append: i > 0 };
});
console.log(
  `answer kept: ${state.answers.final_result?.text.length} chars, omitted ${state.answers.final_result?.omittedChars}`,
);
