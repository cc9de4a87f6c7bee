/**
 * The one-line footer under an answer, and putting it on the last part without breaking limits.
 */

import {
  fits,
  type TextLimits,
  truncateWithEllipsis,
  utf8ByteLength,
  WEBEX_MESSAGE_BYTE_LIMIT,
} from './bytes.js';
import { messages } from './messages.js';

export interface FooterOptions {
  /** The agent that answered (e.g. the supervisor, or the sub-agent that produced the answer). */
  agentName: string;
  /** True when the answer sits in a thread, where a reply continues the conversation. */
  inThread: boolean;
}

/** Between the answer and its footer: a blank line, so the footer is its own paragraph. */
export const FOOTER_SEPARATOR = '\n\n';

export function renderFooter(options: FooterOptions): string {
  return messages.footer(options.agentName, options.inThread);
}

/** Room to reserve in the last part (see `splitMessage`'s `reserveLast*`) for `footer`. */
export function footerReserve(footer: string): { reserveLastChars: number; reserveLastBytes: number } {
  if (footer.length === 0) return { reserveLastChars: 0, reserveLastBytes: 0 };
  return {
    reserveLastChars: FOOTER_SEPARATOR.length + footer.length,
    reserveLastBytes: utf8ByteLength(FOOTER_SEPARATOR) + utf8ByteLength(footer),
  };
}

/**
 * `parts` with `footer` appended to the last one; when that would break `limits`, the footer
 * becomes a part of its own (cut to the limits if it is absurdly long). Returns a new array.
 */
export function appendFooter(parts: readonly string[], footer: string, limits: TextLimits): string[] {
  if (footer.trim().length === 0) return [...parts];
  const maxBytes = limits.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT;
  const alone = truncateWithEllipsis(footer, { maxChars: limits.maxChars, maxBytes });
  const last = parts[parts.length - 1];
  if (last === undefined) return [alone];
  const joined = `${last}${FOOTER_SEPARATOR}${footer}`;
  if (fits(joined, limits)) return [...parts.slice(0, -1), joined];
  return [...parts, alone];
}
