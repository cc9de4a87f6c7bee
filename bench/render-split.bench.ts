/**
 * Rough timing of the splitter on large answers and of the working message on a long plan: `npx tsx bench/render-split.bench.ts`.
 * Not part of the test suite; run it after changing the splitter.
 */
import { performance } from 'node:perf_hooks';
import { renderProgress } from '../src/render/progress.js';
import { splitMessage } from '../src/render/split.js';

function time(label: string, text: string, maxChars = 7000): void {
  const started = performance.now();
  const parts = splitMessage(text, { maxChars, reserveLastChars: 100 });
  const ms = performance.now() - started;
  console.log(
    `${label.padEnd(28)} ${String(text.length).padStart(9)} chars -> ${String(parts.length).padStart(4)} parts in ${ms.toFixed(1)} ms`,
  );
}

const prose = 'The service restarted cleanly and the error rate fell. '.repeat(20_000);
const code = `\`\`\`ts\n${Array.from({ length: 30_000 }, (_, i) => `  const value${i} = compute(${i}); // 🚀`).join('\n')}\n\`\`\``;
const oneWord = 'x'.repeat(1_000_000);
const shortLines = 'a\n'.repeat(500_000);
const cjk = '漢字のテキスト。'.repeat(100_000);

time('prose', prose);
time('one long code block', code);
time('one 1 MB word', oneWord);
time('500k short lines', shortLines);
time('CJK sentences', cjk);

// The working message with a very long plan.

const steps = Array.from({ length: 2000 }, (_, i) => ({
  id: `s${i}`,
  title: `Step ${i} of a very long plan`,
  status: i < 1000 ? 'completed' : i === 1000 ? 'in_progress' : 'pending',
}));
const started = performance.now();
const text = renderProgress({ plan: steps, tools: [] }, 60_000, 0, { maxChars: 7000 });
console.log(
  `progress, 2000-step plan      ${text.length} chars in ${(performance.now() - started).toFixed(1)} ms`,
);
