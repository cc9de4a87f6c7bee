import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitMessage } from '../../../src/render/split.js';

// An independent reading of fences (not the splitter's own scanner): a delimiter line is 3+
// backticks or tildes after optional indentation; inside a fence, it closes on a line of the same
// character at least as long with nothing else.
function fenceLines(text: string): { delimiters: Set<number>; unbalanced: boolean } {
  const lines = text.split('\n');
  const delimiters = new Set<number>();
  let open: { char: string; length: number } | null = null;
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (open) {
      const t = line.trim();
      if (t.length >= open.length && [...t].every((c) => c === open!.char)) {
        delimiters.add(i);
        open = null;
      }
      return;
    }
    const m = /^\s*(`{3,}|~{3,})(.*)$/.exec(line);
    if (m && !(m[1]!.startsWith('`') && m[2]!.includes('`'))) {
      delimiters.add(i);
      open = { char: m[1]![0]!, length: m[1]!.length };
    }
  });
  return { delimiters, unbalanced: open !== null };
}

function withoutFenceLines(text: string): string {
  const { delimiters } = fenceLines(text);
  return text
    .split('\n')
    .filter((_, i) => !delimiters.has(i))
    .join('\n');
}

const squash = (s: string): string => s.replace(/\s+/g, '');

const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '🏳️‍🌈', '❤️', '🚀'];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const asciiWord = fc.stringMatching(/^[a-zA-Z0-9]{1,12}$/);
const cjkWord = fc
  .array(fc.constantFrom('漢', '字', '日', '本', '語', 'テ', 'キ', 'ス', 'ト', '한', '국'), {
    minLength: 1,
    maxLength: 30,
  })
  .map((a) => a.join(''));
const emoji = fc.constantFrom(...EMOJI);
const longWord = fc
  .tuple(fc.constantFrom('a', 'é', '字', '😀', 'x-'), fc.integer({ min: 40, max: 400 }))
  .map(([c, n]) => c.repeat(n));
const inlineCode = asciiWord.map((w) => `\`${w}\``);
const word = fc.oneof(
  { weight: 10, arbitrary: asciiWord },
  { weight: 3, arbitrary: cjkWord },
  { weight: 2, arbitrary: emoji },
  { weight: 1, arbitrary: longWord },
  { weight: 1, arbitrary: inlineCode },
);
const sentence = fc
  .tuple(fc.array(word, { minLength: 1, maxLength: 25 }), fc.constantFrom('.', '!', '?', '。', ''))
  .map(([ws, end]) => ws.join(' ') + end);
const paragraph = fc.array(sentence, { minLength: 1, maxLength: 12 }).map((s) => s.join(' '));
const longLine = fc.array(sentence, { minLength: 20, maxLength: 60 }).map((s) => s.join(' '));
const listBlock = fc
  .array(sentence, { minLength: 1, maxLength: 8 })
  .map((s) => s.map((x) => `- ${x}`).join('\n'));

const codeLine = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 8 }), fc.array(word, { maxLength: 12 }))
      .map(([n, ws]) => ' '.repeat(n) + ws.join(' ')),
  },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constant('``') },
);

interface FenceSpec {
  char: '`' | '~';
  length: number;
  indent: number;
  info: string;
  lines: string[];
  closed: boolean;
}

const fenceSpec: fc.Arbitrary<FenceSpec> = fc.record({
  char: fc.constantFrom('`' as const, '~' as const),
  length: fc.integer({ min: 3, max: 5 }),
  indent: fc.integer({ min: 0, max: 3 }),
  info: fc.constantFrom('', 'ts', 'python', 'js title="a b.js"', 'bash'),
  lines: fc.array(codeLine, { minLength: 1, maxLength: 80 }),
  closed: fc.boolean(),
});

function renderFence(spec: FenceSpec, last: boolean): string {
  const marker = spec.char.repeat(spec.length);
  const pad = ' '.repeat(spec.indent);
  // Inside a longer fence, a shorter run of the same character is content, not a close.
  const inner = spec.length > 3 ? [`${spec.char.repeat(3)}`] : spec.char === '`' ? ['~~~'] : ['```'];
  const body = [...spec.lines.slice(0, 2), ...inner, ...spec.lines.slice(2)].join('\n');
  const close = spec.closed || !last ? `\n${pad}${marker}` : '';
  return `${pad}${marker}${spec.info}\n${body}${close}`;
}

type Block = { kind: 'prose'; text: string } | { kind: 'fence'; spec: FenceSpec };

const block: fc.Arbitrary<Block> = fc.oneof(
  { weight: 5, arbitrary: paragraph.map((text) => ({ kind: 'prose' as const, text })) },
  { weight: 1, arbitrary: longLine.map((text) => ({ kind: 'prose' as const, text })) },
  { weight: 2, arbitrary: listBlock.map((text) => ({ kind: 'prose' as const, text })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'prose' as const, text: '## Heading' }) },
  { weight: 3, arbitrary: fenceSpec.map((spec) => ({ kind: 'fence' as const, spec })) },
);

const markdown = fc
  .tuple(fc.array(block, { minLength: 1, maxLength: 14 }), fc.constantFrom('\n\n', '\n', '\r\n\r\n'))
  .map(([blocks, sep]) =>
    blocks
      .map((b, i) => (b.kind === 'prose' ? b.text : renderFence(b.spec, i === blocks.length - 1)))
      .join(sep),
  );

const limits = fc.record({
  maxChars: fc.integer({ min: 40, max: 1500 }),
  maxBytes: fc.option(fc.integer({ min: 40, max: 3000 }), { nil: undefined }),
  reserveLastChars: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
});

function checkParts(text: string, parts: string[], maxChars: number, maxBytes: number, reserve = 0): void {
  expect(parts.length).toBeGreaterThan(0);
  for (const part of parts) {
    expect(part.length).toBeLessThanOrEqual(maxChars);
    expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(maxBytes);
    expect(part.trim().length).toBeGreaterThan(0);
    expect(LONE_SURROGATE.test(part)).toBe(false);
    expect(fenceLines(part).unbalanced).toBe(false);
  }
  const last = parts[parts.length - 1]!;
  expect(last.length).toBeLessThanOrEqual(maxChars - reserve);
  expect(squash(parts.map(withoutFenceLines).join('\n'))).toBe(squash(withoutFenceLines(text)));
  // Grapheme clusters that are several code points are never torn apart.
  for (const e of EMOJI.filter((x) => x.length > 2)) {
    expect(parts.join('').split(e).length).toBe(text.split(e).length);
  }
}

describe('splitMessage properties', () => {
  it('keeps every part within both limits, balanced, non-empty, and loses nothing', () => {
    fc.assert(
      fc.property(markdown, limits, (text, l) => {
        const maxBytes = l.maxBytes ?? 7439;
        const parts = splitMessage(text, l);
        if (text.trim() === '') {
          expect(parts).toEqual([]);
          return;
        }
        checkParts(text, parts, l.maxChars, maxBytes, l.reserveLastChars ?? 0);
      }),
      { numRuns: 300 },
    );
  });

  it('holds at the production limits on long answers', () => {
    fc.assert(
      fc.property(fc.array(markdown, { minLength: 3, maxLength: 8 }), (texts) => {
        const text = texts.join('\n\n');
        const parts = splitMessage(text, { maxChars: 7000, reserveLastChars: 120, reserveLastBytes: 240 });
        checkParts(text, parts, 7000, 7439, 120);
      }),
      { numRuns: 40 },
    );
  });

  it('never splits a part that already fits', () => {
    fc.assert(
      fc.property(paragraph, (text) => {
        const trimmed = text.trim();
        fc.pre(trimmed.length > 0 && trimmed.length <= 1000 && Buffer.byteLength(trimmed) <= 7439);
        expect(splitMessage(trimmed, { maxChars: 1000 })).toEqual([trimmed]);
      }),
      { numRuns: 100 },
    );
  });
});
