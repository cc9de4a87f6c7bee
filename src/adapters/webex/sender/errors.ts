import { CodedError } from '../../../errors.js';

export type SenderRejectReason =
  /** `markdown` or `text` is above Webex's 7439-byte limit. */
  | 'too-large'
  /** More than one attachment: Webex takes one card per message. */
  | 'too-many-attachments'
  /** An edit of a message that carries a card: Webex refuses to edit those. */
  | 'not-editable'
  /** The request has nothing to send (empty markdown). */
  | 'empty'
  /** The sender was stopped before the request went out. */
  | 'stopped'
  /** The caller withdrew a replaceable post before it went out. */
  | 'withdrawn'
  /** The request's guard said no when it was about to go out (a conversation lease lost). */
  | 'fenced'
  /** Webex kept answering 429 more often than the sender's bound allows. */
  | 'rate-limited';

/**
 * The sender refused a request without sending it (or gave up on it): the request never reached
 * Webex in the refused form, so the caller may fix it and try again.
 */
export class SenderRejectedError extends CodedError {
  readonly code = 'WEBEX_SENDER_REJECTED';
  readonly reason: SenderRejectReason;

  constructor(reason: SenderRejectReason, message: string) {
    super(message);
    this.name = 'SenderRejectedError';
    this.reason = reason;
  }
}
