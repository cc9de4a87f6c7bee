/**
 * `npm run demo` as a function: the Webex simulator, the demo agent (or a real one from
 * `CAIPE_URL`), a fake Langfuse, and the real bot runtime wired to them, plus the chat page that
 * shows the simulated spaces as a Webex user would see them. Everything listens on 127.0.0.1.
 *
 * The browser test starts this in-process; `main.ts` starts it for people.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { waitFor } from 'xstate';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { readinessOf } from '../machines/webex-connection.js';
import { memoryStores, type Runtime, startRuntime } from '../runtime.js';
import {
  type SimPerson,
  type SimRoom,
  type StoredMessage,
  startWebexSimulator,
  type WebexSimulator,
} from '../simulator/webex/index.js';
import { createActorTreeTracker } from './actor-tree.js';
import { type DemoAgent, SCENARIOS, startDemoAgent } from './agent.js';
import { DEMO_PROTOCOLS, type DemoProtocol, PROTOCOL_LABELS } from './agent-wire.js';
import { type DemoApi, startDemoServer } from './server.js';

export interface DemoOptions {
  /** Port of the chat page; 0 for an ephemeral one. */
  port?: number;
  /**
   * Settings passed to the bot (e.g. `WEBEX_UPDATE_INTERVAL_MS`, `LOG_LEVEL`). `CAIPE_URL` switches
   * from the built-in agent to a real one; `LANGFUSE_SCORING_ENABLED` set here switches from the
   * fake Langfuse to the configured one.
   */
  env?: Record<string, string | undefined>;
  log?: Logger;
  /** Gap between the demo agent's events (ms). */
  agentPaceMs?: number;
}

/** `DEMO_AGENT_PROTOCOL`: which backend the built-in agent plays (`a2a` when unset). */
export function demoProtocolOf(raw: string | undefined): DemoProtocol {
  const value = (raw ?? '').trim().toLowerCase() || 'a2a';
  if (!(DEMO_PROTOCOLS as readonly string[]).includes(value)) {
    throw new ConfigError([
      `DEMO_AGENT_PROTOCOL: expected one of ${DEMO_PROTOCOLS.join(' / ')}, got "${raw}"`,
    ]);
  }
  return value as DemoProtocol;
}

export interface DemoSpace {
  id: string;
  title: string;
  type: 'direct' | 'group';
  authorized: boolean;
}

export interface Demo {
  /** The chat page. */
  url: string;
  /** The agent the bot talks to. */
  agentUrl: string;
  /** The backend in use, as the page names it. */
  agentProtocol: string;
  /** The bot's own HTTP server (`/healthz`, `/readyz`, `/metrics`, `/admin/*`). */
  botUrl: string;
  adminToken: string;
  spaces: DemoSpace[];
  sim: WebexSimulator;
  /** The person using the chat page, and the simulated rooms by space id (for tests). */
  user: SimPerson;
  rooms: ReadonlyMap<string, SimRoom>;
  /** Feedback the page shows (fake Langfuse scores, or what CAIPE's /api/feedback received). */
  scores: readonly PageScore[];
  runtime: Runtime;
  close(): Promise<void>;
}

/** A message as the page draws it. */
export interface PageMessage {
  id: string;
  spaceId: string;
  parentId?: string;
  author: { name: string; bot: boolean; me: boolean };
  /** Markdown as posted (mentions in Webex's `<@personId:…|Name>` form). */
  markdown: string;
  /** The Adaptive Card, when the message carries one. */
  card?: unknown;
  created: string;
  edits: number;
  deleted: boolean;
}

export interface PageScore {
  traceId: string;
  name: string;
  value: unknown;
  userEmail?: string;
  at: string;
}

const BOT_TOKEN = 'demo-bot-token';
const BOT_NAME = 'CAIPE';

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const env = options.env ?? {};
  const log = options.log ?? silentLogger();
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => log.warn({ err: error }, 'demo cleanup failed'));
    }
  };

  try {
    const sim = await startWebexSimulator({ botToken: BOT_TOKEN, botDisplayName: BOT_NAME, logger: log });
    cleanups.push(() => sim.close());

    let agent: DemoAgent | undefined;
    const realAgentUrl = env.CAIPE_URL?.trim();
    const protocol = demoProtocolOf(env.DEMO_AGENT_PROTOCOL);
    const scores: PageScore[] = [];
    let onScore: (score: PageScore) => void = () => {};
    const recordScore = (score: PageScore) => {
      scores.push(score);
      if (scores.length > 50) scores.shift();
      onScore(score);
    };
    if (!realAgentUrl) {
      agent = await startDemoAgent({
        log,
        protocol,
        // CAIPE ≥0.6 scores feedback itself: show what the bot posted to its /api/feedback.
        onFeedback: (feedback) =>
          recordScore({
            traceId: String(feedback.conversationId ?? ''),
            name: 'caipe /api/feedback',
            value: feedback.value,
            ...(typeof feedback.userEmail === 'string' ? { userEmail: feedback.userEmail } : {}),
            at: new Date().toISOString(),
          }),
        ...(options.agentPaceMs ? { paceMs: options.agentPaceMs } : {}),
      });
      cleanups.push(() => agent?.close() ?? Promise.resolve());
    }
    const agentUrl = realAgentUrl || (agent?.url as string);
    const agentProtocol = agent
      ? PROTOCOL_LABELS[agent.protocol]
      : `AGENT_PROTOCOL=${env.AGENT_PROTOCOL?.trim() || 'a2a'}`;

    const tracker = createActorTreeTracker();
    cleanups.push(async () => tracker.close());

    const user = sim.createUser({ displayName: 'Ada Lovelace', email: 'ada@example.com' });
    const people = new Map<string, SimPerson>([
      [sim.bot.uuid, sim.bot],
      [user.uuid, user],
    ]);
    const spaces: DemoSpace[] = [];
    const adminToken = randomBytes(16).toString('hex');
    let botUrl = '';
    const rooms = new Map<string, SimRoom>();
    const seen = new Map<string, string>();

    const view = (message: StoredMessage): PageMessage => {
      const author = people.get(message.authorUuid);
      const attachment = (message.attachments as Array<{ content?: unknown }> | undefined)?.[0];
      return {
        id: message.id,
        spaceId: message.roomId,
        ...(message.parentId ? { parentId: message.parentId } : {}),
        author: {
          name: author?.displayName ?? message.personEmail,
          bot: author?.kind === 'bot',
          me: message.authorUuid === user.uuid,
        },
        markdown: message.markdown ?? message.text ?? '',
        ...(attachment?.content ? { card: attachment.content } : {}),
        created: message.created,
        edits: message.editCount,
        deleted: message.deleted,
      };
    };
    const visibleMessages = () =>
      [...rooms.values()].flatMap((room) =>
        sim
          .roomMessages(room)
          .filter((m) => !m.deleted)
          .map(view),
      );

    const api: DemoApi = {
      snapshot: () => ({
        me: { id: user.id, name: user.displayName, email: user.email },
        bot: { id: sim.bot.id, name: sim.bot.displayName },
        agent: { url: agentUrl, builtIn: agent !== undefined, protocol: agentProtocol },
        scenarios: agent ? SCENARIOS.map(({ name, example, what }) => ({ name, example, what })) : [],
        spaces,
        messages: visibleMessages(),
        actors: tracker.nodes(),
        scores,
      }),
      postMessage: ({ spaceId, text, parentId, mention }) => {
        const room = rooms.get(spaceId);
        if (!room) throw Object.assign(new Error('unknown space'), { status: 404 });
        const message = sim.post(user, room, {
          markdown: text,
          ...(parentId ? { parentId } : {}),
          ...(mention && room.type === 'group' ? { mentionBot: true } : {}),
        });
        return { id: message.id };
      },
      authorizeSpace: async ({ spaceId }) => {
        const space = spaces.find((s) => s.id === spaceId);
        if (space?.type !== 'group') throw Object.assign(new Error('not a group space'), { status: 404 });
        // Through the bot's real admin API, as an operator would: it also drops the cached denial.
        const response = await fetch(`${botUrl}/admin/spaces/${encodeURIComponent(spaceId)}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ spaceName: space.title }),
        });
        if (!response.ok) throw new Error(`admin API answered ${response.status}`);
        space.authorized = true;
        server.broadcast({ name: 'snapshot', data: api.snapshot() });
        return { authorized: true };
      },
      submitCard: ({ messageId, inputs }) => {
        const action = sim.submitCard(user, messageId, inputs);
        return { id: action.id };
      },
      ingest: (batch) => {
        for (const event of batch as Array<{ type?: string; body?: Record<string, unknown> }>) {
          if (event?.type !== 'score-create' || !event.body) continue;
          const body = event.body;
          const metadata = body.metadata as { user_email?: unknown } | undefined;
          const score: PageScore = {
            traceId: String(body.traceId ?? ''),
            name: String(body.name ?? ''),
            value: body.value,
            ...(typeof metadata?.user_email === 'string' ? { userEmail: metadata.user_email } : {}),
            at: new Date().toISOString(),
          };
          recordScore(score);
        }
      },
    };

    const server = await startDemoServer({ port: options.port ?? 0, api, log });
    cleanups.push(() => server.close());
    onScore = (score) => server.broadcast({ name: 'score', data: score });

    const fakeLangfuse = env.LANGFUSE_SCORING_ENABLED === undefined;
    const config = loadConfig({
      ...env,
      ...agent?.botEnv,
      WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
      WEBEX_U2C_URL: sim.urls.u2c,
      WEBEX_API_BASE_URL: sim.urls.hydra,
      CAIPE_URL: agentUrl,
      // A fixed free port rather than 0: the bot names its port in the admin API instructions.
      HTTP_PORT: String(await freePort()),
      ADMIN_API_TOKEN: adminToken,
      WEBEX_UPDATE_INTERVAL_MS: env.WEBEX_UPDATE_INTERVAL_MS ?? '1000',
      // Stopping the demo should not wait out a slow answer.
      SHUTDOWN_GRACE_S: env.SHUTDOWN_GRACE_S ?? '2',
      ...(fakeLangfuse
        ? {
            LANGFUSE_SCORING_ENABLED: 'true',
            LANGFUSE_PUBLIC_KEY: 'pk-lf-demo',
            LANGFUSE_SECRET_KEY: 'sk-lf-demo',
            LANGFUSE_HOST: `${server.url}langfuse`,
          }
        : {}),
    });

    const stores = memoryStores();
    const runtime = await startRuntime({
      config,
      log,
      stores,
      httpHost: '127.0.0.1',
      inspect: (event) => tracker.inspect(event),
    });
    cleanups.push(() => runtime.shutdown());
    botUrl = `http://127.0.0.1:${runtime.http.port}`;
    await waitFor(runtime.connection, (snapshot) => readinessOf(snapshot).ready, { timeout: 10_000 });

    // Live updates: any Webex write or user activity may change what a space shows.
    let rescanQueued = false;
    const rescan = () => {
      rescanQueued = false;
      for (const room of rooms.values()) {
        for (const message of sim.roomMessages(room)) {
          const signature = `${message.editCount}|${message.deleted}|${message.updated ?? ''}`;
          const before = seen.get(message.id);
          if (before === signature || (before === undefined && message.deleted)) continue;
          seen.set(message.id, signature);
          server.broadcast({ name: 'message', data: view(message) });
        }
      }
    };
    const queueRescan = () => {
      if (rescanQueued) return;
      rescanQueued = true;
      setImmediate(rescan);
    };
    const stopRequests = sim.on('request', queueRescan);
    const stopActivities = sim.on('activity', queueRescan);
    const stopActors = tracker.onChange((nodes) => server.broadcast({ name: 'actors', data: nodes }));
    cleanups.push(async () => {
      stopRequests();
      stopActivities();
      stopActors();
    });

    // The spaces are made once the bot is online, so it sees them being created (and says hello).
    const direct = sim.createDirectRoom(user);
    rooms.set(direct.id, direct);
    spaces.push({ id: direct.id, title: `${BOT_NAME} (1:1)`, type: 'direct', authorized: true });
    for (const { title, authorized } of [
      { title: 'Platform team', authorized: true },
      { title: 'Random chatter', authorized: false },
    ]) {
      const room = sim.createRoom({ type: 'group', title, members: [user], creator: user });
      if (authorized) {
        await stores.spaces.authorize({ roomId: room.id, spaceName: title, authorizedBy: 'demo' });
      }
      rooms.set(room.id, room);
      spaces.push({ id: room.id, title, type: 'group', authorized });
      sim.addBotToRoom(room, user);
    }
    server.broadcast({ name: 'snapshot', data: api.snapshot() });

    return {
      url: server.url,
      agentUrl,
      agentProtocol,
      botUrl,
      adminToken,
      spaces,
      sim,
      user,
      rooms,
      scores,
      runtime,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A port nobody listens on right now (the bot's HTTP server takes it a moment later). */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
