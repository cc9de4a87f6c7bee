/**
 * Handover at shutdown (SPEC "Durability and replicas"): past SHUTDOWN_GRACE_S, with a durable
 * store (the embedded store on disk here), a running A2A answer is left for the next process: its
 * stream stops, its agent task is not cancelled, its working message stays up and its record says
 * it is handed over. A backend that cannot re-attach is cancelled with a notice, as with the memory
 * store (test/integration/shutdown.test.ts).
 */
import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { A2aAgentClient, type AgentClient } from '../../src/adapters/agent/index.js';
import { EmbeddedStores } from '../../src/adapters/store/embedded.js';
import { silentLogger } from '../../src/logger.js';
import { messages } from '../../src/render/messages.js';
import { type PeerTurn, SdkPeer } from '../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';
import {
  botPostsIn,
  isProgressMarkdown,
  markdownOf,
  waitForBotPost,
} from '../integration/conversations/support.js';
import { botProcesses } from './handover-support.js';

const track = closeAfterEach();

async function setUp() {
  const peer = track(await SdkPeer.start());
  const release = deferred<void>();
  peer.enqueue(async (turn: PeerTurn) => {
    turn.task();
    turn.status(TaskState.TASK_STATE_WORKING);
    turn.artifact('tool_notification_start', ['Tool call started: search_tickets'], {
      metadata: { tool_name: 'search_tickets' },
    });
    await Promise.race([release.promise, turn.untilCancelled()]);
    turn.status(TaskState.TASK_STATE_CANCELED);
    turn.finish();
  });
  const bots = track(await botProcesses({ agentUrl: () => peer.url, env: { SHUTDOWN_GRACE_S: '0' } }));
  // Closed first: the peer's script ends, so its server closes.
  track({ close: () => release.resolve() });
  const ada = bots.sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
  const room = bots.sim.createDirectRoom(ada);
  return { peer, bots, sim: bots.sim, ada, room, key: `${room.id}/main` };
}

/** The record as the next process will read it (the first process has closed the file). */
async function storedRecord(dataDir: string, key: string) {
  const store = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
  try {
    return await store.conversations.get(key);
  } finally {
    await store.close();
  }
}

describe('a running answer at shutdown, with a durable store', () => {
  it('is handed over: no cancel, the working message stays, the record says so', async () => {
    const { peer, bots, sim, ada, room, key } = await setUp();
    const runtime = await bots.start();
    sim.post(ada, room, { text: 'a long job' });
    await waitForBotPost(sim, (markdown) => isProgressMarkdown(markdown));
    await sim.waitFor('request', (r) => r.method === 'PUT' && markdownOf(r).includes('search_tickets'), {
      timeoutMs: 10_000,
    });

    await runtime.shutdown();

    expect(peer.cancelRequests).toEqual([]);
    const posts = botPostsIn(sim, room.id).map(markdownOf);
    expect(posts).not.toContain(messages.shuttingDown);
    const visible = bots.sim.roomMessages(room.id).filter((m) => m.authorUuid === sim.bot.uuid && !m.deleted);
    expect(visible).toHaveLength(1);
    expect(isProgressMarkdown(visible[0]!.markdown)).toBe(true);
    const record = await storedRecord(bots.dataDir, key);
    expect(record?.runningTurn).toMatchObject({
      state: 'handed-over',
      taskId: peer.turns[0]!.taskId,
      workingMessageIds: [visible[0]!.id],
      parts: [],
    });
    expect(bots.log.text()).toContain('running answer handed over');
  });

  it('is cancelled with a notice when the backend cannot re-attach', async () => {
    const { peer, bots, sim, ada, room, key } = await setUp();
    const a2a = track(new A2aAgentClient({ url: peer.url, idleTimeoutMs: 30_000 }));
    // The same A2A peer through a client that says it cannot re-attach (as AG-UI and CAIPE ≥0.6).
    const agent: AgentClient = {
      streamTurn: (request, options) => a2a.streamTurn(request, options),
      cancel: (taskId, options) => a2a.cancel(taskId, options),
      resubscribe: (taskId, options) => a2a.resubscribe(taskId, options),
    };
    const runtime = await bots.start({ agent });
    sim.post(ada, room, { text: 'a long job' });
    await sim.waitFor('request', (r) => r.method === 'PUT' && markdownOf(r).includes('search_tickets'), {
      timeoutMs: 10_000,
    });

    await runtime.shutdown();

    expect(peer.cancelRequests).toEqual([peer.turns[0]!.taskId]);
    const visible = sim.roomMessages(room.id).filter((m) => m.authorUuid === sim.bot.uuid && !m.deleted);
    expect(visible.map((m) => m.markdown)).toEqual([messages.shuttingDown]);
    expect((await storedRecord(bots.dataDir, key))?.runningTurn).toBeUndefined();
  });
});
