/**
 * A restart of the whole bot loses nothing at the connection level: a message sent after SIGTERM
 * (while an answer still streams in the grace period) and one sent while no process runs are
 * answered once by the next process, which reuses the device; nothing answered before is asked
 * again. The embedded store on disk is shared by both processes. Runs with the simulator's
 * redelivery on and off (`retentionMs: 0`): then the REST catch-up at the first connect, over the
 * rooms the store recorded, is what finds them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { readinessOf } from '../../src/machines/webex-connection.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { startWebexSimulator } from '../../src/simulator/webex/index.js';
import { SseEmulator } from '../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';
import { BOT_TOKEN } from '../helpers/world.js';
import {
  botPostsIn,
  CaipeTurn,
  markdownOf,
  sentMessage,
  waitForBotPostContaining,
} from './conversations/support.js';

const track = closeAfterEach();

const modes = [
  ['on', {}],
  ['off', { retentionMs: 0 }],
] as const;

describe.each(modes)('a restart with the simulator redelivery %s', (_redelivery, simOptions) => {
  it('answers what arrived after SIGTERM and while no process ran, once, on the same device', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-restart-'));
    track({ close: () => rmSync(dataDir, { recursive: true, force: true }) });
    const sim = track(await startWebexSimulator({ botToken: BOT_TOKEN, ...simOptions }));
    const releaseLongJob = deferred<void>();
    // The agent answers every question with its text; "long job" waits to be released.
    const agent = track(
      await SseEmulator.start({
        defaultScript: async (exchange) => {
          const { text } = sentMessage(exchange.request.json);
          const turn = new CaipeTurn(exchange);
          await turn.open();
          if (text.includes('long job')) await releaseLongJob.promise;
          await turn.answer(`Answer to: ${text}`);
        },
      }),
    );
    let runtime: Runtime | undefined;
    track({ close: () => runtime?.shutdown() });
    // Closed first (last tracked): a failed run must not hold the shutdown for its grace period.
    track({ close: () => releaseLongJob.resolve() });
    const boot = async () => {
      const config = loadConfig({
        WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
        WEBEX_U2C_URL: sim.urls.u2c,
        WEBEX_API_BASE_URL: sim.urls.hydra,
        CAIPE_URL: agent.url,
        HTTP_PORT: '0',
        DATA_DIR: dataDir,
        SHUTDOWN_GRACE_S: '30',
        WEBEX_UPDATE_INTERVAL_MS: '100',
      });
      const started = await startRuntime({ config, log: silentLogger(), httpHost: '127.0.0.1' });
      await waitFor(started.connection, (s) => readinessOf(s).ready, { timeout: 10_000 });
      return started;
    };

    runtime = await boot();
    expect(runtime.stores.kind).toBe('embedded');
    const [device] = sim.devices();
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const bo = sim.createUser({ displayName: 'Bo', email: 'bo@example.com' });
    const adaRoom = sim.createDirectRoom(ada);
    const boRoom = sim.createDirectRoom(bo);
    sim.post(ada, adaRoom, { text: 'first question' });
    await waitForBotPostContaining(sim, 'Answer to: first question');
    sim.post(bo, boRoom, { text: 'long job' });
    // The long job streams: its working message is up in Bo's room.
    await sim.waitFor(
      'request',
      (r) =>
        r.method === 'POST' &&
        markdownOf(r).includes('Working on it') &&
        (r.body as { roomId?: string }).roomId === boRoom.id,
      { timeoutMs: 10_000 },
    );

    // SIGTERM while the long job streams: the answer may finish, nothing new is taken.
    const first = runtime;
    const stopping = first.shutdown();
    await waitFor(first.connection, (s) => s.context.inboundHeld, { timeout: 5_000 });
    const duringShutdown = sim.post(ada, adaRoom, { text: 'sent during shutdown' });
    await sim.waitFor(
      'frame',
      (f) =>
        (f.frame.data as { activity?: { id?: string } } | undefined)?.activity?.id === duringShutdown.uuid,
    );
    releaseLongJob.resolve();
    await stopping;
    await waitForBotPostContaining(sim, 'Answer to: long job');
    expect(botPostsIn(sim, adaRoom.id).map(markdownOf).join('\n')).not.toContain('sent during shutdown');

    sim.post(ada, adaRoom, { text: 'sent while no process runs' });

    runtime = await boot();
    await waitForBotPostContaining(sim, 'Answer to: sent during shutdown');
    await waitForBotPostContaining(sim, 'Answer to: sent while no process runs');

    // Each question reached the agent once, and each answer was posted once.
    const asked = agent.requests
      .filter((r) => r.json?.method === 'message/stream')
      .map((r) => sentMessage(r.json).text);
    expect(asked.sort()).toEqual(
      ['first question', 'long job', 'sent during shutdown', 'sent while no process runs'].sort(),
    );
    const answers = [...botPostsIn(sim, adaRoom.id), ...botPostsIn(sim, boRoom.id)]
      .map(markdownOf)
      .filter((m) => m.includes('Answer to:'));
    for (const question of asked) {
      expect(
        answers.filter((m) => m.includes(`Answer to: ${question}`)),
        question,
      ).toHaveLength(1);
    }
    // The device was kept and reused.
    expect(
      sim
        .devices()
        .filter((d) => !d.deleted)
        .map((d) => d.uuid),
    ).toEqual([device!.uuid]);
  });
});
