/**
 * Throughput of reading a recorded CAIPE stream: (1) SSE parsing (the bot's bounded reader) + JSON + classification + the
 * turn reducer, in memory, fed in 1 KiB chunks with CRLF and pings as sse-starlette sends them;
 * (2) the same stream end to end through the real client over loopback.
 *
 *   npx tsx bench/agent-replay.ts [fixture-name]
 */
import { performance } from 'node:perf_hooks';
import { classifyA2AResult } from '../src/adapters/agent/a2a/classify.js';
import { A2aAgentClient } from '../src/adapters/agent/a2a/client.js';
import { SseDecoder } from '../src/adapters/agent/sse.js';
import { finalText, initialTurnState, reduceTurn, type TurnState } from '../src/adapters/agent/turn-state.js';
import {
  type CaipeFixtureName,
  caipeFixturesPresent,
  FIXTURES_SKIP_MESSAGE,
  loadCaipeStream,
} from '../test/helpers/a2a/fixtures.js';
import { replayScript, SseEmulator } from '../test/helpers/a2a/sse-emulator.js';

const name = (process.argv[2] ?? 'a2a_jira_ticket_creation') as CaipeFixtureName;
if (!caipeFixturesPresent()) {
  console.log(FIXTURES_SKIP_MESSAGE);
  process.exit(0);
}
const results = loadCaipeStream(name);
const sse = results
  .map(
    (result, i) =>
      `${i % 5 === 0 ? ': ping - 2026-01-01\r\n\r\n' : ''}data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result })}\r\n\r\n`,
  )
  .join('');
const bytes = Buffer.from(sse, 'utf8');
const chunks: Buffer[] = [];
for (let i = 0; i < bytes.length; i += 1024) chunks.push(bytes.subarray(i, i + 1024));

function parseOnce(): TurnState {
  let state = initialTurnState();
  const decoder = new SseDecoder();
  for (const chunk of chunks) {
    for (const event of decoder.feed(chunk)) {
      const reply = JSON.parse(event.data) as { result?: unknown };
      const classified = classifyA2AResult(reply.result);
      if (classified.ok) for (const e of classified.events) state = reduceTurn(state, e);
    }
  }
  return state;
}

let rounds = 0;
let last: TurnState = parseOnce();
const started = performance.now();
while (performance.now() - started < 1_000) {
  last = parseOnce();
  rounds++;
}
const inMemoryS = (performance.now() - started) / 1000;
console.log(
  `${name}: ${results.length} events, ${(sse.length / 1024).toFixed(0)} KiB of SSE; answer from ${finalText(last)?.source}`,
);
console.log(
  `in memory (parse + classify + reduce): ${Math.round((rounds * results.length) / inMemoryS)} events/s`,
);

const emulator = await SseEmulator.start();
const client = new A2aAgentClient({ url: emulator.url, idleTimeoutMs: 30_000 });
const loops = 20;
for (let i = 0; i < loops; i++) emulator.enqueue(replayScript(results, { pingEvery: 5, pieces: 1 }));
const wireStarted = performance.now();
let wireEvents = 0;
for (let i = 0; i < loops; i++) {
  for await (const _event of client.streamTurn({ text: 'bench', userEmail: 'bench@example.com' }))
    wireEvents++;
}
const wireS = (performance.now() - wireStarted) / 1000;
console.log(
  `over loopback (client + emulator, ${loops} turns): ${Math.round((loops * results.length) / wireS)} A2A events/s, ${Math.round(wireEvents / wireS)} turn events/s`,
);
await client.close();
await emulator.close();
