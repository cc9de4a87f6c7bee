/**
 * An answer held to `AGENT_MAX_ANSWER_CHARS` (SPEC "Agent output"): a runaway agent's 2 MB answer
 * becomes a few messages and a note, not two hundred messages.
 *
 * Where it is cut, best first:
 * - outside code, at the last paragraph break (a blank line) that keeps at least half the budget;
 *   else at the last line break; else at the last space; else anywhere (on a grapheme boundary);
 * - inside a fenced code block, just before the block when that keeps at least half the budget;
 *   else at the last line break of the code that leaves room to close the fence, and the fence is
 *   closed (same indent and marker), so what follows (the note) renders as prose, not as code.
 *
 * A note follows, saying how many characters were left out (also those the agent state already
 * dropped, `alreadyOmittedChars`). Pure.
 */
import { graphemeBoundaryAtOrBefore } from './bytes.js';
import { type Fence, lineIndexAt, scanLines } from './fences.js';
import { messages } from './messages.js';

export interface AnswerBound {
  /** Most characters of the agent's text kept (the closing fence line counts, the note does not). */
  maxChars: number;
  /** Characters the agent sent that were dropped before the text got here (turn-state caps). */
  alreadyOmittedChars?: number;
}

export interface BoundedAnswer {
  /** The text to render: whole, or cut with the note after it. */
  text: string;
  /** Characters left out; 0 when the answer was whole. */
  omittedChars: number;
}

/** Below this, a bound cannot keep a closed fence and some content; such limits are a bug. */
export const MIN_ANSWER_BOUND = 100;

function closingLine(fence: Fence): string {
  return `${fence.indent}${fence.marker}`;
}

/** The end of the kept text (an offset of `text`) and the fence to close after it, if any. */
function cutPoint(text: string, limit: number): { end: number; close?: Fence } {
  const lines = scanLines(text);
  const index = lineIndexAt(lines, limit);
  const at = lines[index]!;
  const half = Math.floor(limit / 2);
  if (at.kind === 'text' || (at.kind === 'open' && at.start >= limit)) {
    return { end: paragraphEnd(text, lines, limit, half) ?? proseEnd(text, limit) };
  }

  let opening = index;
  while (lines[opening]!.kind !== 'open') opening--;
  const openLine = lines[opening]!;
  const fence = openLine.fence!;
  // Just before the block, when that keeps enough: the code is then not cut at all.
  const beforeBlock = trimEnd(text, openLine.start);
  if (beforeBlock >= half) return { end: beforeBlock };
  const room = limit - closingLine(fence).length - 1;
  if (room <= openLine.end) return { end: beforeBlock };
  // The last code line that ends within the room; a single endless line is cut inside.
  for (let i = index; i > opening; i--) {
    const line = lines[i]!;
    if (line.kind === 'code' && line.end <= room && line.end > openLine.end)
      return { end: line.end, close: fence };
  }
  return {
    end: graphemeBoundaryAtOrBefore(text, openLine.next, Math.max(openLine.next, room)),
    close: fence,
  };
}

/**
 * The end of the last paragraph (the text before a blank line, outside code) that ends at or before
 * `limit` and keeps at least `floor` characters.
 */
function paragraphEnd(
  text: string,
  lines: ReturnType<typeof scanLines>,
  limit: number,
  floor: number,
): number | undefined {
  for (let i = lineIndexAt(lines, Math.min(limit, text.length)); i > 0; i--) {
    const line = lines[i]!;
    if (line.kind !== 'text' || line.end > line.start || line.start > limit) continue;
    const end = trimEnd(text, line.start);
    if (end < floor) return undefined;
    if (end > 0) return end;
  }
  return undefined;
}

/** No paragraph break to use: the last line break, else the last space, else a grapheme boundary. */
function proseEnd(text: string, limit: number): number {
  const floor = Math.floor(limit / 2);
  const newline = text.lastIndexOf('\n', limit);
  if (newline >= floor) return trimEnd(text, newline);
  const space = text.lastIndexOf(' ', limit);
  if (space >= floor) return trimEnd(text, space);
  return graphemeBoundaryAtOrBefore(text, 0, limit);
}

function trimEnd(text: string, end: number): number {
  let i = end;
  while (i > 0 && /\s/.test(text[i - 1]!)) i--;
  return i;
}

/** `text` within `bound.maxChars`, cut as described above, with the note when anything was left out. */
export function boundAnswer(text: string, bound: AnswerBound): BoundedAnswer {
  const limit = Math.max(MIN_ANSWER_BOUND, Math.floor(bound.maxChars));
  const earlier = Math.max(0, Math.floor(bound.alreadyOmittedChars ?? 0));
  if (text.length <= limit) {
    if (earlier === 0) return { text, omittedChars: 0 };
    return { text: `${text.trimEnd()}\n\n${messages.answerCut(earlier, limit)}`, omittedChars: earlier };
  }
  const cut = cutPoint(text, limit);
  const kept = text.slice(0, cut.end).trimEnd();
  const omittedChars = text.length - kept.length + earlier;
  const body = cut.close ? `${kept}\n${closingLine(cut.close)}` : kept;
  return { text: `${body}\n\n${messages.answerCut(omittedChars, limit)}`, omittedChars };
}
