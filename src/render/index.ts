/**
 * Pure rendering for Webex: no I/O, no clock (time comes in as arguments).
 */

// The answer
export { type AnswerOptions, renderAnswer } from './answer.js';
// Measuring and cutting text
export {
  fits,
  measure,
  type TextLimits,
  type TextSize,
  tailToFit,
  truncateToFit,
  truncateWithEllipsis,
  utf8ByteLength,
  WEBEX_MESSAGE_BYTE_LIMIT,
} from './bytes.js';
export { appendFooter, FOOTER_SEPARATOR, type FooterOptions, footerReserve, renderFooter } from './footer.js';
export { convertTables, DEFAULT_TABLE_WIDTH, displayWidth, type TableOptions } from './markdown.js';
// Every user-visible string
export {
  type AdminApiAuthorizeOptions,
  type AgentFailure,
  agentFailureMessage,
  type HelloOptions,
  type HelpOptions,
  type Messages,
  messages,
  quoteAgentText,
} from './messages.js';
// Agent text made inert
export { neutralizeMentions } from './neutralize.js';
// The working message
export {
  formatElapsed,
  type PlanStep,
  type PlanStepStatus,
  type ProgressLimits,
  type ProgressState,
  renderPlanLines,
  renderProgress,
  renderStepLine,
  renderToolLines,
  STEP_EMOJI,
  type ToolActivity,
  type ToolStatus,
} from './progress.js';
export { MIN_SPLIT_LIMIT, type SplitOptions, splitMessage } from './split.js';
