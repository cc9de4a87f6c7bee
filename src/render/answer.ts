/**
 * The final answer as Webex messages: tables rewritten, mentions made inert, split within limits,
 * footer on the last.
 */

import { type TextLimits, WEBEX_MESSAGE_BYTE_LIMIT } from './bytes.js';
import { appendFooter, footerReserve } from './footer.js';
import { convertTables, type TableOptions } from './markdown.js';
import { messages } from './messages.js';
import { neutralizeMentions } from './neutralize.js';
import { splitMessage } from './split.js';

export interface AnswerOptions extends TextLimits, TableOptions {
  /** Appended to the last part (see `renderFooter`); empty or absent for none. */
  footer?: string;
}

/**
 * `text` ready to post: one string per Webex message, each within `maxChars` UTF-16 code units
 * and `maxBytes` UTF-8 bytes. An empty answer becomes the "no response" notice. `text` is the
 * agent's: its mention markup is neutralised (after the table rewrite, the last step that could
 * bring a `<` and an `@` together; splitting only cuts).
 */
export function renderAnswer(text: string, options: AnswerOptions): string[] {
  const footer = options.footer ?? '';
  const limits: TextLimits = {
    maxChars: options.maxChars,
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
  };
  const converted = neutralizeMentions(
    convertTables(text, options.maxWidth !== undefined ? { maxWidth: options.maxWidth } : {}),
  );
  // A footer too big to share a part is not reserved for: appendFooter gives it a part of its own.
  const reserve = footerReserve(footer);
  const maxBytes = options.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT;
  const shareable =
    reserve.reserveLastChars * 2 <= options.maxChars && reserve.reserveLastBytes * 2 <= maxBytes;
  let parts = splitMessage(converted, { ...limits, ...(shareable ? reserve : {}) });
  if (parts.length === 0) parts = [messages.noResponse];
  return appendFooter(parts, footer, limits);
}
