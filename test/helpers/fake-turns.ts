/**
 * The effects of the conversation's `answering` state, faked from one function per turn: the test
 * answers a `TurnInput` with a `FakeOutcome` (or never, or after its signal aborts) and the fake
 * effects play the chart's steps from it: the stream ends with the outcome's status, the answer,
 * feedback card and form card report the outcome's ids. Nothing is posted anywhere.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { FeedbackCardRecord, PendingForm } from '../../src/adapters/store/ports.js';
import type {
  AgentStreamInput,
  AskedForInput,
  TurnInput,
  TurnResultInput,
  WorkingMessageEvent,
  WorkingMessageInput,
} from '../../src/machines/conversation.js';
import type { AgentAsk, AgentTurn, TurnFailure } from '../../src/machines/types.js';

/** How a fake turn ends. */
export interface FakeOutcome {
  status: 'completed' | 'input-required' | 'failed' | 'canceled';
  contextId?: string;
  taskId?: string;
  traceId?: string;
  answerMessageId?: string;
  pendingForm?: PendingForm;
  feedbackCard?: FeedbackCardRecord;
}

type TurnWithOutcome = AgentTurn & { outcome: FakeOutcome };

export function fakeAnswering(
  run: (input: TurnInput, signal: AbortSignal) => Promise<FakeOutcome>,
  options: { onFailureReported?: (failure: TurnFailure | undefined) => void } = {},
) {
  // The chart hands `agentStream` only the ask; the test's function wants the whole turn input.
  const inputs = new Map<string, TurnInput>();
  const outcomeOf = (turn: AgentTurn) => (turn as TurnWithOutcome).outcome;
  return {
    workingMessage: fromCallback<WorkingMessageEvent, WorkingMessageInput>(() => () => {}),
    buildRequest: fromPromise<AgentAsk, TurnInput>(async ({ input }) => {
      inputs.set(input.key, input);
      return { text: input.message.text, userEmail: input.message.personEmail };
    }),
    agentStream: fromCallback<{ type: string }, AgentStreamInput>(({ input, sendBack }) => {
      const aborter = new AbortController();
      run(inputs.get(input.key)!, aborter.signal).then(
        (outcome) => {
          if (aborter.signal.aborted) return;
          const turn: TurnWithOutcome = {
            status: outcome.status,
            ...(outcome.contextId ? { contextId: outcome.contextId } : {}),
            ...(outcome.taskId ? { taskId: outcome.taskId } : {}),
            ...(outcome.traceId ? { traceId: outcome.traceId } : {}),
            outcome,
          };
          sendBack({ type: 'AGENT.DONE', turn });
        },
        // A turn function that throws stands for a bug in an effect: the stream fails.
        (error: unknown) => {
          if (aborter.signal.aborted) return;
          sendBack({
            type: 'AGENT.FAILED',
            turn: { status: 'working', outcome: { status: 'failed' } },
            failure: { kind: 'internal', message: String(error) },
          });
        },
      );
      return () => aborter.abort();
    }),
    postAnswer: fromPromise<{ answerMessageId?: string }, TurnResultInput>(async ({ input }) => {
      const id = outcomeOf(input.turn).answerMessageId;
      return id ? { answerMessageId: id } : {};
    }),
    postFeedback: fromPromise<FeedbackCardRecord | undefined, TurnResultInput>(
      async ({ input }) => outcomeOf(input.turn).feedbackCard,
    ),
    askForInput: fromPromise<AskedForInput, TurnResultInput>(async ({ input }) => {
      const outcome = outcomeOf(input.turn);
      return {
        ...(outcome.answerMessageId ? { answerMessageId: outcome.answerMessageId } : {}),
        ...(outcome.pendingForm ? { pendingForm: outcome.pendingForm } : {}),
      };
    }),
    reportFailure: fromPromise<void, TurnResultInput>(async ({ input }) => {
      options.onFailureReported?.(input.failure);
    }),
  };
}
