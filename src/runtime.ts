/**
 * The running bot: every adapter built from the configuration and wired together — Webex REST and
 * socket, the sender, the agent client, the stores, the actor system, the HTTP surface — plus the
 * shutdown sequence. `main.ts` runs it for real; tests and the demo run the very same thing against
 * the simulator and test agents.
 */

import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { ClientOptions } from 'ws';
import type { InspectionEvent } from 'xstate';
import type { PromptBuilder } from './actors/answering/index.js';
import { createTurnRendering } from './actors/answering/rendering.js';
import { createBotLogic } from './actors/bot.js';
import { createConversationLogic, type Notify } from './actors/conversation.js';
import type { CrashHook } from './actors/handover/crash-points.js';
import { instanceLease, LeaseKeeper } from './actors/handover/leases.js';
import type { ResumeDeps } from './actors/handover/resume.js';
import { prepareTakeover } from './actors/handover/takeover.js';
import { createAdmission } from './actors/intake/admission.js';
import { createRoomLogic } from './actors/room.js';
import { type BotSystem, startBotSystem } from './actors/system.js';
import { createWebexConnectionLogic, type WebexConnectionDeps } from './actors/webex-connection.js';
import { type AgentAuth, type AgentClient, createAgentClient } from './adapters/agent/index.js';
import { createOAuth2TokenSource } from './adapters/agent/oauth2.js';
import { createFeedbackScorer } from './adapters/langfuse/feedback.js';
import { type Stores as OpenedStores, openStores, storeReadinessReason } from './adapters/store/index.js';
import {
  MemoryActiveRooms,
  MemoryConversationStore,
  MemoryEventClaims,
  MemoryLeases,
  MemoryNoticeLog,
  MemoryOwnPostEchoes,
  MemoryPendingMessages,
  MemorySpaceRegistry,
} from './adapters/store/memory.js';
import { SpaceAuthorization } from './adapters/store/space-authorization.js';
import type { ConnectionMetrics } from './adapters/webex/connection-metrics.js';
import type { LiveInstances } from './adapters/webex/devices.js';
import { stripBotMention } from './adapters/webex/normalize.js';
import { lookupEmail } from './adapters/webex/people.js';
import { PersonPolicy } from './adapters/webex/person-policy.js';
import { WebexRestClient } from './adapters/webex/rest.js';
import {
  createWebexSender,
  restWriteTransport,
  type SenderMetrics,
  type WebexSender,
} from './adapters/webex/sender/index.js';
import { fetchThreadMessages } from './adapters/webex/thread-messages.js';
import { agentClientOptions, oauth2OptionsFromConfig } from './agent-options.js';
import { type Clock, delay, systemClock } from './clock.js';
import type { Config } from './config.js';
import { asCodedError } from './errors.js';
import { type BotFacts, botDisplayName, createBotFacts, webexReadiness } from './facts.js';
import { adminRoutes } from './http/admin.js';
import {
  createMetricsRegistry,
  type RouteHandler,
  type RunningHttpServer,
  startHttpServer,
} from './http/server.js';
import { type Inspection, startInspection } from './inspection/index.js';
import { instanceIdentity } from './instance.js';
import type { Logger } from './logger.js';
import type { TurnInput } from './machines/conversation.js';
import { type BotMetrics, createBotMetrics } from './metrics.js';
import {
  buildFeedbackCard,
  buildFormCard,
  formAnswer,
  type ParsedSubmission,
  parseCardSubmission,
} from './render/cards.js';
import { noticeText } from './render/notices.js';
import { buildPromptWithContext } from './render/prompt.js';

/** How long cancelled answers get to clean up at shutdown (agent cancel, working message removed). */
const CANCEL_CLEANUP_MS = 10_000;

/** How long the socket gets to close (and the device step to finish) at shutdown. */
const CONNECTION_STOP_TIMEOUT_MS = 10_000;

/** The agent named in footers when the stream names none. */
const DEFAULT_AGENT_NAME = 'CAIPE';

/** The stores the runtime uses: MongoDB or embedded from `openStores`, or in-memory ones for tests. */
export type Stores = Omit<OpenedStores, 'kind'> & { kind: OpenedStores['kind'] | 'memory' };

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** Defaults to `openStores(config)`: MongoDB when configured, else the embedded store. */
  stores?: Stores;
  /** Defaults to the A2A client for `CAIPE_URL`. */
  agent?: AgentClient;
  agentAuth?: AgentAuth;
  /** Builds the text sent to the agent; thread context (when enabled) by default. */
  prompt?: PromptBuilder;
  /** Extra HTTP routes (admin API, demo page). */
  routes?: ReadonlyArray<{ prefix: string; handler: RouteHandler }>;
  /** Host for the HTTP server; all interfaces by default. */
  httpHost?: string;
  /** Another observer of the actor system besides `XSTATE_INSPECT` (the demo's actor-tree panel). */
  inspect?: (event: InspectionEvent) => void;
  /** The Webex socket's timers, for tests whose clock runs faster than the wall clock. */
  socketDelays?: WebexConnectionDeps['socketDelays'];
  /** Test-only: named points where a test stops the bot abruptly (`src/actors/handover/crash-points.ts`). */
  crashPoints?: CrashHook;
  /** The undici dispatcher of every Webex REST call; the global one by default (tests cut their own). */
  webexDispatcher?: Dispatcher;
  /** Options of the Mercury socket (`ws`), e.g. a test's own connection factory. */
  webSocketOptions?: ClientOptions;
}

export interface Runtime {
  system: BotSystem;
  /** The bot machine (room router) of the system. */
  bot: BotSystem['bot'];
  /** The Webex connection of the system. */
  connection: BotSystem['connection'];
  facts: BotFacts;
  http: RunningHttpServer;
  metrics: BotMetrics;
  stores: Stores;
  /** `XSTATE_INSPECT`: where its relay listens, when it has one. */
  inspection: Inspection;
  /** SIGTERM: stop intake, let answers finish within the grace period, cancel the rest, clean up. */
  shutdown(): Promise<void>;
}

export function memoryStores(clock: Clock = systemClock): Stores {
  return {
    spaces: new MemorySpaceRegistry(clock),
    conversations: new MemoryConversationStore(),
    claims: new MemoryEventClaims(),
    rooms: new MemoryActiveRooms(),
    notices: new MemoryNoticeLog(),
    echoes: new MemoryOwnPostEchoes(),
    pending: new MemoryPendingMessages(clock),
    leases: new MemoryLeases(),
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

  // ── observers ──────────────────────────────────────────────────────────────────────────────────
  const inspection = await startInspection({
    mode: config.xstateInspect,
    host: config.xstateInspectHost,
    port: config.xstateInspectPort,
    dataDir: config.dataDir,
    log,
  });
  const registry = createMetricsRegistry();
  const metrics = createBotMetrics(registry, { agentBackend: config.agentProtocol });
  const facts = createBotFacts();

  // ── adapters ───────────────────────────────────────────────────────────────────────────────────
  const instance = instanceIdentity(config);
  const stores: Stores = options.stores ?? (await openStores(config, { log, clock, owner: instance.owner }));
  const spaces = new SpaceAuthorization({
    registry: stores.spaces,
    cacheTtlMs: config.spaceAuthCacheTtlS * 1000,
    log,
    clock,
    onStoreError: () => metrics.storeErrors.inc({ store: 'spaces' }),
  });
  const rest = new WebexRestClient({
    baseUrl: config.webexApiBaseUrl,
    token,
    ...(options.webexDispatcher ? { dispatcher: options.webexDispatcher } : {}),
  });
  const sender = createWebexSender({
    transport: restWriteTransport(rest),
    clock,
    retryAfterDefaultS: config.retryAfterDefaultS,
    logger: log,
    metrics: senderMetrics(metrics),
    limits: { rate: { maxPerSecond: config.webexWriteRateMax } },
  });
  const oauth2 = oauth2OptionsFromConfig(config);
  const agentAuth =
    options.agentAuth ?? (oauth2 ? createOAuth2TokenSource({ ...oauth2, logger: log, clock }) : undefined);
  // Built here, closed here (its connection pool); an agent passed in belongs to the caller.
  const ownAgent = options.agent
    ? undefined
    : createAgentClient({
        ...agentClientOptions(config),
        logger: log,
        clock,
        ...(agentAuth ? { auth: agentAuth } : {}),
        sendPrivate: (message) => rest.post('/messages', message, { route: 'POST /messages' }).then(() => {}),
      });
  const agent: AgentClient = options.agent ?? ownAgent!.client;
  if (ownAgent) log.info({ backend: ownAgent.backend }, `agent backend: ${ownAgent.label}`);
  const langfuse =
    config.langfuseScoringEnabled &&
    config.langfusePublicKey &&
    config.langfuseSecretKey &&
    config.langfuseHost
      ? createFeedbackScorer({
          publicKey: config.langfusePublicKey,
          secretKey: config.langfuseSecretKey,
          baseUrl: config.langfuseHost,
          log,
          onFailure: () => metrics.feedbackFailures.inc(),
        })
      : undefined;
  // A backend with its own feedback route (CAIPE ≥0.6) takes the clicks; otherwise Langfuse.
  const feedback = ownAgent?.feedback ?? langfuse;

  // ── actor logic ────────────────────────────────────────────────────────────────────────────────
  const notify = createNotify({ sender, facts, log, turnTimeoutS: config.agentTurnTimeoutS });
  // A durable store keeps each running answer and each claimed question, so the next process can
  // take them over (SPEC "Durability and replicas"); the memory store has no next process.
  const durable = stores.kind !== 'memory';
  const settlePending = (activityIds: readonly string[]) => {
    if (!durable || activityIds.length === 0) return;
    stores.pending.settle(activityIds).catch((error: unknown) => {
      metrics.storeErrors.inc({ store: 'pending' });
      log.warn({ err: asCodedError(error) }, 'pending messages not settled');
    });
  };
  // Who may use the bot: asked at admission, and again for an answer taken over from another process.
  const people = new PersonPolicy({
    ...(config.allowedOrgIds ? { allowedOrgIds: config.allowedOrgIds } : {}),
    ...(config.allowedEmailDomains ? { allowedEmailDomains: config.allowedEmailDomains } : {}),
    people: rest,
    notices: stores.notices,
    log,
    clock,
  });
  const personAllowed: NonNullable<ResumeDeps['personAllowed']> = async (person, target, signal) => {
    const decision = await people.check(
      { personId: person.personId, ...(person.email ? { email: person.email } : {}) },
      signal,
    );
    if (decision.allowed) return true;
    const reason = decision.reason ?? 'person-unverified';
    metrics.refused.inc({ reason });
    log.info({ roomId: target.roomId, reason }, 'person of a taken-over answer refused');
    if (decision.notify) notify({ kind: 'personRefused', reason }, target);
    return false;
  };
  // Leases (SPEC "Durability and replicas"): this process's conversations and its own liveness.
  let onLeaseLost: (lease: string) => void = () => {};
  const leases = new LeaseKeeper({
    store: stores.leases,
    owner: instance.owner,
    clock,
    log: log.child({ component: 'leases' }),
    periodMs: config.leasePeriodS * 1000,
    onLost: (lease) => onLeaseLost(lease),
    onCount: (held) => metrics.leasesHeld.set(held),
    onStoreError: () => metrics.storeErrors.inc({ store: 'leases' }),
  });
  await leases.start();
  const {
    logic: conversation,
    turns,
    journal,
    leaseLost,
  } = createConversationLogic({
    agent,
    sender,
    spaces,
    conversations: stores.conversations,
    rendering: createTurnRendering({
      maxMessageChars: config.maxMessageChars,
      agentName: DEFAULT_AGENT_NAME,
      idleTimeoutMs: config.a2aIdleTimeoutS * 1000,
      maxAnswerChars: config.agentMaxAnswerChars,
    }),
    notify,
    clock,
    log,
    metrics,
    updateIntervalMs: config.updateIntervalMs,
    answeredBy: config.hitlAnsweredBy,
    turnTimeoutMs: config.agentTurnTimeoutS * 1000,
    turnLimits: { total: config.maxConcurrentTurns, perPerson: config.maxTurnsPerPerson },
    historyLimits: {
      maxMessages: config.threadContextMaxMessages,
      maxChars: config.threadContextMaxChars,
    },
    cards: {
      form: buildFormCard,
      ...(feedback ? { feedback: buildFeedbackCard } : {}),
      formAnswer: (form, fields) => formAnswer(form, fields as ParsedSubmission['fields']),
      newCardId: () => randomUUID(),
      formTimeoutMs: config.hitlTimeoutS * 1000,
    },
    lookupEmail: (personId, signal) => lookupEmail(rest, personId, signal),
    ...(feedback ? { scoreFeedback: (input) => feedback.score(input) } : {}),
    keepRunningTurns: durable,
    leases,
    personAllowed,
    crash: options.crashPoints,
    ...(durable
      ? {
          echoes: stores.echoes,
          pending: stores.pending,
          readMessage: (messageId: string, signal: AbortSignal) =>
            rest.get<{ markdown?: string }>(`/messages/${encodeURIComponent(messageId)}`, {
              route: 'GET /messages/{id}',
              signal,
            }),
        }
      : {}),
    prompt:
      options.prompt ??
      (config.threadContextEnabled
        ? (input, signal) => promptWithThreadContext(input, signal, rest, config, facts, log)
        : undefined),
  });
  onLeaseLost = leaseLost;
  const room = createRoomLogic({
    conversation,
    spaces,
    sender,
    notify,
    log,
    authorize: {
      // The "Connect to CAIPE" route of the card exists only up to CAIPE 0.5.
      mode: stores.kind === 'mongodb' && ownAgent?.uiAuthorizeRoute !== false ? 'card' : 'admin-api',
      caipeUiBaseUrl: config.caipeUiBaseUrl,
      adminBaseUrl: `http://<bot-host>:${config.httpPort}`,
      adminApiEnabled: config.adminApiToken !== undefined,
    },
  });
  // Read before the socket connects: the echoes Webex redelivers then are of the turns taken over.
  const takeover =
    durable && journal
      ? await prepareTakeover({
          conversations: stores.conversations,
          pending: stores.pending,
          echoes: stores.echoes,
          journal,
          notify,
          facts,
          clock,
          log,
          onStoreError: (store) => metrics.storeErrors.inc({ store }),
          leases,
          scanIntervalMs: config.takeoverIntervalS * 1000,
          onTakeover: (kind) => metrics.takeovers.inc({ kind }),
        })
      : undefined;
  const connection = createWebexConnectionLogic({
    token,
    apiBaseUrl: config.webexApiBaseUrl,
    u2cUrl: config.webexU2cUrl,
    wdmUrl: config.webexWdmUrl,
    deviceName: instance.deviceName,
    deviceBaseName: instance.deviceBaseName,
    liveInstances: () => liveInstances(stores.leases, instance, clock),
    dedupeTtlS: config.dedupeTtlS,
    retryAfterDefaultS: config.retryAfterDefaultS,
    logger: log,
    metrics: connectionMetrics(metrics),
    clock,
    rest,
    activeRooms: stores.rooms,
    ...(options.socketDelays ? { socketDelays: options.socketDelays } : {}),
    ...(options.webSocketOptions ? { webSocketOptions: options.webSocketOptions } : {}),
    ...(takeover ? { onOwnPost: takeover.ownPost } : {}),
    admit: createAdmission({
      claims: stores.claims,
      dedupeTtlMs: config.dedupeTtlS * 1000,
      spaces,
      facts,
      listenMode: config.listenMode,
      parseCard: cardActionOf,
      people,
      notify,
      log,
      metrics,
      ...(durable ? { pending: stores.pending } : {}),
      leases,
      crash: options.crashPoints,
      clock,
    }),
  });

  // ── the actor system ───────────────────────────────────────────────────────────────────────────
  const system = startBotSystem({
    bot: createBotLogic({ room, notify, log, settle: settlePending }),
    connection,
    turns,
    facts,
    maxQueuedPerConversation: config.maxQueuedPerConversation,
    log,
    clock,
    inspect: combineInspectors(inspection.inspect, options.inspect),
  });
  // A 401 anywhere means the token was revoked: readiness fails with that reason, not only the
  // socket's view. Reads are counted here; writes by the sender (per attempt).
  rest.observe(({ method, route, status }) => {
    // Same route form as the sender's writes (`messages/{id}`); never a path with ids in it.
    if (method === 'GET')
      metrics.webexRequests.inc({ method, route: route.replace(/^\w+ \/?/, ''), status: String(status) });
    if (status === 401) {
      facts.trigger.tokenRejected();
      system.connection.send({ type: 'TOKEN.REJECTED' });
    }
  });

  // What the previous process left running is taken over once the bot is online.
  void takeover?.run(system.bot).catch((error: unknown) => {
    log.error({ err: asCodedError(error) }, 'takeover of the previous process failed');
  });

  // ── HTTP ───────────────────────────────────────────────────────────────────────────────────────
  const http = await startHttpServer({
    port: config.httpPort,
    ...(options.httpHost ? { host: options.httpHost } : {}),
    log,
    registry,
    liveness: () => system.root.getSnapshot().status === 'active',
    routes: [
      ...adminRoutes({
        token: config.adminApiToken,
        registry: stores.spaces,
        invalidate: (roomId) => spaces.invalidate(roomId),
        log,
        onAuthFailure: () => metrics.adminAuthFailures.inc(),
      }),
      ...(options.routes ?? []),
    ],
    readiness: async () => {
      const webex = webexReadiness(facts);
      if (!webex.ready) return webex;
      try {
        await stores.ping();
      } catch (error) {
        return { ready: false, reason: storeReadinessReason(error) };
      }
      return { ready: true };
    },
  });

  // ── shutdown ───────────────────────────────────────────────────────────────────────────────────
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      facts.trigger.shuttingDown();
      takeover?.stop();
      log.info({ graceS: config.shutdownGraceS }, 'shutting down: no new conversations');
      // Events from now on are left for the next process (unacked; rooms recorded for its catch-up).
      system.connection.send({ type: 'INBOUND.HOLD' });
      system.drain();
      const grace = new AbortController();
      await Promise.race([
        system.settled(),
        delay(clock, config.shutdownGraceS * 1000, grace.signal).catch(() => {}),
      ]);
      grace.abort();
      const unfinished = system.busyConversations();
      // With a durable store, answers the agent lets another process re-attach to are left running
      // for the next process (SPEC "Durability and replicas"); the others are cancelled.
      const handOver = stores.kind !== 'memory';
      if (unfinished > 0)
        log.warn(
          { unfinished },
          handOver
            ? 'grace period over: handing the answers still running over to the next process'
            : 'grace period over: cancelling the answers still running',
        );
      // Cancelled turns ask the agent to cancel and take their working message down; bounded, so a
      // stuck agent cannot hold the pod past its termination grace.
      const cleanup = new AbortController();
      await Promise.race([
        handOver ? system.handOverAll() : system.cancelAll(),
        delay(clock, CANCEL_CLEANUP_MS, cleanup.signal).catch(() => {}),
      ]);
      cleanup.abort();
      await sender.idle();
      sender.stop();
      // The device is kept: Webex buffers for it what arrives until the next process connects.
      await system.stopConnection(CONNECTION_STOP_TIMEOUT_MS);
      system.stop();
      // Given up, not left to lapse: another process takes the handed-over answers over at once.
      await journal?.flushed();
      await leases.stop();
      await http.close();
      await stores.close();
      await ownAgent?.close();
      await langfuse?.shutdown();
      await inspection.close();
      log.info('shut down');
    })();
    return stopping;
  };

  return {
    system,
    bot: system.bot,
    connection: system.connection,
    facts,
    http,
    metrics,
    stores,
    inspection,
    shutdown,
  };
}

/** Notices go out at first-reply priority: they are the bot's first reply to what the person did. */
function createNotify(deps: {
  sender: WebexSender;
  facts: BotFacts;
  log: Logger;
  turnTimeoutS: number;
}): Notify {
  return (notice, target) => {
    deps.sender
      .post(
        {
          roomId: target.roomId,
          parentId: target.parentId,
          markdown: noticeText(notice, {
            botName: botDisplayName(deps.facts),
            turnTimeoutS: deps.turnTimeoutS,
          }),
        },
        { priority: 'first-reply' },
      )
      .catch((error: unknown) => {
        deps.log.warn({ err: asCodedError(error), roomId: target.roomId }, 'could not post a notice');
      });
  };
}

/** The bot's `_caipe` data of a card submission, as the machines name it. */
function cardActionOf(inputs: Record<string, unknown>) {
  const parsed = parseCardSubmission(inputs);
  if (!parsed) return undefined;
  const { data, fields } = parsed;
  return {
    kind: data.kind,
    key: data.key,
    cardId: data.cardId,
    fields,
    ...(data.value ? { value: data.value } : {}),
    ...(data.traceId ? { traceId: data.traceId } : {}),
  };
}

function combineInspectors(
  ...inspectors: Array<((event: InspectionEvent) => void) | undefined>
): ((event: InspectionEvent) => void) | undefined {
  const present = inspectors.filter((inspect) => inspect !== undefined);
  if (present.length <= 1) return present[0];
  return (event) => {
    for (const inspect of present) inspect(event);
  };
}

/**
 * The text sent to the agent: for a thread reply, the thread so far (bounded, the bot's own replies
 * left out, only what came after the bot's last answer once the agent holds the context) and then
 * the request. A failed fetch is not worth failing the answer for: the request goes alone.
 */
async function promptWithThreadContext(
  input: TurnInput,
  signal: AbortSignal,
  rest: WebexRestClient,
  config: Config,
  facts: BotFacts,
  log: Logger,
): Promise<string> {
  const bot = {
    personId: facts.getSnapshot().context.identity?.personId ?? '',
    displayName: botDisplayName(facts),
  };
  const rootId = input.target.parentId;
  const text = input.message.text;
  if (!rootId || rootId === input.message.messageId) return text;
  try {
    const context = await fetchThreadMessages(
      rest,
      {
        roomId: input.target.roomId,
        rootId,
        currentMessageId: input.message.messageId,
        roomType: input.roomType,
        ...(input.contextId && input.lastAnswerMessageId
          ? { afterMessageId: input.lastAnswerMessageId }
          : {}),
      },
      { maxMessages: config.threadContextMaxMessages, botPersonId: bot.personId },
      signal,
    );
    // In a group space every message the bot can read mentions it: the mention is not context.
    const cleaned =
      input.roomType === 'group'
        ? context.map((m) => ({
            ...m,
            text: stripBotMention(m.text ?? m.markdown ?? '', undefined, bot.displayName),
          }))
        : context;
    return buildPromptWithContext(cleaned, text, { maxChars: config.threadContextMaxChars });
  } catch (error) {
    if (signal.aborted) throw error;
    log.warn(
      { err: error, roomId: input.target.roomId },
      'thread context not fetched; sending the request alone',
    );
    return text;
  }
}

function senderMetrics(metrics: BotMetrics): SenderMetrics {
  return {
    request: (labels) => metrics.webexRequests.inc(labels),
    rateLimited: () => metrics.webexRateLimited.inc(),
    editBudgetExhausted: () => metrics.editBudgetExhausted.inc(),
    writeRate: (perSecond) => metrics.webexWriteRate.set(perSecond),
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
    catchUp: (outcome) => metrics.catchUpEvents.inc({ outcome }),
  };
}

/** Other instances whose own lease has not lapsed (SPEC: a live replica's device is never deleted). */
async function liveInstances(
  leases: Stores['leases'],
  self: { owner: string; deviceBaseName: string },
  clock: Clock,
): Promise<LiveInstances> {
  const prefix = instanceLease('');
  const now = clock.now();
  const owners = (await leases.list(prefix, 1_000))
    .filter((lease) => lease.expiresAt > now && lease.owner !== self.owner)
    .map((lease) => lease.owner);
  // An instance without INSTANCE_ID is named by its host and its device has no suffix.
  return { owners: new Set(owners), anyUnnamed: owners.length > 0 };
}
