/**
 * The demo agent: a small A2A v0.3 server on node:http that streams the way the CAIPE supervisor
 * does (JSON-RPC `message/stream` answered with SSE, CRLF framing and `: ping` comments as
 * sse-starlette sends them). The bot reaches it over HTTP through `CAIPE_URL` like a real agent,
 * so the demo exercises the real client, parser and renderer.
 *
 * The scenario is picked from keywords in the user's request (see {@link SCENARIOS}): a plan with
 * tool calls and a long answer, a form that waits for input, a failure, a slow run to cancel, and a
 * short default answer that lists the keywords.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';

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
  log?: Logger;
}

export interface DemoAgent {
  /** The JSON-RPC endpoint (what `CAIPE_URL` points at). */
  url: string;
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
  taskId?: string;
  /** `resume.decisions[0].args.args.user_inputs` when the message answers a form. */
  userInputs?: Record<string, unknown>;
}

/** A task that waits for the user's form. */
interface OpenForm {
  contextId: string;
}

const AGENT_NAME = 'Demo agent';
const EOL = '\r\n';

export async function startDemoAgent(options: DemoAgentOptions = {}): Promise<DemoAgent> {
  const log = (options.log ?? silentLogger()).child({ component: 'demo-agent' });
  const paceMs = options.paceMs ?? 400;
  const openForms = new Map<string, OpenForm>();
  /** Running streams by task id, so `tasks/cancel` can stop them. */
  const running = new Map<string, Stream>();
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
      return json(res, 200, agentCard(url));
    }
    if (req.method === 'GET' && path === '/health') return json(res, 200, { status: 'ok' });
    if (req.method !== 'POST' || path !== '/') return json(res, 404, { error: 'not found' });

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let rpc: JsonRpcRequest;
    try {
      rpc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonRpcRequest;
    } catch {
      return json(res, 200, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    const id = rpc.id ?? null;
    switch (rpc.method) {
      case 'message/stream': {
        const message = readMessage(rpc.params);
        if (!message) {
          return json(res, 200, { jsonrpc: '2.0', id, error: { code: -32602, message: 'Invalid params' } });
        }
        return runStream(new Stream(res, id), message);
      }
      case 'tasks/cancel': {
        const taskId = typeof rpc.params?.id === 'string' ? rpc.params.id : '';
        const stream = running.get(taskId);
        if (!stream) {
          return json(res, 200, {
            jsonrpc: '2.0',
            id,
            error: { code: -32002, message: 'Task cannot be canceled' },
          });
        }
        stream.cancelled = true;
        stream.wake();
        return json(res, 200, {
          jsonrpc: '2.0',
          id,
          result: { kind: 'task', id: taskId, contextId: stream.contextId, status: { state: 'canceled' } },
        });
      }
      default:
        return json(res, 200, { jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } });
    }
  }

  async function runStream(stream: Stream, message: UserMessage): Promise<void> {
    const resumed = message.taskId ? openForms.get(message.taskId) : undefined;
    if (message.taskId) openForms.delete(message.taskId);
    stream.taskId = resumed && message.taskId ? message.taskId : randomUUID();
    stream.contextId = message.contextId ?? resumed?.contextId ?? randomUUID();
    const scenario: ScenarioName | 'resume' = resumed ? 'resume' : scenarioOf(message.text);
    log.info({ scenario, taskId: stream.taskId }, 'demo agent turn');
    running.set(stream.taskId, stream);
    try {
      await stream.open();
      await SCRIPTS[scenario](stream, message, { paceMs, openForms });
    } catch (error) {
      if (!(error instanceof StreamGone)) throw error;
    } finally {
      running.delete(stream.taskId);
      stream.end();
    }
  }

  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}/`;

  return {
    url,
    close: async () => {
      for (const stream of running.values()) stream.wake();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function agentCard(url: string) {
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
  };
}

function readMessage(params: Record<string, unknown> | undefined): UserMessage | undefined {
  const message = params?.message as Record<string, unknown> | undefined;
  if (!message || !Array.isArray(message.parts)) return undefined;
  let text = '';
  let userInputs: Record<string, unknown> | undefined;
  for (const part of message.parts as Array<Record<string, unknown>>) {
    if (part.kind === 'text' && typeof part.text === 'string') text += part.text;
    if (part.kind === 'data') {
      const decisions = (part.data as { resume?: { decisions?: unknown[] } } | undefined)?.resume?.decisions;
      const first = decisions?.[0] as { args?: { args?: { user_inputs?: unknown } } } | undefined;
      const inputs = first?.args?.args?.user_inputs;
      if (inputs && typeof inputs === 'object') userInputs = inputs as Record<string, unknown>;
    }
  }
  return {
    text,
    ...(typeof message.contextId === 'string' ? { contextId: message.contextId } : {}),
    ...(typeof message.taskId === 'string' ? { taskId: message.taskId } : {}),
    ...(userInputs ? { userInputs } : {}),
  };
}

/** The client went away (or the agent is closing): the script stops quietly. */
class StreamGone extends Error {}

/** One SSE response: JSON-RPC results for one task, paced, stoppable by cancel or disconnect. */
class Stream {
  taskId = '';
  contextId = '';
  cancelled = false;
  #gone = false;
  #artifacts = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly rpcId: string | number | null,
  ) {
    res.on('close', () => {
      this.#gone = true;
      this.wake();
    });
  }

  /** Ends the current pause early (cancel, disconnect, shutdown). */
  wake(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The pace of the demo: the agent "thinks" for `ms` between events. */
  async pause(ms: number): Promise<void> {
    this.#check();
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => this.wake(), ms);
    });
    this.#check();
  }

  #check(): void {
    if (this.#gone || this.res.destroyed) throw new StreamGone();
  }

  #write(text: string): void {
    this.#check();
    this.res.write(text);
  }

  async open(): Promise<void> {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    this.#write(`: ping - ${new Date().toISOString()}${EOL}${EOL}`);
    this.result({ kind: 'task', id: this.taskId, contextId: this.contextId, status: { state: 'submitted' } });
    this.status('working');
  }

  result(result: unknown): void {
    this.#write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: this.rpcId, result })}${EOL}${EOL}`);
  }

  status(state: string, text?: string, options: { final?: boolean; traceId?: string } = {}): void {
    this.result({
      kind: 'status-update',
      taskId: this.taskId,
      contextId: this.contextId,
      status: {
        state,
        timestamp: new Date().toISOString(),
        ...(text
          ? {
              message: {
                kind: 'message',
                role: 'agent',
                messageId: randomUUID(),
                parts: [{ kind: 'text', text }],
              },
            }
          : {}),
      },
      final: options.final ?? false,
      ...(options.traceId ? { metadata: { trace_id: options.traceId } } : {}),
    });
  }

  artifact(
    name: string,
    parts: unknown[],
    options: {
      artifactId?: string;
      append?: boolean;
      lastChunk?: boolean;
      metadata?: object;
      description?: string;
    } = {},
  ): void {
    this.result({
      kind: 'artifact-update',
      taskId: this.taskId,
      contextId: this.contextId,
      artifact: {
        artifactId: options.artifactId ?? `${name}-${++this.#artifacts}`,
        name,
        parts,
        ...(options.description ? { description: options.description } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
      },
      append: options.append ?? false,
      lastChunk: options.lastChunk ?? false,
    });
  }

  plan(steps: PlanStep[], first: boolean): void {
    this.artifact(
      first ? 'execution_plan_update' : 'execution_plan_status_update',
      [{ kind: 'data', data: { steps: steps.map((step, order) => ({ ...step, order })) } }],
      { artifactId: `plan-${this.taskId}`, metadata: { sourceAgent: 'supervisor' } },
    );
  }

  tool(phase: 'start' | 'end', agent: string, tool: string, planStepId?: string): void {
    const label = agent.charAt(0).toUpperCase() + agent.slice(1);
    const text =
      phase === 'start' ? `🔧 ${label}: Calling tool: ${tool}\n` : `✅ ${label}: Tool ${tool} completed\n`;
    this.artifact(
      phase === 'start' ? 'tool_notification_start' : 'tool_notification_end',
      [{ kind: 'text', text }],
      {
        description: `Tool call ${phase === 'start' ? 'started' : 'completed'}: ${tool}`,
        metadata: {
          sourceAgent: agent,
          agentType: 'sub-agent',
          ...(planStepId ? { plan_step_id: planStepId } : {}),
        },
      },
    );
  }

  /** Streams `text` word by word-ish in a few chunks on one artifact, paced. */
  async stream(text: string, paceMs: number, chunks = 4): Promise<void> {
    const size = Math.max(1, Math.ceil(text.length / chunks));
    const artifactId = `stream-${this.taskId}`;
    for (let i = 0; i < text.length; i += size) {
      this.artifact('streaming_result', [{ kind: 'text', text: text.slice(i, i + size) }], {
        artifactId,
        append: i > 0,
        metadata: { sourceAgent: 'supervisor', agentType: 'streaming', is_final_answer: true },
      });
      await this.pause(paceMs / 2);
    }
  }

  /** `final_result` with a trace id, then `completed`: the answer the bot posts. */
  answer(text: string): void {
    const traceId = randomBytes(16).toString('hex');
    this.artifact('final_result', [{ kind: 'text', text }], {
      lastChunk: true,
      metadata: { trace_id: traceId, sourceAgent: 'supervisor' },
    });
    this.status('completed', undefined, { final: true, traceId });
  }

  end(): void {
    if (!this.res.destroyed && !this.res.writableEnded) this.res.end();
  }
}

interface PlanStep {
  step_id: string;
  title: string;
  agent: string;
  status: 'pending' | 'in_progress' | 'completed' | 'failed';
}

interface ScriptContext {
  paceMs: number;
  openForms: Map<string, OpenForm>;
}

type Script = (stream: Stream, message: UserMessage, context: ScriptContext) => Promise<void>;

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
  stream: Stream,
  plan: PlanStep[],
  tools: readonly string[],
  stepPauseMs: number,
): Promise<boolean> {
  for (const [index, step] of plan.entries()) {
    if (stream.cancelled) return false;
    step.status = 'in_progress';
    stream.plan(plan, index === 0);
    await stream.pause(stepPauseMs / 2);
    if (stream.cancelled) return false;
    const tool = tools[index % tools.length] ?? 'search';
    stream.tool('start', step.agent, tool, step.step_id);
    await stream.pause(stepPauseMs / 2);
    if (stream.cancelled) return false;
    stream.tool('end', step.agent, tool, step.step_id);
    step.status = 'completed';
  }
  stream.plan(plan, false);
  return true;
}

function cancelled(stream: Stream): void {
  stream.status('canceled', 'The task was canceled.', { final: true });
}

const SCRIPTS: Record<ScenarioName | 'resume', Script> = {
  async hello(stream, message, { paceMs }) {
    await stream.pause(paceMs);
    const text = helloAnswer(message.text);
    await stream.stream(text, paceMs, 3);
    stream.answer(text);
  },

  async plan(stream, _message, { paceMs }) {
    const plan = steps([
      ['argocd', 'Find the service and its current version'],
      ['github', 'Read the open pull requests of the release'],
      ['jira', 'Check the change tickets'],
      ['supervisor', 'Write the rollout plan'],
    ]);
    const done = await runPlan(
      stream,
      plan,
      ['Get_Application', 'List_Pull_Requests', 'Search_Issues'],
      paceMs * 2,
    );
    if (!done) return cancelled(stream);
    await stream.stream(ROLLOUT_ANSWER, paceMs, 4);
    stream.answer(ROLLOUT_ANSWER);
  },

  async form(stream, _message, { paceMs, openForms }) {
    stream.tool('start', 'supervisor', 'request_user_input');
    await stream.pause(paceMs);
    const question = 'Before I create the environment I need a few details.';
    stream.status('working', question);
    stream.artifact('UserInputMetaData', [
      {
        kind: 'data',
        data: {
          user_input: true,
          input_title: 'Create a preview environment',
          input_description: question,
          input_fields: [
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
        },
      },
    ]);
    openForms.set(stream.taskId, { contextId: stream.contextId });
    stream.status('input-required', question, { final: true });
  },

  async resume(stream, message, { paceMs }) {
    const parsed = message.userInputs ?? parseLines(message.text);
    // A plain reply in the thread answers the form too; it is shown as one value.
    const values = Object.keys(parsed).length > 0 ? parsed : { answer: message.text.trim() };
    stream.tool('start', 'argocd', 'Create_Application');
    await stream.pause(paceMs);
    stream.tool('end', 'argocd', 'Create_Application');
    await stream.pause(paceMs);
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
    stream.answer(text);
  },

  async fail(stream, _message, { paceMs }) {
    stream.tool('start', 'pagerduty', 'List_Incidents');
    await stream.pause(paceMs);
    stream.status(
      'failed',
      'The PagerDuty agent could not be reached (HTTP 503). This failure is part of the demo.',
      {
        final: true,
      },
    );
  },

  async slow(stream, _message, { paceMs }) {
    const plan = steps([
      ['supervisor', 'Collect the cluster inventory'],
      ['kubernetes', 'Scan every namespace'],
      ['kubernetes', 'Compare resource requests with usage'],
      ['prometheus', 'Read a week of CPU and memory metrics'],
      ['supervisor', 'Rank the savings'],
      ['supervisor', 'Write the report'],
    ]);
    const done = await runPlan(stream, plan, ['List_Clusters', 'List_Pods', 'Query_Range'], paceMs * 12);
    if (!done) return cancelled(stream);
    const text =
      'The slow analysis is done: nothing to save today. (Reply `cancel` next time to stop it early.)';
    stream.answer(text);
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
