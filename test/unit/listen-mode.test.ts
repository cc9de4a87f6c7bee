/**
 * Listen modes, as the intake's admission decides them: a mention is always for the bot; a group
 * message without one is for it only in an authorized space whose mode (registry entry, else
 * WEBEX_LISTEN_MODE) is `message` or `all`. An unauthorized space is never woken by an unmentioned
 * message (no notice spam).
 */
import { describe, expect, it } from 'vitest';
import { createAdmission } from '../../src/actors/intake/admission.js';
import { MemoryEventClaims, MemorySpaceRegistry } from '../../src/adapters/store/memory.js';
import type { ListenMode } from '../../src/adapters/store/ports.js';
import { SpaceAuthorization } from '../../src/adapters/store/space-authorization.js';
import { encodeHydraId } from '../../src/adapters/webex/ids.js';
import { createBotFacts } from '../../src/facts.js';
import { silentLogger } from '../../src/logger.js';
import type { InboundMessageEvent } from '../../src/machines/inbound-event.js';

const BOT_ID = encodeHydraId('PEOPLE', '11111111-1111-4111-8111-111111111111');
const ROOM = encodeHydraId('ROOM', '22222222-2222-4222-8222-222222222222');

async function setUp(options: { configMode: ListenMode; spaceMode?: ListenMode; authorized: boolean }) {
  const registry = new MemorySpaceRegistry();
  if (options.authorized)
    await registry.authorize({ roomId: ROOM, authorizedBy: 't', listenMode: options.spaceMode });
  const facts = createBotFacts();
  facts.trigger.identityKnown({
    identity: { personId: BOT_ID, displayName: 'CAIPE Bot', email: 'bot@webex.bot' },
  });
  return createAdmission({
    claims: new MemoryEventClaims(),
    dedupeTtlMs: 60_000,
    spaces: new SpaceAuthorization({ registry, cacheTtlMs: 1000, log: silentLogger() }),
    facts,
    listenMode: options.configMode,
    parseCard: () => undefined,
    notify: () => {},
    log: silentLogger(),
  });
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
  it('mention mode: only mentions are for the bot, with the mention removed', async () => {
    const admit = await setUp({ configMode: 'mention', authorized: true });
    expect(await admit(groupMessage(false))).toBeUndefined();
    const admitted = await admit(groupMessage(true));
    expect(admitted).toMatchObject({
      type: 'MESSAGE',
      message: { text: 'status please', spaceAllowed: true },
    });
  });

  it('a space set to `all` in the registry answers messages without a mention too', async () => {
    const admit = await setUp({ configMode: 'mention', spaceMode: 'all', authorized: true });
    expect(await admit(groupMessage(false))).toMatchObject({
      type: 'MESSAGE',
      message: { spaceAllowed: true },
    });
  });

  it('`message` mode never wakes the bot in an unauthorized space without a mention (no notice spam)', async () => {
    const admit = await setUp({ configMode: 'message', authorized: false });
    expect(await admit(groupMessage(false))).toBeUndefined();
    // A mention in that space reaches the conversation, which tells the thread how to authorize.
    expect(await admit(groupMessage(true))).toMatchObject({ message: { spaceAllowed: false } });
  });

  it('an activity already claimed is not admitted twice', async () => {
    const admit = await setUp({ configMode: 'mention', authorized: true });
    const event = groupMessage(true);
    expect(await admit(event)).toBeDefined();
    expect(await admit(event)).toBeUndefined();
  });
});
