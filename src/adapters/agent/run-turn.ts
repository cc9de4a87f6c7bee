/**
 * One turn from request to final state: what a conversation actor's promise actor calls. The
 * callback sees every intermediate state (for progress rendering); the returned state is the
 * outcome (completed, failed, input-required with a form, ...). Transport failures throw
 * `AgentError`; an abort rethrows the signal's reason.
 */
import type { AgentClient, CallOptions, TurnEvent, TurnRequest } from './port.js';
import { initialTurnState, reduceTurn, type TurnState } from './turn-state.js';

export interface RunTurnOptions extends CallOptions {
  onState?: (state: TurnState, event: TurnEvent) => void;
}

export async function runTurn(
  client: AgentClient,
  request: TurnRequest,
  options: RunTurnOptions = {},
): Promise<TurnState> {
  let state = initialTurnState({
    ...(request.contextId ? { contextId: request.contextId } : {}),
    ...(request.taskId ? { taskId: request.taskId } : {}),
  });
  const { onState, ...call } = options;
  for await (const event of client.streamTurn(request, call)) {
    state = reduceTurn(state, event);
    onState?.(state, event);
  }
  return state;
}
