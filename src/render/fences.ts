/**
 * Fenced code blocks, as CommonMark defines them, read line by line.
 *
 * We accept fences at any indentation (answers often put code inside list items, indented by 4
 * or more), which is a little more lenient than CommonMark's top-level 0–3 spaces. A fence opens
 * with 3+ backticks or 3+ tildes and an optional info string (no backtick in it for backtick
 * fences); it closes with a line of the same character, at least as long, and nothing else.
 */

export interface Fence {
  /** Leading spaces of the opening line. */
  indent: string;
  /** The run of fence characters, e.g. "```" or "~~~~". */
  marker: string;
  /** The info string, trimmed (e.g. "ts" or "python title=x.py"); may be empty. */
  info: string;
}

export type LineKind = 'text' | 'open' | 'code' | 'close';

export interface ScannedLine {
  /** Offset of the first character of the line. */
  start: number;
  /** Offset just past the line's content (before its `\n` or `\r\n`). */
  end: number;
  /** Offset of the next line (after the line break), or the text length. */
  next: number;
  kind: LineKind;
  /** For `open`, `code` and `close`: the fence this line opens, belongs to, or closes. */
  fence: Fence | undefined;
}

const OPENING = /^([ \t]*)(`{3,}|~{3,})(.*)$/;

export function parseOpeningFence(line: string): Fence | undefined {
  const match = OPENING.exec(line);
  if (!match) return undefined;
  const indent = match[1] ?? '';
  const marker = match[2] ?? '';
  const info = (match[3] ?? '').trim();
  if (marker.startsWith('`') && info.includes('`')) return undefined;
  return { indent, marker, info };
}

export function closesFence(line: string, fence: Fence): boolean {
  const trimmed = line.trim();
  const char = fence.marker[0] ?? '`';
  if (trimmed.length < fence.marker.length) return false;
  for (const c of trimmed) if (c !== char) return false;
  return true;
}

/** Splits `text` into lines and classifies each as prose, fence opening, code, or fence closing. */
export function scanLines(text: string): ScannedLine[] {
  const lines: ScannedLine[] = [];
  let open: Fence | undefined;
  let start = 0;
  while (start <= text.length) {
    const newline = text.indexOf('\n', start);
    const next = newline === -1 ? text.length : newline + 1;
    let end = newline === -1 ? text.length : newline;
    if (end > start && text.charCodeAt(end - 1) === 13) end -= 1;
    const content = text.slice(start, end);
    if (open) {
      if (closesFence(content, open)) {
        lines.push({ start, end, next, kind: 'close', fence: open });
        open = undefined;
      } else {
        lines.push({ start, end, next, kind: 'code', fence: open });
      }
    } else {
      const fence = parseOpeningFence(content);
      if (fence) {
        open = fence;
        lines.push({ start, end, next, kind: 'open', fence });
      } else {
        lines.push({ start, end, next, kind: 'text', fence: undefined });
      }
    }
    if (newline === -1) break;
    start = next;
  }
  return lines;
}

/** Index of the line containing `offset` (binary search over line starts). */
export function lineIndexAt(lines: readonly ScannedLine[], offset: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lines[mid]!.start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
