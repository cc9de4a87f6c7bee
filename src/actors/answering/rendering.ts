/**
 * Binds the pure renderer (`src/render`) to the answering effects: the turn's texts drawn from the
 * agent's turn state (which `src/render` does not know).
 */
import type { TurnState } from '../../adapters/agent/index.js';
import { streamedText } from '../../adapters/agent/index.js';
import type { AgentErrorKind } from '../../errors.js';
import type { TurnFailure } from '../../machines/types.js';
import { renderAnswer } from '../../render/answer.js';
import { boundAnswer } from '../../render/bound.js';
import { agentFailureMessage, messages } from '../../render/messages.js';
import { formatElapsed, isWorkingMarkdown, renderProgress } from '../../render/progress.js';
import type { TurnRendering } from './index.js';

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
    failure: (error: TurnFailure | undefined, state: TurnState) => {
      if (error) {
        return agentFailureMessage(agentName, {
          // Kinds other than the agent's (a bug of ours) fall to the generic message.
          kind: error.kind as AgentErrorKind,
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
    interrupted: () => messages.answerInterrupted,
    isWorkingMessage: (markdown) => isWorkingMarkdown(markdown),
  };
}
