/**
 * What the conversation hands a memoryless agent, through the running bot: an AG-UI agent gets
 * the thread's earlier turns from the conversation record (so they survive a restart of the bot,
 * whose AG-UI client then has no memory of the thread), and `reset` starts the thread afresh and
 * is counted with the conversation.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { loadConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { readinessOf } from '../../../src/machines/webex-connection.js';
import { messages } from '../../../src/render/messages.js';
import { memoryStores, type Runtime, startRuntime } from '../../../src/runtime.js';
import { startWebexSimulator } from '../../../src/simulator/webex/index.js';
import { SseEmulator, type SseExchange } from '../../helpers/a2a/sse-emulator.js';
import { finished, runInputOf, sendEvents, started, text } from '../../helpers/agui/frames.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { BOT_TOKEN } from '../../helpers/world.js';
import { untilNoWorkingMessage, waitForBotPostContaining } from '../conversations/support.js';

const track = closeAfterEach();

/** Answers each run with "Answer N." and records nothing else. */
function numberedAnswers() {
  let n = 0;
  return async (x: SseExchange) => {
    n += 1;
    x.start();
    const { threadId, runId } = x.request.json as { threadId: string; runId: string };
    await sendEvents(
      x,
      started(threadId, runId),
      ...text(`m-${n}`, `Answer ${n}.`),
      finished(threadId, runId),
    );
    await x.end();
  };
}

describe('conversation history for a memoryless (AG-UI) agent', () => {
  it('comes from the conversation record, survives a restart, and is cleared by reset', async () => {
    const sim = track(await startWebexSimulator({ botToken: BOT_TOKEN, botDisplayName: 'CAIPE Bot' }));
    const agent = track(await SseEmulator.start({ defaultScript: numberedAnswers() }));
    const stores = memoryStores();
    const runtimes: Runtime[] = [];
    track({ close: () => Promise.all(runtimes.map((r) => r.shutdown())) });
    const boot = async () => {
      const runtime = await startRuntime({
        config: loadConfig({
          WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
          WEBEX_U2C_URL: sim.urls.u2c,
          WEBEX_API_BASE_URL: sim.urls.hydra,
          CAIPE_URL: agent.url,
          AGENT_PROTOCOL: 'agui',
          HTTP_PORT: '0',
          WEBEX_UPDATE_INTERVAL_MS: '100',
        }),
        log: silentLogger(),
        httpHost: '127.0.0.1',
        stores,
      });
      runtimes.push(runtime);
      await waitFor(runtime.connection, (s) => readinessOf(s).ready, { timeout: 10_000 });
      return runtime;
    };
    const ask = async (text: string, answer: string) => {
      sim.post(ada, room, { text });
      await waitForBotPostContaining(sim, answer);
      await untilNoWorkingMessage(sim, room.id);
    };

    let runtime = await boot();
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    await ask('first question', 'Answer 1.');
    await ask('second question', 'Answer 2.');
    await runtime.shutdown();
    runtime = await boot();
    await ask('after the restart', 'Answer 3.');

    const messagesOf = (i: number) => runInputOf(agent.requests[i]!).messages.map((m) => [m.role, m.content]);
    expect(messagesOf(1)).toEqual([
      ['user', 'first question'],
      ['assistant', 'Answer 1.'],
      ['user', 'second question'],
    ]);
    // A new process, a new AG-UI client with no memory: the turns come from the record.
    expect(messagesOf(2)).toEqual([
      ['user', 'first question'],
      ['assistant', 'Answer 1.'],
      ['user', 'second question'],
      ['assistant', 'Answer 2.'],
      ['user', 'after the restart'],
    ]);

    sim.post(ada, room, { text: 'reset' });
    await waitForBotPostContaining(sim, messages.resetDone);
    await ask('a new topic', 'Answer 4.');
    expect(messagesOf(3)).toEqual([['user', 'a new topic']]);
    // The reset is counted with the conversation (CAIPE ≥0.6 keys a fresh conversation by it).
    expect((await stores.conversations.get(`${room.id}/main`))?.generation).toBe(1);
  });
});
