import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import { type SimClock, systemClock } from './clock.js';
import type { SimContext, SimUrls } from './context.js';
import { controlRoutes } from './control.js';
import { conversationRoutes } from './conversation.js';
import { type FailureRule, type RateLimitRule, RestFaultPlan, type RouteMatcher } from './faults.js';
import { attachmentActionRoutes } from './hydra/attachment-actions.js';
import { messageRoutes } from './hydra/messages.js';
import { peopleRoutes } from './hydra/people.js';
import { roomRoutes } from './hydra/rooms.js';
import { MercuryHub, type MercuryOptions, type SocketFaultFlags, type SocketInfo } from './mercury.js';
import { metricsRoutes } from './metrics.js';
import type { Message, Person, Region, RegionKey, Room, RoomType } from './model.js';
import { SimWorld } from './model.js';
import { type SimEventKind, type SimEventMap, SimRecorder, type WaitForOptions } from './recorder.js';
import { Router } from './router.js';
import { createRequestHandler } from './server.js';
import { type MessagingLimits, WEBEX_LIMITS, WebexService } from './service.js';
import { u2cRoutes } from './u2c.js';
import { actionView, messageView } from './views.js';
import { wdmRoutes } from './wdm.js';

/**
 * The in-process driver: starts the fake Webex cloud on 127.0.0.1, plays users, injects faults
 * and exposes what happened. Tests and the demo talk to Webex through this object only.
 */

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

export async function startWebexSimulator(options: WebexSimulatorOptions): Promise<WebexSimulator> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ level: 'silent' });
  const recorder = new SimRecorder();
  const socketFaults: SocketFaultFlags = {
    swallowPongs: false,
    pongMismatch: false,
    withholdBufferState: false,
  };
  const restFaults = new RestFaultPlan();
  const router = new Router();
  const server: Server = createServer();

  // Regions need the port, so the world is built after listen().
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const regions: Record<RegionKey, Region> = {
    us: {
      key: 'us',
      catalogId: 'urn:TEAM:us-east-2_a',
      cluster: 'us',
      host: `127.0.0.1:${port}`,
      catalogKey: `127.0.0.1:${port}`,
    },
    // A second host name for the same server, so the catalog can tell the regions apart. It is
    // listed as a second entry under another key, as the SDK's catalog fixtures do (see
    // docs/simulator.md "Regions and ids"): only a client that matches entry hosts finds it.
    eu: {
      key: 'eu',
      catalogId: 'urn:TEAM:eu-central-1_k',
      cluster: 'urn:TEAM:eu-central-1_k',
      host: `localhost:${port}`,
      catalogKey: 'conv-k.wbx2.com',
    },
  };
  const base = `http://127.0.0.1:${port}`;
  const urls: SimUrls = {
    base,
    u2c: `${base}/u2c/api/v1`,
    wdm: `${base}/wdm/api/v1`,
    hydra: `${base}/v1`,
    conversation: `${base}/conversation/api/v1`,
    metrics: `${base}/metrics/api/v1`,
    mercury: `ws://127.0.0.1:${port}`,
  };
  const world = new SimWorld(regions);
  const mercuryOptions: MercuryOptions = {
    authTimeoutMs: options.authTimeoutMs ?? 30_000,
    retentionMs: options.retentionMs ?? 15 * 60_000,
    bufferLimit: options.bufferLimit ?? 1000,
    badTokenClose: options.badTokenClose ?? { code: 4401, reason: 'authentication failed' },
  };
  const hub = new MercuryHub(world, recorder, clock, mercuryOptions, socketFaults, logger);
  const limits: MessagingLimits = { ...WEBEX_LIMITS, ...options.limits };
  const service = new WebexService(world, hub, recorder, clock, limits);
  const ctx: SimContext = {
    world,
    service,
    hub,
    clock,
    urls,
    maxDevicesPerUser: options.maxDevicesPerUser ?? 100,
    excessiveDevicesStatus: options.excessiveDevicesStatus ?? 400,
  };

  const botPerson = service.createPerson({
    kind: 'bot',
    displayName: options.botDisplayName ?? 'CAIPE',
    email: options.botEmail ?? 'caipe@webex.bot',
    token: options.botToken,
  });
  const handle = (person: Person): SimPerson => ({
    uuid: person.uuid,
    id: world.personId(person),
    displayName: person.displayName,
    email: person.email,
    token: person.token,
    kind: person.kind,
  });
  const bot = handle(botPerson);
  const personOf = (p: SimPerson): Person => world.requirePerson(p.uuid);
  const roomOf = (r: SimRoom | string): Room =>
    world.requireRoom(typeof r === 'string' ? (service.resolveRoomUuid(r) ?? r) : r.uuid);
  const roomHandle = (room: Room): SimRoom => ({
    uuid: room.uuid,
    id: world.roomId(room),
    type: room.type,
    title: room.title,
    region: room.region,
  });
  const toSimMessage = (message: Message): SimMessage =>
    ({ ...messageView(world, message), uuid: message.uuid }) as unknown as SimMessage;
  let userCount = 0;

  const sim: WebexSimulator = {
    urls,
    bot,
    createUser(input = {}) {
      userCount += 1;
      const personInput: Parameters<WebexService['createPerson']>[0] = {
        kind: input.kind ?? 'person',
        displayName: input.displayName ?? `User ${userCount}`,
        email: input.email ?? `user${userCount}@example.com`,
      };
      if (input.uuid) personInput.uuid = input.uuid;
      if (input.orgUuid) personInput.orgUuid = input.orgUuid;
      return handle(service.createPerson(personInput));
    },
    createRoom(input) {
      const roomInput: Parameters<WebexService['createRoom']>[0] = {
        type: input.type,
        members: input.members.map(personOf),
      };
      if (input.title !== undefined) roomInput.title = input.title;
      if (input.creator) roomInput.creator = personOf(input.creator);
      if (input.region) roomInput.region = input.region;
      if (input.announce !== undefined) roomInput.announce = input.announce;
      if (input.uuid) roomInput.uuid = input.uuid;
      return roomHandle(service.createRoom(roomInput));
    },
    createDirectRoom(user) {
      return sim.createRoom({ type: 'direct', members: [user, bot], creator: user });
    },
    addBotToRoom(room, by) {
      const target = roomOf(room);
      service.addMember(target, botPerson, by ? personOf(by) : world.requirePerson(target.creatorUuid));
    },
    addMember(room, person, by) {
      const target = roomOf(room);
      service.addMember(
        target,
        personOf(person),
        by ? personOf(by) : world.requirePerson(target.creatorUuid),
      );
    },
    removeMember(room, person, by) {
      service.removeMember(roomOf(room), personOf(person), by ? personOf(by) : personOf(person));
    },
    post(user, room, postOptions) {
      const target = roomOf(room);
      const mentions = [
        postOptions.mentionBot ? `<@personId:${bot.id}|${bot.displayName}>` : undefined,
        postOptions.mentionAll ? '<@all>' : undefined,
      ].filter((m) => m !== undefined);
      let markdown = postOptions.markdown;
      if (mentions.length > 0)
        markdown = `${mentions.join(' ')} ${markdown ?? postOptions.text ?? ''}`.trimEnd();
      const input: Parameters<WebexService['createMessage']>[1] = { roomId: world.roomId(target) };
      if (markdown !== undefined) input.markdown = markdown;
      if (postOptions.text !== undefined && mentions.length === 0) input.text = postOptions.text;
      if (postOptions.html !== undefined) input.html = postOptions.html;
      if (postOptions.parentId !== undefined) {
        input.parentId =
          typeof postOptions.parentId === 'string' ? postOptions.parentId : postOptions.parentId.id;
      }
      if (postOptions.files) input.files = postOptions.files;
      if (postOptions.attachments) input.attachments = postOptions.attachments;
      return toSimMessage(service.createMessage(personOf(user), input));
    },
    edit(user, messageId, fields) {
      const message = service.readableMessage(personOf(user), messageId);
      const room = world.requireRoom(message.roomUuid);
      return toSimMessage(
        service.editMessage(personOf(user), messageId, { roomId: world.roomId(room), ...fields }),
      );
    },
    deleteMessage(user, messageId) {
      service.deleteMessage(personOf(user), messageId);
    },
    submitCard(user, cardMessageId, inputs) {
      const action = service.submitCard(personOf(user), { type: 'submit', messageId: cardMessageId, inputs });
      return { ...actionView(world, action), uuid: action.uuid } as unknown as SimAttachmentAction;
    },
    acknowledge(user, messageId) {
      service.acknowledge(personOf(user), service.readableMessage(personOf(user), messageId));
    },
    faults: {
      dropTcp: (socketId) => hub.dropTcp(socketId),
      close: (code, reason = '', socketId) => hub.close(code, reason, socketId),
      closeWithoutStatus: (socketId) => hub.closeWithoutStatus(socketId),
      swallowPongs: (on) => {
        socketFaults.swallowPongs = on;
      },
      pongMismatch: (on) => {
        socketFaults.pongMismatch = on;
      },
      withholdBufferState: (on) => {
        socketFaults.withholdBufferState = on;
      },
      redeliver: (activityId) =>
        hub.redeliver((data) => {
          const activity = data.activity as { id?: unknown } | undefined;
          return activity?.id === activityId;
        }),
      sequenceGap: (count = 1, socketId) => hub.sequenceGap(count, socketId),
      shutdown: (socketId) => hub.shutdown(socketId),
      deleteDevice: (deviceUuid) => {
        const device = world.devices.get(deviceUuid);
        if (!device) throw new Error(`unknown device ${deviceUuid}`);
        device.deleted = true;
        hub.forgetDevice(deviceUuid);
      },
      rateLimit: (rule = {}) => restFaults.addRateLimit(rule),
      failNext: (rule) => restFaults.addFailure(rule),
      latency: (ms, matcher = {}) => restFaults.setLatency({ ...matcher, ms }),
      sendRaw: (payload, socketId) => hub.sendRaw(payload, socketId),
      deliverUnmentionedGroupPosts: (on) => {
        limits.deliverUnmentionedGroupPosts = on;
      },
      clear: () => {
        restFaults.clear();
        socketFaults.swallowPongs = false;
        socketFaults.pongMismatch = false;
        socketFaults.withholdBufferState = false;
        limits.deliverUnmentionedGroupPosts = options.limits?.deliverUnmentionedGroupPosts ?? false;
      },
    },
    log: recorder,
    roomMessages(room) {
      const target = roomOf(room);
      return [...world.messages.values()]
        .filter((m) => m.roomUuid === target.uuid)
        .sort((a, b) => a.seq - b.seq)
        .map((m) => ({
          ...toSimMessage(m),
          editCount: m.editCount,
          deleted: m.deleted !== undefined,
          authorUuid: m.authorUuid,
        }));
    },
    waitFor: (kind, predicate, waitOptions) => recorder.waitFor(kind, predicate, waitOptions),
    on: (kind, listener) => recorder.on(kind, listener),
    sockets: () => hub.list(),
    devices: () =>
      [...world.devices.values()].map((d) => ({
        uuid: d.uuid,
        url: `${urls.wdm}/devices/${d.uuid}`,
        webSocketUrl: `${urls.mercury}/v1/apps/wx2/registrations/${d.uuid}/messages`,
        ownerUuid: d.ownerUuid,
        name: d.fields.name,
        deleted: d.deleted,
      })),
    unackedFrames: (deviceUuid) => hub.unackedFrames(deviceUuid),
    async close() {
      await hub.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  router.add([
    ...u2cRoutes(ctx),
    ...wdmRoutes(ctx),
    ...peopleRoutes(ctx),
    ...messageRoutes(ctx),
    ...attachmentActionRoutes(ctx),
    ...roomRoutes(ctx),
    ...conversationRoutes(ctx),
    ...metricsRoutes(),
    ...(options.controlPlane ? controlRoutes(sim) : []),
  ]);
  const handler = createRequestHandler({
    world,
    router,
    faults: restFaults,
    recorder,
    clock,
    onInternalError: (error) => logger.error({ err: error }, 'webex simulator: internal error'),
  });
  server.on('request', (req, res) => {
    void handler(req, res);
  });
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  return sim;
}
