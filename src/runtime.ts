/**
 * The running bot: every adapter built from the configuration and wired together — Webex REST and
 * socket, the sender, the agent client, the stores, the actor system, the HTTP surface — plus the
 * shutdown sequence. `main.ts` runs it for real; tests and the demo run the very same thing against
 * the simulator and test agents.
 */

import { createTurnRendering, noticeText } from './actors/rendering.js';
import type { TurnHooks } from './actors/turn.js';
import { startWebexConnection, type WebexConnection } from './actors/webexConnection.js';
import { A2aAgentClient, type AgentAuth, type AgentClient } from './adapters/agent/index.js';
import { MemoryConversationStore, MemoryEventClaims, MemorySpaceRegistry } from './adapters/store/memory.js';
import type { ConversationStore, EventClaims, SpaceRegistry } from './adapters/store/ports.js';
import { SpaceAuthorization } from './adapters/store/spaceAuthorization.js';
import type { ConnectionMetrics } from './adapters/webex/connectionMetrics.js';
import { WebexRestClient } from './adapters/webex/rest.js';
import { createWebexSender, restWriteTransport, type SenderMetrics } from './adapters/webex/sender/index.js';
import { type Bot, type BotDeps, createBot } from './app.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import {
  createMetricsRegistry,
  type RouteHandler,
  type RunningHttpServer,
  startHttpServer,
} from './http/server.js';
import type { Logger } from './logger.js';
import { type BotMetrics, createBotMetrics } from './metrics.js';

/** The agent named in footers when the stream names none. */
const DEFAULT_AGENT_NAME = 'CAIPE';

export interface Stores {
  spaces: SpaceRegistry;
  conversations: ConversationStore;
  claims: EventClaims;
  kind: 'memory' | 'embedded' | 'mongodb';
  /** Throws when the store does not answer (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** Defaults to in-memory stores. */
  stores?: Stores;
  /** Defaults to the A2A client for `CAIPE_URL`. */
  agent?: AgentClient;
  agentAuth?: AgentAuth;
  turnHooks?: TurnHooks;
  /** Extra HTTP routes (admin API, demo page). */
  routes?: ReadonlyArray<{ prefix: string; handler: RouteHandler }>;
  /** Host for the HTTP server; all interfaces by default. */
  httpHost?: string;
  /** XState inspection of the actor system (the demo's actor-tree panel). */
  inspect?: BotDeps['inspect'];
}

export interface Runtime {
  bot: Bot;
  connection: WebexConnection;
  http: RunningHttpServer;
  metrics: BotMetrics;
  stores: Stores;
  /** SIGTERM: stop intake, let answers finish within the grace period, cancel the rest, clean up. */
  shutdown(): Promise<void>;
}

export function memoryStores(clock: Clock = systemClock): Stores {
  return {
    spaces: new MemorySpaceRegistry(clock),
    conversations: new MemoryConversationStore(),
    claims: new MemoryEventClaims(),
    kind: 'memory',
    ping: async () => {},
    close: async () => {},
  };
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const token = config.webexToken;
  if (!token) throw new Error('startRuntime needs WEBEX_INTEGRATION_BOT_ACCESS_TOKEN');

  const registry = createMetricsRegistry();
  const metrics = createBotMetrics(registry);
  const stores = options.stores ?? memoryStores(clock);
  const spaces = new SpaceAuthorization({
    registry: stores.spaces,
    cacheTtlMs: config.spaceAuthCacheTtlS * 1000,
    log,
    onStoreError: () => metrics.storeErrors.inc({ store: 'spaces' }),
  });

  const rest = new WebexRestClient({ baseUrl: config.webexApiBaseUrl, token });
  const sender = createWebexSender({
    transport: restWriteTransport(rest),
    clock,
    retryAfterDefaultS: config.retryAfterDefaultS,
    logger: log,
    metrics: senderMetrics(metrics),
  });
  const agent =
    options.agent ??
    new A2aAgentClient({
      url: config.caipeUrl,
      idleTimeoutMs: config.a2aIdleTimeoutS * 1000,
      logger: log,
      clock,
      ...(options.agentAuth ? { auth: options.agentAuth } : {}),
    });

  let connection: WebexConnection | undefined;
  const identity = () => {
    const known = connection?.actor.getSnapshot().context.identity;
    return { personId: known?.personId ?? '', displayName: known?.displayName ?? 'CAIPE' };
  };

  const bot = createBot({
    identity: {
      get personId() {
        return identity().personId;
      },
      get displayName() {
        return identity().displayName;
      },
    },
    settings: {
      listenMode: config.listenMode,
      updateIntervalMs: config.updateIntervalMs,
      maxQueuedPerConversation: config.maxQueuedPerConversation,
      dedupeTtlMs: config.dedupeTtlS * 1000,
    },
    agent,
    sender,
    spaces,
    conversations: stores.conversations,
    claims: stores.claims,
    rendering: createTurnRendering({
      maxMessageChars: config.maxMessageChars,
      agentName: DEFAULT_AGENT_NAME,
      idleTimeoutMs: config.a2aIdleTimeoutS * 1000,
    }),
    noticeText: (notice) => noticeText(notice, { botName: identity().displayName }),
    clock,
    log,
    metrics,
    ...(options.inspect ? { inspect: options.inspect } : {}),
    ...(options.turnHooks ? { turnHooks: options.turnHooks } : {}),
  });

  connection = startWebexConnection({
    token,
    apiBaseUrl: config.webexApiBaseUrl,
    u2cUrl: config.webexU2cUrl,
    wdmUrl: config.webexWdmUrl,
    deviceName: config.webexDeviceName,
    dedupeTtlS: config.dedupeTtlS,
    retryAfterDefaultS: config.retryAfterDefaultS,
    logger: log,
    metrics: connectionMetrics(metrics),
    clock,
    rest,
    onEvent: (event) => void bot.handleInbound(event),
  });

  let shuttingDown = false;
  const http = await startHttpServer({
    port: config.httpPort,
    ...(options.httpHost ? { host: options.httpHost } : {}),
    log,
    registry,
    routes: options.routes ?? [],
    readiness: async () => {
      if (shuttingDown) return { ready: false, reason: 'shutting down' };
      const socket = connection?.readiness();
      if (!socket?.ready) return { ready: false, reason: socket?.reason ?? 'webex connection not started' };
      try {
        await stores.ping();
      } catch {
        return { ready: false, reason: 'store not answering' };
      }
      return { ready: true };
    },
  });

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      shuttingDown = true;
      log.info({ graceS: config.shutdownGraceS }, 'shutting down: no new conversations');
      bot.drain();
      const deadline = clock.now() + config.shutdownGraceS * 1000;
      while (bot.busyConversations() > 0 && clock.now() < deadline) {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
      }
      const unfinished = bot.busyConversations();
      if (unfinished > 0) log.warn({ unfinished }, 'grace period over: cancelling the answers still running');
      await bot.cancelAll();
      await sender.idle();
      bot.stop();
      sender.stop();
      await connection?.stop();
      await http.close();
      await stores.close();
      log.info('shut down');
    })();
    return stopping;
  };

  return { bot, connection, http, metrics, stores, shutdown };
}

function senderMetrics(metrics: BotMetrics): SenderMetrics {
  return {
    request: (labels) => metrics.webexRequests.inc(labels),
    rateLimited: () => metrics.webexRateLimited.inc(),
    editBudgetExhausted: () => metrics.editBudgetExhausted.inc(),
  };
}

function connectionMetrics(metrics: BotMetrics): ConnectionMetrics {
  return {
    reconnect: (reason) => metrics.socketReconnects.inc({ reason }),
    sequenceGap: (missing) => metrics.sequenceGaps.inc(missing),
    inbound: (kind, outcome) => {
      // `accepted` events are counted by the bot once it has decided what to do with them.
      if (outcome !== 'accepted') metrics.events.inc({ kind, outcome: outcome === 'bot' ? 'own' : outcome });
    },
    malformedFrame: () => metrics.events.inc({ kind: 'frame', outcome: 'ignored' }),
  };
}
