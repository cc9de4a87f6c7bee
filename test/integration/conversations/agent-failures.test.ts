/**
 * When the agent fails, the user gets a short message that says what happened, in the thread,
 * no working message is left behind, and the next message is answered as usual.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import { SseEmulator, type SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { startWorld, type World } from '../../helpers/world.js';
import {
  botPostsIn,
  CaipeTurn,
  cutMidAnswerScript,
  echo,
  isMessageSend,
  isProgressMarkdown,
  markdownOf,
  sentMessage,
  silentWithPingsScript,
  untilNoWorkingMessage,
  waitForBotPostContaining,
  workingMessages,
} from './support.js';

let world: World | undefined;
let emulator: SseEmulator | undefined;
let proxy: Server | undefined;
const proxied = new Set<Socket>();

afterEach(async () => {
  await world?.close();
  await emulator?.close();
  for (const socket of proxied) socket.destroy();
  proxied.clear();
  if (proxy) await new Promise<void>((resolve) => proxy!.close(() => resolve()));
  world = undefined;
  emulator = undefined;
  proxy = undefined;
});

type Script = (exchange: SseExchange) => Promise<void>;

const failures: Array<{ name: string; env?: Record<string, string>; script: Script; expected: string }> = [
  {
    name: 'the agent task fails',
    script: async (exchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await turn.toolStart('Get_Issue', 'jira');
      await turn.status('failed', 'Jira answered 503 Service Unavailable', undefined, true);
      await exchange.end();
    },
    expected: messages.agentFailed('CAIPE', 'Jira answered 503 Service Unavailable'),
  },
  {
    name: 'the agent answers HTTP 500',
    script: (exchange) => exchange.json(500, { detail: 'Internal Server Error' }),
    expected: messages.agentHttpError('CAIPE', 500),
  },
  {
    name: 'the stream is cut mid-answer',
    script: cutMidAnswerScript('The first half of the answer, and then'),
    expected: messages.streamCut('CAIPE'),
  },
  {
    name: 'one event grows past 4 MB',
    script: async (exchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await exchange.write('data: {"jsonrpc":"2.0","result":"');
      const chunk = 'x'.repeat(256 * 1024);
      // An endless event: the bot stops reading (and closes) long before the agent stops writing.
      for (let i = 0; i < 40 && !exchange.res.destroyed; i++)
        await exchange.write(chunk).catch(() => undefined);
    },
    expected: messages.eventTooLarge('CAIPE'),
  },
  {
    name: 'the agent goes silent (pings only) past the idle timeout',
    env: { A2A_IDLE_TIMEOUT_S: '1' },
    script: silentWithPingsScript(),
    expected: messages.idleTimeout('CAIPE', '1s'),
  },
];

describe('agent failures', () => {
  it.each(failures)(
    '$name: a specific message, no working message left, the conversation goes on',
    async ({ env, script, expected }) => {
      emulator = await SseEmulator.start({ defaultScript: echo });
      emulator.enqueue(script);
      world = await startWorld({ agentUrl: emulator.url, ...(env ? { env } : {}) });
      const { sim } = world;
      const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
      const room = sim.createDirectRoom(alice);

      sim.post(alice, room, { text: 'first try' });
      await waitForBotPostContaining(sim, expected);
      await untilNoWorkingMessage(sim, room.id);
      expect(workingMessages(sim, room.id).every((m) => m.deleted)).toBe(true);

      sim.post(alice, room, { text: 'second try' });
      await waitForBotPostContaining(sim, 'Echo: second try');
      await untilNoWorkingMessage(sim, room.id);

      const answers = botPostsIn(sim, room.id)
        .map(markdownOf)
        .filter((m) => !isProgressMarkdown(m));
      expect(answers).toEqual([expected, expect.stringContaining('Echo: second try')]);
      expect(expected.length).toBeLessThan(300);
      expect(world.visibleBotMessages(room.id).map((m) => m.markdown)).toEqual(answers);
      const sends = emulator.requests.filter((r) => isMessageSend(r.json));
      expect(sends.map((r) => sentMessage(r.json).text)).toEqual(['first try', 'second try']);
    },
    20_000,
  );

  it('a stream cut mid-answer is recovered by re-attaching to the task: the person gets the answer, no failure', async () => {
    emulator = await SseEmulator.start({ defaultScript: echo });
    let cut: CaipeTurn | undefined;
    emulator.enqueue(
      async (exchange) => {
        cut = new CaipeTurn(exchange);
        await cut.open();
        await cut.stream('The first half of the answer, and then', 2);
        exchange.cut();
      },
      async (exchange) => {
        // tasks/resubscribe: the supervisor still runs the task and finishes it on the new stream.
        exchange.start();
        await exchange.sendResult({
          kind: 'task',
          id: cut!.taskId,
          contextId: cut!.contextId,
          status: { state: 'working' },
        });
        const ids = { taskId: cut!.taskId, contextId: cut!.contextId };
        await exchange.sendResult({
          kind: 'artifact-update',
          ...ids,
          artifact: {
            artifactId: 'final',
            name: 'final_result',
            parts: [{ kind: 'text', text: 'The whole answer, recovered.' }],
          },
          append: false,
          lastChunk: true,
        });
        await exchange.sendResult({
          kind: 'status-update',
          ...ids,
          status: { state: 'completed' },
          final: true,
        });
        await exchange.end();
      },
    );
    world = await startWorld({ agentUrl: emulator.url });
    const { sim } = world;
    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createDirectRoom(alice);

    sim.post(alice, room, { text: 'a long question' });
    await waitForBotPostContaining(sim, 'The whole answer, recovered.');
    await untilNoWorkingMessage(sim, room.id);

    const answers = botPostsIn(sim, room.id)
      .map(markdownOf)
      .filter((m) => !isProgressMarkdown(m));
    expect(answers).toEqual([expect.stringContaining('The whole answer, recovered.')]);
    expect(emulator.requests.map((r) => r.json.method)).toEqual(['message/stream', 'tasks/resubscribe']);
    expect(emulator.requests[1]!.json.params).toEqual({ id: cut!.taskId });
  }, 20_000);

  it('the agent is down (connection refused): says so, and answers once it is back', async () => {
    // A port nobody listens on, until the agent "restarts" there.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    world = await startWorld({ agentUrl: `http://127.0.0.1:${port}` });
    const { sim } = world;
    const bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
    const room = sim.createDirectRoom(bob);
    const down = messages.agentUnreachable('CAIPE');

    sim.post(bob, room, { text: 'are you there?' });
    await waitForBotPostContaining(sim, down);
    await untilNoWorkingMessage(sim, room.id);

    // The agent comes back on the same address.
    emulator = await SseEmulator.start({ defaultScript: echo });
    const target = Number(new URL(emulator.url).port);
    proxy = createServer((socket) => {
      proxied.add(socket);
      const upstream = connect(target, '127.0.0.1');
      proxied.add(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    }).listen(port, '127.0.0.1');
    await once(proxy, 'listening');

    sim.post(bob, room, { text: 'and now?' });
    await waitForBotPostContaining(sim, 'Echo: and now?');
    await untilNoWorkingMessage(sim, room.id);

    const answers = botPostsIn(sim, room.id)
      .map(markdownOf)
      .filter((m) => !isProgressMarkdown(m));
    expect(answers).toEqual([down, expect.stringContaining('Echo: and now?')]);
    expect(workingMessages(sim, room.id).every((m) => m.deleted)).toBe(true);
    expect(emulator.requests.map((r) => sentMessage(r.json).text)).toEqual(['and now?']);
  }, 20_000);
});
