/** Webex's documented message limits (reference: webex-protocol §7). */

// The 7439-byte limit of `text`, `markdown` and `html`, and measuring text against it, live in
// one module (`src/render/bytes.ts`): the renderer splits to it, the sender checks it.

/** Webex refuses the 11th edit of a message with 400 "edit limit reached". */
export const WEBEX_MAX_EDITS_PER_MESSAGE = 10;

/** One card per message. */
export const WEBEX_MAX_ATTACHMENTS = 1;
