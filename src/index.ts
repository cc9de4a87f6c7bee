/**
 * caipe-webex-bot's public surface, by audience (kept in this order: import sorting is off for this
 * file). Everything else is internal. The Webex simulator, for tests and local development, has its
 * own entry point: `caipe-webex-bot/simulator`.
 */

// ── Running the bot ─────────────────────────────────────────────────────────────────────────────
export { type Config, configTableMarkdown, loadConfig, secretValues, settings } from './config.js';
export { createLogger, type Logger, silentLogger } from './logger.js';
export { memoryStores, type Runtime, type RuntimeOptions, type Stores, startRuntime } from './runtime.js';

// ── Ports (implement these to plug in another agent protocol or store) ─────────────────────────
export type { AgentClient, TurnEvent, TurnRequest } from './adapters/agent/port.js';
export type { ConversationStore, EventClaims, SpaceRegistry } from './adapters/store/ports.js';

// ── Adapters (the ones the runtime builds from configuration) ──────────────────────────────────
export { A2aAgentClient } from './adapters/agent/a2a/client.js';
export { openStores } from './adapters/store/index.js';

// ── The actor system: pure machines, their effects, the system ─────────────────────────────────
export { botMachine } from './machines/bot.js';
export { conversationMachine } from './machines/conversation.js';
export { rootMachine } from './machines/root.js';
export { roomMachine } from './machines/room.js';
export type { CardAction, Notice, UserMessage } from './machines/types.js';
export { webexConnectionMachine } from './machines/webex-connection.js';
export { createBotLogic } from './actors/bot.js';
export { createConversationLogic } from './actors/conversation.js';
export { createAdmission } from './actors/intake/admission.js';
export { createRoomLogic } from './actors/room.js';
export { type BotSystem, startBotSystem } from './actors/system.js';
export { createWebexConnectionLogic } from './actors/webex-connection.js';

// ── Observing it ────────────────────────────────────────────────────────────────────────────────
export { type Inspection, startInspection } from './inspection/index.js';

// ── Errors ──────────────────────────────────────────────────────────────────────────────────────
export {
  AgentError,
  asCodedError,
  BotError,
  CodedError,
  ConfigError,
  TransportError,
  WebexApiError,
} from './errors.js';
