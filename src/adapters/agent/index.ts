/** The agent port and its A2A adapter, for the composition root and the conversation actors. */

export { classifyA2AResult, normaliseState } from './a2a/classify.js';
export {
  A2aAgentClient,
  type A2aAgentClientOptions,
  type AgentAuth,
  type AgentTimers,
} from './a2a/client.js';
export { isFormArtifactName, parseForm } from './a2a/form.js';
export { a2aClientOptions } from './a2a/from-config.js';
export { parsePlanText } from './plan-text.js';
export * from './port.js';
export { type RunTurnOptions, runTurn } from './run-turn.js';
export * from './turn-state.js';
