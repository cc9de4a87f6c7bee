/**
 * Asking the agent to cancel its task (a stopped turn, a taken-over turn no one will follow, an
 * orphan after a reset): bounded in time, because a stuck agent must not hold a stop or a
 * shutdown; a refusal is only logged.
 */
import type { AgentClient } from '../adapters/agent/index.js';
import { asCodedError } from '../errors.js';
import type { Logger } from '../logger.js';

/** How long `tasks/cancel` may take. */
export const AGENT_CANCEL_TIMEOUT_MS = 5_000;

export function cancelAgentTask(
  agent: Pick<AgentClient, 'cancel'>,
  taskId: string,
  log: Logger,
): Promise<void> {
  return agent
    .cancel(taskId, { signal: AbortSignal.timeout(AGENT_CANCEL_TIMEOUT_MS) })
    .catch((error: unknown) => log.info({ err: asCodedError(error), taskId }, 'agent task cancel refused'));
}
