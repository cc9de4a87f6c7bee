/**
 * caipe-webex-bot's public surface, by audience. Everything else is internal.
 */

// ── Embedding the actor system (custom adapters, other transports) ─────────────────────────────
export { createBotLogic } from './actors/bot.js';
export { createConversationLogic } from './actors/conversation.js';
export { createAdmission } from './actors/intake/admission.js';
export { createRoomLogic } from './actors/room.js';
export { type BotSystem, startBotSystem } from './actors/system.js';
export { A2aAgentClient } from './adapters/agent/a2a/client.js';
// ── Ports (implement these to plug in another agent protocol or store) ─────────────────────────
export type { AgentClient, TurnEvent, TurnRequest } from './adapters/agent/port.js';
export { openStores } from './adapters/store/index.js';
export type { ConversationStore, EventClaims, SpaceRegistry } from './adapters/store/ports.js';
// ── Running the bot ─────────────────────────────────────────────────────────────────────────────
export { type Config, configTableMarkdown, loadConfig, secretValues, settings } from './config.js';
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
export { type Inspection, startInspection } from './inspection/index.js';
export { createLogger, type Logger, silentLogger } from './logger.js';
export { botMachine } from './machines/bot.js';
export { conversationMachine } from './machines/conversation.js';
export { roomMachine } from './machines/room.js';
export type { CardAction, Notice, TurnOutcome, UserMessage } from './machines/types.js';
export { webexConnectionMachine } from './machines/webexConnection.js';
export { memoryStores, type Runtime, type RuntimeOptions, type Stores, startRuntime } from './runtime.js';

// ── Testing and local development ───────────────────────────────────────────────────────────────
export { startWebexSimulator, type WebexSimulator } from './simulator/webex/index.js';
