import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTurnRendering } from '../../../src/actors/answering/rendering.js';
import { boundAnswer } from '../../../src/render/bound.js';
import { scanLines } from '../../../src/render/fences.js';
import { messages } from '../../../src/render/messages.js';

const NOTE_SEPARATOR = '\n\n✂️';

/** The kept text (the note removed) and the note. */
function parts(text: string): { body: string; note: string } {
  const at = text.lastIndexOf(NOTE_SEPARATOR);
  return at < 0 ? { body: text, note: '' } : { body: text.slice(0, at), note: text.slice(at + 2) };
}

/** Whether every fence opened in `text` is closed again. */
function fencesBalanced(text: string): boolean {
  const lines = scanLines(text);
  const last = lines[lines.length - 1];
  return last === undefined || last.kind === 'text' || last.kind === 'close';
}

describe('boundAnswer', () => {
  it('leaves an answer within the bound alone', () => {
    expect(boundAnswer('short answer', { maxChars: 30_000 })).toEqual({
      text: 'short answer',
      omittedChars: 0,
    });
  });

  it('cuts one 40,000-character code block inside the fence, closes the fence, and says how much is missing', () => {
    const code = Array.from({ length: 1_000 }, (_, i) => `print(${String(i).padStart(34, '0')})`).join('\n');
    const answer = `\`\`\`python\n${code}\n\`\`\``;
    expect(answer.length).toBeGreaterThan(40_000);
    const { text, omittedChars } = boundAnswer(answer, { maxChars: 30_000 });
    const { body, note } = parts(text);
    expect(body.length).toBeLessThanOrEqual(30_000);
    expect(body.endsWith('\n```')).toBe(true);
    expect(fencesBalanced(body)).toBe(true);
    // Cut at a line of the code, never inside one.
    const lastCodeLine = body.split('\n').at(-2)!;
    expect(lastCodeLine).toMatch(/^print\(\d{34}\)$/);
    expect(omittedChars).toBe(answer.length - (body.length - '\n```'.length));
    expect(note).toBe(messages.answerCut(omittedChars, 30_000));
    expect(note).toContain(omittedChars.toLocaleString('en-US'));
  });

  it('cuts a code block that is one endless line inside the line, and still closes the fence', () => {
    const answer = `Here:\n\n~~~~\n${'x'.repeat(40_000)}\n~~~~`;
    const { body } = parts(boundAnswer(answer, { maxChars: 30_000 }).text);
    expect(body.length).toBeLessThanOrEqual(30_000);
    expect(body.endsWith('x\n~~~~')).toBe(true);
    expect(fencesBalanced(body)).toBe(true);
  });

  it('prefers to cut before a code block when that keeps at least half the bound', () => {
    const prose = 'p'.repeat(20_000);
    const answer = `${prose}\n\n\`\`\`\n${'y\n'.repeat(20_000)}\`\`\``;
    const { body } = parts(boundAnswer(answer, { maxChars: 30_000 }).text);
    expect(body).toBe(prose);
  });

  it('cuts prose at the last paragraph break within the bound', () => {
    const paragraphs = Array.from({ length: 300 }, (_, i) => `Paragraph ${i}. ${'word '.repeat(40).trim()}`);
    const answer = paragraphs.join('\n\n');
    const { body } = parts(boundAnswer(answer, { maxChars: 30_000 }).text);
    expect(body.length).toBeLessThanOrEqual(30_000);
    expect(answer.startsWith(`${body}\n\n`)).toBe(true);
    expect(answer.slice(body.length + 2).length).toBeGreaterThan(0);
    // The next paragraph would not have fitted.
    const next = paragraphs[body.split('\n\n').length]!;
    expect(body.length + 2 + next.length).toBeGreaterThan(30_000);
  });

  it('cuts text without any break on a character boundary', () => {
    const answer = '😀'.repeat(25_000);
    const { body } = parts(boundAnswer(answer, { maxChars: 30_001 }).text);
    expect(body.length).toBe(30_000);
    expect(body).not.toMatch(/[\uD800-\uDBFF]$/);
  });

  it('counts what the turn state already dropped, also when the rest fits', () => {
    expect(boundAnswer('kept', { maxChars: 30_000, alreadyOmittedChars: 5 })).toEqual({
      text: `kept\n\n${messages.answerCut(5, 30_000)}`,
      omittedChars: 5,
    });
    const long = boundAnswer('z'.repeat(40_000), { maxChars: 30_000, alreadyOmittedChars: 1_000 });
    expect(long.omittedChars).toBe(11_000);
  });

  it('keeps any answer within the bound with its fences balanced, and keeps its start', () => {
    const piece = fc.constantFrom(
      'word ',
      'line\n',
      '\n\n',
      '```\n',
      '```js\n',
      '~~~\n',
      '    ```\n',
      '😀',
      '| a |\n',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 400 }),
        fc.integer({ min: 100, max: 600 }),
        (pieces, maxChars) => {
          const answer = pieces.join('');
          const { text, omittedChars } = boundAnswer(answer, { maxChars });
          if (answer.length <= maxChars) {
            expect(text).toBe(answer);
            return;
          }
          const { body } = parts(text);
          expect(body.length).toBeLessThanOrEqual(maxChars);
          expect(omittedChars).toBeGreaterThan(0);
          const closed = /\n *(`{3,}|~{3,})$/.exec(body);
          const kept = closed && !answer.startsWith(body) ? body.slice(0, closed.index) : body;
          expect(answer.startsWith(kept)).toBe(true);
          expect(fencesBalanced(body)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the answer a runaway agent gets', () => {
  it('a 2 MB answer is posted as a handful of messages, the note and footer on the last', () => {
    const rendering = createTurnRendering({
      maxMessageChars: 7_000,
      agentName: 'CAIPE',
      idleTimeoutMs: 1_000,
    });
    const answer = `${'All work and no play. '.repeat(50)}\n\n`.repeat(2_000);
    expect(answer.length).toBeGreaterThan(2_000_000);
    const posted = rendering.answer(answer, { inThread: true });
    expect(posted.length).toBeLessThanOrEqual(6);
    const last = posted.at(-1)!;
    expect(last).toContain('✂️');
    expect(last).toContain('Answered by');
    expect(posted.reduce((n, p) => n + p.length, 0)).toBeLessThan(32_000);
  });
});
