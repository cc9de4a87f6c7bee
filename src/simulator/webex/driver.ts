import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type {
  SimAttachmentAction,
  SimMessage,
  SimPerson,
  SimRoom,
  WebexSimulator,
  WebexSimulatorOptions,
} from './api.js';
import { systemClock } from './clock.js';
import type { SimContext, SimUrls } from './context.js';
import { controlRoutes } from './control.js';
import { conversationRoutes } from './conversation.js';
import { RestFaultPlan } from './faults.js';
import { attachmentActionRoutes } from './hydra/attachment-actions.js';
import { messageRoutes } from './hydra/messages.js';
import { peopleRoutes } from './hydra/people.js';
import { roomRoutes } from './hydra/rooms.js';
import { MercuryHub, type MercuryOptions, type SocketFaultFlags } from './mercury.js';
import { metricsRoutes } from './metrics.js';
import type { Message, Person, Region, RegionKey, Room } from './model.js';
import { SimWorld } from './model.js';
import { SimRecorder } from './recorder.js';
import { Router } from './router.js';
import { createRequestHandler } from './server.js';
import { type MessagingLimits, WEBEX_LIMITS, WebexService } from './service.js';
import { u2cRoutes } from './u2c.js';
import { actionView, messageView } from './views.js';
import { wdmRoutes } from './wdm.js';
import { WriteLimit } from './write-limit.js';

/**
 * The in-process driver: starts the fake Webex cloud on 127.0.0.1, plays users, injects faults
 * and exposes what happened. Tests and the demo talk to Webex through this object only.
 */

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
  const writeLimit = options.writeLimit ? new WriteLimit(options.writeLimit, clock) : undefined;
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
    ...(writeLimit ? { writeLimit } : {}),
    onInternalError: (error) => logger.error({ err: error }, 'webex simulator: internal error'),
  });
  server.on('request', (req, res) => {
    void handler(req, res);
  });
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  return sim;
}
