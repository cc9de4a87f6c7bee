/**
 * Live inspection across whole conversations, through the running bot: a DM answered with
 * progress, a group thread, a form submitted, a cancel, an agent failure, and a form answered
 * after a restart. Canary values sit in every private field (message text, email, token, form
 * values, agent output and agent error text); both inspection modes must deliver events and none of
 * the canaries may appear in any relay frame or JSONL byte.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from 'xstate';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { readinessOf } from '../../src/machines/webex-connection.js';
import { messages } from '../../src/render/messages.js';
import { memoryStores, type Runtime, startRuntime } from '../../src/runtime.js';
import {
  type StoredMessage,
  startWebexSimulator,
  type WebexSimulator,
} from '../../src/simulator/webex/index.js';
import { SseEmulator, type SseExchange } from '../helpers/a2a/sse-emulator.js';
import { captureLog } from '../helpers/capture.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import {
  CaipeTurn,
  DEPLOY_FORM_PART,
  untilNoWorkingMessage,
  waitForBotPost,
  waitForBotPostContaining,
} from './conversations/support.js';

const CANARY = {
  token: 'canary-token-3b9d0c7e11f24a8e',
  email: 'canary-mail-91c2@example.com',
  text: 'canary-text-7f3a',
  form: 'canary-form-5d1e',
  agentOutput: 'canary-agent-0b6e',
  agentError: 'canary-error-c4f8',
};

const track = closeAfterEach();

/** What the relay sends, in the Stately inspector's message format. */
interface RelayFrame {
  type: string;
  name?: string;
  event?: { type: string };
  snapshot?: { value?: unknown };
}

/** One agent for every path: what it does depends on what it is asked. */
async function canaryAgent(exchange: SseExchange): Promise<void> {
  const rpc = exchange.request.json as { method?: string } | undefined;
  if (rpc?.method === 'tasks/cancel') {
    await exchange.json(200, { jsonrpc: '2.0', id: exchange.rpcId, result: { id: 'x', kind: 'task' } });
    return;
  }
  const turn = new CaipeTurn(exchange);
  const asked = turn.userText;
  await turn.open();
  if (asked.includes('please deploy') && !asked.includes(CANARY.form)) {
    await turn.artifact('UserInputMetaData', [DEPLOY_FORM_PART]);
    await turn.status('input-required', `Which environment? ${CANARY.agentOutput}`, undefined, true);
    await exchange.end();
  } else if (asked.includes('slow')) {
    await turn.toolStart('Slow_Query', 'splunk');
    await exchange.clientClosed();
  } else if (asked.includes('break')) {
    await turn.status('failed', `exploded: ${CANARY.agentError}`, undefined, true);
    await exchange.end();
  } else {
    await turn.plan([{ title: `Look it up ${CANARY.agentOutput}`, agent: 'search', status: 'in_progress' }]);
    await turn.toolStart('Search', 'search');
    await turn.toolEnd('Search', 'search');
    await turn.stream(`Found it: ${CANARY.agentOutput}`);
    await turn.answer(`Found it: ${CANARY.agentOutput}`);
  }
}

function submitData(card: StoredMessage): Record<string, unknown> {
  const attachment = card.attachments?.[0] as
    | { content: { actions?: Array<{ data?: Record<string, unknown> }> } }
    | undefined;
  const actions = attachment?.content.actions;
  return actions?.find((a) => JSON.stringify(a.data).includes('"form"'))?.data ?? {};
}

async function waitForCard(sim: WebexSimulator, roomId: string, seen: number): Promise<StoredMessage> {
  const cards = () => sim.roomMessages(roomId).filter((m) => (m.attachments?.length ?? 0) > 0 && !m.deleted);
  while (cards().length <= seen) {
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && JSON.stringify(r.body).includes('"attachments"'),
      {
        futureOnly: true,
        timeoutMs: 10_000,
      },
    );
  }
  return cards().at(-1)!;
}

interface Rig {
  sim: WebexSimulator;
  boot(): Promise<Runtime>;
}

/** Every conversation path the inspector must survive, restart included. */
async function runEveryPath(rig: Rig): Promise<void> {
  const { sim } = rig;
  let runtime = await rig.boot();
  const person = sim.createUser({ displayName: 'Canary Person', email: CANARY.email });

  // A DM answered with plan and tool progress.
  const dm = sim.createDirectRoom(person);
  sim.post(person, dm, { text: `look up ${CANARY.text}` });
  await waitForBotPostContaining(sim, `Found it: ${CANARY.agentOutput}`);

  // A group thread: a mentioned root and a reply in its thread.
  const group = sim.createRoom({ type: 'group', title: 'Ops', members: [person, sim.bot], creator: person });
  await runtime.stores.spaces.authorize({ roomId: group.id, authorizedBy: 'test' });
  const root = sim.post(person, group, { text: `first ${CANARY.text}`, mentionBot: true });
  await untilNoWorkingMessage(sim, group.id);
  sim.post(person, group, { text: `and then ${CANARY.text}`, mentionBot: true, parentId: root });
  await sim.waitFor(
    'request',
    () => sim.roomMessages(group.id).filter((m) => m.markdown?.includes('Found it')).length >= 2,
    {
      timeoutMs: 10_000,
    },
  );

  // A form, submitted with private values.
  sim.post(person, dm, { text: `please deploy ${CANARY.text}` });
  const card = await waitForCard(sim, dm.id, 0);
  sim.submitCard(person, card.id, { ...submitData(card), 'field:env': 'prod', 'field:reason': CANARY.form });
  await untilNoWorkingMessage(sim, dm.id);

  // A cancel mid-stream.
  const other = sim.createUser({ displayName: 'Other', email: `other-${CANARY.email}` });
  const cancelRoom = sim.createDirectRoom(other);
  sim.post(other, cancelRoom, { text: `slow ${CANARY.text}` });
  await sim.waitFor('request', (r) => r.method === 'PUT' && JSON.stringify(r.body).includes('Slow_Query'), {
    timeoutMs: 10_000,
  });
  sim.post(other, cancelRoom, { text: 'cancel' });
  await waitForBotPostContaining(sim, messages.cancelled);

  // An agent failure.
  sim.post(person, dm, { text: `break ${CANARY.text}` });
  await waitForBotPost(sim, (markdown) => markdown.includes(CANARY.agentError));
  await untilNoWorkingMessage(sim, dm.id);

  // A form that waits across a restart.
  const third = sim.createUser({ displayName: 'Third', email: `third-${CANARY.email}` });
  const restartRoom = sim.createDirectRoom(third);
  sim.post(third, restartRoom, { text: `please deploy ${CANARY.text}` });
  const waiting = await waitForCard(sim, restartRoom.id, 0);
  await untilNoWorkingMessage(sim, restartRoom.id);
  await runtime.shutdown();
  runtime = await rig.boot();
  sim.submitCard(third, waiting.id, {
    ...submitData(waiting),
    'field:env': 'dev',
    'field:reason': CANARY.form,
  });
  await sim.waitFor(
    'request',
    () =>
      sim.roomMessages(restartRoom.id).some((m) => m.markdown?.includes(`Found it: ${CANARY.agentOutput}`)),
    { timeoutMs: 10_000 },
  );
  await runtime.shutdown();
}

function expectNoCanary(text: string): void {
  for (const [field, canary] of Object.entries(CANARY)) {
    expect(text.includes(canary), `${field} canary left the process`).toBe(false);
  }
  // Emails are the canary's local part too (a stripped domain is still the person).
  expect(text).not.toContain('canary-mail');
}

async function startRig(env: Record<string, string>) {
  const sim = track(await startWebexSimulator({ botToken: CANARY.token, botDisplayName: 'CAIPE Bot' }));
  const agent = track(await SseEmulator.start({ defaultScript: canaryAgent }));
  const stores = memoryStores();
  const log = captureLog();
  const runtimes: Runtime[] = [];
  track({ close: async () => Promise.all(runtimes.map((r) => r.shutdown())) });
  const boot = async () => {
    const config = loadConfig({
      WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: CANARY.token,
      WEBEX_U2C_URL: sim.urls.u2c,
      WEBEX_API_BASE_URL: sim.urls.hydra,
      CAIPE_URL: agent.url,
      HTTP_PORT: '0',
      WEBEX_UPDATE_INTERVAL_MS: '100',
      ...env,
    });
    const runtime = await startRuntime({
      config,
      log: createLogger({ level: 'info', destination: log.destination, secrets: [CANARY.token] }),
      httpHost: '127.0.0.1',
      stores,
    });
    runtimes.push(runtime);
    await waitFor(runtime.connection, (s) => readinessOf(s).ready, { timeout: 10_000 });
    return runtime;
  };
  return { sim, boot, log };
}

describe('live inspection across every conversation path', () => {
  it('stately: a viewer on the relay sees actors, events and states, and nothing private', async () => {
    const frames: string[] = [];
    const viewers: WebSocket[] = [];
    track({
      close: () => {
        for (const viewer of viewers) viewer.close();
      },
    });
    const rig = await startRig({ XSTATE_INSPECT: 'stately', XSTATE_INSPECT_PORT: '0' });
    const boot = rig.boot;
    await runEveryPath({
      sim: rig.sim,
      // Each process has its own relay: a viewer connects to each as soon as it is up.
      boot: async () => {
        const runtime = await boot();
        const address = runtime.inspection.address!;
        expect(address.host).toBe('127.0.0.1');
        const viewer = new WebSocket(`ws://127.0.0.1:${address.port}`);
        viewers.push(viewer);
        viewer.on('message', (data) => frames.push(String(data)));
        await new Promise((resolve, reject) => viewer.once('open', resolve).once('error', reject));
        return runtime;
      },
    });

    const parsed = frames.map((f) => JSON.parse(f) as RelayFrame);
    const actorNames = new Set(parsed.filter((f) => f.type === '@xstate.actor').map((f) => f.name as string));
    // Conversations are named by their key (`<roomId>/main` in a DM), invoked effects by state.
    expect([...actorNames].some((name) => name.endsWith('/main'))).toBe(true);
    // The working message and the agent stream are actors of their own while a turn runs.
    expect(actorNames).toContain('working');
    expect(actorNames).toContain('agent');
    const eventTypes = new Set(parsed.filter((f) => f.type === '@xstate.event').map((f) => f.event?.type));
    expect(eventTypes).toContain('USER_MESSAGE');
    expect(eventTypes).toContain('CARD_ACTION');
    expect(eventTypes).toContain('CANCEL');
    const states = parsed
      .filter((f) => f.type === '@xstate.snapshot')
      .map((f) => JSON.stringify(f.snapshot?.value ?? null));
    expect(states.some((s) => s.includes('waitingForInput'))).toBe(true);
    expect(states.some((s) => s.includes('"answering":"streaming"'))).toBe(true);
    // Invoked promise actors are shown (status only), the crash this test guards against.
    expect(parsed.some((f) => f.type === '@xstate.snapshot' && f.snapshot?.value === undefined)).toBe(true);
    expectNoCanary(frames.join('\n'));
    expect(rig.log.text()).not.toContain('live inspection failed');
  });

  it('jsonl: the file holds ids, event types and states of every path, and nothing private', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inspect-e2e-'));
    track({ close: () => rmSync(dataDir, { recursive: true, force: true }) });
    const rig = await startRig({ XSTATE_INSPECT: 'jsonl', DATA_DIR: dataDir });
    await runEveryPath(rig);

    const files = readdirSync(dataDir).filter((f) => f.startsWith('inspect-'));
    expect(files.length).toBeGreaterThanOrEqual(1);
    const text = files.map((f) => readFileSync(path.join(dataDir, f), 'utf8')).join('');
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { eventType?: string; value?: unknown });
    expect(records.some((r) => r.eventType === 'CARD_ACTION')).toBe(true);
    expect(records.some((r) => JSON.stringify(r.value ?? '').includes('waitingForInput'))).toBe(true);
    expectNoCanary(text);
    expect(rig.log.text()).not.toContain('live inspection failed');
  });
});
