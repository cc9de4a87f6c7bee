/**
 * The sender's adaptive write rate against model servers, in simulated time (seconds of runs take
 * milliseconds): N questions arrive over 0.6 s, each turn queues its working message, gets its
 * answer after `agentMs`, replies (the answer takes the working message's place when that is still
 * queued), posts a feedback card and finishes, exactly as `src/actors/turn.ts` drives the sender.
 * The server is the simulator's own write limit (`src/simulator/webex/write-limit.ts`, burst 50)
 * behind a transport with a fixed latency.
 *
 *   npx tsx bench/sender-rate.ts [--questions 200] [--agent-ms 30] [--latency-ms 20] [--max 100]
 *                                [--hold-ms <the progress stream's default>]
 *
 * Fast and deterministic, so it is the place to tune the policy; `bench/conversations.ts` gives
 * the end-to-end figures through the whole bot.
 */
import { parseArgs } from 'node:util';
import { createProgressStream } from '../src/adapters/webex/sender/progress-stream.js';
import { createWebexSender } from '../src/adapters/webex/sender/sender.js';
import { WebexApiError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import type { SimHttpError } from '../src/simulator/webex/http-error.js';
import { WriteLimit, type WriteLimitOptions } from '../src/simulator/webex/write-limit.js';
import { FakeTransport, ManualClock, type RecordedCall } from '../test/unit/sender/fakes.js';

const { values: args } = parseArgs({
  options: {
    questions: { type: 'string', default: '200' },
    'agent-ms': { type: 'string', default: '30' },
    'latency-ms': { type: 'string', default: '20' },
    max: { type: 'string', default: '100' },
    'hold-ms': { type: 'string' },
  },
});
const questions = Number(args.questions);
const agentMs = Number(args['agent-ms']);
const latencyMs = Number(args['latency-ms']);
const maxPerSecond = Number(args.max);
const holdMs = args['hold-ms'] === undefined ? undefined : Number(args['hold-ms']);
const BURST = 50;
const CARD = { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } };

interface Figures {
  doneMs: number;
  lastAnswerMs: number;
  p50: number;
  p99: number;
  limited: number;
  lateLimited: number;
  lateWrites: number;
  working: number;
  finalRate: number;
}

async function run(limit: WriteLimitOptions | undefined): Promise<Figures> {
  const clock = new ManualClock(0);
  const server = limit ? new WriteLimit(limit, clock) : undefined;
  const limitedCalls = new Set<RecordedCall>();
  const transport = new FakeTransport(clock, async (req, call) => {
    await new Promise<void>((resolve) => clock.setTimeout(resolve, latencyMs / 2));
    try {
      server?.admit(req.method, `/v1${req.path}`, 'bot');
    } catch (error) {
      limitedCalls.add(call);
      const refusal = error as SimHttpError;
      const header = refusal.headers['Retry-After'];
      throw new WebexApiError({
        status: refusal.status,
        method: req.method,
        route: req.route,
        ...(header === undefined ? {} : { retryAfterS: Number(header) }),
      });
    } finally {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, latencyMs / 2));
    }
    return undefined;
  });
  const sender = createWebexSender({
    transport,
    clock,
    retryAfterDefaultS: 10,
    logger: silentLogger(),
    limits: { rate: { maxPerSecond } },
  });
  const askedAt: number[] = [];
  let finished = 0;
  let lastAnswerAt = 0;
  const turn = async (i: number) => {
    const roomId = `room-${i}`;
    askedAt[i] = clock.now();
    const progress = createProgressStream(sender, {
      roomId,
      intervalMs: 3000,
      clock,
      logger: silentLogger(),
      render: () => 'Working on it',
      ...(holdMs === undefined ? {} : { holdMs }),
    });
    progress.start().catch(() => {});
    await new Promise<void>((resolve) => clock.setTimeout(resolve, agentMs));
    progress.update();
    await progress.reply(`Answer ${i}`);
    lastAnswerAt = Math.max(lastAnswerAt, clock.now());
    await sender.post({ roomId, markdown: 'feedback', attachments: [CARD] });
    await progress.finish();
    finished += 1;
  };
  for (let i = 0; i < questions; i++) {
    clock.setTimeout(() => void turn(i), Math.floor((i * 600) / questions));
  }
  while (finished < questions && clock.now() < 600_000) await clock.advance(50);
  const doneMs = Math.max(...transport.calls.map((c) => c.at)) + latencyMs;
  const firstReply = new Map<string, number>();
  let limited = 0;
  let lateLimited = 0;
  let lateWrites = 0;
  let working = 0;
  for (const call of transport.calls) {
    const body = call.req.body as { roomId?: string; markdown?: string } | undefined;
    const refused = limitedCalls.has(call);
    if (refused) limited += 1;
    if (call.at >= 1000) {
      lateWrites += 1;
      if (refused) lateLimited += 1;
    }
    if (call.req.method !== 'POST' || refused || !body?.roomId) continue;
    if (body.markdown === 'Working on it') working += 1;
    if (!firstReply.has(body.roomId)) firstReply.set(body.roomId, call.at + latencyMs);
  }
  const latencies = Array.from(
    { length: questions },
    (_, i) => (firstReply.get(`room-${i}`) ?? Number.NaN) - askedAt[i]!,
  ).sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  const finalRate = sender.stats().writeRate;
  sender.stop();
  return {
    doneMs,
    lastAnswerMs: lastAnswerAt,
    p50: pct(50),
    p99: pct(99),
    limited,
    lateLimited,
    lateWrites,
    working,
    finalRate,
  };
}

const s = (ms: number) => (ms / 1000).toFixed(2);
console.log(
  `sender-rate: ${questions} questions over 0.6 s, answer after ${agentMs} ms, latency ${latencyMs} ms, ` +
    `ceiling ${maxPerSecond}/s, working message held ${holdMs ?? 'default'} ms, server burst ${BURST} (simulated time)`,
);
for (const [name, limit] of [
  ['server 10/s', { ratePerSecond: 10, burst: BURST }],
  ['server 30/s', { ratePerSecond: 30, burst: BURST }],
  ['server 100/s', { ratePerSecond: 100, burst: BURST }],
  ['server 30/s, Retry-After 10', { ratePerSecond: 30, burst: BURST, retryAfter: 10 }],
  ['server 30/s, no Retry-After', { ratePerSecond: 30, burst: BURST, retryAfter: 'none' }],
  ['no server limit', undefined],
] as Array<[string, WriteLimitOptions | undefined]>) {
  const f = await run(limit);
  const ideal = limit ? ((2 * questions - limit.burst) / limit.ratePerSecond) * 1000 : Number.NaN;
  const floor = limit ? ((questions - limit.burst) / limit.ratePerSecond) * 1000 : Number.NaN;
  console.log(
    `${name.padEnd(28)} done ${s(f.doneMs).padStart(6)} s` +
      (limit ? ` (${(f.doneMs / ideal).toFixed(2)}× ideal ${s(ideal)})` : '') +
      `, last answer ${s(f.lastAnswerMs)} s, first reply p50 ${s(f.p50)} p99 ${s(f.p99)} s` +
      (limit ? ` (goal ≤ ${s(1.5 * floor + 1000)})` : '') +
      `, 429s ${f.limited} (late ${f.lateLimited}/${f.lateWrites} = ${((100 * f.lateLimited) / Math.max(1, f.lateWrites)).toFixed(1)} %)` +
      `, working posted ${f.working}, final rate ${f.finalRate.toFixed(1)}/s`,
  );
}
