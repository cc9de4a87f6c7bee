/** Reading an agent client's turn events in tests: all of them, or the error the run ends with. */
import { expect } from 'vitest';
import type { TurnEvent } from '../../src/adapters/agent/port.js';
import { AgentError } from '../../src/errors.js';

export async function collect(iterable: AsyncIterable<TurnEvent>): Promise<TurnEvent[]> {
  const events: TurnEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

/** The `AgentError` the run fails with; a run that does not fail fails the test. */
export async function failure(iterable: AsyncIterable<TurnEvent>): Promise<AgentError> {
  try {
    await collect(iterable);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('expected the run to fail');
}
