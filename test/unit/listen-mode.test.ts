/**
 * Listen modes: a mention is always for the bot; a group message without one is for it only in an
 * authorized space whose mode (registry entry, else WEBEX_LISTEN_MODE) is `message` or `all`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTurnRendering, noticeText } from '../../src/actors/rendering.js';
import type { AgentClient, TurnRequest } from '../../src/adapters/agent/index.js';
import {
  MemoryConversationStore,
  MemoryEventClaims,
  MemorySpaceRegistry,
} from '../../src/adapters/store/memory.js';
import type { ListenMode } from '../../src/adapters/store/ports.js';
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

function setUp(options: { configMode: ListenMode; spaceMode?: ListenMode; authorized: boolean }) {
  const asked: string[] = [];
  const agent: AgentClient = {
    async *streamTurn(request: TurnRequest) {
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
    postReplaceable: () => ({
      sent: Promise.resolve({ id: `m${++n}` }),
      replace: () => false,
      withdraw: () => false,
    }),
    edit: async () => 'sent' as const,
    delete: async () => 'deleted' as const,
    editsLeft: () => 10,
    idle: async () => {},
    stop: () => {},
    stats: () => ({ queued: 0, inFlight: 0, rooms: 0, pausedUntil: {}, writeRate: 5 }),
  } satisfies WebexSender;
  const registry = new MemorySpaceRegistry();
  if (options.authorized)
    void registry.authorize({ roomId: ROOM, authorizedBy: 't', listenMode: options.spaceMode });
  bot = createBot({
    identity: { personId: BOT_ID, displayName: 'CAIPE Bot' },
    settings: {
      listenMode: options.configMode,
      updateIntervalMs: 1000,
      maxQueuedPerConversation: 5,
      dedupeTtlMs: 60_000,
    },
    agent,
    sender,
    spaces: new SpaceAuthorization({ registry, cacheTtlMs: 1000, log: silentLogger() }),
    conversations: new MemoryConversationStore(),
    claims: new MemoryEventClaims(),
    rendering: createTurnRendering({ maxMessageChars: 7000, agentName: 'CAIPE', idleTimeoutMs: 1000 }),
    noticeText: (notice) => noticeText(notice, { botName: 'CAIPE Bot' }),
    clock: systemClock,
    log: silentLogger(),
  });
  return { asked, bot };
}

let seq = 0;
function groupMessage(mentioned: boolean): InboundMessageEvent {
  seq += 1;
  return {
    kind: 'message',
    activityId: `act-${seq}`,
    roomId: ROOM,
    roomType: 'group',
    person: { id: 'person', email: 'p@example.com' },
    receivedAt: Date.now(),
    messageId: `msg-${seq}`,
    text: mentioned ? 'CAIPE Bot status please' : 'status please',
    mentionedPeople: mentioned ? [BOT_ID] : [],
    files: false,
  };
}

describe('listen modes', () => {
  it('mention mode: only mentions are answered', async () => {
    const { asked, bot } = setUp({ configMode: 'mention', authorized: true });
    await bot.handleInbound(groupMessage(false));
    await bot.handleInbound(groupMessage(true));
    await vi.waitUntil(() => asked.length === 1);
    await bot.settled();
    expect(asked).toEqual(['status please']);
  });

  it('a space set to `all` in the registry answers messages without a mention too', async () => {
    const { asked, bot } = setUp({ configMode: 'mention', spaceMode: 'all', authorized: true });
    await bot.handleInbound(groupMessage(false));
    await vi.waitUntil(() => asked.length === 1);
    expect(asked).toEqual(['status please']);
  });

  it('`message` mode never wakes the bot in an unauthorized space without a mention (no notice spam)', async () => {
    const { asked, bot } = setUp({ configMode: 'message', authorized: false });
    await bot.handleInbound(groupMessage(false));
    expect(Object.keys(bot.actor.getSnapshot().children)).toHaveLength(0);
    expect(asked).toEqual([]);
  });
});
