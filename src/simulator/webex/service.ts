import { randomUUID } from 'node:crypto';
import {
  type Activity,
  acknowledgeActivity,
  cardActionActivity,
  createRoomActivity,
  deleteActivity,
  editActivity,
  fileScannedActivity,
  membershipActivity,
  postActivity,
} from './activities.js';
import type { SimClock } from './clock.js';
import {
  ACTION_NOT_FOUND,
  MESSAGE_NOT_FOUND,
  PERSON_NOT_FOUND,
  ROOM_NOT_FOUND,
  SimHttpError,
} from './http-error.js';
import { type HydraKind, readHydraId } from './hydra-ids.js';
import { renderMarkdown, utf8Bytes } from './markup.js';
import { isRecord, type MercuryHub } from './mercury.js';
import type { AttachmentAction, Message, Person, RegionKey, Room, RoomType, SimWorld } from './model.js';
import type { SimRecorder } from './recorder.js';

/**
 * Webex's messaging rules, shared by the REST routes and the in-process driver so a user's post
 * from a test obeys exactly what the bot's REST calls obey. Inputs use Hydra ids, as on the wire.
 */

export interface MessagingLimits {
  /** Bytes (UTF-8) per `text`, `markdown` and `html` field. Webex: 7439. */
  maxMessageBytes: number;
  /** Edits allowed per message; the next one gets 400. Webex: 10. */
  maxEdits: number;
  /** Actions (buttons) per card. Webex: 5. */
  maxCardActions: number;
  /** Serialized size of one card; undocumented by Webex, so configurable. */
  maxCardBytes: number;
  /** Debug switch: also deliver group posts that do not mention a bot to that bot's socket. */
  deliverUnmentionedGroupPosts: boolean;
}

export const WEBEX_LIMITS: MessagingLimits = {
  maxMessageBytes: 7439,
  maxEdits: 10,
  maxCardActions: 5,
  maxCardBytes: 28 * 1024,
  deliverUnmentionedGroupPosts: false,
};

export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export interface CreateMessageInput {
  roomId?: unknown;
  toPersonId?: unknown;
  toPersonEmail?: unknown;
  text?: unknown;
  markdown?: unknown;
  html?: unknown;
  parentId?: unknown;
  files?: unknown;
  attachments?: unknown;
}

export interface EditMessageInput {
  roomId?: unknown;
  text?: unknown;
  markdown?: unknown;
  html?: unknown;
}

export interface ListMessagesQuery {
  roomId?: string;
  parentId?: string;
  mentionedPeople?: string;
  before?: string;
  beforeMessage?: string;
  max?: string;
}

export interface MessagePage {
  items: Message[];
  /** Set when more items exist; the next page starts before this message. */
  nextBefore?: Message;
}

export class WebexService {
  constructor(
    readonly world: SimWorld,
    private readonly hub: MercuryHub,
    private readonly recorder: SimRecorder,
    private readonly clock: SimClock,
    readonly limits: MessagingLimits,
  ) {}

  // ---- people and rooms ---------------------------------------------------------------

  createPerson(input: {
    kind: Person['kind'];
    displayName: string;
    email: string;
    token?: string;
    uuid?: string;
    /** Another organisation than the world's (a partner company, an outsider). */
    orgUuid?: string;
  }): Person {
    const person: Person = {
      uuid: input.uuid ?? randomUUID(),
      kind: input.kind,
      displayName: input.displayName,
      email: input.email,
      token: input.token ?? `sim-token-${randomUUID()}`,
      orgUuid: input.orgUuid ?? this.world.orgUuid,
      created: this.clock.now(),
    };
    this.world.people.set(person.uuid, person);
    return person;
  }

  createRoom(input: {
    type: RoomType;
    title?: string;
    members: Person[];
    creator?: Person;
    region?: RegionKey;
    announce?: boolean;
    uuid?: string;
  }): Room {
    const memberUuids = [...new Set(input.members.map((m) => m.uuid))];
    if (input.type === 'direct' && memberUuids.length !== 2) {
      throw new SimHttpError(400, 'A direct room has exactly two members.');
    }
    const creator = input.creator ?? input.members[0];
    if (!creator) throw new SimHttpError(400, 'A room needs at least one member.');
    const now = this.clock.now();
    const room: Room = {
      uuid: input.uuid ?? randomUUID(),
      type: input.type,
      title: input.title ?? (input.type === 'direct' ? 'Direct' : 'Space'),
      region: input.region ?? 'us',
      members: memberUuids,
      creatorUuid: creator.uuid,
      created: now,
      lastActivity: now,
    };
    this.world.rooms.set(room.uuid, room);
    if (input.announce !== false) this.emit(createRoomActivity(this.world, creator, room), room.members);
    return room;
  }

  addMember(room: Room, member: Person, by: Person): void {
    if (room.type === 'direct') throw new SimHttpError(400, 'Cannot add members to a direct room.');
    if (!room.members.includes(member.uuid)) room.members.push(member.uuid);
    room.lastActivity = this.clock.now();
    this.emit(membershipActivity(this.world, 'add', by, room, member, this.clock.now()), room.members);
  }

  removeMember(room: Room, member: Person, by: Person): void {
    const recipients = [...room.members];
    room.members = room.members.filter((uuid) => uuid !== member.uuid);
    this.emit(membershipActivity(this.world, 'leave', by, room, member, this.clock.now()), recipients);
  }

  resolvePersonId(id: unknown): Person | undefined {
    const decoded = readHydraId(id);
    if (decoded?.kind !== 'PEOPLE' || decoded.cluster !== 'us') return undefined;
    return this.world.people.get(decoded.inner);
  }

  /** Raw UUID of a room given by its Hydra id (any cluster check aside), for the driver. */
  resolveRoomUuid(roomId: string): string | undefined {
    const decoded = readHydraId(roomId);
    return decoded?.kind === 'ROOM' ? decoded.inner : undefined;
  }

  /** A room the caller belongs to, addressed by a cluster-correct Hydra id; else 404. */
  roomFor(caller: Person, roomId: unknown): Room {
    const room = this.lookup(
      roomId,
      'ROOM',
      (uuid) => this.world.rooms.get(uuid),
      (r) => r,
    );
    if (!room?.members.includes(caller.uuid)) throw new SimHttpError(404, ROOM_NOT_FOUND);
    return room;
  }

  // ---- messages -----------------------------------------------------------------------

  createMessage(caller: Person, input: CreateMessageInput): Message {
    const room = this.destinationRoom(caller, input);
    const text = optionalString(input, 'text');
    const markdown = optionalString(input, 'markdown');
    const html = optionalString(input, 'html');
    this.checkSizes({ text, markdown, html });
    const files = this.checkFiles(input.files);
    const attachments = this.checkAttachments(input.attachments);
    if (text === undefined && markdown === undefined && html === undefined && !files && !attachments) {
      throw new SimHttpError(400, 'A message needs text, markdown, html, files or attachments.');
    }
    let parentUuid: string | undefined;
    if (input.parentId !== undefined) {
      const parent = this.lookup(
        input.parentId,
        'MESSAGE',
        (uuid) => this.world.messages.get(uuid),
        (m) => this.world.rooms.get(m.roomUuid),
      );
      if (!parent || parent.deleted !== undefined || parent.roomUuid !== room.uuid) {
        throw new SimHttpError(400, 'Invalid parentId: no such message in this room.');
      }
      if (parent.parentUuid !== undefined) {
        throw new SimHttpError(
          400,
          'Invalid parentId: a reply cannot be the parent of a thread; use the thread root.',
        );
      }
      parentUuid = parent.uuid;
    }
    const now = this.clock.now();
    const message: Message = {
      uuid: randomUUID(),
      seq: this.world.nextMessageSeq(),
      roomUuid: room.uuid,
      authorUuid: caller.uuid,
      ...this.renderBody({ text, markdown, html }),
      created: now,
      editCount: 0,
    };
    if (parentUuid) message.parentUuid = parentUuid;
    if (files) message.files = files;
    if (attachments) message.attachments = attachments;
    this.world.messages.set(message.uuid, message);
    room.lastActivity = now;
    const recipients = room.members.filter((uuid) => this.receives(uuid, message));
    this.emit(postActivity(this.world, message), recipients);
    if (files) this.emit(fileScannedActivity(this.world, message, now), recipients);
    return message;
  }

  editMessage(caller: Person, messageId: unknown, input: EditMessageInput): Message {
    const message = this.readableMessage(caller, messageId);
    if (input.roomId === undefined) throw new SimHttpError(400, 'roomId is required.');
    const room = this.world.requireRoom(message.roomUuid);
    if (
      this.lookup(
        input.roomId,
        'ROOM',
        (uuid) => this.world.rooms.get(uuid),
        (r) => r,
      ) !== room
    ) {
      throw new SimHttpError(400, 'roomId does not match the message.');
    }
    if (message.authorUuid !== caller.uuid)
      throw new SimHttpError(403, 'Only the author can edit a message.');
    if (message.attachments || message.files) {
      throw new SimHttpError(400, 'Editing a message with files or attachments is unsupported.');
    }
    const text = optionalString(input, 'text');
    const markdown = optionalString(input, 'markdown');
    const html = optionalString(input, 'html');
    if (markdown !== undefined && html !== undefined) {
      throw new SimHttpError(400, 'markdown and html cannot be used together.');
    }
    if (text === undefined && markdown === undefined && html === undefined) {
      throw new SimHttpError(400, 'An edit needs text, markdown or html.');
    }
    this.checkSizes({ text, markdown, html });
    if (message.editCount >= this.limits.maxEdits) {
      throw new SimHttpError(
        400,
        `Edit limit reached: a message can be edited at most ${this.limits.maxEdits} times.`,
      );
    }
    const wasVisibleTo = new Set(room.members.filter((uuid) => this.receives(uuid, message)));
    const body = this.renderBody({ text, markdown, html });
    message.text = body.text;
    message.mentionedPeople = body.mentionedPeople;
    message.mentionedGroups = body.mentionedGroups;
    if (body.markdown === undefined) delete message.markdown;
    else message.markdown = body.markdown;
    if (body.html === undefined) delete message.html;
    else message.html = body.html;
    message.editCount += 1;
    message.updated = this.clock.now();
    room.lastActivity = message.updated;
    const recipients = room.members.filter((uuid) => wasVisibleTo.has(uuid) || this.receives(uuid, message));
    this.emit(editActivity(this.world, message, message.updated), recipients);
    return message;
  }

  deleteMessage(caller: Person, messageId: unknown): void {
    const message = this.readableMessage(caller, messageId);
    if (message.authorUuid !== caller.uuid)
      throw new SimHttpError(403, 'Only the author can delete a message.');
    const room = this.world.requireRoom(message.roomUuid);
    const recipients = room.members.filter((uuid) => this.receives(uuid, message));
    message.deleted = this.clock.now();
    this.emit(deleteActivity(this.world, message, caller, message.deleted), recipients);
  }

  /** The caller may read it (bots: direct rooms, own messages, or a mention in group rooms); else 404. */
  readableMessage(caller: Person, messageId: unknown): Message {
    const message = this.lookup(
      messageId,
      'MESSAGE',
      (uuid) => this.world.messages.get(uuid),
      (m) => this.world.rooms.get(m.roomUuid),
    );
    if (!message || message.deleted !== undefined || !this.canRead(caller, message)) {
      throw new SimHttpError(404, MESSAGE_NOT_FOUND);
    }
    return message;
  }

  listMessages(caller: Person, query: ListMessagesQuery): MessagePage {
    if (!query.roomId) throw new SimHttpError(400, 'roomId is required.');
    const room = this.roomFor(caller, query.roomId);
    const mentionFilter = query.mentionedPeople
      ?.split(',')
      .map((id) => (id === 'me' ? caller : this.resolvePersonId(id)));
    if (mentionFilter?.some((p) => p === undefined)) throw new SimHttpError(400, 'Invalid mentionedPeople.');
    if (caller.kind === 'bot' && room.type === 'group' && !mentionFilter) {
      throw new SimHttpError(403, 'Bots must use mentionedPeople=me to list messages in a group room.');
    }
    const max = parseMax(query.max, mentionFilter ? 100 : 1000);
    let parentUuid: string | undefined;
    if (query.parentId !== undefined) {
      parentUuid = this.readableOrBadRequest(caller, query.parentId, room).uuid;
    }
    let beforeSeq = Number.POSITIVE_INFINITY;
    if (query.beforeMessage !== undefined)
      beforeSeq = this.readableOrBadRequest(caller, query.beforeMessage, room).seq;
    let beforeTime = Number.POSITIVE_INFINITY;
    if (query.before !== undefined) {
      beforeTime = Date.parse(query.before);
      if (Number.isNaN(beforeTime)) throw new SimHttpError(400, 'Invalid before: expected an ISO 8601 date.');
    }
    const mentionUuids = mentionFilter?.map((p) => (p as Person).uuid);
    const matching = [...this.world.messages.values()]
      .filter(
        (m) =>
          m.roomUuid === room.uuid &&
          m.deleted === undefined &&
          m.seq < beforeSeq &&
          m.created < beforeTime &&
          (parentUuid === undefined || m.parentUuid === parentUuid) &&
          (!mentionUuids || mentionUuids.some((uuid) => m.mentionedPeople.includes(uuid))) &&
          this.canRead(caller, m),
      )
      .sort((a, b) => b.seq - a.seq);
    const items = matching.slice(0, max);
    const last = items.at(-1);
    return matching.length > max && last ? { items, nextBefore: last } : { items };
  }

  directMessages(
    caller: Person,
    query: { personId?: string; personEmail?: string; parentId?: string },
  ): Message[] {
    const other = query.personId
      ? this.resolvePersonId(query.personId)
      : query.personEmail
        ? this.world.personByEmail(query.personEmail)
        : undefined;
    if (!query.personId && !query.personEmail)
      throw new SimHttpError(400, 'personId or personEmail is required.');
    if (!other) throw new SimHttpError(404, PERSON_NOT_FOUND);
    const room = this.world.directRoomBetween(caller.uuid, other.uuid);
    if (!room) return [];
    const parentUuid =
      query.parentId !== undefined ? this.readableOrBadRequest(caller, query.parentId, room).uuid : undefined;
    return [...this.world.messages.values()]
      .filter(
        (m) =>
          m.roomUuid === room.uuid && m.deleted === undefined && (!parentUuid || m.parentUuid === parentUuid),
      )
      .sort((a, b) => b.seq - a.seq);
  }

  canRead(person: Person, message: Message): boolean {
    const room = this.world.rooms.get(message.roomUuid);
    if (!room?.members.includes(person.uuid)) return false;
    if (person.kind !== 'bot' || room.type === 'direct' || message.authorUuid === person.uuid) return true;
    return message.mentionedPeople.includes(person.uuid) || message.mentionedGroups.includes('all');
  }

  // ---- cards --------------------------------------------------------------------------

  submitCard(
    caller: Person,
    input: { type?: unknown; messageId?: unknown; inputs?: unknown },
  ): AttachmentAction {
    if (input.type !== 'submit') throw new SimHttpError(400, "type must be 'submit'.");
    if (!isRecord(input.inputs)) throw new SimHttpError(400, 'inputs must be an object.');
    const card = this.readableMessage(caller, input.messageId);
    if (!card.attachments) throw new SimHttpError(400, 'The message has no card to submit.');
    const action: AttachmentAction = {
      uuid: randomUUID(),
      messageUuid: card.uuid,
      roomUuid: card.roomUuid,
      personUuid: caller.uuid,
      inputs: structuredClone(input.inputs),
      created: this.clock.now(),
    };
    this.world.actions.set(action.uuid, action);
    this.emit(cardActionActivity(this.world, action), new Set([card.authorUuid, caller.uuid]));
    return action;
  }

  /** Readable by the submitter and by the author of the card. */
  readableAction(caller: Person, actionId: unknown): AttachmentAction {
    const action = this.lookup(
      actionId,
      'ATTACHMENT_ACTION',
      (uuid) => this.world.actions.get(uuid),
      (a) => this.world.rooms.get(a.roomUuid),
    );
    const card = action ? this.world.messages.get(action.messageUuid) : undefined;
    if (!action || (action.personUuid !== caller.uuid && card?.authorUuid !== caller.uuid)) {
      throw new SimHttpError(404, ACTION_NOT_FOUND);
    }
    return action;
  }

  acknowledge(caller: Person, message: Message): void {
    const room = this.world.requireRoom(message.roomUuid);
    this.emit(acknowledgeActivity(this.world, caller, message, this.clock.now()), room.members);
  }

  // ---- internals ----------------------------------------------------------------------

  emit(activity: Activity, recipients: Iterable<string>): void {
    const list = [...new Set(recipients)];
    this.hub.deliver(list, { eventType: 'conversation.activity', activity });
    this.recorder.record('activity', { activity, recipients: list, at: this.clock.now() });
  }

  /** Whether the person's devices get the activity of this message (the bot mention rule). */
  private receives(personUuid: string, message: Message): boolean {
    const person = this.world.people.get(personUuid);
    if (!person) return false;
    return (
      this.canRead(person, message) || (person.kind === 'bot' && this.limits.deliverUnmentionedGroupPosts)
    );
  }

  /**
   * Decodes a Hydra id of the expected type whose cluster matches the owning room's cluster.
   * Raw UUIDs, other types and wrong-cluster ids resolve to nothing, as Webex 404s them.
   */
  private lookup<T>(
    id: unknown,
    type: HydraKind,
    find: (uuid: string) => T | undefined,
    roomOf: (entity: T) => Room | undefined,
  ): T | undefined {
    const decoded = readHydraId(id);
    if (!decoded || decoded.kind !== type) return undefined;
    const entity = find(decoded.inner);
    const room = entity ? roomOf(entity) : undefined;
    if (!entity || !room || this.world.regionOf(room).cluster !== decoded.cluster) return undefined;
    return entity;
  }

  private readableOrBadRequest(caller: Person, messageId: string, room: Room): Message {
    try {
      const message = this.readableMessage(caller, messageId);
      if (message.roomUuid === room.uuid) return message;
    } catch {
      // Reported below as a bad parameter, as list endpoints do.
    }
    throw new SimHttpError(400, 'Invalid message id in query.');
  }

  private destinationRoom(caller: Person, input: CreateMessageInput): Room {
    const given = [input.roomId, input.toPersonId, input.toPersonEmail].filter((v) => v !== undefined);
    if (given.length !== 1)
      throw new SimHttpError(400, 'Exactly one of roomId, toPersonId or toPersonEmail is required.');
    if (input.roomId !== undefined) return this.roomFor(caller, input.roomId);
    const other =
      input.toPersonId !== undefined
        ? this.resolvePersonId(input.toPersonId)
        : typeof input.toPersonEmail === 'string'
          ? this.world.personByEmail(input.toPersonEmail)
          : undefined;
    if (!other) throw new SimHttpError(404, PERSON_NOT_FOUND);
    return (
      this.world.directRoomBetween(caller.uuid, other.uuid) ??
      this.createRoom({ type: 'direct', members: [caller, other], creator: caller })
    );
  }

  private renderBody(fields: {
    text?: string;
    markdown?: string;
    html?: string;
  }): Pick<Message, 'text' | 'markdown' | 'html' | 'mentionedPeople' | 'mentionedGroups'> {
    const rendered =
      fields.markdown !== undefined
        ? renderMarkdown(this.world, fields.markdown, (id) => this.resolvePersonId(id))
        : undefined;
    const body: Pick<Message, 'text' | 'markdown' | 'html' | 'mentionedPeople' | 'mentionedGroups'> = {
      text: fields.text ?? rendered?.text ?? stripTags(fields.html ?? ''),
      mentionedPeople: rendered?.mentionedPeople ?? [],
      mentionedGroups: rendered?.mentionedGroups ?? [],
    };
    if (fields.markdown !== undefined) body.markdown = fields.markdown;
    const html = fields.html ?? rendered?.html;
    if (html !== undefined) body.html = html;
    return body;
  }

  private checkSizes(fields: Record<string, string | undefined>): void {
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && utf8Bytes(value) > this.limits.maxMessageBytes) {
        throw new SimHttpError(
          400,
          `The ${name} field exceeds the maximum length of ${this.limits.maxMessageBytes} bytes.`,
        );
      }
    }
  }

  private checkFiles(files: unknown): string[] | undefined {
    if (files === undefined) return undefined;
    if (!Array.isArray(files) || files.some((f) => typeof f !== 'string')) {
      throw new SimHttpError(400, 'files must be an array of URLs.');
    }
    if (files.length > 1) throw new SimHttpError(400, 'Only one file can be attached to a message.');
    return files.length === 0 ? undefined : [...(files as string[])];
  }

  private checkAttachments(attachments: unknown): unknown[] | undefined {
    if (attachments === undefined) return undefined;
    if (!Array.isArray(attachments)) throw new SimHttpError(400, 'attachments must be an array.');
    if (attachments.length === 0) return undefined;
    if (attachments.length > 1)
      throw new SimHttpError(400, 'Only one attachment (card) is allowed per message.');
    const [card] = attachments as unknown[];
    if (!isRecord(card) || card.contentType !== CARD_CONTENT_TYPE || !isRecord(card.content)) {
      throw new SimHttpError(
        400,
        `An attachment needs contentType '${CARD_CONTENT_TYPE}' and a content object.`,
      );
    }
    if (card.content.type !== 'AdaptiveCard')
      throw new SimHttpError(400, "The card content must have type 'AdaptiveCard'.");
    const actions = card.content.actions;
    if (actions !== undefined && (!Array.isArray(actions) || actions.length > this.limits.maxCardActions)) {
      throw new SimHttpError(400, `A card can have at most ${this.limits.maxCardActions} actions.`);
    }
    if (utf8Bytes(JSON.stringify(card)) > this.limits.maxCardBytes) {
      throw new SimHttpError(400, `The card exceeds the maximum size of ${this.limits.maxCardBytes} bytes.`);
    }
    return [structuredClone(card)];
  }
}

function optionalString(input: object, key: string): string | undefined {
  const value = (input as Record<string, unknown>)[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SimHttpError(400, `${key} must be a string.`);
  return value;
}

function parseMax(value: string | undefined, cap: number): number {
  if (value === undefined) return Math.min(50, cap);
  const max = Number(value);
  if (!Number.isInteger(max) || max < 1) throw new SimHttpError(400, 'max must be a positive integer.');
  return Math.min(max, cap);
}

function stripTags(html: string): string {
  return html.replace(/<[^>]*>/g, '').trim();
}
