/**
 * The SSE bounds under a hostile agent, on every backend: a server on loopback answers a turn with
 * one endless event (16 MB of bytes and no line end, in 64 KiB writes) and another with an event
 * dripped one byte every 50 ms. Prints the process's RSS before and after, the most the reader
 * held, and how long each turn took to fail. For contrast, the same 16 MB fed to an unbounded
 * parser (eventsource-parser, which the bot used before) shows what is held without the cap.
 *
 *   npx tsx bench/sse-bounds.ts [megabytes=16]
 */
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createParser } from 'eventsource-parser';
import { A2aAgentClient } from '../src/adapters/agent/a2a/client.js';
import { AguiAgentClient } from '../src/adapters/agent/agui/client.js';
import { CaipeAgentClient } from '../src/adapters/agent/caipe/client.js';
import type { AgentClient } from '../src/adapters/agent/port.js';
import { formatBytes, SSE_LIMITS } from '../src/adapters/agent/sse.js';

const megabytes = Number(process.argv[2] ?? 16);
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A server whose every streaming answer is a hostile event; JSON calls (CAIPE's conversation) succeed. */
async function hostileServer(mode: 'endless' | 'drip') {
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    req.resume();
    if ((req.url ?? '').endsWith('/api/chat/conversations')) {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ success: true, data: { conversation: { _id: 'conv-bench' }, created: true } }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    open.add(res);
    res.on('close', () => open.delete(res));
    res.write('data: ');
    if (mode === 'drip') {
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('x')), 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    let sent = 0;
    const pump = () => {
      while (sent < megabytes * 1024 * 1024 && !res.destroyed) {
        sent += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
    };
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Backend = (url: string, onBuffered: (n: number) => void) => AgentClient & { close(): Promise<void> };
const common = { idleTimeoutMs: 60_000 };
const backends: Array<[string, Backend]> = [
  [
    'A2A v0.3',
    (url, onBuffered) => new A2aAgentClient({ url, version: '0.3', sse: { onBuffered }, ...common }),
  ],
  [
    'A2A v1.0',
    (url, onBuffered) => new A2aAgentClient({ url, version: '1.0', sse: { onBuffered }, ...common }),
  ],
  ['AG-UI', (url, onBuffered) => new AguiAgentClient({ url, sse: { onBuffered }, ...common })],
  [
    'CAIPE ≥0.6',
    (url, onBuffered) => new CaipeAgentClient({ url, agentId: 'bench', sse: { onBuffered }, ...common }),
  ],
];

async function run(mode: 'endless' | 'drip'): Promise<void> {
  console.log(
    mode === 'endless'
      ? `\nOne endless event (${megabytes} MB offered, cap ${mb(SSE_LIMITS.maxEventBytes)}):`
      : `\nOne event dripped a byte every 50 ms (cap ${SSE_LIMITS.maxEventMs / 1000} s):`,
  );
  for (const [name, make] of backends) {
    const server = await hostileServer(mode);
    let held = 0;
    const client = make(server.url, (n) => {
      held = Math.max(held, n);
    });
    gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const started = performance.now();
    let outcome = 'completed (unexpected)';
    try {
      for await (const _event of client.streamTurn({ text: 'bench', userEmail: 'bench@example.com' })) {
        // drain
      }
    } catch (error) {
      outcome = (error as { kind?: string }).kind ?? String(error);
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    await client.close();
    await server.close();
    gc();
    const after = process.memoryUsage().rss;
    console.log(
      `  ${name.padEnd(11)} ${outcome.padEnd(16)} in ${seconds.toFixed(2)} s; reader held at most ${formatBytes(held)}; ` +
        `RSS before ${mb(before)}, peak ${mb(peak)} (+${mb(peak - before)}), after ${mb(after)}`,
    );
  }
}

function unbounded(): void {
  gc();
  const before = process.memoryUsage().rss;
  const parser = createParser({ onEvent: () => {} });
  parser.feed('data: ');
  // A fresh string per chunk, as a socket delivers them (one repeated string would be shared).
  for (let sent = 0; sent < megabytes * 1024 * 1024; sent += CHUNK.length)
    parser.feed(CHUNK.toString('utf8'));
  const after = process.memoryUsage().rss;
  console.log(
    `\nFor contrast, eventsource-parser without a cap after the same ${megabytes} MB: RSS ${mb(before)} → ${mb(after)} (+${mb(after - before)}), all of it held for one event`,
  );
  parser.reset();
}

await run('endless');
await run('drip');
unbounded();
