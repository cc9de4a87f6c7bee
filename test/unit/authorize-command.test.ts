/**
 * `authorize` may be sent by anyone in a space: it must not drop the space's cached decision (which
 * would, during a store outage, refuse everyone else at once, and lets any member force store reads).
 */
import { describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { createRoomLogic } from '../../src/actors/room.js';
import { MemorySpaceRegistry } from '../../src/adapters/store/memory.js';
import { SpaceAuthorization } from '../../src/adapters/store/space-authorization.js';
import { encodeHydraId } from '../../src/adapters/webex/ids.js';
import type { WebexSender } from '../../src/adapters/webex/sender/index.js';
import { silentLogger } from '../../src/logger.js';
import { conversationMachine } from '../../src/machines/conversation.js';
import { closeAfterEach } from '../helpers/cleanup.js';

const ROOM = encodeHydraId('ROOM', '22222222-2222-4222-8222-222222222222');
const track = closeAfterEach();

describe('the authorize command', () => {
  it('answers without invalidating the cached decision others rely on', async () => {
    const registry = new MemorySpaceRegistry();
    await registry.authorize({ roomId: ROOM, authorizedBy: 'admin-api' });
    const spaces = new SpaceAuthorization({ registry, cacheTtlMs: 60_000, log: silentLogger() });
    const invalidate = vi.spyOn(spaces, 'invalidate');
    const posted: string[] = [];
    const sender = {
      post: async (message: { markdown?: string }) => {
        posted.push(message.markdown ?? '');
        return { id: `m${posted.length}` };
      },
      edit: async () => 'sent' as const,
      delete: async () => 'deleted' as const,
      editsLeft: () => 10,
      idle: async () => {},
      stop: () => {},
      stats: () => ({ queued: 0, inFlight: 0, rooms: 0, pausedUntil: {} }),
    } as unknown as WebexSender;
    const room = createRoomLogic({
      conversation: conversationMachine,
      spaces,
      sender,
      notify: () => {},
      authorize: {
        mode: 'admin-api',
        caipeUiBaseUrl: 'http://ui',
        adminBaseUrl: 'http://bot',
        adminApiEnabled: true,
      },
      log: silentLogger(),
    });
    // A message of another person cached the space's decision.
    expect((await spaces.check(ROOM, 'group')).allowed).toBe(true);
    // The store now fails: only the cached decision keeps the space working.
    vi.spyOn(registry, 'find').mockRejectedValue(new Error('store down'));

    const actor = createActor(room, {
      input: { roomId: ROOM, roomType: 'group', maxQueuedPerConversation: 5 },
    }).start();
    track({ close: () => actor.stop() });
    actor.send({
      type: 'MESSAGE',
      message: {
        activityId: 'act-2',
        roomId: ROOM,
        roomType: 'group',
        messageId: 'msg-2',
        personId: 'mallory',
        personEmail: 'mallory@example.com',
        text: 'authorize',
        hasFiles: false,
        receivedAt: Date.now(),
      },
    });
    await vi.waitUntil(() => posted.length === 1);
    expect(invalidate).not.toHaveBeenCalled();
    expect((await spaces.check(ROOM, 'group')).allowed).toBe(true);
  });
});
