/**
 * Many people asking at once: N concurrent 1:1 conversations (200 by default) through the whole
 * running bot (socket, inbound fetches, actor system, agent client, sender) against the Webex
 * simulator and a fast CAIPE-shaped agent, all on 127.0.0.1 in this process.
 *
 *   npx tsx bench/conversations.ts [conversations=200] [agentThinkMs=0]
 *
 * `agentThinkMs` makes the agent wait that long before answering (a real CAIPE answer takes
 * seconds), which shows the first replies without the answers competing for the same tokens.
 * Prints the time from each user's post to the bot's first post in that space (taken from the
 * simulator's request log, so it includes the socket, the REST fetch and the sender), the REST
 * calls per answer, answers per second and the process RSS. The simulator and the agent share the
 * process and the CPU with the bot, so the figures are conservative. No assertions.
 */
import { performance } from 'node:perf_hooks';
import { waitFor } from 'xstate';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { readinessOf } from '../src/machines/webexConnection.js';
import { messages } from '../src/render/messages.js';
import { startRuntime } from '../src/runtime.js';
import { type RequestRecord, startWebexSimulator } from '../src/simulator/webex/index.js';
import { SseEmulator } from '../test/helpers/a2a/sse-emulator.js';
import { CaipeTurn } from '../test/integration/conversations/support.js';

const count = Number(process.argv[2] ?? 200);
const agentThinkMs = Number(process.argv[3] ?? 0);
const token = 'bench-bot-token-6a1d9c4e';
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

// A fast agent: the task, one streamed chunk, the final answer, completed.
const agent = await SseEmulator.start({
  defaultScript: async (exchange) => {
    const turn = new CaipeTurn(exchange);
    await turn.open();
    if (agentThinkMs > 0) await new Promise((resolve) => setTimeout(resolve, agentThinkMs));
    await turn.stream(`Answer to ${turn.userText}`, 1);
    await turn.answer(`Answer to ${turn.userText}`);
  },
});
const sim = await startWebexSimulator({ botToken: token, botDisplayName: 'CAIPE Bot' });
const config = loadConfig({
  WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: token,
  WEBEX_U2C_URL: sim.urls.u2c,
  WEBEX_API_BASE_URL: sim.urls.hydra,
  CAIPE_URL: agent.url,
  HTTP_PORT: '0',
  LOG_LEVEL: 'warn',
});
const runtime = await startRuntime({ config, log: silentLogger(), httpHost: '127.0.0.1' });
await waitFor(runtime.connection, (s) => readinessOf(s).ready, { timeout: 10_000 });

const people = Array.from({ length: count }, (_, i) => {
  const user = sim.createUser({ displayName: `User ${i}`, email: `user${i}@example.com` });
  return { user, room: sim.createDirectRoom(user) };
});

const isBotCall = (r: RequestRecord) => r.callerUuid === sim.bot.uuid && r.path.startsWith('/v1/');
const isAnswer = (r: RequestRecord) => {
  const markdown = (r.body as { markdown?: string } | undefined)?.markdown ?? '';
  return r.method === 'POST' && r.status === 200 && markdown.startsWith('Answer to ');
};
const callsBefore = sim.log.requests.filter(isBotCall).length;

// Done when every answer is posted and every working message deleted.
let answers = 0;
let deletes = 0;
let lastAnswerAt = 0;
const finished = new Promise<void>((resolve) => {
  sim.on('request', (r) => {
    if (!isBotCall(r)) return;
    if (isAnswer(r)) {
      answers++;
      lastAnswerAt = performance.now();
    }
    if (r.method === 'DELETE' && r.status === 204) deletes++;
    if (answers >= count && deletes >= count) resolve();
  });
});

global.gc?.();
const rssBefore = process.memoryUsage().rss;
const postedAt = new Map<string, number>();
const started = performance.now();
for (const { user, room } of people) {
  postedAt.set(room.id, Date.now());
  sim.post(user, room, { text: `question from ${user.displayName}` });
}
await finished;
const seconds = (lastAnswerAt - started) / 1000;
const rssAfter = process.memoryUsage().rss;

// First bot post per space, from the simulator's log.
const firstPost = new Map<string, number>();
const calls = sim.log.requests.filter(isBotCall).slice(callsBefore);
for (const r of calls) {
  const roomId = (r.body as { roomId?: string } | undefined)?.roomId;
  if (r.method !== 'POST' || r.status !== 200 || !roomId || firstPost.has(roomId)) continue;
  firstPost.set(roomId, r.at);
}
const latencies = people
  .map(({ room }) => (firstPost.get(room.id) ?? Number.NaN) - postedAt.get(room.id)!)
  .sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
const byKind = (method: string) => calls.filter((r) => r.method === method).length;
const workingFirst = people.filter(({ room }) =>
  calls.some(
    (r) =>
      r.method === 'POST' &&
      (r.body as { roomId?: string }).roomId === room.id &&
      (r.body as { markdown?: string }).markdown === messages.working,
  ),
).length;

console.log(
  `conversations: ${count} concurrent 1:1 questions, agent answers after ${agentThinkMs} ms, all on 127.0.0.1`,
);
console.log(
  `  user post → first bot post ms: p50 ${pct(50)}, p90 ${pct(90)}, p99 ${pct(99)}, max ${latencies.at(-1)}`,
);
console.log(`  working message posted in ${workingFirst} of ${count} spaces`);
console.log(
  `  REST calls per answer: ${(calls.length / count).toFixed(2)} ` +
    `(GET ${(byKind('GET') / count).toFixed(2)}, POST ${(byKind('POST') / count).toFixed(2)}, ` +
    `PUT ${(byKind('PUT') / count).toFixed(2)}, DELETE ${(byKind('DELETE') / count).toFixed(2)}; ` +
    `429s ${calls.filter((r) => r.status === 429).length})`,
);
console.log(
  `  ${(count / seconds).toFixed(1)} answers/s (${seconds.toFixed(2)} s from the first post to the last answer)`,
);
console.log(`  RSS before ${mb(rssBefore)}, after ${mb(rssAfter)}`);

await runtime.shutdown();
await sim.close();
await agent.close();
