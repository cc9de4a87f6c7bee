/**
 * Markdown that Webex cannot show, rewritten into Markdown it can.
 *
 * Webex renders no tables: a GitHub-flavoured table arrives as a wall of pipes. We turn each one
 * into an aligned monospace block when it is narrow enough to read that way and has no links
 * (a code block would make them unclickable), and otherwise into one bullet per row,
 * `**Header**: value · **Header**: value`. Everything else, including anything inside code
 * fences, is left exactly as it was.
 */

import { type ScannedLine, scanLines } from './fences.js';

export interface TableOptions {
  /** Widest table (in terminal columns) drawn as a monospace block; wider ones become lists. */
  maxWidth?: number;
}

export const DEFAULT_TABLE_WIDTH = 64;

type Align = 'left' | 'right' | 'center';

interface Table {
  header: string[];
  align: Align[];
  rows: string[][];
}

const DELIMITER_CELL = /^:?-+:?$/;

/** Cells of one table row: split on pipes that are not escaped, outer pipes dropped. */
export function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells: string[] = [];
  let current = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && s[i + 1] === '|') {
      current += '\\|';
      i++;
    } else if (c === '|') {
      cells.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  cells.push(current.trim());
  return cells;
}

function parseDelimiterRow(line: string): Align[] | undefined {
  if (!line.includes('-')) return undefined;
  const cells = splitRow(line);
  const aligns: Align[] = [];
  for (const raw of cells) {
    const cell = raw.replace(/\s+/g, '');
    if (!DELIMITER_CELL.test(cell)) return undefined;
    const left = cell.startsWith(':');
    const right = cell.endsWith(':');
    aligns.push(left && right ? 'center' : right ? 'right' : 'left');
  }
  return aligns;
}

function indentOf(text: string, line: ScannedLine): number {
  let n = 0;
  while (line.start + n < line.end && text[line.start + n] === ' ') n++;
  return n;
}

function lineText(text: string, line: ScannedLine): string {
  return text.slice(line.start, line.end);
}

function isTableRow(text: string, line: ScannedLine | undefined): boolean {
  if (line?.kind !== 'text') return false;
  const content = lineText(text, line);
  return content.trim().length > 0 && content.includes('|') && indentOf(text, line) < 4;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const WIDE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]|[\u{20000}-\u{3FFFD}]|\p{Extended_Pictographic}/u;

/** Columns a string takes in a monospace font: wide (CJK, emoji) graphemes take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes.segment(text)) {
    if (/^\p{M}+$/u.test(segment)) continue;
    width += WIDE.test(segment) ? 2 : 1;
  }
  return width;
}

/** Cell text for a monospace block: inline markup that would show as raw symbols is removed. */
function plainCell(cell: string): string {
  return cell
    .replace(/\\\|/g, '|')
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/\*\*(.+?)\*\*/g, '$1')
    .replace(/__(.+?)__/g, '$1')
    .replace(/~~(.+?)~~/g, '$1')
    .replace(/`([^`]+)`/g, '$1');
}

/** Cell text inside a list item: Markdown stays (links keep working), line breaks become "; ". */
function inlineCell(cell: string): string {
  return cell
    .replace(/\\\|/g, '|')
    .replace(/\s*<br\s*\/?>\s*/gi, '; ')
    .trim();
}

function hasLinkOrHtml(cell: string): boolean {
  return /\[[^\]]*\]\([^)]*\)|<https?:|https?:\/\/|<[a-z][^>]*>/i.test(cell);
}

function pad(text: string, width: number, align: Align): string {
  const gap = Math.max(0, width - displayWidth(text));
  if (align === 'right') return ' '.repeat(gap) + text;
  if (align === 'center') {
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + text + ' '.repeat(gap - left);
  }
  return text + ' '.repeat(gap);
}

/** The table as an aligned monospace block, or undefined when it would not read well that way. */
function asMonospace(table: Table, maxWidth: number): string | undefined {
  const all = [table.header, ...table.rows];
  if (all.some((row) => row.some(hasLinkOrHtml))) return undefined;
  const plain = all.map((row) => row.map(plainCell));
  if (plain.some((row) => row.some((cell) => /`{3,}|~{3,}/.test(cell)))) return undefined;
  const widths = table.header.map((_, col) =>
    Math.max(1, ...plain.map((row) => displayWidth(row[col] ?? ''))),
  );
  const total = widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1);
  if (total > maxWidth) return undefined;
  const render = (row: string[]): string =>
    row
      .map((cell, col) => pad(cell, widths[col]!, table.align[col] ?? 'left'))
      .join(' | ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  const [header, ...rows] = plain;
  return ['```', render(header!), rule, ...rows.map(render), '```'].join('\n');
}

/** The table as one bullet per row: `- **Header**: value · **Header**: value`. */
function asList(table: Table): string {
  const headers = table.header.map((h) => inlineCell(h).replace(/^\*\*(.*)\*\*$/, '$1'));
  const items: string[] = [];
  for (const row of table.rows) {
    const pairs: string[] = [];
    row.forEach((raw, col) => {
      const value = inlineCell(raw);
      if (value.length === 0) return;
      const header = headers[col] ?? '';
      pairs.push(header.length > 0 ? `**${header}**: ${value}` : value);
    });
    if (pairs.length > 0) items.push(`- ${pairs.join(' · ')}`);
  }
  if (items.length === 0)
    return `- ${headers
      .filter((h) => h.length > 0)
      .map((h) => `**${h}**`)
      .join(' · ')}`;
  return items.join('\n');
}

/** Renders one table in the form Webex shows best. */
export function renderTable(table: Table, options: TableOptions = {}): string {
  return asMonospace(table, options.maxWidth ?? DEFAULT_TABLE_WIDTH) ?? asList(table);
}

/** `text` with every GitHub-flavoured table outside code fences rewritten for Webex. */
export function convertTables(text: string, options: TableOptions = {}): string {
  if (!text.includes('|')) return text;
  const lines = scanLines(text);
  let out = '';
  let copiedUpTo = 0;
  let i = 0;
  while (i < lines.length - 1) {
    const headerLine = lines[i]!;
    const delimiterLine = lines[i + 1]!;
    if (
      !isTableRow(text, headerLine) ||
      delimiterLine.kind !== 'text' ||
      indentOf(text, delimiterLine) >= 4
    ) {
      i++;
      continue;
    }
    const align = parseDelimiterRow(lineText(text, delimiterLine));
    const header = splitRow(lineText(text, headerLine));
    if (!align || align.length !== header.length) {
      i++;
      continue;
    }
    let j = i + 2;
    const rows: string[][] = [];
    while (j < lines.length && isTableRow(text, lines[j])) {
      const cells = splitRow(lineText(text, lines[j]!));
      // GitHub pads short rows with empty cells and drops extra ones.
      rows.push(header.map((_, col) => cells[col] ?? ''));
      j++;
    }
    const before = lines[i - 1];
    const after = lines[j];
    const needsBlankBefore = before !== undefined && lineText(text, before).trim().length > 0;
    const needsBlankAfter = after !== undefined && lineText(text, after).trim().length > 0;
    const lastLine = lines[j - 1]!;
    out += text.slice(copiedUpTo, headerLine.start);
    out += (needsBlankBefore ? '\n' : '') + renderTable({ header, align, rows }, options);
    out += needsBlankAfter ? '\n\n' : text.slice(lastLine.end, lastLine.next);
    copiedUpTo = lastLine.next;
    i = j;
  }
  return out + text.slice(copiedUpTo);
}
