/**
 * A long answer end to end: 20,000 characters with a long code block, some of it multi-byte, is
 * posted as several messages that Webex accepts, each within the character and byte limits, code
 * fences closed and reopened across the cut, the footer on the last, the working message gone.
 */
import { describe, expect, it } from 'vitest';
import type { SseEmulator, SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startEmulator, startWorld, type World } from '../../helpers/world.js';
import {
  botPostsIn,
  botWrites,
  CaipeTurn,
  isProgressMarkdown,
  markdownOf,
  untilNoWorkingMessage,
  waitForBotPostContaining,
  workingMessages,
} from './support.js';

let world: World | undefined;
let emulator: SseEmulator | undefined;

const track = closeAfterEach();

const WEBEX_MAX_BYTES = 7439;

function longAnswer(): { text: string; codeLines: string[]; paragraphs: string[] } {
  const paragraphs: string[] = [];
  for (let i = 1; i <= 12; i++) {
    paragraphs.push(
      `Paragraph ${i}: the rollout in Zürich and São Paulo is naïve about retries — ` +
        `each café-sized service gets its own budget ✅. `.repeat(4).trim(),
    );
  }
  const codeLines: string[] = [];
  for (let i = 1; codeLines.join('\n').length < 9_000; i++) {
    codeLines.push(`    result_${i} = fetch_metric("データ-${i}", window=${i * 5})  # 指標 ${i}`);
  }
  const code = ['```python', 'def collect():', ...codeLines, '    return locals()', '```'].join('\n');
  const head = paragraphs.slice(0, 6).join('\n\n');
  const tail = paragraphs.slice(6).join('\n\n');
  let text = `${head}\n\n${code}\n\n${tail}`;
  // Top up with plain sentences to exactly 20,000 characters.
  const filler = ' More detail follows on the same topic.';
  while (text.length < 20_000) text += filler;
  text = text.slice(0, 20_000).trimEnd();
  return { text, codeLines, paragraphs };
}

function fenceLines(markdown: string): string[] {
  return markdown.split('\n').filter((line) => line.trimStart().startsWith('```'));
}

describe('a long answer', () => {
  it('is split into messages within the limits, fences balanced, footer on the last, working message deleted', async () => {
    emulator = track(await startEmulator());
    world = track(await startWorld({ agentUrl: emulator.url }));
    const { sim } = world;
    const { text, codeLines, paragraphs } = longAnswer();
    expect(text.length).toBeGreaterThanOrEqual(19_990);

    emulator.enqueue(async (exchange: SseExchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await turn.stream(text, 10);
      await turn.answer(text);
    });

    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createDirectRoom(alice);
    sim.post(alice, room, { text: 'give me the full report' });
    await waitForBotPostContaining(sim, 'Answered by');
    await untilNoWorkingMessage(sim, room.id);

    const answers = botPostsIn(sim, room.id).filter((r) => !isProgressMarkdown(markdownOf(r)));
    const parts = answers.map(markdownOf);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(7_000);
      expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(WEBEX_MAX_BYTES);
      expect(fenceLines(part).length % 2).toBe(0);
    }
    // The code block spans a cut: the part that continues it reopens the fence with its language.
    const withCode = parts.filter((p) => p.includes('result_'));
    expect(withCode.length).toBeGreaterThanOrEqual(2);
    for (const part of withCode) expect(fenceLines(part)[0]).toBe('```python');
    // Only the last part carries the footer (a 1:1 top-level answer: no thread hint).
    expect(parts.slice(0, -1).every((p) => !p.includes('Answered by'))).toBe(true);
    expect(parts.at(-1)).toMatch(/_Answered by \*\*CAIPE\*\*_$/);

    // Nothing lost, nothing repeated, in order.
    const joined = parts.join('\n');
    let cursor = -1;
    for (const line of codeLines) {
      const at = joined.indexOf(line, cursor + 1);
      expect(at).toBeGreaterThan(cursor);
      expect(joined.indexOf(line, at + 1)).toBe(-1);
      cursor = at;
    }
    for (const paragraph of paragraphs) expect(joined).toContain(paragraph);
    expect(joined).toContain('More detail follows on the same topic.');

    // Webex accepted every write; the answer is what is left in the space.
    expect(botWrites(sim).filter((r) => r.status >= 400)).toEqual([]);
    expect(workingMessages(sim, room.id).every((m) => m.deleted)).toBe(true);
    const visible = world.visibleBotMessages(room.id);
    expect(visible.map((m) => m.markdown)).toEqual(parts);
    expect(visible.every((m) => m.parentId === undefined)).toBe(true);
  });
});
