/**
 * Binds the pure renderer (`src/render`) to what the actors need: the turn's texts from agent
 * state, and the text of each notice the machines name.
 */
import type { TurnState } from '../adapters/agent/index.js';
import { streamedText } from '../adapters/agent/index.js';
import type { AgentError } from '../errors.js';
import type { Notice } from '../machines/types.js';
import { renderAnswer } from '../render/answer.js';
import { boundAnswer } from '../render/bound.js';
import { agentFailureMessage, messages } from '../render/messages.js';
import { formatElapsed, renderProgress } from '../render/progress.js';
import type { TurnRendering } from './turn.js';

export interface RenderingOptions {
  /** `WEBEX_MAX_MESSAGE_CHARS`. */
  maxMessageChars: number;
  /** Named in footers and error messages when the stream does not name a sub-agent. */
  agentName: string;
  /** `A2A_IDLE_TIMEOUT_S` in ms, for the idle-timeout message. */
  idleTimeoutMs: number;
  /** `AGENT_MAX_ANSWER_CHARS`; its default when absent. */
  maxAnswerChars?: number;
}

/** `AGENT_MAX_ANSWER_CHARS`'s default. */
const DEFAULT_MAX_ANSWER_CHARS = 30_000;

export function createTurnRendering(options: RenderingOptions): TurnRendering {
  const { agentName, maxMessageChars } = options;
  return {
    progress: (state: TurnState, elapsedMs: number) =>
      renderProgress(
        { plan: state.plan, tools: state.tools, streamedText: streamedText(state) },
        elapsedMs,
        0,
        { maxChars: maxMessageChars },
      ),
    answer: (text, info) =>
      renderAnswer(
        boundAnswer(text, {
          maxChars: options.maxAnswerChars ?? DEFAULT_MAX_ANSWER_CHARS,
          alreadyOmittedChars: info.omittedChars,
        }).text,
        {
          maxChars: maxMessageChars,
          footer: messages.footer(info.agent ?? agentName, info.inThread),
        },
      ),
    question: (state) => {
      const question =
        state.lastMessage?.trim() || state.statusMessage?.trim() || state.form?.description?.trim();
      return question ? renderAnswer(question, { maxChars: maxMessageChars })[0]! : messages.inputNeeded;
    },
    failure: (error: AgentError | undefined, state: TurnState) => {
      if (error) {
        return agentFailureMessage(agentName, {
          kind: error.kind,
          ...(error.status !== undefined ? { status: error.status } : {}),
          ...(error.kind === 'jsonrpc' ? { detail: error.message } : {}),
          ...(error.kind === 'idle-timeout' ? { silentFor: formatElapsed(options.idleTimeoutMs) } : {}),
        });
      }
      if (state.status === 'canceled') return messages.agentCancelled(agentName);
      return messages.agentFailed(agentName, state.statusMessage);
    },
    emptyAnswer: () => messages.noResponse,
    filesNotRead: () => messages.filesNotRead,
  };
}

/** The text of each notice the machines name. */
export function noticeText(notice: Notice, context: { botName: string }): string {
  switch (notice.kind) {
    case 'help':
      return messages.help({ botName: context.botName, group: notice.group });
    case 'unauthorized':
      return messages.unauthorizedSpace(context.botName);
    case 'busy':
      return messages.busy;
    case 'cancelled':
      return messages.cancelled;
    case 'nothingToCancel':
      return messages.nothingToCancel;
    case 'reset':
      return messages.resetDone;
    case 'filesOnly':
      return messages.filesOnly;
    case 'authorize':
      return messages.unauthorizedSpace(context.botName);
    case 'hello':
      return messages.hello({ botName: context.botName, authorized: notice.authorized });
    case 'unknownCard':
      return messages.unknownCard;
    case 'internalError':
      return messages.internalError;
    case 'shuttingDown':
      return messages.shuttingDown;
    case 'formExpired':
      return messages.formExpired;
    case 'formAlreadySubmitted':
      return messages.formAlreadySubmitted;
    case 'formCancelled':
      return messages.formCancelled;
    case 'feedbackThanks':
      return messages.feedbackThanks(notice.positive);
  }
}
