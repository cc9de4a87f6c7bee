import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import {
  formatElapsed,
  type PlanStep,
  renderProgress,
  renderToolLines,
  type ToolActivity,
} from '../../../src/render/progress.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function plan(count: number, current: number, title = (i: number) => `Step ${i}`): PlanStep[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `s${i}`,
    title: title(i),
    status: i < current ? 'completed' : i === current ? 'in_progress' : 'pending',
  }));
}

describe('formatElapsed', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [42_000, '42s'],
    [59_999, '59s'],
    [60_000, '1m 00s'],
    [65_000, '1m 05s'],
    [187_000, '3m 07s'],
    [3_599_000, '59m 59s'],
    [3_600_000, '1h 00m'],
    [3_720_000, '1h 02m'],
    [90_000_000, '25h 00m'],
    [-5000, '0s'],
    [Number.NaN, '0s'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatElapsed(ms)).toBe(text);
  });
});

describe('renderProgress', () => {
  it('starts as the plain working message', () => {
    expect(renderProgress({ plan: [], tools: [] }, 1000, 500, { maxChars: 7000 })).toBe(messages.working);
  });

  it('shows elapsed time, the plan with status emoji and agents, and the running tool', () => {
    const steps: PlanStep[] = [
      { id: 'a', title: 'Find the ticket', status: 'completed', agent: 'jira' },
      { id: 'b', title: 'Read the runbook', status: 'skipped' },
      { id: 'c', title: 'Check the pods', status: 'failed', agent: 'k8s' },
      { id: 'd', title: 'Write\nthe summary', status: 'in_progress' },
      { id: 'e', title: 'Post it', status: 'pending' },
    ];
    const tools: ToolActivity[] = [{ name: 'Get_Issue', agent: 'jira', status: 'running' }];
    const text = renderProgress({ plan: steps, tools }, 70_000, 5_000, { maxChars: 7000 });
    expect(text).toBe(
      [
        '🔄 Working… (1m 05s)',
        '',
        '**Plan** · 2 of 5 done',
        '- ✅ Find the ticket (jira)',
        '- ⏭️ Read the runbook',
        '- ❌ Check the pods (k8s)',
        '- 🔄 Write the summary',
        '- ⏳ Post it',
        '',
        '🔧 **Get_Issue** (jira)…',
      ].join('\n'),
    );
  });

  it('renders an unknown step status as pending', () => {
    const text = renderProgress(
      { plan: [{ id: 'x', title: 'Mystery', status: 'queued' }], tools: [] },
      5000,
      0,
      { maxChars: 7000 },
    );
    expect(text).toContain('- ⏳ Mystery');
  });

  it('shows the last finished tool when none is running', () => {
    expect(
      renderToolLines([
        { name: 'search', status: 'done' },
        { name: 'Get_Issue', agent: 'jira', status: 'failed' },
      ]),
    ).toEqual(['❌ **Get_Issue** (jira) failed']);
    expect(renderToolLines([{ name: 'search', agent: 'search', status: 'completed' }])).toEqual([
      '✅ **search** done',
    ]);
  });

  it('lists at most maxTools running tools', () => {
    const tools: ToolActivity[] = Array.from({ length: 5 }, (_, i) => ({ name: `t${i}`, status: 'running' }));
    expect(renderToolLines(tools, 2)).toEqual(['🔧 **t3**…', '🔧 **t4**…', '🔧 …and 3 more running']);
  });

  it('elides steps in the middle of a long plan, keeping the current one and the ends', () => {
    const steps = plan(200, 120, (i) => `Step ${i}: ${'do something useful '.repeat(3)}`);
    const text = renderProgress({ plan: steps, tools: [] }, 10_000, 0, { maxChars: 2000 });
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text).toContain('- 🔄 Step 120:');
    expect(text).toContain('- ✅ Step 0:');
    expect(text).toContain('- ⏳ Step 199:');
    const elisions = [...text.matchAll(/- … (\d+) more steps/g)].map((m) => Number(m[1]));
    expect(elisions.length).toBe(2);
    const shown = (text.match(/^- [✅🔄⏳]/gmu) ?? []).length;
    expect(shown + elisions.reduce((a, b) => a + b, 0)).toBe(200);
  });

  it('keeps to 7439 bytes with multi-byte titles', () => {
    const steps = plan(300, 150, (i) => `ステップ ${i} ${'漢字'.repeat(40)}`);
    const text = renderProgress({ plan: steps, tools: [] }, 0, 0, { maxChars: 7000 });
    expect(bytes(text)).toBeLessThanOrEqual(7439);
    expect(text).toContain('- 🔄 ステップ 150');
  });

  it('shows the tail of the streamed text as a one-line quote', () => {
    const text = renderProgress(
      { plan: [], tools: [], streamedText: `Start of the answer\n\n\`\`\`js\n${'word '.repeat(100)}the end` },
      3000,
      0,
      { maxChars: 7000, previewChars: 40 },
    );
    const preview = text.split('\n').at(-1)!;
    expect(preview.startsWith('> …')).toBe(true);
    expect(preview.endsWith('the end')).toBe(true);
    expect(preview).not.toContain('```');
  });

  it('drops the preview before it drops plan steps near the current one', () => {
    const steps = plan(6, 2);
    const state = { plan: steps, tools: [], streamedText: 'x'.repeat(500) };
    const roomy = renderProgress(state, 3000, 0, { maxChars: 1000, previewChars: 300 });
    expect(roomy).toContain('> …');
    const tight = renderProgress(state, 3000, 0, { maxChars: 200, previewChars: 300 });
    expect(tight).not.toContain('> ');
    expect(tight).toContain('- 🔄 Step 2');
    expect(tight.length).toBeLessThanOrEqual(200);
  });

  it('caps a huge step title', () => {
    const steps: PlanStep[] = [{ id: 'a', title: 'x'.repeat(10_000), status: 'in_progress' }];
    const text = renderProgress({ plan: steps, tools: [] }, 3000, 0, { maxChars: 7000 });
    expect(text.length).toBeLessThan(400);
    expect(text).toContain('…');
  });

  it('always fits its limits, never cutting a character', () => {
    const status = fc.constantFrom('pending', 'in_progress', 'completed', 'failed', 'skipped');
    const title = fc.string({ unit: 'grapheme', maxLength: 200 });
    const step = fc.record({
      id: fc.string(),
      title,
      status,
      agent: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    });
    const tool = fc.record({
      name: fc.string({ maxLength: 40 }),
      agent: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      status: fc.constantFrom('running' as const, 'done' as const, 'failed' as const),
    });
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 120 }),
        fc.array(tool, { maxLength: 8 }),
        fc.option(fc.string({ unit: 'grapheme', maxLength: 2000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 10 * 3600_000 }),
        fc.integer({ min: 60, max: 7000 }),
        fc.integer({ min: 60, max: 7439 }),
        (steps, tools, streamedText, elapsed, maxChars, maxBytes) => {
          const text = renderProgress(
            { plan: steps, tools, ...(streamedText !== undefined ? { streamedText } : {}) },
            elapsed,
            0,
            { maxChars, maxBytes, previewChars: 200 },
          );
          expect(text.length).toBeLessThanOrEqual(maxChars);
          expect(bytes(text)).toBeLessThanOrEqual(maxBytes);
          expect(text.length).toBeGreaterThan(0);
          expect(/[\uD800-\uDBFF]$/.test(text)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
