/**
 * Splitting a long answer into Webex messages.
 *
 * Every part is within `maxChars` UTF-16 code units AND `maxBytes` UTF-8 bytes (see bytes.ts for
 * why both), never cuts a character, and prefers to cut at a paragraph (blank line), then a line,
 * then a sentence, then a word, and only then anywhere (on a grapheme boundary).
 *
 * Code fences survive a cut: a part that ends inside a fenced block gets a closing fence line, and
 * the next part reopens it with the same fence and info string, so every part renders on its own.
 * Whitespace at a cut point (the blank lines or spaces where the text was cut) is dropped; nothing
 * else is changed, so the parts joined (minus the fence lines added here) give back the text.
 */

import {
  codePointLimitIndex,
  graphemeBoundaryAtOrBefore,
  type TextLimits,
  WEBEX_MESSAGE_BYTE_LIMIT,
} from './bytes.js';
import { type Fence, lineIndexAt, type ScannedLine, scanLines } from './fences.js';

export interface SplitOptions extends TextLimits {
  /** Room to leave in the LAST part, e.g. for a footer the caller appends (code units). */
  reserveLastChars?: number;
  /** Room to leave in the LAST part, in UTF-8 bytes. */
  reserveLastBytes?: number;
}

/** Below this, a part cannot hold a reopened fence plus some content; such limits are a bug. */
export const MIN_SPLIT_LIMIT = 32;

interface Budget {
  chars: number;
  bytes: number;
}

interface Cut {
  /** Where the part's body ends (before trimming trailing whitespace). */
  bodyEnd: number;
  /** Where the next part's body starts. */
  nextStart: number;
}

/** How a part written inside a fence reopens and closes it. */
interface FenceStyle {
  open: string;
  close: string;
}

const encoder = new TextEncoder();
const bytesOf = (s: string): number => (s.length === 0 ? 0 : encoder.encode(s).length);

// A part that starts mid-line must not start with text that Markdown reads as block syntax
// (a fence, heading, list item, quote, setext underline or table row): it would change how the
// whole part renders.
const BLOCK_START = /^(?:`{3,}|~{3,}|#{1,6}(?:\s|$)|[-+*](?:\s|$)|>|\d{1,9}[.)](?:\s|$)|[=-]+\s*$|\|)/;

const SENTENCE_END = /[.!?:;]["')\]]?$/;
const CJK_SENTENCE_END = /[。！？]/;

export function splitMessage(text: string, options: SplitOptions): string[] {
  const maxChars = options.maxChars;
  const maxBytes = options.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT;
  if (!(maxChars >= MIN_SPLIT_LIMIT && maxBytes >= MIN_SPLIT_LIMIT)) {
    throw new RangeError(
      `splitMessage limits must be at least ${MIN_SPLIT_LIMIT} (got ${maxChars}, ${maxBytes})`,
    );
  }
  const reserve: Budget = {
    chars: Math.max(0, options.reserveLastChars ?? 0),
    bytes: Math.max(0, options.reserveLastBytes ?? 0),
  };
  return new Splitter(text, { chars: maxChars, bytes: maxBytes }, reserve).run();
}

class Splitter {
  private readonly lines: ScannedLine[];
  private readonly end: number;

  constructor(
    private readonly text: string,
    private readonly limit: Budget,
    private readonly reserve: Budget,
  ) {
    this.lines = scanLines(text);
    this.end = text.trimEnd().length;
  }

  run(): string[] {
    const parts: string[] = [];
    let pos = this.skipLeading(0, 'line');
    while (pos < this.end) {
      const startFence = this.fenceAt(pos);
      const style = startFence ? this.styleFor(startFence) : undefined;
      const prefix = style ? style.open : '';
      const head = prefix;

      // Does everything left fit in one final part, footer room included? (Skip building the
      // rest of a long text just to measure it.)
      const nearEnd = this.end - pos <= this.limit.chars;
      const whole = nearEnd
        ? head + this.text.slice(pos, this.end) + this.closingAt(this.end, startFence, style)
        : '';
      if (nearEnd && this.fitsWithin(whole, this.lastPartBudget())) {
        parts.push(whole);
        break;
      }
      // It does not: cut. When the rest would fit but for the footer room, cut with that room
      // taken off, so the cut lands before the end and the last part keeps its room.
      const fullFit = nearEnd && this.fitsWithin(whole, this.limit);
      let budget: Budget = {
        chars: this.limit.chars - head.length - (fullFit ? this.reserve.chars : 0),
        bytes: this.limit.bytes - bytesOf(head) - (fullFit ? this.reserve.bytes : 0),
      };
      for (;;) {
        if (budget.chars < 1 || budget.bytes < 1) {
          throw new RangeError('splitMessage: limits too small for the fences and footer room');
        }
        const cut = this.chooseCut(pos, budget);
        const body = this.text.slice(pos, cut.bodyEnd).trimEnd();
        if (body.trim().length === 0) {
          // Only indentation fitted (a code line indented beyond the budget): drop it and go on.
          pos = this.skipBlanks(cut.nextStart);
          break;
        }
        const part = head + body + this.closingAt(cut.nextStart, startFence, style);
        const overChars = part.length - this.limit.chars;
        const overBytes = bytesOf(part) - this.limit.bytes;
        if (overChars <= 0 && overBytes <= 0) {
          parts.push(part);
          pos = cut.nextStart;
          break;
        }
        // The closing fence did not fit: shrink the body by the overflow and try again.
        budget = {
          chars: budget.chars - Math.max(1, overChars),
          bytes: budget.bytes - Math.max(1, overBytes),
        };
      }
    }
    return parts;
  }

  private lastPartBudget(): Budget {
    return { chars: this.limit.chars - this.reserve.chars, bytes: this.limit.bytes - this.reserve.bytes };
  }

  private fitsWithin(s: string, budget: Budget): boolean {
    return s.length <= budget.chars && bytesOf(s) <= budget.bytes;
  }

  /**
   * The closing fence line for a part whose body stops at `cutAt`, if a fence is open there.
   * A fence opened in this part closes with its own indentation; one reopened at the top of the
   * part closes like it was reopened.
   */
  private closingAt(cutAt: number, startFence: Fence | undefined, style: FenceStyle | undefined): string {
    const fence = cutAt >= this.end ? this.fenceOpenAtEnd() : this.fenceAt(cutAt);
    if (!fence) return '';
    if (fence === startFence) return style ? style.close : '';
    return `\n${fence.indent}${fence.marker}`;
  }

  private fenceOpenAtEnd(): Fence | undefined {
    // The text may end inside an unclosed fence; close it so whatever follows (a footer) is prose.
    const index = lineIndexAt(this.lines, Math.max(0, this.end - 1));
    const line = this.lines[index]!;
    return line.kind === 'open' || line.kind === 'code' ? line.fence : undefined;
  }

  /**
   * The fence open at `offset`, where a part starts (a line start or mid-line after a cut).
   */
  private fenceAt(offset: number): Fence | undefined {
    const line = this.lines[lineIndexAt(this.lines, offset)]!;
    if (offset === line.start) return line.kind === 'code' || line.kind === 'close' ? line.fence : undefined;
    return line.kind === 'text' ? undefined : line.fence;
  }

  /**
   * How a part reopens `fence`. Fences indented by 4 or more (inside list items) reopen at 0, since
   * at the top of a message such indentation would make an indented code block. If the limits are
   * tiny compared with the fence line, drop the info string, then the fence itself.
   */
  private styleFor(fence: Fence): FenceStyle | undefined {
    const indent = fence.indent.length <= 3 && !fence.indent.includes('\t') ? fence.indent : '';
    const candidates: FenceStyle[] = [
      {
        open: `${indent}${fence.marker}${fence.info ? fence.info : ''}\n`,
        close: `\n${indent}${fence.marker}`,
      },
      { open: `${fence.marker}\n`, close: `\n${fence.marker}` },
    ];
    for (const style of candidates) {
      const chars = style.open.length + style.close.length;
      const bytes = bytesOf(style.open) + bytesOf(style.close);
      if (
        chars * 2 <= this.limit.chars - this.reserve.chars &&
        bytes * 2 <= this.limit.bytes - this.reserve.bytes
      ) {
        return style;
      }
    }
    return undefined;
  }

  /** Picks where to cut a part starting at `pos` whose body may use `budget`. */
  private chooseCut(pos: number, budget: Budget): Cut {
    const window = Math.min(codePointLimitIndex(this.text, pos, budget.chars, budget.bytes), this.end);
    const span = window - pos;
    return (
      this.lineCut(pos, window, pos + span / 2, true) ??
      this.lineCut(pos, window, pos + span / 2, false) ??
      this.inlineCut(pos, window, pos + span / 2, 'sentence') ??
      this.inlineCut(pos, window, pos + span / 4, 'word') ??
      this.hardCut(pos, window)
    );
  }

  /**
   * The last line end within the window, at or after `min`: with `paragraph`, only ends followed
   * by a blank line. Cuts that would leave an empty code block (right after an opening fence or
   * right before a closing one) are skipped.
   */
  private lineCut(pos: number, window: number, min: number, paragraph: boolean): Cut | undefined {
    for (let i = lineIndexAt(this.lines, window); i >= 0; i--) {
      const line = this.lines[i]!;
      if (line.end < min || line.end <= pos) return undefined;
      if (line.end > window || isBlank(this.text, line)) continue;
      if (line.kind === 'open') continue;
      const following = this.lines[i + 1];
      if (paragraph && !(following && isBlank(this.text, following))) continue;
      const nextStart = this.skipLeading(line.next, 'line');
      if (nextStart >= this.end) continue;
      const nextLine = this.lines[lineIndexAt(this.lines, nextStart)]!;
      if (nextLine.kind === 'close') continue;
      return { bodyEnd: line.end, nextStart };
    }
    return undefined;
  }

  /** The last sentence end or word gap within the window, at or after `min`, on a prose or code line. */
  private inlineCut(pos: number, window: number, min: number, kind: 'sentence' | 'word'): Cut | undefined {
    const text = this.text;
    for (let i = window; i > pos && i >= min; i--) {
      const line = this.lines[lineIndexAt(this.lines, i)]!;
      if (line.kind === 'open' || line.kind === 'close') {
        i = line.start;
        continue;
      }
      let bodyEnd = -1;
      let gapEnd = i;
      const c = text[i];
      if ((c === ' ' || c === '\t') && i > line.start) {
        // i starts a whitespace gap when the character before it is not whitespace.
        const before = text[i - 1];
        if (before !== ' ' && before !== '\t') {
          if (kind === 'word' || SENTENCE_END.test(text.slice(Math.max(line.start, i - 2), i))) {
            bodyEnd = i;
            while (gapEnd < line.end && (text[gapEnd] === ' ' || text[gapEnd] === '\t')) gapEnd++;
          }
        }
      } else if (kind === 'sentence' && i > line.start && CJK_SENTENCE_END.test(text[i - 1] ?? '')) {
        bodyEnd = i;
      }
      if (bodyEnd <= pos || gapEnd >= line.end) continue;
      const nextStart = this.skipLeading(gapEnd, 'inline');
      if (nextStart >= this.end) continue;
      if (
        line.kind === 'text' &&
        BLOCK_START.test(text.slice(nextStart, Math.min(line.end, nextStart + 12)))
      ) {
        continue;
      }
      return { bodyEnd, nextStart };
    }
    return undefined;
  }

  /** Anywhere: the last grapheme boundary within the window (a code-point boundary at worst). */
  private hardCut(pos: number, window: number): Cut {
    let at = graphemeBoundaryAtOrBefore(this.text, pos, window);
    if (at <= pos) at = window;
    if (at >= this.end) {
      // The window reaches the end only when closing fences or footer room forced a cut: step back.
      at = graphemeBoundaryAtOrBefore(this.text, pos, Math.max(pos, this.end - 1));
    }
    if (at <= pos) throw new RangeError('splitMessage: no room for a single character');
    // Never through a fence line: cut before it (a short part beats a broken fence).
    const line = this.lines[lineIndexAt(this.lines, at)]!;
    if ((line.kind === 'open' || line.kind === 'close') && at > line.start && line.start > pos) {
      return { bodyEnd: line.start, nextStart: line.start };
    }
    at = this.avoidFenceRun(pos, at);
    return { bodyEnd: at, nextStart: this.skipLeading(at, 'hard') };
  }

  /**
   * A hard cut through prose must not leave 3+ backticks or tildes at the top of the next part
   * (that would open a fence there): cut before the run, or inside its last two characters.
   */
  private avoidFenceRun(pos: number, at: number): number {
    const line = this.lines[lineIndexAt(this.lines, at)]!;
    if (line.kind !== 'text') return at;
    const char = this.text[at];
    if (char !== '`' && char !== '~') return at;
    let runStart = at;
    while (runStart > line.start && this.text[runStart - 1] === char) runStart--;
    let runEnd = at;
    while (runEnd < line.end && this.text[runEnd] === char) runEnd++;
    if (runEnd - at < 3) return at;
    if (runStart > pos) return runStart;
    return Math.max(at, runEnd - 2);
  }

  private skipBlanks(from: number): number {
    let p = from;
    while (p < this.end && /\s/.test(this.text[p] ?? '')) p++;
    return p;
  }

  /**
   * Where the next part starts after a cut at `from`: blank lines are dropped; after an inline cut,
   * the spaces at the cut are dropped; a prose line keeps no indentation at the top of a part (4
   * spaces there would turn it into a code block), a code line keeps all of it.
   */
  private skipLeading(from: number, kind: 'line' | 'inline' | 'hard'): number {
    const text = this.text;
    let p = from;
    for (;;) {
      let q = p;
      while (q < text.length && (text[q] === ' ' || text[q] === '\t')) q++;
      if (q >= this.end) return this.end;
      if (text[q] === '\n' || text[q] === '\r') {
        // A blank rest of line: drop it with its line break.
        p = text.indexOf('\n', q);
        if (p === -1) return this.end;
        p += 1;
        kind = 'line';
        continue;
      }
      if (kind === 'hard') return p;
      if (kind === 'inline') return q;
      const line = this.lines[lineIndexAt(this.lines, p)]!;
      return line.kind === 'text' ? q : p;
    }
  }
}

function isBlank(text: string, line: ScannedLine): boolean {
  return text.slice(line.start, line.end).trim().length === 0;
}
