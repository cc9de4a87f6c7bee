export { SenderRejectedError, type SenderRejectReason } from './errors.js';
export { guardedSender } from './guarded.js';
export { WEBEX_MAX_ATTACHMENTS, WEBEX_MAX_EDITS_PER_MESSAGE } from './limits.js';
export type { SenderMetrics } from './metrics.js';
export { noopSenderMetrics } from './metrics.js';
export {
  createProgressStream,
  DEFAULT_WORKING_HOLD_MS,
  defaultProgressGap,
  type ProgressGapInfo,
  type ProgressRenderInfo,
  type ProgressSender,
  type ProgressStream,
  type ProgressStreamOptions,
  type ProgressStreamState,
} from './progress-stream.js';
export { restWriteTransport } from './rest-transport.js';
export {
  createWebexSender,
  DEFAULT_SENDER_LIMITS,
  type DeleteMessage,
  type DeleteOutcome,
  type EditMessage,
  type EditOptions,
  type EditOutcome,
  type PostMessage,
  type PostOptions,
  type PostPriority,
  type ReplaceablePost,
  type ReplaceablePostOptions,
  type RequestOptions,
  type SenderLimits,
  type SenderLimitsOverride,
  type SenderStats,
  type SentMessage,
  type WebexAttachment,
  type WebexSender,
  type WebexSenderOptions,
} from './sender.js';
export { TokenBucket, type TokenBucketOptions } from './token-bucket.js';
export type { WebexWriteMethod, WebexWriteRequest, WebexWriteTransport } from './transport.js';
export { AdaptiveWriteRate, type WriteRateLimits, type WriteRatePhase } from './write-rate.js';
