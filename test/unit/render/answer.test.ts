import { describe, expect, it } from 'vitest';
import { renderAnswer } from '../../../src/render/answer.js';
import { appendFooter, footerReserve, renderFooter } from '../../../src/render/footer.js';
import { messages } from '../../../src/render/messages.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('footer', () => {
  it('names the agent, and in a thread says a reply continues the conversation', () => {
    const threaded = renderFooter({ agentName: 'jira', inThread: true });
    expect(threaded).toContain('jira');
    expect(threaded).toMatch(/reply in this thread to continue/);
    expect(threaded.includes('\n')).toBe(false);
    const direct = renderFooter({ agentName: 'jira', inThread: false });
    expect(direct).toContain('jira');
    expect(direct).not.toMatch(/thread/);
  });

  it('keeps an agent name from breaking the Markdown around it', () => {
    const footer = renderFooter({ agentName: '**evil**`\nname', inThread: false });
    expect(footer.includes('\n')).toBe(false);
    expect(footer).not.toContain('`');
    expect((footer.match(/\*\*/g) ?? []).length).toBe(2);
  });

  it('goes on the last part when it fits, else into a part of its own', () => {
    const limits = { maxChars: 50 };
    expect(appendFooter(['one', 'two'], '_f_', limits)).toEqual(['one', 'two\n\n_f_']);
    const full = 'x'.repeat(48);
    expect(appendFooter([full], '_f_', limits)).toEqual([full, '_f_']);
    expect(appendFooter([], '_f_', limits)).toEqual(['_f_']);
    expect(appendFooter(['a'], '', limits)).toEqual(['a']);
    const huge = appendFooter(['a'], 'y'.repeat(80), limits);
    expect(huge[1]!.length).toBeLessThanOrEqual(50);
  });

  it('moves the footer out when the byte limit, not the char limit, is the problem', () => {
    const part = '漢'.repeat(60); // 180 bytes
    expect(appendFooter([part], '_footer_', { maxChars: 1000, maxBytes: 185 })).toEqual([part, '_footer_']);
  });

  it('reserves exactly the footer and its separator', () => {
    expect(footerReserve('_é_')).toEqual({ reserveLastChars: 5, reserveLastBytes: 6 });
    expect(footerReserve('')).toEqual({ reserveLastChars: 0, reserveLastBytes: 0 });
  });
});

describe('renderAnswer', () => {
  const footer = renderFooter({ agentName: 'caipe-supervisor', inThread: true });

  it('splits a long answer and ends the last part with the footer, all within limits', () => {
    const code = Array.from({ length: 300 }, (_, i) => `kubectl rollout status deploy/svc-${i} -n prod`).join(
      '\n',
    );
    const answer = `## Rollout\n\n${'All services were restarted in order. '.repeat(100)}\n\n\`\`\`bash\n${code}\n\`\`\`\n\nDone.`;
    const parts = renderAnswer(answer, { maxChars: 7000, footer });
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(7000);
      expect(bytes(part)).toBeLessThanOrEqual(7439);
    }
    expect(parts.at(-1)!.endsWith(`Done.\n\n${footer}`)).toBe(true);
    expect(parts.slice(0, -1).some((p) => p.includes(footer))).toBe(false);
  });

  it('keeps the footer in the last part even when the answer almost fills it', () => {
    const answer = 'word '.repeat(1399).trim(); // 6994 chars: fits alone, not with the footer
    const parts = renderAnswer(answer, { maxChars: 7000, footer });
    expect(parts).toHaveLength(2);
    expect(parts[1]!.endsWith(footer)).toBe(true);
    expect(parts[1]!.length).toBeLessThanOrEqual(7000);
  });

  it('converts tables before splitting', () => {
    const parts = renderAnswer('| a | b |\n|---|---|\n| 1 | 2 |', { maxChars: 7000 });
    expect(parts).toEqual(['```\na | b\n--+--\n1 | 2\n```']);
  });

  it('gives a footer too big to share a part a part of its own', () => {
    const big = `_${'f'.repeat(150)}_`;
    const answer = 'word '.repeat(20).trim();
    expect(renderAnswer(answer, { maxChars: 200, footer: big })).toEqual([answer, big]);
    expect(renderAnswer('short', { maxChars: 200, footer: big })).toEqual([`short\n\n${big}`]);
  });

  it('says so when there is no answer text', () => {
    expect(renderAnswer('  \n', { maxChars: 7000, footer })).toEqual([`${messages.noResponse}\n\n${footer}`]);
  });
});
