/**
 * The running turn in the store (SPEC "Durability and replicas"): while an answer streams, its
 * conversation record names the task and context, the working message and the person; each
 * answer part's intent is written before the part is posted and its id after; when the answer is
 * saved, the running turn is gone. Real bot, Webex simulator, the official A2A SDK peer, the
 * embedded store on disk (watched through a thin wrapper that notes each write).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it, vi } from 'vitest';
import { hashPost } from '../../src/actors/handover/journal.js';
import { EmbeddedStores } from '../../src/adapters/store/embedded.js';
import { embeddedStoreSet } from '../../src/adapters/store/index.js';
import type { ConversationRecord, ConversationStore } from '../../src/adapters/store/ports.js';
import { silentLogger } from '../../src/logger.js';
import type { Stores } from '../../src/runtime.js';
import { type PeerTurn, SdkPeer } from '../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { deferred } from '../helpers/deferred.js';
import { startWorld } from '../helpers/world.js';
import { botPostsIn, isProgressMarkdown, markdownOf } from '../integration/conversations/support.js';

const track = closeAfterEach();

/** The embedded store, with every conversation write noted next to how many requests Webex had answered. */
function watchedStores(dataDir: string, requestsSoFar: () => number) {
  const embedded = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
  const writes: Array<{ record: ConversationRecord; requestsBefore: number }> = [];
  const conversations: ConversationStore = {
    get: (key) => embedded.conversations.get(key),
    put: async (record) => {
      writes.push({ record: structuredClone(record), requestsBefore: requestsSoFar() });
      await embedded.conversations.put(record);
    },
    delete: (key) => embedded.conversations.delete(key),
    running: (limit) => embedded.conversations.running(limit),
    waiting: (limit) => embedded.conversations.waiting(limit),
  };
  const stores: Stores = { ...embeddedStoreSet(embedded), conversations };
  return { stores, embedded, writes };
}

describe('the running turn in the conversation record', () => {
  it('names the task, context, working message and person while streaming, each part intent before its post and id after', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-turn-'));
    track({ close: () => rmSync(dataDir, { recursive: true, force: true }) });
    const peer = track(await SdkPeer.start());
    const release = deferred<void>();
    track({ close: () => release.resolve() });
    const longAnswer = Array.from({ length: 6 }, (_, i) => `Paragraph ${i}: ${'word '.repeat(60)}`).join(
      '\n\n',
    );
    peer.enqueue(async (turn: PeerTurn) => {
      turn.task();
      turn.status(TaskState.TASK_STATE_WORKING);
      turn.artifact('streaming_result', ['Thinking'], { artifactId: 'stream-1' });
      await release.promise;
      turn.artifact('final_result', [longAnswer], { lastChunk: true });
      turn.status(TaskState.TASK_STATE_COMPLETED);
      turn.finish();
    });

    let requestsSoFar = () => 0;
    const watched = watchedStores(dataDir, () => requestsSoFar());
    const world = track(
      await startWorld({
        agentUrl: peer.url,
        stores: watched.stores,
        env: { WEBEX_MAX_MESSAGE_CHARS: '400' },
        logLevel: 'warn',
      }),
    );
    requestsSoFar = () => world.sim.log.requests.length;
    const { sim } = world;
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    const key = `${room.id}/main`;
    sim.post(ada, room, { text: 'a long question' });

    // Streaming: the task is known and the working message is up.
    await sim.waitFor('request', (r) => isProgressMarkdown(markdownOf(r)) && r.status === 200, {
      timeoutMs: 10_000,
    });
    const taskId = await waitUntil(async () => {
      const turn = (await watched.embedded.conversations.get(key))?.runningTurn;
      return turn?.taskId && turn.workingMessageIds.length > 0 ? turn.taskId : undefined;
    });
    const running = (await watched.embedded.conversations.get(key))!.runningTurn!;
    const working = world.visibleBotMessages(room.id);
    expect(working).toHaveLength(1);
    expect(running).toMatchObject({
      state: 'running',
      taskId: peer.turns[0]!.taskId,
      contextId: peer.turns[0]!.contextId,
      workingMessageIds: [working[0]!.id],
      person: { personId: ada.id, email: 'ada@example.com' },
      roomType: 'direct',
      parts: [],
    });
    expect(taskId).toBe(peer.turns[0]!.taskId);
    expect((await watched.embedded.conversations.running(10)).map((r) => r.key)).toEqual([key]);

    release.resolve();
    await waitUntil(async () => (await watched.embedded.conversations.get(key))?.runningTurn === undefined);

    // Each answer part: its intent was written before Webex answered its post, its id after.
    const parts = botPostsIn(sim, room.id).filter((r) => !isProgressMarkdown(markdownOf(r)));
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const [index, post] of parts.entries()) {
      const postIndex = sim.log.requests.indexOf(post);
      const hash = hashPost(markdownOf(post));
      const intent = watched.writes.find((w) =>
        w.record.runningTurn?.parts.some((p) => p.index === index && p.hash === hash && !p.messageId),
      );
      const posted = watched.writes.find((w) =>
        w.record.runningTurn?.parts.some((p) => p.index === index && p.messageId !== undefined),
      );
      expect(intent, `intent of part ${index}`).toBeDefined();
      expect(intent!.requestsBefore).toBeLessThanOrEqual(postIndex);
      expect(posted, `id of part ${index}`).toBeDefined();
      expect(posted!.requestsBefore).toBeGreaterThan(postIndex);
      const recordedId = posted!.record.runningTurn!.parts.find((p) => p.index === index)!.messageId;
      expect(sim.roomMessages(room.id).find((m) => m.id === recordedId)?.markdown).toBe(markdownOf(post));
    }
    // Saved: the conversation keeps its context, and nothing is running any more.
    const saved = await watched.embedded.conversations.get(key);
    expect(saved?.contextId).toBe(peer.turns[0]!.contextId);
    expect(saved?.runningTurn).toBeUndefined();
    expect(await watched.embedded.conversations.running(10)).toEqual([]);
    await sim.waitFor('request', (r) => r.method === 'DELETE' && r.path.endsWith(working[0]!.id));
    expect(world.visibleBotMessages(room.id).filter((m) => isProgressMarkdown(m.markdown))).toEqual([]);
  });
});

/** The store has no change events to await: its reads are retried until they say yes. */
function waitUntil<T>(read: () => Promise<T | undefined | false>): Promise<T> {
  return vi.waitUntil(read, { timeout: 10_000, interval: 20 }) as Promise<T>;
}
