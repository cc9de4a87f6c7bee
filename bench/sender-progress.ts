/**
 * Figures for the progress stream's default spacing: how many edits, fresh working messages and
 * deletes a run of a given length costs, and the longest silence a user sees. Simulated time (no
 * waiting); an agent event every second. Run: `npx tsx bench/sender-progress.ts`.
 */
import { createProgressStream } from '../src/adapters/webex/sender/progress-stream.js';
import { createWebexSender } from '../src/adapters/webex/sender/sender.js';
import { silentLogger } from '../src/logger.js';
import { FakeTransport, ManualClock } from '../test/unit/sender/fakes.js';

async function simulate(minutes: number, keepAliveMs?: number, eventEveryMs = 1000) {
  const clock = new ManualClock();
  const transport = new FakeTransport(clock);
  const sender = createWebexSender({ transport, clock, retryAfterDefaultS: 10, logger: silentLogger() });
  const stream = createProgressStream(sender, {
    roomId: 'room',
    intervalMs: 3000,
    clock,
    logger: silentLogger(),
    render: ({ elapsedMs }) => `working ${Math.round(elapsedMs / 1000)}s`,
    ...(keepAliveMs === undefined ? {} : { keepAliveMs }),
  });
  await stream.start();
  const end = minutes * 60_000;
  if (eventEveryMs > 0) {
    for (let t = 0; t < end; t += eventEveryMs) {
      stream.update();
      await clock.advance(eventEveryMs);
    }
  } else {
    await clock.advance(end);
  }
  await stream.finish();
  sender.stop();
  const count = (method: string) => transport.calls.filter((c) => c.req.method === method).length;
  const writes = transport.calls.filter((c) => c.req.method !== 'DELETE').map((c) => c.at);
  let longest = 0;
  for (let i = 1; i < writes.length; i++) longest = Math.max(longest, writes[i]! - writes[i - 1]!);
  return {
    posts: count('POST'),
    edits: count('PUT'),
    deletes: count('DELETE'),
    longestSilenceS: longest / 1000,
  };
}

for (const [minutes, keepAlive, every] of [
  [1, undefined, 1000],
  [3, undefined, 1000],
  [10, undefined, 1000],
  [30, undefined, 1000],
  [30, 15_000, 0],
] as const) {
  const figures = await simulate(minutes, keepAlive, every);
  const label = every > 0 ? `event every ${every / 1000}s` : `no events, keepAlive ${keepAlive! / 1000}s`;
  console.log(`${String(minutes).padStart(2)} min, ${label}:`, JSON.stringify(figures));
}
