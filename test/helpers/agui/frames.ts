/**
 * AG-UI streams for tests, written with the official `@ag-ui/encoder` and typed by `@ag-ui/core`,
 * served by the raw SSE emulator (which adds what a real server may do on the wire: CRLF, pings,
 * cuts, silence). `runInputOf` reads a recorded request as the `RunAgentInput` it must be.
 */
import { type BaseEvent, EventType, type RunAgentInput } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
import { EventEncoder } from '@ag-ui/encoder';
import type { RecordedRequest, SseExchange } from '../a2a/sse-emulator.js';

const encoder = new EventEncoder();

/** Writes AG-UI events as the encoder frames them (`data: <json>\n\n`), in order. */
export async function sendEvents(exchange: SseExchange, ...events: BaseEvent[]): Promise<void> {
  for (const event of events) await exchange.write(encoder.encodeSSE(event));
}

/** The request as a `RunAgentInput`, validated by AG-UI's own schema (a diagnostic: it says what is wrong). */
export function runInputOf(request: RecordedRequest): RunAgentInput {
  const parsed = RunAgentInputSchema.safeParse(request.json);
  if (!parsed.success) throw new Error(`not a RunAgentInput: ${parsed.error.message}`);
  return request.json as RunAgentInput;
}

export const started = (threadId: string, runId: string): BaseEvent =>
  ({ type: EventType.RUN_STARTED, threadId, runId }) as BaseEvent;

export const finished = (threadId: string, runId: string, outcome?: unknown): BaseEvent =>
  ({ type: EventType.RUN_FINISHED, threadId, runId, ...(outcome ? { outcome } : {}) }) as BaseEvent;

/** A whole text message in three frames. */
export function text(messageId: string, ...deltas: string[]): BaseEvent[] {
  return [
    { type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' } as BaseEvent,
    ...deltas.map((delta) => ({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta }) as BaseEvent),
    { type: EventType.TEXT_MESSAGE_END, messageId } as BaseEvent,
  ];
}

/** A whole tool call: start, arguments, end, and the result when given. */
export function toolCall(
  toolCallId: string,
  toolCallName: string,
  args: unknown,
  result?: string,
): BaseEvent[] {
  return [
    { type: EventType.TOOL_CALL_START, toolCallId, toolCallName } as BaseEvent,
    { type: EventType.TOOL_CALL_ARGS, toolCallId, delta: JSON.stringify(args) } as BaseEvent,
    { type: EventType.TOOL_CALL_END, toolCallId } as BaseEvent,
    ...(result === undefined
      ? []
      : [
          {
            type: EventType.TOOL_CALL_RESULT,
            toolCallId,
            messageId: `r-${toolCallId}`,
            content: result,
          } as BaseEvent,
        ]),
  ];
}
