import { describe, expect, it } from 'vitest';
import { splitMessage } from '../../../src/render/split.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('splitMessage', () => {
  it('keeps a text at exactly the limit in one part', () => {
    const text = 'a'.repeat(7000);
    expect(splitMessage(text, { maxChars: 7000 })).toEqual([text]);
  });

  it('returns no parts for empty or blank text', () => {
    expect(splitMessage('', { maxChars: 100 })).toEqual([]);
    expect(splitMessage(' \n\n\t ', { maxChars: 100 })).toEqual([]);
  });

  it('rejects limits too small to hold a fence', () => {
    expect(() => splitMessage('hello', { maxChars: 10 })).toThrow(RangeError);
  });

  it('splits a 20,000-character answer with a long code block, closing and reopening the fence', () => {
    const code = Array.from(
      { length: 400 },
      (_, i) => `    result_${i} = transform(items[${i}])  # step ${i}`,
    );
    const prose = 'The deployment finished. Here is what changed in each service. '.repeat(40);
    const text = `${prose}\n\n\`\`\`python title="fix.py"\n${code.join('\n')}\n\`\`\`\n\nThat is all. ${prose}`;
    expect(text.length).toBeGreaterThan(20_000);

    const parts = splitMessage(text, { maxChars: 7000 });
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(7000);
      expect(bytes(part)).toBeLessThanOrEqual(7439);
    }
    const inCode = parts.filter((p) => p.includes('result_'));
    expect(inCode.length).toBeGreaterThan(1);
    // Each part that carries code has it inside a python fence, and closes it.
    for (const part of inCode) {
      expect(part).toMatch(/```python title="fix\.py"\n/);
      expect((part.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
    // A continuation part starts by reopening the fence, and code lines keep their indentation.
    const continued = inCode[1]!;
    expect(continued.startsWith('```python title="fix.py"\n    result_')).toBe(true);
    // Nothing is lost or duplicated.
    const all = parts.join('\n');
    for (let i = 0; i < 400; i++) expect(all.split(`result_${i} =`).length).toBe(2);
  });

  it('prefers a paragraph break, then a line break, then a sentence, then a word', () => {
    const para = `${'word '.repeat(12).trim()}.\n\n${'more '.repeat(12).trim()}.`;
    expect(splitMessage(para, { maxChars: 80 })).toEqual([
      `${'word '.repeat(12).trim()}.`,
      `${'more '.repeat(12).trim()}.`,
    ]);

    const lines = `${'alpha '.repeat(6).trim()}\n${'beta '.repeat(6).trim()}\n${'gamma '.repeat(6).trim()}`;
    const lineParts = splitMessage(lines, { maxChars: 70 });
    expect(lineParts[0]).toBe(`${'alpha '.repeat(6).trim()}\n${'beta '.repeat(6).trim()}`);

    const sentences = 'One two three four five six. Seven eight nine ten eleven twelve.';
    expect(splitMessage(sentences, { maxChars: 50 })).toEqual([
      'One two three four five six.',
      'Seven eight nine ten eleven twelve.',
    ]);

    const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor';
    const wordParts = splitMessage(words, { maxChars: 40 });
    expect(wordParts.every((p) => p.length <= 40)).toBe(true);
    expect(wordParts.join(' ')).toBe(words);
  });

  it('cuts a word with no spaces hard, and the pieces join back', () => {
    const text = 'x'.repeat(250);
    const parts = splitMessage(text, { maxChars: 100 });
    expect(parts.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(parts.join('')).toBe(text);
  });

  it('keeps CJK text within the byte limit (3 bytes a character)', () => {
    const text = '漢字のテキスト'.repeat(2000);
    const parts = splitMessage(text, { maxChars: 7000 });
    for (const part of parts) expect(bytes(part)).toBeLessThanOrEqual(7439);
    expect(parts.join('')).toBe(text);
    expect(parts[0]!.length).toBe(2479); // floor(7439 / 3)
  });

  it('splits CJK sentences after the ideographic full stop', () => {
    const sentence = '今日は良い天気です。';
    const text = sentence.repeat(10);
    const parts = splitMessage(text, { maxChars: 45 });
    for (const part of parts) expect(part.endsWith('。')).toBe(true);
    expect(parts.join('')).toBe(text);
  });

  it('never splits an emoji, a flag or a family', () => {
    const text = '👨‍👩‍👧🇫🇷👍🏽'.repeat(60);
    const parts = splitMessage(text, { maxChars: 50 });
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(50);
      expect(part.split('👨‍👩‍👧').join('').split('🇫🇷').join('').split('👍🏽').join('')).toBe('');
    }
    expect(parts.join('')).toBe(text);
  });

  it('reopens a tilde fence with its info string, and an indented fence without its deep indent', () => {
    const tilde = `~~~~yaml\n${Array.from({ length: 30 }, (_, i) => `key${i}: value ${i}`).join('\n')}\n~~~~`;
    const tildeParts = splitMessage(tilde, { maxChars: 200 });
    expect(tildeParts.length).toBeGreaterThan(1);
    for (const part of tildeParts) {
      expect(part.startsWith('~~~~yaml\n')).toBe(true);
      expect(part.endsWith('\n~~~~')).toBe(true);
    }

    const nested = `1. Run this:\n\n    \`\`\`bash\n${Array.from({ length: 30 }, (_, i) => `    echo ${i}`).join('\n')}\n    \`\`\``;
    const nestedParts = splitMessage(nested, { maxChars: 160 });
    expect(nestedParts[0]!.endsWith('\n    ```')).toBe(true);
    expect(nestedParts[1]!.startsWith('```bash\n    echo')).toBe(true);
  });

  it('closes a fence the answer left open, so what follows is prose', () => {
    const text = 'Here:\n\n```js\nconsole.log(1);';
    expect(splitMessage(text, { maxChars: 100 })).toEqual(['Here:\n\n```js\nconsole.log(1);\n```']);
  });

  it('does not start a part with a fence run when cutting through prose', () => {
    const text = `${'a'.repeat(38)}\`\`\`${'b'.repeat(50)}`;
    const parts = splitMessage(text, { maxChars: 40 });
    for (const part of parts.slice(1)) expect(part.startsWith('```')).toBe(false);
    expect(parts.join('')).toBe(text);
  });

  it('does not start a part mid-line with list or heading syntax', () => {
    const text = 'alpha beta gamma delta epsilon zeta - eta theta iota kappa lambda';
    const parts = splitMessage(text, { maxChars: 40 });
    for (const part of parts) expect(part.startsWith('- ')).toBe(false);
  });

  it('leaves room in the last part for a footer', () => {
    const text = 'word '.repeat(39).trim(); // 194 chars
    expect(splitMessage(text, { maxChars: 200 })).toHaveLength(1);
    const parts = splitMessage(text, { maxChars: 200, reserveLastChars: 30 });
    expect(parts.length).toBe(2);
    expect(parts[1]!.length).toBeLessThanOrEqual(170);
    expect(parts.join(' ')).toBe(text);
  });

  it('leaves byte room in the last part too', () => {
    const text = 'é'.repeat(90); // 180 bytes
    const parts = splitMessage(text, { maxChars: 200, maxBytes: 200, reserveLastBytes: 40 });
    expect(parts.length).toBe(2);
    expect(bytes(parts[1]!)).toBeLessThanOrEqual(160);
  });

  it('does not leave an empty code block at a cut', () => {
    const text = `${'Some intro text here. '.repeat(4)}\n\n\`\`\`ts\nconst a = 1;\nconst b = 2;\n\`\`\``;
    const parts = splitMessage(text, { maxChars: 100 });
    for (const part of parts) expect(part).not.toMatch(/```ts\n```/);
  });
});
