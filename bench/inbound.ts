/**
 * Inbound throughput: socket frame → ack → activity routing → REST fetch → normalised event,
 * with the real connection actor against the Webex simulator on 127.0.0.1.
 *
 *   npx tsx bench/inbound.ts [messages=2000] [rooms=20]
 *
 * Prints events/s and the latency from the frame's arrival to the event's delivery. Figures
 * include the simulator's own work (it shares the process and the CPU with the bot).
 */
import { performance } from 'node:perf_hooks';
import { waitFor } from 'xstate';
import { startWebexConnection } from '../src/actors/webex-connection.js';
import { silentLogger } from '../src/logger.js';
import type { InboundEvent } from '../src/machines/inbound-event.js';
import { startWebexSimulator } from '../src/simulator/webex/index.js';

const total = Number(process.argv[2] ?? 2000);
const roomCount = Number(process.argv[3] ?? 20);
const token = 'bench-bot-token';

const sim = await startWebexSimulator({ botToken: token });
let delivered = 0;
const latencies: number[] = [];
let resolveAll: () => void = () => {};
const allDelivered = new Promise<void>((resolve) => {
  resolveAll = resolve;
});
const conn = startWebexConnection({
  token,
  apiBaseUrl: sim.urls.hydra,
  u2cUrl: sim.urls.u2c,
  deviceName: 'caipe-webex-bot',
  dedupeTtlS: 3600,
  logger: silentLogger(),
  onEvent: (event: InboundEvent) => {
    latencies.push(Date.now() - event.receivedAt);
    delivered += 1;
    if (delivered === total) resolveAll();
  },
});
await waitFor(conn.actor, (s) => s.hasTag('online'), { timeout: 10_000 });

const users = Array.from({ length: roomCount }, (_, i) => sim.createUser({ displayName: `User ${i}` }));
const rooms = users.map((user) => ({ user, room: sim.createDirectRoom(user) }));

const started = performance.now();
for (let i = 0; i < total; i++) {
  const { user, room } = rooms[i % rooms.length]!;
  sim.post(user, room, { text: `message ${i}` });
  // Let the socket breathe every so often, as real traffic would.
  if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
}
await allDelivered;
const seconds = (performance.now() - started) / 1000;

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(`inbound: ${total} messages in ${rooms.length} rooms`);
console.log(`  ${(total / seconds).toFixed(0)} events/s (${seconds.toFixed(2)} s total)`);
console.log(
  `  frame → event latency ms: p50 ${pct(50)}, p90 ${pct(90)}, p99 ${pct(99)}, max ${latencies.at(-1)}`,
);

await conn.stop();
await sim.close();
