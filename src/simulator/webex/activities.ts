import { randomUUID } from 'node:crypto';
import type { AttachmentAction, Message, Person, Room, SimWorld } from './model.js';
import { opaqueCiphertext } from './opaque.js';

/**
 * `conversation.activity` payloads as the real cloud builds them (reference §4): raw UUIDs,
 * the actor as a person, the room as the target (tagged ONE_ON_ONE when direct) and every
 * user-authored text field replaced by opaque ciphertext.
 */

export type Activity = Record<string, unknown>;

const keyUrl = (room: Room): string => `kms://kms-us.wbx2.com/keys/${room.uuid.slice(0, 8)}-key`;

export function actorOf(person: Person): Record<string, unknown> {
  return {
    id: person.uuid,
    entryUUID: person.uuid,
    objectType: 'person',
    type: person.kind === 'bot' ? 'BOT' : 'PERSON',
    displayName: person.displayName,
    emailAddress: person.email,
    entryEmail: person.email,
    orgId: person.orgUuid,
  };
}

function targetOf(world: SimWorld, room: Room): Record<string, unknown> {
  return {
    id: room.uuid,
    objectType: 'conversation',
    url: world.conversationUrl(room),
    tags: room.type === 'direct' ? ['ONE_ON_ONE'] : [],
    encryptionKeyUrl: keyUrl(room),
  };
}

function envelope(
  world: SimWorld,
  id: string,
  verb: string,
  actor: Person,
  room: Room,
  object: Record<string, unknown>,
  published: number,
  parent?: { id: string; type: string },
): Activity {
  const conversationBase = world.conversationUrl(room).replace(/\/conversations\/[^/]+$/, '');
  const activity: Activity = {
    id,
    objectType: 'activity',
    verb,
    url: `${conversationBase}/activities/${id}`,
    published: new Date(published).toISOString(),
    clientTempId: `tmp-${randomUUID()}`,
    encryptionKeyUrl: keyUrl(room),
    actor: actorOf(actor),
    object,
    target: targetOf(world, room),
  };
  if (parent) activity.parent = parent;
  return activity;
}

function mentionsOf(message: Message): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (message.mentionedPeople.length > 0) {
    result.mentions = { items: message.mentionedPeople.map((id) => ({ id, objectType: 'person' })) };
  }
  if (message.mentionedGroups.length > 0) {
    result.groupMentions = {
      items: message.mentionedGroups.map((groupType) => ({ groupType, objectType: 'groupMention' })),
    };
  }
  return result;
}

function commentObject(message: Message): Record<string, unknown> {
  const object: Record<string, unknown> = {
    objectType: 'comment',
    displayName: opaqueCiphertext(message.text.length),
    ...mentionsOf(message),
  };
  if (message.html !== undefined || message.markdown !== undefined) {
    object.content = opaqueCiphertext((message.html ?? message.markdown ?? '').length);
  }
  if (message.markdown !== undefined) object.markdown = opaqueCiphertext(message.markdown.length);
  if (message.attachments) {
    object.cards = message.attachments.map(() => opaqueCiphertext(64));
  }
  return object;
}

function contentObject(message: Message, scanned: boolean): Record<string, unknown> {
  return {
    objectType: 'content',
    contentCategory: 'documents',
    displayName: opaqueCiphertext(message.text.length),
    ...mentionsOf(message),
    files: {
      items: (message.files ?? []).map((_file, index) => ({
        objectType: 'file',
        displayName: opaqueCiphertext(12),
        url: `https://files-api-us.webexcontent.com/files/${message.uuid}/${index}`,
        mimeType: 'application/octet-stream',
        fileSize: 1024,
        scr: opaqueCiphertext(48),
        ...(scanned ? { malwareQuarantineState: 'safe' } : {}),
      })),
    },
  };
}

/** A new message: `post` (comment) or `share` (with files); replies carry `parent.type: reply`. */
export function postActivity(world: SimWorld, message: Message): Activity {
  const room = world.requireRoom(message.roomUuid);
  const author = world.requirePerson(message.authorUuid);
  const parent = message.parentUuid ? { id: message.parentUuid, type: 'reply' } : undefined;
  if (message.files && message.files.length > 0) {
    return envelope(
      world,
      message.uuid,
      'share',
      author,
      room,
      contentObject(message, false),
      message.created,
      parent,
    );
  }
  return envelope(world, message.uuid, 'post', author, room, commentObject(message), message.created, parent);
}

/** The malware scan of a shared file finished; clients fetch the message of the `share`. */
export function fileScannedActivity(world: SimWorld, message: Message, at: number): Activity {
  const room = world.requireRoom(message.roomUuid);
  const author = world.requirePerson(message.authorUuid);
  return envelope(
    world,
    randomUUID(),
    'update',
    author,
    room,
    { id: message.uuid, ...contentObject(message, true) },
    at,
  );
}

/** An edit is a new `post` activity whose parent is the edited message (type `edit`). */
export function editActivity(world: SimWorld, message: Message, at: number): Activity {
  const room = world.requireRoom(message.roomUuid);
  const author = world.requirePerson(message.authorUuid);
  return envelope(world, randomUUID(), 'post', author, room, commentObject(message), at, {
    id: message.uuid,
    type: 'edit',
  });
}

export function deleteActivity(world: SimWorld, message: Message, actor: Person, at: number): Activity {
  const room = world.requireRoom(message.roomUuid);
  return envelope(
    world,
    randomUUID(),
    'delete',
    actor,
    room,
    { id: message.uuid, objectType: 'activity' },
    at,
  );
}

export function cardActionActivity(world: SimWorld, action: AttachmentAction): Activity {
  const room = world.requireRoom(action.roomUuid);
  const actor = world.requirePerson(action.personUuid);
  return envelope(
    world,
    action.uuid,
    'cardAction',
    actor,
    room,
    { objectType: 'submit', inputs: opaqueCiphertext(JSON.stringify(action.inputs).length) },
    action.created,
    { id: action.messageUuid, type: 'cardAction' },
  );
}

function personObject(person: Person): Record<string, unknown> {
  return {
    id: person.uuid,
    entryUUID: person.uuid,
    objectType: 'person',
    displayName: person.displayName,
    emailAddress: person.email,
    entryEmail: person.email,
    type: person.kind === 'bot' ? 'BOT' : 'PERSON',
  };
}

export function membershipActivity(
  world: SimWorld,
  verb: 'add' | 'leave',
  actor: Person,
  room: Room,
  member: Person,
  at: number,
): Activity {
  return envelope(world, randomUUID(), verb, actor, room, personObject(member), at);
}

export function createRoomActivity(world: SimWorld, actor: Person, room: Room): Activity {
  return envelope(
    world,
    randomUUID(),
    'create',
    actor,
    room,
    {
      id: room.uuid,
      objectType: 'conversation',
      displayName: opaqueCiphertext(room.title.length),
      participants: { items: room.members.map((uuid) => personObject(world.requirePerson(uuid))) },
    },
    room.created,
  );
}

export function acknowledgeActivity(world: SimWorld, actor: Person, message: Message, at: number): Activity {
  const room = world.requireRoom(message.roomUuid);
  return envelope(
    world,
    randomUUID(),
    'acknowledge',
    actor,
    room,
    { id: message.uuid, objectType: 'activity' },
    at,
  );
}
