import { describe, expect, it } from 'vitest';
import { decodeHydraId, encodeHydraId } from '../../../src/adapters/webex/ids.js';
import {
  type ActivityRoute,
  botAddedEvent,
  cardActionEvent,
  messageEvent,
  type RouteContext,
  routeActivity,
  stripBotMention,
} from '../../../src/adapters/webex/normalize.js';

const BOT_UUID = '0b0b0b0b-0000-4000-8000-000000000001';
const ADA_UUID = 'a0a0a0a0-0000-4000-8000-000000000002';
const ROOM_UUID = 'c0c0c0c0-0000-4000-8000-000000000003';
const MSG_UUID = 'd0d0d0d0-0000-4000-8000-000000000004';
const ROOT_UUID = 'e0e0e0e0-0000-4000-8000-000000000005';

const ctx: RouteContext = {
  self: { userId: BOT_UUID, personId: encodeHydraId('PEOPLE', BOT_UUID) },
  catalog: {
    hostClusters: {
      'conv-a.wbx2.com': 'us',
      'conv-k.wbx2.com': 'urn:TEAM:eu-central-1_k',
    },
  },
};

/** A `conversation.activity` payload with the keys of webex-protocol.md §4.4. */
function activity(
  overrides: Record<string, unknown> = {},
  host = 'conv-a.wbx2.com',
): Record<string, unknown> {
  return {
    id: MSG_UUID,
    objectType: 'activity',
    verb: 'post',
    published: '2024-05-01T12:00:00.000Z',
    actor: {
      id: ADA_UUID,
      entryUUID: ADA_UUID,
      objectType: 'person',
      type: 'PERSON',
      displayName: 'Ada Lovelace',
      emailAddress: 'ada@example.com',
    },
    object: { objectType: 'comment', displayName: 'eyJhbGciOi…', content: 'eyJhbGciOi…' },
    target: {
      id: ROOM_UUID,
      objectType: 'conversation',
      tags: ['ONE_ON_ONE'],
      url: `https://${host}/conversation/api/v1/conversations/${ROOM_UUID}`,
    },
    ...overrides,
  };
}

function route(overrides: Record<string, unknown> = {}, host?: string): ActivityRoute {
  return routeActivity(activity(overrides, host), ctx);
}

describe('routeActivity', () => {
  it('routes a top-level post in a 1:1 to a message fetch with cluster-correct ids', () => {
    expect(route()).toEqual({
      action: 'fetchMessage',
      activityId: MSG_UUID,
      roomId: encodeHydraId('ROOM', ROOM_UUID, 'us'),
      roomType: 'direct',
      messageId: encodeHydraId('MESSAGE', MSG_UUID, 'us'),
      files: false,
      actor: { uuid: ADA_UUID, email: 'ada@example.com', displayName: 'Ada Lovelace' },
    });
  });

  it('uses the catalog cluster for rooms outside the original US cluster', () => {
    const routed = route({}, 'conv-k.wbx2.com');
    expect(routed.action).toBe('fetchMessage');
    if (routed.action !== 'fetchMessage') return;
    expect(decodeHydraId(routed.messageId)).toEqual({
      cluster: 'urn:TEAM:eu-central-1_k',
      type: 'MESSAGE',
      uuid: MSG_UUID,
    });
  });

  it('marks rooms without ONE_ON_ONE as group rooms', () => {
    const routed = route({ target: { ...(activity().target as object), tags: ['LOCKED'] } });
    expect(routed.action === 'fetchMessage' && routed.roomType).toBe('group');
  });

  it('fetches thread replies and ignores edits', () => {
    expect(route({ parent: { id: ROOT_UUID, type: 'reply' } }).action).toBe('fetchMessage');
    expect(route({ parent: { id: ROOT_UUID, type: 'edit' } })).toMatchObject({
      action: 'drop',
      outcome: 'ignored',
    });
  });

  it('fetches a share as a message with files', () => {
    const routed = route({ verb: 'share', object: { objectType: 'content', files: { items: [{}] } } });
    expect(routed).toMatchObject({ action: 'fetchMessage', files: true });
  });

  it('fetches a card action by its ATTACHMENT_ACTION id', () => {
    const routed = route({
      verb: 'cardAction',
      object: { objectType: 'submit', inputs: 'eyJ…' },
      parent: { id: ROOT_UUID, type: 'cardAction' },
    });
    expect(routed).toMatchObject({
      action: 'fetchCardAction',
      actionId: encodeHydraId('ATTACHMENT_ACTION', MSG_UUID, 'us'),
    });
  });

  it('recognises the bot being added, and nothing else that uses the add verb', () => {
    const group = { ...(activity().target as object), tags: [] };
    expect(
      route({ verb: 'add', target: group, object: { id: BOT_UUID, objectType: 'person' } }),
    ).toMatchObject({
      action: 'botAdded',
      roomType: 'group',
    });
    expect(
      route({ verb: 'add', target: group, object: { id: 'someone', objectType: 'person' } }),
    ).toMatchObject({
      action: 'drop',
      outcome: 'ignored',
    });
    expect(
      route({ verb: 'add', target: group, object: { id: BOT_UUID, objectType: 'reactionSummary' } }),
    ).toMatchObject({ action: 'drop', outcome: 'ignored' });
  });

  it('drops own activities by device userId or by the people/me uuid', () => {
    const own = { ...(activity().actor as object), id: BOT_UUID, entryUUID: BOT_UUID, type: 'BOT' };
    expect(route({ actor: own })).toMatchObject({ action: 'drop', outcome: 'own' });
    const otherCtx = { ...ctx, self: { ...ctx.self, userId: 'not-the-same' } };
    expect(routeActivity(activity({ actor: own }), otherCtx)).toMatchObject({
      action: 'drop',
      outcome: 'own',
    });
  });

  it('drops other bots and actors without a type', () => {
    const bot = { ...(activity().actor as object), type: 'BOT' };
    expect(route({ actor: bot })).toMatchObject({ action: 'drop', outcome: 'bot' });
    const { type: _t, ...untyped } = activity().actor as Record<string, unknown>;
    expect(route({ actor: untyped })).toMatchObject({ action: 'drop', outcome: 'bot' });
  });

  it('ignores other verbs and reports malformed activities', () => {
    expect(route({ verb: 'update' })).toMatchObject({ action: 'drop', outcome: 'ignored' });
    expect(route({ verb: 'acknowledge' })).toMatchObject({ action: 'drop', outcome: 'ignored' });
    expect(route({ id: undefined })).toMatchObject({ action: 'drop', outcome: 'malformed' });
    expect(route({ actor: 'x' })).toMatchObject({ action: 'drop', outcome: 'malformed' });
    expect(route({ target: null })).toMatchObject({ action: 'drop', outcome: 'malformed' });
    expect(routeActivity({}, ctx)).toMatchObject({ action: 'drop', outcome: 'malformed' });
  });
});

describe('events from REST payloads', () => {
  it('builds a message event from GET /messages/{id}', () => {
    const routed = route({ parent: { id: ROOT_UUID, type: 'reply' } });
    if (routed.action !== 'fetchMessage') throw new Error('expected a fetch');
    const bot = encodeHydraId('PEOPLE', BOT_UUID);
    const event = messageEvent(
      routed,
      {
        id: routed.messageId,
        roomId: routed.roomId,
        roomType: 'group',
        parentId: encodeHydraId('MESSAGE', ROOT_UUID),
        text: 'CAIPE hello',
        html: `<p><spark-mention data-object-type="person" data-object-id="${BOT_UUID}">CAIPE</spark-mention> hello</p>`,
        personId: encodeHydraId('PEOPLE', ADA_UUID),
        personEmail: 'ada@example.com',
        mentionedPeople: [bot],
        mentionedGroups: ['all'],
      },
      42,
    );
    expect(event).toEqual({
      kind: 'message',
      activityId: MSG_UUID,
      roomId: routed.roomId,
      roomType: 'group',
      messageId: routed.messageId,
      parentId: encodeHydraId('MESSAGE', ROOT_UUID),
      person: {
        id: encodeHydraId('PEOPLE', ADA_UUID),
        email: 'ada@example.com',
        displayName: 'Ada Lovelace',
      },
      text: 'CAIPE hello',
      html: expect.stringContaining('spark-mention'),
      mentionedPeople: [bot, 'all'],
      files: false,
      receivedAt: 42,
    });
  });

  it('notes files from either the share verb or REST files', () => {
    const routed = route();
    if (routed.action !== 'fetchMessage') throw new Error('expected a fetch');
    expect(messageEvent(routed, { id: 'm', files: ['https://x/f'] }, 1).files).toBe(true);
    expect(messageEvent(routed, { id: 'm' }, 1)).toMatchObject({
      files: false,
      text: '',
      mentionedPeople: [],
    });
  });

  it('builds a card action event with the card message id and inputs', () => {
    const routed = route({ verb: 'cardAction', object: { objectType: 'submit' } });
    if (routed.action !== 'fetchCardAction') throw new Error('expected a card fetch');
    const card = encodeHydraId('MESSAGE', ROOT_UUID);
    expect(
      cardActionEvent(
        routed,
        {
          id: routed.actionId,
          type: 'submit',
          messageId: card,
          inputs: { choice: 'yes' },
          roomId: routed.roomId,
        },
        7,
      ),
    ).toEqual({
      kind: 'cardAction',
      activityId: MSG_UUID,
      roomId: routed.roomId,
      roomType: 'direct',
      actionId: routed.actionId,
      messageId: card,
      inputs: { choice: 'yes' },
      person: {
        id: encodeHydraId('PEOPLE', ADA_UUID),
        email: 'ada@example.com',
        displayName: 'Ada Lovelace',
      },
      receivedAt: 7,
    });
    expect(cardActionEvent(routed, { id: routed.actionId }, 7)).toBeUndefined();
  });

  it('builds a bot-added event without REST', () => {
    const routed = route({
      verb: 'add',
      target: { ...(activity().target as object), tags: [] },
      object: { id: BOT_UUID, objectType: 'person' },
    });
    if (routed.action !== 'botAdded') throw new Error('expected botAdded');
    expect(botAddedEvent(routed, 3)).toMatchObject({ kind: 'botAdded', roomType: 'group', receivedAt: 3 });
  });
});

describe('stripBotMention', () => {
  it('removes a two-word display name at the start', () => {
    expect(stripBotMention('CAIPE Bot  what is up?', undefined, 'CAIPE Bot')).toBe('what is up?');
  });

  it('removes only the first word when Webex shows the short name', () => {
    expect(stripBotMention('CAIPE, status of argo', undefined, 'CAIPE Bot')).toBe('status of argo');
  });

  it('uses the spark-mention text when it differs from the display name', () => {
    const html = `<p><spark-mention data-object-type="person" data-object-id="${BOT_UUID}">Platform Helper</spark-mention> help</p>`;
    expect(stripBotMention('Platform Helper help', html, 'CAIPE', encodeHydraId('PEOPLE', BOT_UUID))).toBe(
      'help',
    );
  });

  it('leaves text alone when it does not start with the bot', () => {
    expect(stripBotMention('ask CAIPE later', undefined, 'CAIPE')).toBe('ask CAIPE later');
    expect(stripBotMention('CAIPEX help', undefined, 'CAIPE')).toBe('CAIPEX help');
    expect(stripBotMention('  hi  ', undefined, '')).toBe('hi');
  });
});
