/** The Webex simulator: a fake Webex cloud on 127.0.0.1 for tests and the demo. */

export type {
  PostOptions,
  SimAttachmentAction,
  SimDevice,
  SimFaults,
  SimMessage,
  SimPerson,
  SimRoom,
  StoredMessage,
  WebexSimulator,
  WebexSimulatorOptions,
} from './api.js';
export type { SimClock } from './clock.js';
export { systemClock } from './clock.js';
export type { SimUrls } from './context.js';
export { startWebexSimulator } from './driver.js';
export type { FailureRule, RateLimitRule, RouteMatcher } from './faults.js';
export { AUTH_TIMEOUT_REASON, type SocketInfo } from './mercury.js';
export type {
  AckRecord,
  ActivityRecord,
  FrameRecord,
  RequestRecord,
  SimEventKind,
  SimEventMap,
  SocketRecord,
  WaitForOptions,
} from './recorder.js';
export { type MessagingLimits, WEBEX_LIMITS } from './service.js';
export type { WriteLimitOptions } from './write-limit.js';
