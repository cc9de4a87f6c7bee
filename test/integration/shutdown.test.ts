/**
 * Graceful shutdown (SIGTERM): readiness turns 503 at once, no new conversations, running answers
 * get SHUTDOWN_GRACE_S to finish or are cancelled with a notice (no working message left), the
 * device is kept for the next process (these tests used to pin its deletion).
 */

import { describe, expect, it } from 'vitest';
import { messages } from '../../src/render/messages.js';
import type { SseEmulator } from '../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';
import { startEmulator, startWorld, type World } from '../helpers/world.js';
import { botPostsIn, CaipeTurn, markdownOf, waitForBotPost } from './conversations/support.js';

let world: World | undefined;
let emulator: SseEmulator | undefined;

const track = closeAfterEach();

async function setUp(graceS: string) {
  emulator = track(await startEmulator());
  world = track(await startWorld({ agentUrl: emulator.url, env: { SHUTDOWN_GRACE_S: graceS } }));
  const user = world.sim.createUser({ displayName: 'Dana', email: 'dana@example.com' });
  const room = world.sim.createDirectRoom(user);
  return { sim: world.sim, runtime: world.runtime, user, room };
}

describe('graceful shutdown', () => {
  it('lets a running answer finish within the grace period, and keeps the device', async () => {
    const { sim, runtime, user, room } = await setUp('30');
    const release = deferred<void>();
    emulator!.enqueue(async (exchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await release.promise;
      await turn.artifact('final_result', [{ kind: 'text', text: 'All done before the restart.' }]);
      await turn.status('completed', undefined, undefined, true);
      await exchange.end();
    });
    sim.post(user, room, { text: 'long job' });
    await waitForBotPost(sim, (markdown) => markdown === messages.working);

    const stopping = runtime.shutdown();
    const ready = await fetch(`http://127.0.0.1:${runtime.http.port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reason: 'shutting down' });
    release.resolve();
    await stopping;

    const posts = botPostsIn(sim, room.id).map(markdownOf);
    expect(posts.some((m) => m.includes('All done before the restart.'))).toBe(true);
    expect(posts).not.toContain(messages.shuttingDown);
    expect(world!.visibleBotMessages(room.id).map((m) => m.markdown)).not.toContain(messages.working);
    expect(sim.devices().filter((d) => !d.deleted)).toHaveLength(1);
  });

  it('cancels an answer still running when the grace period ends, with a notice and no working message left', async () => {
    const { sim, runtime, user, room } = await setUp('1');
    emulator!.enqueue(async (exchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await exchange.clientClosed();
    });
    sim.post(user, room, { text: 'never ending job' });
    await waitForBotPost(sim, (markdown) => markdown === messages.working);

    await runtime.shutdown();

    const posts = botPostsIn(sim, room.id).map(markdownOf);
    expect(posts).toContain(messages.shuttingDown);
    expect(world!.visibleBotMessages(room.id).map((m) => m.markdown)).toEqual([messages.shuttingDown]);
    const cancels = emulator!.requests.filter((r) => r.json?.method === 'tasks/cancel');
    expect(cancels).toHaveLength(1);
    expect(sim.devices().filter((d) => !d.deleted)).toHaveLength(1);
  });
});
