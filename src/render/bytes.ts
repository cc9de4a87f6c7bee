/**
 * Measuring text the way Webex limits it, and cutting it without breaking characters.
 *
 * Webex caps `markdown` at 7439 bytes of UTF-8. Our own character limit
 * (`WEBEX_MAX_MESSAGE_CHARS`) is counted in UTF-16 code units (`string.length`): a code point
 * outside the BMP (most emoji) counts as 2. That is conservative: whatever Webex means by
 * "character", a text within N code units is within N code points and N graphemes too.
 *
 * Every cut lands on a grapheme boundary when one exists within budget (so 👨‍👩‍👧 or 🇫🇷 are never
 * split), and always on a code-point boundary (a surrogate pair is never split).
 */

/** Webex's limit for a message's `text`, `markdown` or `html`, in UTF-8 bytes. */
export const WEBEX_MESSAGE_BYTE_LIMIT = 7439;

/** Both limits a piece of Webex text must respect. */
export interface TextLimits {
  /** Maximum length in UTF-16 code units (`string.length`). */
  maxChars: number;
  /** Maximum length in UTF-8 bytes; defaults to {@link WEBEX_MESSAGE_BYTE_LIMIT}. */
  maxBytes?: number;
}

/** Size of a text in both units that matter. */
export interface TextSize {
  chars: number;
  bytes: number;
}

/** UTF-8 byte length, as Webex counts it. A lone surrogate counts 3 bytes (it is sent as U+FFFD). */
export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export function measure(text: string): TextSize {
  return { chars: text.length, bytes: utf8ByteLength(text) };
}

export function fits(text: string, limits: TextLimits): boolean {
  return (
    text.length <= limits.maxChars && utf8ByteLength(text) <= (limits.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT)
  );
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** UTF-8 bytes of the code point starting at `index`, and how many code units it spans. */
function codePointAt(text: string, index: number): { units: 1 | 2; bytes: number } {
  const code = text.charCodeAt(index);
  if (code < 0x80) return { units: 1, bytes: 1 };
  if (code < 0x800) return { units: 1, bytes: 2 };
  if (isHighSurrogate(code) && index + 1 < text.length && isLowSurrogate(text.charCodeAt(index + 1))) {
    return { units: 2, bytes: 4 };
  }
  return { units: 1, bytes: 3 };
}

/** True when `index` does not fall between the two halves of a surrogate pair. */
export function isCodePointBoundary(text: string, index: number): boolean {
  if (index <= 0 || index >= text.length) return true;
  return !(isHighSurrogate(text.charCodeAt(index - 1)) && isLowSurrogate(text.charCodeAt(index)));
}

/**
 * The largest end index `e` (≥ `start`) such that `text.slice(start, e)` is within `maxChars` code
 * units and `maxBytes` UTF-8 bytes, on a code-point boundary.
 */
export function codePointLimitIndex(text: string, start: number, maxChars: number, maxBytes: number): number {
  let index = start;
  let bytes = 0;
  while (index < text.length) {
    const cp = codePointAt(text, index);
    if (index + cp.units - start > maxChars || bytes + cp.bytes > maxBytes) break;
    index += cp.units;
    bytes += cp.bytes;
  }
  return index;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The nearest grapheme boundary at or before `index`, not before `floor` (a position known to be a
 * boundary, e.g. the start of the current part). Falls back to `index` itself when the whole range
 * is one grapheme (say, a letter with thousands of combining marks): then a code-point cut is the
 * best anyone can do.
 */
export function graphemeBoundaryAtOrBefore(text: string, floor: number, index: number): number {
  if (index <= floor || index >= text.length) return index;
  // Whether a break sits before `index` depends only on what precedes it and the code point at
  // `index`, so segmenting [floor, index + 2) is enough.
  const window = text.slice(floor, Math.min(text.length, index + 2));
  const segment = graphemes.segment(window).containing(index - floor);
  if (segment === undefined) return index;
  const boundary = floor + segment.index;
  return boundary > floor ? boundary : index;
}

/**
 * The longest prefix of `text` within `limits`, cut on a grapheme boundary where possible and on a
 * code-point boundary always.
 */
export function truncateToFit(text: string, limits: TextLimits): string {
  const maxBytes = limits.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT;
  if (fits(text, limits)) return text;
  const end = codePointLimitIndex(text, 0, limits.maxChars, maxBytes);
  return text.slice(0, graphemeBoundaryAtOrBefore(text, 0, end));
}

/**
 * Like {@link truncateToFit}, but marks the cut with `ellipsis` (kept within the limits too), so a
 * reader sees that something is missing.
 */
export function truncateWithEllipsis(text: string, limits: TextLimits, ellipsis = '…'): string {
  if (fits(text, limits)) return text;
  const maxBytes = limits.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT;
  const room = {
    maxChars: Math.max(0, limits.maxChars - ellipsis.length),
    maxBytes: Math.max(0, maxBytes - utf8ByteLength(ellipsis)),
  };
  const head = truncateToFit(text, room).trimEnd();
  return fits(head + ellipsis, limits) ? head + ellipsis : truncateToFit(text, limits);
}

/**
 * The longest suffix of `text` within `limits`, starting on a grapheme boundary where possible:
 * used for "tail" previews of streamed text.
 */
export function tailToFit(text: string, limits: TextLimits): string {
  if (fits(text, limits)) return text;
  const maxBytes = limits.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT;
  // Walk back code point by code point from the end.
  let start = text.length;
  let bytes = 0;
  while (start > 0) {
    let units = 1;
    const code = text.charCodeAt(start - 1);
    if (isLowSurrogate(code) && start >= 2 && isHighSurrogate(text.charCodeAt(start - 2))) units = 2;
    const cpBytes = codePointAt(text, start - units).bytes;
    if (text.length - (start - units) > limits.maxChars || bytes + cpBytes > maxBytes) break;
    start -= units;
    bytes += cpBytes;
  }
  // Move forward to a grapheme boundary, so the tail does not begin with a stray combining mark.
  const segments = graphemes.segment(text.slice(Math.max(0, start - 64)));
  const offset = Math.max(0, start - 64);
  const containing = segments.containing(start - offset);
  if (containing !== undefined && offset + containing.index < start) {
    const next = offset + containing.index + containing.segment.length;
    if (next <= text.length) start = next;
  }
  return text.slice(start);
}
