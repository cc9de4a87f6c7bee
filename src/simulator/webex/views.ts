import type { AttachmentAction, Device, Message, Person, Room, SimWorld } from './model.js';

/** JSON shapes the real Hydra and WDM APIs return, built from the simulator's world. */

const iso = (ms: number): string => new Date(ms).toISOString();

export function personView(world: SimWorld, person: Person): Record<string, unknown> {
  const [firstName, ...rest] = person.displayName.split(' ');
  return {
    id: world.personId(person),
    emails: [person.email],
    phoneNumbers: [],
    displayName: person.displayName,
    nickName: firstName ?? person.displayName,
    firstName: firstName ?? person.displayName,
    lastName: rest.join(' '),
    avatar: `https://avatar-prod-us-east-2.webexcontent.com/default_avatar~1600`,
    orgId: orgIdOf(person.orgUuid),
    created: iso(person.created),
    type: person.kind,
  };
}

/** ORGANIZATION ids always use the `us` cluster (reference §5). */
function orgIdOf(orgUuid: string): string {
  return Buffer.from(`ciscospark://us/ORGANIZATION/${orgUuid}`).toString('base64url');
}

/** `viewer` decides the title of a direct room: Webex shows the other person's name. */
export function roomView(world: SimWorld, room: Room, viewer: Person): Record<string, unknown> {
  let title = room.title;
  if (room.type === 'direct') {
    const otherUuid = room.members.find((uuid) => uuid !== viewer.uuid);
    title = otherUuid ? (world.people.get(otherUuid)?.displayName ?? room.title) : room.title;
  }
  return {
    id: world.roomId(room),
    title,
    type: room.type,
    isLocked: false,
    lastActivity: iso(room.lastActivity),
    creatorId: world.personId(room.creatorUuid),
    created: iso(room.created),
    ownerId: 'consumer',
    isPublic: false,
    isReadOnly: false,
  };
}

export function messageView(world: SimWorld, message: Message): Record<string, unknown> {
  const room = world.requireRoom(message.roomUuid);
  const author = world.requirePerson(message.authorUuid);
  const view: Record<string, unknown> = {
    id: world.messageId(message),
    roomId: world.roomId(room),
    roomType: room.type,
    text: message.text,
    personId: world.personId(author),
    personEmail: author.email,
    created: iso(message.created),
  };
  if (message.parentUuid) {
    const parent = world.messages.get(message.parentUuid);
    if (parent) view.parentId = world.messageId(parent);
  }
  if (message.markdown !== undefined) view.markdown = message.markdown;
  if (message.html !== undefined) view.html = message.html;
  if (message.files) view.files = [...message.files];
  if (message.attachments) view.attachments = structuredClone(message.attachments);
  if (message.mentionedPeople.length > 0)
    view.mentionedPeople = message.mentionedPeople.map((u) => world.personId(u));
  if (message.mentionedGroups.length > 0) view.mentionedGroups = [...message.mentionedGroups];
  if (message.updated !== undefined) view.updated = iso(message.updated);
  view.isVoiceClip = false;
  return view;
}

export function actionView(world: SimWorld, action: AttachmentAction): Record<string, unknown> {
  const message = world.messages.get(action.messageUuid);
  const room = world.requireRoom(action.roomUuid);
  return {
    id: world.actionId(action),
    type: 'submit',
    messageId: message ? world.messageId(message) : undefined,
    inputs: structuredClone(action.inputs),
    personId: world.personId(action.personUuid),
    roomId: world.roomId(room),
    created: iso(action.created),
  };
}

export function membershipView(world: SimWorld, room: Room, personUuid: string): Record<string, unknown> {
  const person = world.requirePerson(personUuid);
  return {
    id: world.membershipId(room, personUuid),
    roomId: world.roomId(room),
    personId: world.personId(person),
    personEmail: person.email,
    personDisplayName: person.displayName,
    personOrgId: orgIdOf(person.orgUuid),
    isModerator: false,
    isMonitor: false,
    isRoomHidden: false,
    roomType: room.type,
    created: iso(room.created),
  };
}

export interface DeviceUrls {
  wdmBase: string;
  mercuryBase: string;
  conversationBase: string;
}

export function deviceView(world: SimWorld, device: Device, urls: DeviceUrls): Record<string, unknown> {
  return {
    ...device.fields,
    url: `${urls.wdmBase}/devices/${device.uuid}`,
    webSocketUrl: `${urls.mercuryBase}/v1/apps/wx2/registrations/${device.uuid}/messages`,
    userId: device.ownerUuid,
    orgId: world.orgUuid,
    creationTime: iso(device.creationTime),
    modificationTime: iso(device.modificationTime),
    services: {
      conversationServiceUrl: urls.conversationBase,
      wdmServiceUrl: urls.wdmBase,
    },
    features: { developer: [], entitlement: [], user: [] },
    capabilities: {},
  };
}
