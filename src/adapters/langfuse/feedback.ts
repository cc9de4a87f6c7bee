/**
 * Feedback scoring in Langfuse: a 👍 / 👎 click becomes the score `user_feedback` (CATEGORICAL,
 * `positive` / `negative`) on the answer's trace, with the clicking person's email as metadata.
 *
 * The score id is a UUIDv5 of `traceId:personId`, so a person who changes their vote updates their
 * one score instead of adding a second.
 *
 * It goes out as one `POST /api/public/scores` through `@langfuse/client`'s REST client rather than
 * the client's queued `score.create()` + `flush()`: the queue swallows delivery failures (flush
 * resolves either way), while the direct call rejects, so a failure can be logged and counted.
 * The v5 client reads `LANGFUSE_BASE_URL` only; the bot's `LANGFUSE_HOST` is passed in explicitly.
 *
 * `score()` never throws: the user gets their thank-you whether or not Langfuse is reachable.
 */

import { createHash } from 'node:crypto';
import { LangfuseClient } from '@langfuse/client';
import type { Logger } from '../../logger.js';
import { scrubText, secretForms } from '../../scrub.js';

export interface FeedbackScorer {
  /** Never throws; a failure is logged and reported through `onFailure`. */
  score(input: { traceId: string; personId: string; email?: string; positive: boolean }): Promise<void>;
}

export interface FeedbackScorerOptions {
  publicKey: string;
  secretKey: string;
  /** `LANGFUSE_HOST`, e.g. `https://cloud.langfuse.com`. */
  baseUrl: string;
  log: Logger;
  /** Called once per score that did not reach Langfuse (e.g. to count it). */
  onFailure?: () => void;
  /** Per-request time limit in seconds (default 5). */
  timeoutS?: number;
  /** Retries on 408, 429 and 5xx, with the client's backoff (default 2). */
  maxRetries?: number;
}

export const FEEDBACK_SCORE_NAME = 'user_feedback';

/** Namespace of feedback score ids. Fixed forever: changing it would fork every existing vote. */
export const FEEDBACK_SCORE_NAMESPACE = '8f8a3c52-6a0e-4d2b-9a55-3b1f7c2e9d41';

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error('not a UUID');
  return Buffer.from(hex, 'hex');
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** RFC 9562 UUID version 5: SHA-1 of namespace bytes + name (UTF-8), version and variant bits set. */
export function uuidV5(name: string, namespace: string): string {
  const digest = createHash('sha1')
    .update(uuidBytes(namespace))
    .update(Buffer.from(name, 'utf8'))
    .digest()
    .subarray(0, 16);
  digest[6] = ((digest[6] as number) & 0x0f) | 0x50;
  digest[8] = ((digest[8] as number) & 0x3f) | 0x80;
  return formatUuid(digest);
}

/** The id of one person's feedback score on one trace. */
export function feedbackScoreId(traceId: string, personId: string): string {
  return uuidV5(`${traceId}:${personId}`, FEEDBACK_SCORE_NAMESPACE);
}

/** An error's status and message with the credentials blanked out, for a log line. */
function describeFailure(error: unknown, secrets: readonly string[]): { status?: number; message: string } {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const raw = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const message = scrubText(raw, secretForms(secrets.filter(Boolean)));
  return { ...(typeof status === 'number' ? { status } : {}), message: message.slice(0, 500) };
}

export function createFeedbackScorer(
  options: FeedbackScorerOptions,
): FeedbackScorer & { shutdown(): Promise<void> } {
  const { log, onFailure } = options;
  const client = new LangfuseClient({
    publicKey: options.publicKey,
    secretKey: options.secretKey,
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
  });
  const secrets = [
    options.secretKey,
    Buffer.from(`${options.publicKey}:${options.secretKey}`).toString('base64'),
  ];
  const requestOptions = {
    // The client's own `timeout` setting does not reach its REST calls; per request it does.
    timeoutInSeconds: options.timeoutS ?? 5,
    maxRetries: options.maxRetries ?? 2,
  };
  const inFlight = new Set<Promise<void>>();

  async function send(input: { traceId: string; personId: string; email?: string; positive: boolean }) {
    const id = feedbackScoreId(input.traceId, input.personId);
    const value = input.positive ? 'positive' : 'negative';
    try {
      await client.api.scores.create(
        {
          id,
          traceId: input.traceId,
          name: FEEDBACK_SCORE_NAME,
          value,
          dataType: 'CATEGORICAL',
          ...(input.email ? { metadata: { user_email: input.email } } : {}),
        },
        requestOptions,
      );
      log.debug({ traceId: input.traceId, scoreId: id, value }, 'feedback scored in Langfuse');
    } catch (error) {
      log.warn(
        { traceId: input.traceId, scoreId: id, value, failure: describeFailure(error, secrets) },
        'feedback score did not reach Langfuse',
      );
      try {
        onFailure?.();
      } catch (hookError) {
        log.warn({ failure: describeFailure(hookError, secrets) }, 'feedback failure hook threw');
      }
    }
  }

  return {
    score(input) {
      const pending = send(input);
      inFlight.add(pending);
      return pending.finally(() => inFlight.delete(pending));
    },
    async shutdown() {
      await Promise.allSettled([...inFlight]);
      await client.shutdown();
    },
  };
}
