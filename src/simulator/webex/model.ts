import { randomUUID } from 'node:crypto';
import { hydraId } from './hydra-ids.js';

/**
 * The simulator's world: people, rooms, messages, card submissions and WDM devices, keyed by
 * raw UUID. Hydra ids are derived on the way out (see `views.ts`) so the cluster of a room
 * always decides the cluster of its ids, as in the real cloud.
 */

export type RegionKey = 'us' | 'eu';

export interface Region {
  key: RegionKey;
  /** Host-catalog id prefix, e.g. `urn:TEAM:us-east-2_a`. */
  catalogId: string;
  /** Cluster string inside Hydra ids (`us` for the original US cluster). */
  cluster: string;
  /** `host[:port]` that the conversation URLs of this region use; the catalog maps it back. */
  host: string;
  /**
   * The host-catalog key the region is listed under. It may differ from `host`: then `host` is only
   * one of the key's entries, and a client that looks activity hosts up by key alone misses it.
   */
  catalogKey: string;
}

export type PersonKind = 'person' | 'bot';

export interface Person {
  uuid: string;
  kind: PersonKind;
  displayName: string;
  email: string;
  token: string;
  orgUuid: string;
  created: number;
}

export type RoomType = 'direct' | 'group';

export interface Room {
  uuid: string;
  type: RoomType;
  title: string;
  region: RegionKey;
  /** Member UUIDs in join order. */
  members: string[];
  creatorUuid: string;
  created: number;
  lastActivity: number;
}

export interface Message {
  uuid: string;
  /** Monotonic creation order; breaks ties when the clock stands still. */
  seq: number;
  roomUuid: string;
  authorUuid: string;
  text: string;
  markdown?: string;
  html?: string;
  parentUuid?: string;
  mentionedPeople: string[];
  mentionedGroups: string[];
  files?: string[];
  attachments?: unknown[];
  created: number;
  updated?: number;
  editCount: number;
  deleted?: number;
}

export interface AttachmentAction {
  uuid: string;
  messageUuid: string;
  roomUuid: string;
  personUuid: string;
  inputs: Record<string, unknown>;
  created: number;
}

export interface Device {
  uuid: string;
  ownerUuid: string;
  fields: Record<string, unknown>;
  creationTime: number;
  modificationTime: number;
  etag: number;
  deleted: boolean;
}

export class SimWorld {
  readonly people = new Map<string, Person>();
  readonly rooms = new Map<string, Room>();
  readonly messages = new Map<string, Message>();
  readonly actions = new Map<string, AttachmentAction>();
  readonly devices = new Map<string, Device>();
  readonly orgUuid = randomUUID();
  private messageSeq = 0;

  constructor(readonly regions: Record<RegionKey, Region>) {}

  nextMessageSeq(): number {
    this.messageSeq += 1;
    return this.messageSeq;
  }

  personByToken(token: string): Person | undefined {
    for (const person of this.people.values()) if (person.token === token) return person;
    return undefined;
  }

  personByEmail(email: string): Person | undefined {
    const wanted = email.toLowerCase();
    for (const person of this.people.values()) if (person.email.toLowerCase() === wanted) return person;
    return undefined;
  }

  requirePerson(uuid: string): Person {
    const person = this.people.get(uuid);
    if (!person) throw new Error(`unknown person ${uuid}`);
    return person;
  }

  requireRoom(uuid: string): Room {
    const room = this.rooms.get(uuid);
    if (!room) throw new Error(`unknown room ${uuid}`);
    return room;
  }

  directRoomBetween(a: string, b: string): Room | undefined {
    for (const room of this.rooms.values()) {
      if (room.type === 'direct' && room.members.includes(a) && room.members.includes(b)) return room;
    }
    return undefined;
  }

  regionOf(room: Room): Region {
    return this.regions[room.region];
  }

  conversationUrl(room: Room): string {
    return `http://${this.regionOf(room).host}/conversation/api/v1/conversations/${room.uuid}`;
  }

  personId(person: Person | string): string {
    return hydraId('PEOPLE', typeof person === 'string' ? person : person.uuid);
  }

  roomId(room: Room): string {
    return hydraId('ROOM', room.uuid, this.regionOf(room).cluster);
  }

  messageId(message: Message): string {
    return hydraId('MESSAGE', message.uuid, this.regionOf(this.requireRoom(message.roomUuid)).cluster);
  }

  actionId(action: AttachmentAction): string {
    return hydraId(
      'ATTACHMENT_ACTION',
      action.uuid,
      this.regionOf(this.requireRoom(action.roomUuid)).cluster,
    );
  }

  membershipId(room: Room, personUuid: string): string {
    return hydraId('MEMBERSHIP', `${personUuid}:${room.uuid}`, this.regionOf(room).cluster);
  }
}
