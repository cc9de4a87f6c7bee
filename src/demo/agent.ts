/**
 * The demo agent: a small server on node:http that plays any backend the bot speaks
 * (`DEMO_AGENT_PROTOCOL`): A2A v0.3 as the CAIPE supervisor streams it (the default), A2A v1.0,
 * AG-UI 1.0, or CAIPE ≥0.6's UI backend with its Dynamic Agents dialect (agent-wire.ts writes each).
 * The bot reaches it over HTTP through `CAIPE_URL` like a real agent, so the demo exercises the
 * real client, parser and renderer of the chosen backend.
 *
 * The scenario is picked from keywords in the user's request (see {@link SCENARIOS}): a plan with
 * tool calls and a long answer, a form that waits for input, a failure, a slow run to cancel, and a
 * short default answer that lists the keywords.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { A2aTurn, AguiTurn, CaipeTurn, type DemoProtocol, type DemoTurn, StreamGone } from './agent-wire.js';
import type { FormSpec, PlanStep } from './caipe-events.js';

export type ScenarioName = 'plan' | 'form' | 'fail' | 'slow' | 'hello';

/** Keyword → scenario, in the order they are tried. Shown on the chat page and in the default answer. */
export const SCENARIOS: ReadonlyArray<{
  name: ScenarioName;
  keyword: RegExp;
  example: string;
  what: string;
}> = [
  {
    name: 'form',
    keyword: /\bform\b/i,
    example: 'show me a form',
    what: 'asks for input with a form (human in the loop), then answers with what you entered',
  },
  {
    name: 'fail',
    keyword: /\bfail/i,
    example: 'fail please',
    what: 'the task fails after a tool call; the bot reports the failure',
  },
  {
    name: 'slow',
    keyword: /\bslow\b/i,
    example: 'something slow',
    what: 'a long run of many steps; reply `cancel` in the thread to stop it',
  },
  {
    name: 'plan',
    keyword: /\bplan\b/i,
    example: 'plan a deployment',
    what: 'an execution plan with tool calls, then a long answer with code and a table',
  },
];

export function scenarioOf(request: string): ScenarioName {
  // With thread context the request comes last, after the earlier messages: only its last paragraph
  // decides, so an old "fail" further up the thread does not fail every later answer.
  const paragraphs = request.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  const current = paragraphs[paragraphs.length - 1] ?? '';
  return SCENARIOS.find((s) => s.keyword.test(current))?.name ?? 'hello';
}

export interface DemoAgentOptions {
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Gap between streamed events in ms; the slow scenario takes 12 gaps per step. Default 400. */
  paceMs?: number;
  /** Which backend the agent plays (`DEMO_AGENT_PROTOCOL`); A2A v0.3 by default. */
  protocol?: DemoProtocol;
  /** CAIPE ≥0.6: a 👍 / 👎 the bot posted to `/api/feedback`. */
  onFeedback?(feedback: Record<string, unknown>): void;
  log?: Logger;
}

export interface DemoAgent {
  /** What `CAIPE_URL` points at: the JSON-RPC endpoint, the AG-UI run URL or the CAIPE base URL. */
  url: string;
  protocol: DemoProtocol;
  /** The bot settings that select this backend (`AGENT_PROTOCOL`, `A2A_VERSION`, `CAIPE_AGENT_ID`). */
  botEnv: Record<string, string>;
  close(): Promise<void>;
}

interface JsonRpcRequest {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
}

interface UserMessage {
  text: string;
  contextId?: string;
  /** The key of the form this message answers (task id, interrupt id or conversation id). */
  answers?: string;
  /** The form's values when the message answers one. */
  userInputs?: Record<string, unknown>;
}

/** A turn that waits for the user's form. */
interface OpenForm {
  contextId: string;
}

const AGENT_NAME = 'Demo agent';
const CAIPE_AGENT_ID = 'demo-agent';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function startDemoAgent(options: DemoAgentOptions = {}): Promise<DemoAgent> {
  const log = (options.log ?? silentLogger()).child({ component: 'demo-agent' });
  const paceMs = options.paceMs ?? 400;
  const protocol = options.protocol ?? 'a2a';
  const openForms = new Map<string, OpenForm>();
  /** Running turns by task id (A2A) or conversation id (CAIPE), so a cancel can stop them. */
  const running = new Map<string, DemoTurn>();
  const conversations = new Map<string, string>();
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.warn({ err: error }, 'demo agent request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (
      req.method === 'GET' &&
      (path === '/.well-known/agent-card.json' || path === '/.well-known/agent.json')
    ) {
      return protocol === 'a2a' || protocol === 'a2a-1.0'
        ? json(res, 200, agentCard(url, protocol))
        : json(res, 404, { error: 'not found' });
    }
    if (req.method === 'GET' && path === '/health') return json(res, 200, { status: 'ok' });
    if (req.method !== 'POST') return json(res, 404, { error: 'not found' });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return json(res, 400, { error: 'not JSON' });
    }
    switch (protocol) {
      case 'agui':
        return path === '/' ? aguiRun(res, body) : json(res, 404, { error: 'not found' });
      case 'caipe':
        return caipeRoute(res, path ?? '', body);
      default:
        return path === '/' ? jsonRpc(res, body as JsonRpcRequest) : json(res, 404, { error: 'not found' });
    }
  }

  async function jsonRpc(res: ServerResponse, rpc: JsonRpcRequest): Promise<void> {
    const id = rpc.id ?? null;
    const version = protocol === 'a2a-1.0' ? '1.0' : '0.3';
    switch (rpc.method) {
      case 'message/stream':
      case 'SendStreamingMessage': {
        const message = readA2aMessage(rpc.params);
        if (!message)
          return json(res, 200, { jsonrpc: '2.0', id, error: { code: -32602, message: 'Invalid params' } });
        const resumed = message.answers ? openForms.get(message.answers) : undefined;
        const turn = new A2aTurn(res, id, version);
        turn.taskId = resumed && message.answers ? message.answers : randomUUID();
        turn.contextId = message.contextId ?? resumed?.contextId ?? randomUUID();
        return run(turn, message, turn.taskId);
      }
      case 'tasks/cancel':
      case 'CancelTask': {
        const taskId = typeof rpc.params?.id === 'string' ? rpc.params.id : '';
        const turn = running.get(taskId);
        if (!turn)
          return json(res, 200, {
            jsonrpc: '2.0',
            id,
            error: { code: -32002, message: 'Task cannot be canceled' },
          });
        turn.cancelled = true;
        turn.wake();
        const state = version === '1.0' ? 'TASK_STATE_CANCELED' : 'canceled';
        const task = { id: taskId, contextId: turn.contextId, status: { state } };
        return json(res, 200, {
          jsonrpc: '2.0',
          id,
          result: version === '1.0' ? task : { kind: 'task', ...task },
        });
      }
      default:
        return json(res, 200, { jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } });
    }
  }

  async function aguiRun(res: ServerResponse, input: unknown): Promise<void> {
    if (!isObject(input) || typeof input.threadId !== 'string' || !Array.isArray(input.messages)) {
      return json(res, 422, { error: 'not a RunAgentInput' });
    }
    const turn = new AguiTurn(res);
    turn.contextId = input.threadId;
    turn.taskId = typeof input.runId === 'string' ? input.runId : randomUUID();
    const resume = Array.isArray(input.resume) && isObject(input.resume[0]) ? input.resume[0] : undefined;
    const last = input.messages.filter((m) => isObject(m) && m.role === 'user').at(-1) as Json | undefined;
    const message: UserMessage = {
      text: typeof last?.content === 'string' ? last.content : '',
      contextId: input.threadId,
      ...(resume && typeof resume.interruptId === 'string' ? { answers: resume.interruptId } : {}),
      ...(resume && isObject(resume.payload) ? { userInputs: resume.payload } : {}),
    };
    return run(turn, message);
  }

  async function caipeRoute(res: ServerResponse, path: string, body: unknown): Promise<void> {
    const b = isObject(body) ? body : {};
    if (path === '/api/feedback') {
      options.onFeedback?.(b);
      return json(res, 200, { success: true });
    }
    if (path === '/api/chat/conversations') {
      const key = typeof b.idempotency_key === 'string' ? b.idempotency_key : randomUUID();
      const existing = conversations.get(key);
      const id = existing ?? randomUUID();
      conversations.set(key, id);
      return json(res, existing ? 200 : 201, {
        success: true,
        data: { conversation: { _id: id }, created: !existing },
      });
    }
    const conversationId = typeof b.conversation_id === 'string' ? b.conversation_id : '';
    if (!conversationId || b.agent_id !== CAIPE_AGENT_ID)
      return json(res, 400, { success: false, error: 'conversation_id and agent_id' });
    if (path === '/api/v1/chat/stream/cancel') {
      const turn = running.get(conversationId);
      if (turn) {
        turn.cancelled = true;
        turn.wake();
      }
      return json(res, 200, {
        success: true,
        cancelled: turn !== undefined,
        agent_id: CAIPE_AGENT_ID,
        conversation_id: conversationId,
      });
    }
    if (path === '/api/v1/chat/stream/start' && typeof b.message === 'string') {
      return run(
        new CaipeTurn(res, conversationId),
        { text: b.message, contextId: conversationId },
        conversationId,
      );
    }
    if (path === '/api/v1/chat/stream/resume' && typeof b.resume_data === 'string') {
      let data: Json = {};
      try {
        const parsed: unknown = JSON.parse(b.resume_data);
        if (isObject(parsed)) data = parsed;
      } catch {
        // DA treats unreadable resume data as approval; the demo simply resumes without values.
      }
      return run(
        new CaipeTurn(res, conversationId),
        {
          text: '',
          contextId: conversationId,
          answers: conversationId,
          ...(isObject(data.values) ? { userInputs: data.values } : {}),
        },
        conversationId,
      );
    }
    return json(res, 404, { success: false, error: 'not found' });
  }

  async function run(turn: DemoTurn, message: UserMessage, cancelKey?: string): Promise<void> {
    const resumed = message.answers ? openForms.get(message.answers) : undefined;
    if (message.answers) openForms.delete(message.answers);
    const scenario: ScenarioName | 'resume' = resumed ? 'resume' : scenarioOf(message.text);
    log.info({ scenario, protocol, taskId: turn.taskId }, 'demo agent turn');
    if (cancelKey) running.set(cancelKey, turn);
    try {
      turn.open();
      await SCRIPTS[scenario](turn, message, { paceMs, openForms });
    } catch (error) {
      if (!(error instanceof StreamGone)) throw error;
    } finally {
      if (cancelKey && running.get(cancelKey) === turn) running.delete(cancelKey);
      turn.end();
    }
  }

  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}${protocol === 'caipe' ? '' : '/'}`;

  return {
    url,
    protocol,
    botEnv: botEnvFor(protocol),
    close: async () => {
      for (const turn of running.values()) turn.wake();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The bot's settings for talking to the demo agent as `protocol`. */
export function botEnvFor(protocol: DemoProtocol): Record<string, string> {
  switch (protocol) {
    case 'agui':
      return { AGENT_PROTOCOL: 'agui' };
    case 'caipe':
      return { AGENT_PROTOCOL: 'caipe', CAIPE_AGENT_ID: CAIPE_AGENT_ID, CAIPE_AUTH_MODE: 'service' };
    default:
      // `auto` reads the card: 0.3 for `a2a`, 1.0 for `a2a-1.0`.
      return { AGENT_PROTOCOL: 'a2a', A2A_VERSION: 'auto' };
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function agentCard(url: string, protocol: DemoProtocol) {
  return {
    name: AGENT_NAME,
    description: 'A built-in agent that streams like the CAIPE supervisor, for the local demo.',
    url,
    version: '1.0.0',
    protocolVersion: '0.3.0',
    capabilities: { streaming: true, pushNotifications: false },
    defaultInputModes: ['text', 'text/plain'],
    defaultOutputModes: ['text', 'text/plain'],
    skills: [{ id: 'demo', name: 'Demo', description: 'Plans, tools, forms, failures.', tags: ['demo'] }],
    ...(protocol === 'a2a-1.0'
      ? { supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }] }
      : {}),
  };
}

/** A v0.3 (`kind`-tagged) or v1.0 (kind-less) message: its text, ids and form answer. */
function readA2aMessage(params: Record<string, unknown> | undefined): UserMessage | undefined {
  const message = params?.message as Record<string, unknown> | undefined;
  if (!message || !Array.isArray(message.parts)) return undefined;
  let text = '';
  let userInputs: Record<string, unknown> | undefined;
  for (const part of message.parts as Array<Record<string, unknown>>) {
    if ((part.kind === 'text' || part.kind === undefined) && typeof part.text === 'string') text += part.text;
    if (part.kind === 'data' || (part.kind === undefined && isObject(part.data))) {
      const decisions = (part.data as { resume?: { decisions?: unknown[] } } | undefined)?.resume?.decisions;
      const first = decisions?.[0] as { args?: { args?: { user_inputs?: unknown } } } | undefined;
      const inputs = first?.args?.args?.user_inputs;
      if (inputs && typeof inputs === 'object') userInputs = inputs as Record<string, unknown>;
    }
  }
  // The CAIPE supervisor strips the `by user:` line the bot puts first.
  text = text.replace(/^by user: [^\n]*\n\n/, '');
  return {
    text,
    ...(typeof message.contextId === 'string' ? { contextId: message.contextId } : {}),
    ...(typeof message.taskId === 'string' ? { answers: message.taskId } : {}),
    ...(userInputs ? { userInputs } : {}),
  };
}

interface ScriptContext {
  paceMs: number;
  openForms: Map<string, OpenForm>;
}

type Script = (turn: DemoTurn, message: UserMessage, context: ScriptContext) => Promise<void>;

function steps(titles: ReadonlyArray<[agent: string, title: string]>): PlanStep[] {
  return titles.map(([agent, title], index) => ({
    step_id: `step-${index.toString(16).padStart(12, '0')}`,
    title,
    agent,
    status: 'pending',
  }));
}

/** Runs a plan step by step: each step in progress, a tool call, completed; `cancel` stops it. */
async function runPlan(
  turn: DemoTurn,
  plan: PlanStep[],
  tools: readonly string[],
  stepPauseMs: number,
): Promise<boolean> {
  for (const [index, step] of plan.entries()) {
    if (turn.cancelled) return false;
    step.status = 'in_progress';
    turn.plan(plan, index === 0);
    await turn.pause(stepPauseMs / 2);
    if (turn.cancelled) return false;
    const tool = tools[index % tools.length] ?? 'search';
    turn.tool('start', step.agent, tool, step.step_id);
    await turn.pause(stepPauseMs / 2);
    if (turn.cancelled) return false;
    turn.tool('end', step.agent, tool, step.step_id);
    step.status = 'completed';
  }
  turn.plan(plan, false);
  return true;
}

const PREVIEW_FORM: FormSpec = {
  title: 'Create a preview environment',
  description: 'Before I create the environment I need a few details.',
  fields: [
    {
      field_name: 'service',
      field_label: 'Service',
      field_type: 'text',
      required: true,
      placeholder: 'e.g. checkout',
      field_description: 'The service to deploy into the environment.',
    },
    {
      field_name: 'region',
      field_label: 'Region',
      field_type: 'select',
      field_values: ['us-east-2', 'eu-central-1', 'ap-southeast-1'],
      default_value: 'eu-central-1',
      required: true,
    },
    {
      field_name: 'replicas',
      field_label: 'Replicas',
      field_type: 'number',
      default_value: 2,
      required: false,
    },
    { field_name: 'public', field_label: 'Expose publicly', field_type: 'boolean', required: false },
  ],
};

const SCRIPTS: Record<ScenarioName | 'resume', Script> = {
  async hello(turn, message, { paceMs }) {
    await turn.pause(paceMs);
    const text = helloAnswer(message.text);
    await turn.stream(text, paceMs, 3);
    turn.answer(text);
  },

  async plan(turn, _message, { paceMs }) {
    const plan = steps([
      ['argocd', 'Find the service and its current version'],
      ['github', 'Read the open pull requests of the release'],
      ['jira', 'Check the change tickets'],
      ['supervisor', 'Write the rollout plan'],
    ]);
    const done = await runPlan(
      turn,
      plan,
      ['Get_Application', 'List_Pull_Requests', 'Search_Issues'],
      paceMs * 2,
    );
    if (!done) return turn.canceled();
    await turn.stream(ROLLOUT_ANSWER, paceMs, 4);
    turn.answer(ROLLOUT_ANSWER);
  },

  async form(turn, _message, { paceMs, openForms }) {
    turn.tool('start', 'supervisor', 'request_user_input');
    await turn.pause(paceMs);
    const key = turn.ask(PREVIEW_FORM);
    openForms.set(key, { contextId: turn.contextId });
  },

  async resume(turn, message, { paceMs }) {
    const parsed = message.userInputs ?? parseLines(message.text);
    // A plain reply in the thread answers the form too; it is shown as one value.
    const values = Object.keys(parsed).length > 0 ? parsed : { answer: message.text.trim() };
    turn.tool('start', 'argocd', 'Create_Application');
    await turn.pause(paceMs);
    turn.tool('end', 'argocd', 'Create_Application');
    await turn.pause(paceMs);
    const rows = Object.entries(values).map(([key, value]) => `| ${key} | ${String(value)} |`);
    const text = [
      '### ✅ Preview environment requested',
      '',
      'Thanks, I used what you entered in the form:',
      '',
      '| field | value |',
      '|---|---|',
      ...(rows.length > 0 ? rows : ['| (nothing) | |']),
      '',
      'The environment will be ready in a few minutes.',
    ].join('\n');
    turn.answer(text);
  },

  async fail(turn, _message, { paceMs }) {
    turn.tool('start', 'pagerduty', 'List_Incidents');
    await turn.pause(paceMs);
    turn.fail('The PagerDuty agent could not be reached (HTTP 503). This failure is part of the demo.');
  },

  async slow(turn, _message, { paceMs }) {
    const plan = steps([
      ['supervisor', 'Collect the cluster inventory'],
      ['kubernetes', 'Scan every namespace'],
      ['kubernetes', 'Compare resource requests with usage'],
      ['prometheus', 'Read a week of CPU and memory metrics'],
      ['supervisor', 'Rank the savings'],
      ['supervisor', 'Write the report'],
    ]);
    const done = await runPlan(turn, plan, ['List_Clusters', 'List_Pods', 'Query_Range'], paceMs * 12);
    if (!done) return turn.canceled();
    turn.answer(
      'The slow analysis is done: nothing to save today. (Reply `cancel` next time to stop it early.)',
    );
  },
};

function parseLines(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (match?.[1]) values[match[1].trim()] = (match[2] ?? '').trim();
  }
  return values;
}

function helloAnswer(request: string): string {
  const paragraphs = request.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  const said = (paragraphs[paragraphs.length - 1] ?? '').trim().slice(0, 200);
  return [
    `👋 Hello from the demo agent. You said: “${said}”.`,
    '',
    'Put one of these words in a message to see more:',
    '',
    ...SCENARIOS.map((s) => `- **${s.name}** (e.g. “${s.example}”): ${s.what}`),
  ].join('\n');
}

const ROLLOUT_ANSWER = [
  '## Rollout plan for `checkout` 2.4.0',
  '',
  'The service runs **2.3.7** in every region. Three pull requests are merged for 2.4.0 and the',
  'change ticket is approved. Roll out region by region and watch the error rate between steps.',
  '',
  '| region | now | next | canary steps |',
  '|---|---|---|---|',
  '| us-east-2 | 2.3.7 | 2.4.0 | 10%, 50%, 100% |',
  '| eu-central-1 | 2.3.7 | 2.4.0 | 25%, 100% |',
  '| ap-southeast-1 | 2.3.7 | 2.4.0 | 100% |',
  '',
  '### Commands',
  '',
  '```bash',
  'argocd app set checkout-us-east-2 --parameter image.tag=2.4.0',
  'argocd app sync checkout-us-east-2 --prune --timeout 600',
  'kubectl -n checkout rollout status deploy/checkout --timeout=10m',
  '```',
  '',
  '### Health check used between steps',
  '',
  '```yaml',
  'analysis:',
  '  metric: http_requests_errors_ratio',
  '  threshold: "< 0.5%"',
  '  window: 10m',
  '```',
  '',
  '1. Sync **us-east-2** and watch the canary for ten minutes.',
  '2. Continue with **eu-central-1**, then **ap-southeast-1**.',
  '3. If the error ratio goes above the threshold, run `argocd app rollback checkout-<region>`.',
  '',
  '> Tickets: CHG-4821 (approved), OPS-1177 (linked). No incidents are open for the service.',
].join('\n');
