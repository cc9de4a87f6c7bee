/**
 * The simulator's public surface as types: what tests and the demo hold (`WebexSimulator`) and
 * the shapes it hands out. The driver (`driver.ts`) implements it; the control API reads it.
 */
import type { Logger } from 'pino';
import type { SimClock } from './clock.js';
import type { SimUrls } from './context.js';
import type { FailureRule, RateLimitRule, RouteMatcher } from './faults.js';
import type { SocketInfo } from './mercury.js';
import type { RegionKey, RoomType } from './model.js';
import type { SimEventKind, SimEventMap, SimRecorder, WaitForOptions } from './recorder.js';
import type { MessagingLimits } from './service.js';
import type { WriteLimitOptions } from './write-limit.js';

export interface WebexSimulatorOptions {
  /** The token the bot will use; REST and the socket accept it for the bot. */
  botToken: string;
  botDisplayName?: string;
  botEmail?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  clock?: SimClock;
  /** Socket auth deadline; default 30000 ms. */
  authTimeoutMs?: number;
  /** How long unacked frames stay re-deliverable; default 15 min. */
  retentionMs?: number;
  /** Unacked frames kept per device; default 1000. */
  bufferLimit?: number;
  /** Close sent on a bad `authorization` frame; default 4401 "authentication failed". */
  badTokenClose?: { code: number; reason: string };
  /** Override Webex's messaging limits (7439 bytes, 10 edits, 5 card actions, 28 KB cards). */
  limits?: Partial<MessagingLimits>;
  /** WDM registrations per user before "User has excessive device registrations"; default 100. */
  maxDevicesPerUser?: number;
  /** Status of that refusal (undocumented by Webex); default 400. */
  excessiveDevicesStatus?: number;
  /** Serve the HTTP control plane under `/_sim` (for the demo); default false. */
  controlPlane?: boolean;
  /** For the simulator's own internal errors; silent by default. */
  logger?: Logger;
  /** A server-side limit on the bot's (and every caller's) Hydra writes; unlimited by default. */
  writeLimit?: WriteLimitOptions;
}

/** A person as tests see it: raw UUID, Hydra id and credentials. */
export interface SimPerson {
  uuid: string;
  /** Hydra `PEOPLE` id. */
  id: string;
  displayName: string;
  email: string;
  token: string;
  kind: 'person' | 'bot';
}

export interface SimRoom {
  uuid: string;
  /** Hydra `ROOM` id, in the room's cluster. */
  id: string;
  type: RoomType;
  title: string;
  region: RegionKey;
}

/** A message as Hydra returns it, plus its raw UUID (the activity id on the socket). */
export interface SimMessage {
  uuid: string;
  id: string;
  roomId: string;
  roomType: RoomType;
  text: string;
  markdown?: string;
  html?: string;
  parentId?: string;
  personId: string;
  personEmail: string;
  mentionedPeople?: string[];
  mentionedGroups?: string[];
  files?: string[];
  attachments?: unknown[];
  created: string;
  updated?: string;
}

/** Everything the simulator holds about a message, deleted ones included. */
export interface StoredMessage extends SimMessage {
  editCount: number;
  deleted: boolean;
  authorUuid: string;
}

export interface SimAttachmentAction {
  uuid: string;
  id: string;
  type: 'submit';
  messageId: string;
  inputs: Record<string, unknown>;
  personId: string;
  roomId: string;
  created: string;
}

export interface PostOptions {
  text?: string;
  markdown?: string;
  html?: string;
  /** Hydra id of the thread root (or the root message itself). */
  parentId?: string | { id: string };
  /** Prefix a `<@personId:…|Name>` mention of the bot, as the Webex app does for an @mention. */
  mentionBot?: boolean;
  mentionAll?: boolean;
  files?: string[];
  attachments?: unknown[];
}

export interface SimDevice {
  uuid: string;
  url: string;
  webSocketUrl: string;
  ownerUuid: string;
  name: unknown;
  deleted: boolean;
}

export interface SimFaults {
  /** Kill the TCP connection of open sockets (or one) without a close frame: 1006 at the client. */
  dropTcp(socketId?: number): void;
  /** Close open sockets (or one) with this code and reason, e.g. 1011, 4000 "Replaced", 4401. */
  close(code: number, reason?: string, socketId?: number): void;
  /** Close sockets (or one), also before readiness, with a close frame that has no code: 1005 at the client. */
  closeWithoutStatus(socketId?: number): void;
  swallowPongs(on: boolean): void;
  /** Answer pings with a pong that carries a different id. */
  pongMismatch(on: boolean): void;
  /** Authorize new sockets but never send `mercury.buffer_state`. */
  withholdBufferState(on: boolean): void;
  /** Deliver the same activity again in a new frame (new frame id). Returns the frames sent. */
  redeliver(activityId: string): number;
  /**
   * The next frame on open sockets (or one) skips `count` sequence numbers; a negative count makes
   * it go back instead (a backward gap: numbers repeat).
   */
  sequenceGap(count?: number, socketId?: number): void;
  /** Send a `shutdown` frame; the socket closes with 4001 once a new socket on its device authorizes. */
  shutdown(socketId?: number): void;
  /** Delete a WDM device server-side: its next handshake gets HTTP 404, PUT gets 404. */
  deleteDevice(deviceUuid: string): void;
  /** The next `times` matching requests get 429, with `Retry-After` only when `retryAfterS` is set. */
  rateLimit(rule?: RateLimitRule): void;
  /** The next `times` matching requests get `status`. */
  failNext(rule: FailureRule): void;
  /** Delay matching REST responses by `ms` (0 removes it). */
  latency(ms: number, matcher?: RouteMatcher): void;
  /** Send any payload (a string is sent verbatim, even if not JSON) to open sockets. */
  sendRaw(payload: string | Record<string, unknown>, socketId?: number): void;
  /** Debug switch: bots also get group posts that do not mention them. */
  deliverUnmentionedGroupPosts(on: boolean): void;
  /** Remove every REST fault and reset every socket switch. */
  clear(): void;
}

export interface WebexSimulator {
  urls: SimUrls;
  bot: SimPerson;
  createUser(input?: {
    displayName?: string;
    email?: string;
    kind?: 'person' | 'bot';
    uuid?: string;
    /** The person's organisation (raw UUID); the world's own by default. */
    orgUuid?: string;
  }): SimPerson;
  createRoom(input: {
    type: RoomType;
    title?: string;
    members: SimPerson[];
    creator?: SimPerson;
    region?: RegionKey;
    /** Emit the `create` activity to the members (default true). */
    announce?: boolean;
    /** A fixed room UUID (e.g. a reference vector); random otherwise. */
    uuid?: string;
  }): SimRoom;
  /** A 1:1 room between the user and the bot. */
  createDirectRoom(user: SimPerson): SimRoom;
  /** Adds the bot to a group room: an `add` activity whose object is the bot. */
  addBotToRoom(room: SimRoom, by?: SimPerson): void;
  addMember(room: SimRoom, person: SimPerson, by?: SimPerson): void;
  removeMember(room: SimRoom, person: SimPerson, by?: SimPerson): void;
  post(user: SimPerson, room: SimRoom, options: PostOptions): SimMessage;
  edit(
    user: SimPerson,
    messageId: string,
    options: { text?: string; markdown?: string; html?: string },
  ): SimMessage;
  deleteMessage(user: SimPerson, messageId: string): void;
  submitCard(user: SimPerson, cardMessageId: string, inputs: Record<string, unknown>): SimAttachmentAction;
  /** A read receipt (`acknowledge` activity). */
  acknowledge(user: SimPerson, messageId: string): void;
  faults: SimFaults;
  log: SimRecorder;
  roomMessages(room: SimRoom | string): StoredMessage[];
  waitFor<K extends SimEventKind>(
    kind: K,
    predicate?: (record: SimEventMap[K]) => boolean,
    options?: WaitForOptions,
  ): Promise<SimEventMap[K]>;
  on<K extends SimEventKind>(kind: K, listener: (record: SimEventMap[K]) => void): () => void;
  sockets(): SocketInfo[];
  devices(): SimDevice[];
  unackedFrames(deviceUuid: string): Array<{ id: string; data: Record<string, unknown> }>;
  close(): Promise<void>;
}
