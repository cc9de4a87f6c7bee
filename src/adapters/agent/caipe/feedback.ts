/**
 * Feedback for CAIPE ≥0.6 answers: a 👍 / 👎 click is POSTed to the CAIPE UI's `/api/feedback`, as
 * CAIPE's Slack bot does (reference caipe-current.md §1.7: no auth; `feedbackType` like / dislike,
 * `value` thumbs_up / thumbs_down, the conversation id; the UI scores it in Langfuse with the
 * conversation as the trace). `source: "webex"` is what SPEC asks for; whether the route accepts
 * that source is unverified (its Langfuse score names are built for "web" and Slack channels).
 *
 * Never throws: the user is thanked whether or not CAIPE took the vote.
 */
import { type Dispatcher, request } from 'undici';
import type { Logger } from '../../../logger.js';
import { describeUrl } from '../a2a/redact.js';

export interface CaipeFeedbackInput {
  /** The CAIPE conversation id (carried by the card as its trace id). */
  traceId: string;
  personId: string;
  email?: string;
  positive: boolean;
  /** The Webex room of the answer (`channelId`). */
  roomId?: string;
}

export interface CaipeFeedbackOptions {
  /** The CAIPE UI base URL (`CAIPE_URL`). */
  url: string;
  log: Logger;
  onFailure?: () => void;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

export function createCaipeFeedback(options: CaipeFeedbackOptions): {
  score(input: CaipeFeedbackInput): Promise<void>;
} {
  const url = `${options.url.replace(/\/+$/, '')}/api/feedback`;
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    async score(input) {
      const body = {
        feedbackType: input.positive ? 'like' : 'dislike',
        value: input.positive ? 'thumbs_up' : 'thumbs_down',
        conversationId: input.traceId,
        source: 'webex',
        ...(input.roomId ? { channelId: input.roomId } : {}),
        userId: input.personId,
        ...(input.email ? { userEmail: input.email } : {}),
      };
      try {
        const response = await request(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'x-client-source': 'webex-bot',
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
          ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        });
        await response.body.dump();
        if (response.statusCode < 200 || response.statusCode >= 300) {
          options.onFailure?.();
          options.log.warn(
            { event: 'feedback.caipe_refused', status: response.statusCode },
            'CAIPE did not take the feedback',
          );
          return;
        }
        options.log.info(
          { event: 'feedback.caipe_sent', positive: input.positive },
          'feedback sent to CAIPE',
        );
      } catch (error) {
        options.onFailure?.();
        options.log.warn(
          { event: 'feedback.caipe_failed', err: error, url: describeUrl(url) },
          'feedback not sent to CAIPE',
        );
      }
    },
  };
}
