/**
 * `authorize` may be sent by anyone in a space: it must not drop the space's cached decision (which
 * would, during a store outage, refuse everyone else at once, and lets any member force store reads).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTurnRendering, noticeText } from '../../src/actors/rendering.js';
import type { AgentClient } from '../../src/adapters/agent/index.js';
import {
  MemoryConversationStore,
  MemoryEventClaims,
  MemorySpaceRegistry,
} from '../../src/adapters/store/memory.js';
import { SpaceAuthorization } from '../../src/adapters/store/spaceAuthorization.js';
import { encodeHydraId } from '../../src/adapters/webex/ids.js';
import type { InboundMessageEvent } from '../../src/adapters/webex/inboundEvent.js';
import type { WebexSender } from '../../src/adapters/webex/sender/index.js';
import { type Bot, createBot } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { silentLogger } from '../../src/logger.js';

const BOT_ID = encodeHydraId('PEOPLE', '11111111-1111-4111-8111-111111111111');
const ROOM = encodeHydraId('ROOM', '22222222-2222-4222-8222-222222222222');
let bot: Bot | undefined;
afterEach(() => bot?.stop());

describe('the authorize command', () => {
  it('answers without invalidating the cached decision others rely on', async () => {
    const registry = new MemorySpaceRegistry();
    await registry.authorize({ roomId: ROOM, authorizedBy: 'admin-api' });
    const spaces = new SpaceAuthorization({ registry, cacheTtlMs: 60_000, log: silentLogger() });
    const invalidate = vi.spyOn(spaces, 'invalidate');
    const asked: string[] = [];
    const agent: AgentClient = {
      async *streamTurn(request) {
        asked.push(request.text);
        yield { type: 'answer', source: 'final_result', text: 'ok', append: false };
        yield { type: 'status', state: 'completed' };
      },
      cancel: async () => {},
      async *resubscribe() {},
    };
    let n = 0;
    const sender = {
      post: async () => ({ id: `m${++n}` }),
      edit: async () => 'sent' as const,
      delete: async () => 'deleted' as const,
      editsLeft: () => 10,
      idle: async () => {},
      stop: () => {},
      stats: () => ({ queued: 0, inFlight: 0, rooms: 0, pausedUntil: {} }),
    } satisfies WebexSender;
    const replied: string[] = [];
    bot = createBot({
      identity: { personId: BOT_ID, displayName: 'CAIPE Bot' },
      settings: {
        listenMode: 'mention',
        updateIntervalMs: 1000,
        maxQueuedPerConversation: 5,
        dedupeTtlMs: 60_000,
      },
      agent,
      sender,
      spaces,
      conversations: new MemoryConversationStore(),
      claims: new MemoryEventClaims(),
      rendering: createTurnRendering({ maxMessageChars: 7000, agentName: 'CAIPE', idleTimeoutMs: 1000 }),
      noticeText: (notice) => noticeText(notice, { botName: 'CAIPE Bot' }),
      replyAuthorize: async (target) => {
        replied.push(target.roomId);
      },
      clock: systemClock,
      log: silentLogger(),
    });
    const message = (id: string, text: string, person: string): InboundMessageEvent => ({
      kind: 'message',
      activityId: `act-${id}`,
      roomId: ROOM,
      roomType: 'group',
      person: { id: person, email: `${person}@example.com` },
      receivedAt: Date.now(),
      messageId: `msg-${id}`,
      text: `CAIPE Bot ${text}`,
      mentionedPeople: [BOT_ID],
      files: false,
    });

    await bot.handleInbound(message('1', 'status please', 'ana'));
    await vi.waitUntil(() => asked.length === 1);
    await bot.settled();
    // The store now fails: only the cached decision keeps the space working.
    vi.spyOn(registry, 'find').mockRejectedValue(new Error('store down'));

    await bot.handleInbound(message('2', 'authorize', 'mallory'));
    await vi.waitUntil(() => replied.length === 1);
    expect(invalidate).not.toHaveBeenCalled();

    await bot.handleInbound(message('3', 'and now?', 'ana'));
    await vi.waitUntil(() => asked.length === 2);
    expect(asked).toEqual(['status please', 'and now?']);
  });
});
