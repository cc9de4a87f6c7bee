/** Webex's documented message limits (reference: webex-protocol §7). */

/** `text`, `markdown` and `html` are each limited to this many UTF-8 bytes. */
export const WEBEX_MAX_MESSAGE_BYTES = 7439;

/** Webex refuses the 11th edit of a message with 400 "edit limit reached". */
export const WEBEX_MAX_EDITS_PER_MESSAGE = 10;

/** One card per message. */
export const WEBEX_MAX_ATTACHMENTS = 1;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Cuts `text` to at most `maxBytes` UTF-8 bytes on a code-point boundary, ending with `…` when cut.
 * (Code points, not grapheme clusters: a cut may split an emoji sequence, never a character.)
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const ellipsis = '…';
  const budget = maxBytes - utf8Bytes(ellipsis);
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Bytes(char);
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end) + ellipsis;
}
