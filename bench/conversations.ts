/**
 * Many people asking at once: N simultaneous 1:1 questions (200 by default) through the whole
 * running bot (socket, inbound fetches, actor system, agent client, sender) against the Webex
 * simulator and a CAIPE-shaped agent that answers at once (or after `--think-ms`), all on
 * 127.0.0.1 in this process. Feedback is on, so each answer is followed by its feedback card.
 *
 *   npx tsx bench/conversations.ts [--questions 200] [--think-ms 0] [--only name,name]
 *
 * Scenarios (each with a fresh simulator, agent and bot):
 * - `server-10`, `server-30`, `server-100`: the simulator limits the bot's writes to a token bucket
 *   of burst 50 refilled at 10, 30 or 100 writes/s, and answers 429 with the whole seconds until
 *   a token is back.
 * - `server-30-ra10`, `server-30-none`: the 30/s server again, answering `Retry-After: 10` (a hint
 *   far too long) or no `Retry-After` at all.
 * - `unlimited`: no server limit; the same questions then go to `bench/minimal-client.ts` (the
 *   same reads, only the answer and card writes, paced at the bot's write ceiling).
 *
 * Figures are taken from the simulator's request log: the time from each user's post to the bot's
 * first post in that space (first reply), to the last write of all the turns (every answer and card
 * posted, every working message deleted), the 429s, and the writes per question. "Ideal" is what a
 * client that knew the server's bucket would need: (2 writes per question − burst) / rate. The
 * simulator and the agent share the process and the CPU with the bot, so the figures are
 * conservative. No assertions.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { waitFor } from 'xstate';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { readinessOf } from '../src/machines/webex-connection.js';
import { startRuntime } from '../src/runtime.js';
import {
  type RequestRecord,
  startWebexSimulator,
  type WebexSimulator,
  type WriteLimitOptions,
} from '../src/simulator/webex/index.js';
import { SseEmulator } from '../test/helpers/a2a/sse-emulator.js';
import { CaipeTurn } from '../test/integration/conversations/support.js';
import { startMinimalClient } from './minimal-client.js';

const { values: args } = parseArgs({
  options: {
    questions: { type: 'string', default: '200' },
    'think-ms': { type: 'string', default: '0' },
    only: { type: 'string' },
    'write-rate-max': { type: 'string' },
    'timeout-s': { type: 'string', default: '300' },
  },
});
const questions = Number(args.questions);
const agentThinkMs = Number(args['think-ms']);
const timeoutMs = Number(args['timeout-s']) * 1000;
const token = 'bench-bot-token-6a1d9c4e';
const BURST = 50;
/** The bot's write ceiling when `--write-rate-max` is not given (the config default). */
const ceiling = args['write-rate-max'] ?? process.env.WEBEX_WRITE_RATE_MAX;

interface Scenario {
  name: string;
  writeLimit?: WriteLimitOptions;
}

const allScenarios: Scenario[] = [
  { name: 'server-10', writeLimit: { ratePerSecond: 10, burst: BURST } },
  { name: 'server-30', writeLimit: { ratePerSecond: 30, burst: BURST } },
  { name: 'server-100', writeLimit: { ratePerSecond: 100, burst: BURST } },
  { name: 'server-30-ra10', writeLimit: { ratePerSecond: 30, burst: BURST, retryAfter: 10 } },
  { name: 'server-30-none', writeLimit: { ratePerSecond: 30, burst: BURST, retryAfter: 'none' } },
  { name: 'unlimited' },
];
const scenarios = allScenarios.filter((s) => !args.only || args.only.split(',').includes(s.name));

const isWrite = (r: RequestRecord) => r.method !== 'GET' && r.path.startsWith('/v1/');
const bodyOf = (r: RequestRecord) =>
  (r.body ?? {}) as { roomId?: string; markdown?: string; attachments?: unknown[] };
const isAnswer = (r: RequestRecord) => (bodyOf(r).markdown ?? '').startsWith('Answer to ');
const isCard = (r: RequestRecord) => (bodyOf(r).attachments?.length ?? 0) > 0;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const s = (ms: number) => (ms / 1000).toFixed(2);

interface Run {
  /** Wall time from the first question to the last write of the turns. */
  doneMs: number;
  lastAnswerMs: number;
  firstReply: number[];
  writes: RequestRecord[];
  startedAt: number;
  timedOut: boolean;
}

/** Posts the questions and waits until every room has its answer and card and no working message. */
async function ask(sim: WebexSimulator, botUuid: string): Promise<Run> {
  const people = Array.from({ length: questions }, (_, i) => {
    const user = sim.createUser({ displayName: `User ${i}`, email: `user${i}@example.com` });
    return { user, room: sim.createDirectRoom(user) };
  });
  const fromBot = (r: RequestRecord) => r.callerUuid === botUuid && isWrite(r);
  const before = sim.log.requests.length;
  let answers = 0;
  let cards = 0;
  let working = 0;
  let deletes = 0;
  let lastAnswerAt = 0;
  let lastWriteAt = 0;
  let timedOut = false;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      console.log(
        `  timed out with ${answers} answers, ${cards} cards, ${working} working messages, ${deletes} deletes`,
      );
      resolve();
    }, timeoutMs);
    sim.on('request', (r) => {
      if (!fromBot(r) || r.status >= 300) return;
      lastWriteAt = performance.now();
      if (r.method === 'POST' && isAnswer(r)) {
        answers++;
        lastAnswerAt = lastWriteAt;
      } else if (r.method === 'POST' && isCard(r)) cards++;
      else if (r.method === 'POST') working++;
      else if (r.method === 'DELETE') deletes++;
      if (answers >= questions && cards >= questions && deletes >= working) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const postedAt = new Map<string, number>();
  const startedWall = Date.now();
  const started = performance.now();
  for (const { user, room } of people) {
    postedAt.set(room.id, Date.now());
    sim.post(user, room, { text: `question from ${user.displayName}` });
  }
  await done;
  const writes = sim.log.requests.slice(before).filter(fromBot);
  const firstPost = new Map<string, number>();
  for (const r of writes) {
    const roomId = bodyOf(r).roomId;
    if (r.method !== 'POST' || r.status !== 200 || !roomId || firstPost.has(roomId)) continue;
    firstPost.set(roomId, r.at);
  }
  const firstReply = people
    .map(({ room }) => (firstPost.get(room.id) ?? Number.NaN) - postedAt.get(room.id)!)
    .sort((a, b) => a - b);
  return {
    doneMs: lastWriteAt - started,
    lastAnswerMs: lastAnswerAt - started,
    firstReply,
    writes,
    startedAt: startedWall,
    timedOut,
  };
}

async function runBot(scenario: Scenario) {
  const agent = await SseEmulator.start({
    defaultScript: async (exchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      if (agentThinkMs > 0) await new Promise((resolve) => setTimeout(resolve, agentThinkMs));
      await turn.stream(`Answer to ${turn.userText}`, 1);
      await turn.answer(`Answer to ${turn.userText}`);
    },
  });
  const sim = await startWebexSimulator({
    botToken: token,
    botDisplayName: 'CAIPE Bot',
    ...(scenario.writeLimit ? { writeLimit: scenario.writeLimit } : {}),
  });
  const config = loadConfig({
    WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: token,
    WEBEX_U2C_URL: sim.urls.u2c,
    WEBEX_API_BASE_URL: sim.urls.hydra,
    CAIPE_URL: agent.url,
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    // Every question of the burst is a turn of its own (the default, 100, would turn half away).
    MAX_CONCURRENT_TURNS: String(questions),
    // Feedback cards on (the scorer is only called when someone clicks).
    LANGFUSE_SCORING_ENABLED: 'true',
    LANGFUSE_PUBLIC_KEY: 'pk-bench',
    LANGFUSE_SECRET_KEY: 'sk-bench',
    LANGFUSE_HOST: 'http://127.0.0.1:9',
    ...(ceiling ? { WEBEX_WRITE_RATE_MAX: ceiling } : {}),
  });
  const runtime = await startRuntime({ config, log: silentLogger(), httpHost: '127.0.0.1' });
  await waitFor(runtime.connection, (snap) => readinessOf(snap).ready, { timeout: 10_000 });
  const run = await ask(sim, sim.bot.uuid);
  await runtime.shutdown();
  await sim.close();
  await agent.close();
  return { run, ceiling: config.webexWriteRateMax };
}

async function runMinimal(maxWritesPerSecond: number) {
  const sim = await startWebexSimulator({ botToken: token, botDisplayName: 'CAIPE Bot' });
  const client = await startMinimalClient({
    u2cUrl: sim.urls.u2c,
    token,
    maxWritesPerSecond,
    answer: (question) => `Answer to ${question}`,
  });
  const run = await ask(sim, sim.bot.uuid);
  await client.close();
  await sim.close();
  return run;
}

function describeRun(run: Run, limit?: WriteLimitOptions) {
  const posts = run.writes.filter((r) => r.method === 'POST' && r.status === 200);
  const limited = run.writes.filter((r) => r.status === 429);
  const late = run.writes.filter((r) => r.at >= run.startedAt + 1000);
  const lateLimited = late.filter((r) => r.status === 429);
  const per = (n: number) => (n / questions).toFixed(2);
  const lines = [
    `  first reply ms: p50 ${pct(run.firstReply, 50)}, p99 ${pct(run.firstReply, 99)}, max ${run.firstReply.at(-1)}`,
    `  last answer ${s(run.lastAnswerMs)} s; every answer, card and delete done ${s(run.doneMs)} s` +
      (run.timedOut ? ' (TIMED OUT: not all done)' : ''),
    `  writes per question: POST ${per(posts.length)} (working ${per(posts.filter((r) => !isAnswer(r) && !isCard(r)).length)}), ` +
      `PUT ${per(run.writes.filter((r) => r.method === 'PUT' && r.status === 200).length)}, ` +
      `DELETE ${per(run.writes.filter((r) => r.method === 'DELETE' && r.status < 300).length)}`,
    `  429s: ${limited.length} (after the first second: ${lateLimited.length} of ${late.length} writes, ` +
      `${((100 * lateLimited.length) / Math.max(1, late.length)).toFixed(1)} %)`,
  ];
  if (limit) {
    const idealMs = ((2 * questions - limit.burst) / limit.ratePerSecond) * 1000;
    const floorMs = ((questions - limit.burst) / limit.ratePerSecond) * 1000;
    const p99 = pct(run.firstReply, 99);
    lines.push(
      `  done / ideal: ${s(run.doneMs)} / ${s(idealMs)} s = ${(run.doneMs / idealMs).toFixed(2)} (goal ≤ 1.5); ` +
        `first-reply p99 ${s(p99)} s vs goal ≤ ${s(1.5 * floorMs + 1000)} s`,
    );
  } else {
    lines.push(`  ${(questions / (run.lastAnswerMs / 1000)).toFixed(1)} answers/s`);
  }
  return lines.join('\n');
}

console.log(
  `conversations: ${questions} simultaneous 1:1 questions, agent answers after ${agentThinkMs} ms, ` +
    `server burst ${BURST}, bot write ceiling ${ceiling ?? 'default'}`,
);
for (const scenario of scenarios) {
  const { run, ceiling: configured } = await runBot(scenario);
  const limit = scenario.writeLimit;
  const what = limit
    ? `${limit.ratePerSecond} writes/s, burst ${limit.burst}, Retry-After ${limit.retryAfter ?? 'computed'}`
    : 'no server limit';
  console.log(`\n${scenario.name} (${what}): the bot`);
  console.log(describeRun(run, limit));
  if (!limit) {
    const max = Number(ceiling ?? configured);
    const minimal = await runMinimal(max);
    console.log(`${scenario.name}: the minimal client (paced at ${max} writes/s)`);
    console.log(describeRun(minimal));
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `  bot / minimal: first-reply p99 ${ratio(pct(run.firstReply, 99), pct(minimal.firstReply, 99))} (goal ≤ 1.2), ` +
        `answers/s ${ratio(minimal.lastAnswerMs, run.lastAnswerMs)} (goal ≥ 0.8)`,
    );
  }
}
