import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { SimClock } from './clock.js';
import type { SimWorld } from './model.js';
import type { SimRecorder } from './recorder.js';

/**
 * Mercury, the device WebSocket: in-band auth, `mercury.buffer_state`, acks, ping/pong,
 * per-socket sequence numbers, per-device buffers of unacked frames that are re-delivered on
 * reconnect, `4000 Replaced` for a second socket and the `shutdown` + 4001 switchover.
 */

export const REGISTRATION_PATH = /^\/v1\/apps\/wx2\/registrations\/([^/]+)\/messages$/;
export const AUTH_TIMEOUT_REASON =
  'authentication did not happen within the timeout window of 30000 seconds.';

export interface MercuryOptions {
  authTimeoutMs: number;
  /** Unacked frames older than this are not re-delivered. */
  retentionMs: number;
  /** Most unacked frames kept per device; the oldest go first. */
  bufferLimit: number;
  badTokenClose: { code: number; reason: string };
}

/** Switches the fault API flips; read on every frame, so a change applies at once. */
export interface SocketFaultFlags {
  swallowPongs: boolean;
  /** Answer pings with a pong carrying a different id. */
  pongMismatch: boolean;
  /** Authorize but never send `mercury.buffer_state` (and so no events). */
  withholdBufferState: boolean;
}

export type SocketState = 'authorizing' | 'authorized' | 'open' | 'closing' | 'closed';

export interface SocketInfo {
  id: number;
  deviceUuid: string;
  state: SocketState;
  query: Record<string, string>;
  lastSequenceNumber: number;
  shutdownSent: boolean;
}

interface LiveSocket extends SocketInfo {
  ws: WebSocket;
  authTimer: unknown;
  closedByServer: boolean;
  /** Gap still to apply to this socket's next frame. */
  gap: number;
}

interface BufferedFrame {
  id: string;
  data: Record<string, unknown>;
  trackingId: string;
  enqueuedAt: number;
}

export class MercuryHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Map<number, LiveSocket>();
  private readonly buffers = new Map<string, Map<string, BufferedFrame>>();
  private nextSocketId = 1;

  constructor(
    private readonly world: SimWorld,
    private readonly recorder: SimRecorder,
    private readonly clock: SimClock,
    private readonly options: MercuryOptions,
    readonly faults: SocketFaultFlags,
    private readonly logger: Logger,
  ) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const match = REGISTRATION_PATH.exec(url.pathname);
    const deviceUuid = match?.[1];
    const device = deviceUuid ? this.world.devices.get(deviceUuid) : undefined;
    if (!deviceUuid || !device || device.deleted) {
      this.recorder.record('socket', {
        type: 'rejected',
        socketId: 0,
        deviceUuid: deviceUuid ?? '',
        code: 404,
        reason: 'unknown registration',
        at: this.clock.now(),
      });
      const body = JSON.stringify({
        message: 'Registration not found',
        errors: [{ description: 'Registration not found' }],
      });
      socket.end(
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nTrackingid: ROUTER_${randomUUID()}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, deviceUuid, url));
  }

  /** Queue an event for every live device of these people and send it to their open sockets. */
  deliver(personUuids: Iterable<string>, data: Record<string, unknown>): void {
    const people = new Set(personUuids);
    for (const device of this.world.devices.values()) {
      if (device.deleted || !people.has(device.ownerUuid)) continue;
      this.enqueue(device.uuid, {
        id: randomUUID(),
        data,
        trackingId: newTrackingId(),
        enqueuedAt: this.clock.now(),
      });
    }
  }

  /** Same event data again under a new frame id (a duplicate delivery). Returns how many frames went out. */
  redeliver(predicate: (data: Record<string, unknown>) => boolean): number {
    const seen = new Map<string, Record<string, unknown>>();
    for (const record of this.recorder.framesSent) {
      const data = record.frame.data;
      if (isRecord(data) && predicate(data) && !seen.has(record.deviceUuid))
        seen.set(record.deviceUuid, data);
    }
    for (const [deviceUuid, buffer] of this.buffers) {
      for (const frame of buffer.values())
        if (!seen.has(deviceUuid) && predicate(frame.data)) seen.set(deviceUuid, frame.data);
    }
    for (const [deviceUuid, data] of seen) {
      this.enqueue(deviceUuid, {
        id: randomUUID(),
        data,
        trackingId: newTrackingId(),
        enqueuedAt: this.clock.now(),
      });
    }
    return seen.size;
  }

  /** Send anything, even invalid JSON, to the matching open sockets (bad-input tests). */
  sendRaw(payload: string | Record<string, unknown>, socketId?: number): void {
    for (const sock of this.targets(socketId)) {
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      sock.ws.send(text);
      this.recorder.record('frame', {
        socketId: sock.id,
        deviceUuid: sock.deviceUuid,
        frame: typeof payload === 'string' ? { raw: payload } : payload,
        at: this.clock.now(),
      });
    }
  }

  /** Rebalancing: a `shutdown` frame now; 4001 on this socket once a new one on the device authorizes. */
  shutdown(socketId?: number): void {
    for (const sock of this.targets(socketId)) {
      sock.shutdownSent = true;
      this.sendFrame(sock, { id: randomUUID(), type: 'shutdown' });
    }
  }

  close(code: number, reason: string, socketId?: number): void {
    for (const sock of this.targets(socketId, true)) this.closeSocket(sock, code, reason);
  }

  /**
   * A close frame without a status code: the client sees 1005. That is what the SDK gets when a
   * browser or proxy drops a 4xxx code (internal-plugin-mercury `src/socket/socket-base.js`).
   */
  closeWithoutStatus(socketId?: number): void {
    for (const sock of this.targets(socketId, true)) {
      if (sock.state === 'closing' || sock.state === 'closed') continue;
      this.clock.clearTimeout(sock.authTimer);
      sock.state = 'closing';
      sock.closedByServer = true;
      sock.ws.close();
    }
  }

  /** Destroy the TCP connection without a close frame: the client sees 1006. */
  dropTcp(socketId?: number): void {
    for (const sock of this.targets(socketId, true)) {
      sock.closedByServer = true;
      sock.ws.terminate();
    }
  }

  /** The next frame on each matching open socket skips `count` sequence numbers (negative: goes back). */
  sequenceGap(count: number, socketId?: number): void {
    for (const sock of this.targets(socketId)) sock.gap += count;
  }

  forgetDevice(deviceUuid: string): void {
    this.buffers.delete(deviceUuid);
  }

  unackedFrames(deviceUuid: string): Array<{ id: string; data: Record<string, unknown> }> {
    return [...(this.buffers.get(deviceUuid)?.values() ?? [])].map(({ id, data }) => ({ id, data }));
  }

  list(): SocketInfo[] {
    return [...this.sockets.values()].map(
      ({ id, deviceUuid, state, query, lastSequenceNumber, shutdownSent }) => ({
        id,
        deviceUuid,
        state,
        query: { ...query },
        lastSequenceNumber,
        shutdownSent,
      }),
    );
  }

  async closeAll(): Promise<void> {
    for (const sock of this.sockets.values()) {
      this.clock.clearTimeout(sock.authTimer);
      sock.closedByServer = true;
      sock.ws.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket, deviceUuid: string, url: URL): void {
    const query = Object.fromEntries(url.searchParams);
    const sock: LiveSocket = {
      id: this.nextSocketId++,
      deviceUuid,
      state: 'authorizing',
      query,
      lastSequenceNumber: 0,
      shutdownSent: false,
      ws,
      authTimer: undefined,
      closedByServer: false,
      gap: 0,
    };
    this.sockets.set(sock.id, sock);
    sock.authTimer = this.clock.setTimeout(() => {
      if (sock.state === 'authorizing') this.closeSocket(sock, 1008, AUTH_TIMEOUT_REASON);
    }, this.options.authTimeoutMs);
    ws.on('message', (raw: RawData) => this.onMessage(sock, raw));
    ws.on('error', () => {
      // A client that vanishes mid-frame is a normal network event here; 'close' follows.
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.clock.clearTimeout(sock.authTimer);
      sock.state = 'closed';
      this.sockets.delete(sock.id);
      this.recorder.record('socket', {
        type: 'closed',
        socketId: sock.id,
        deviceUuid,
        code,
        reason: reason.toString(),
        closedBy: sock.closedByServer ? 'server' : 'client',
        at: this.clock.now(),
      });
    });
    this.recorder.record('socket', {
      type: 'connected',
      socketId: sock.id,
      deviceUuid,
      at: this.clock.now(),
    });
  }

  private onMessage(sock: LiveSocket, raw: RawData): void {
    if (sock.state === 'closing' || sock.state === 'closed') return;
    let frame: unknown;
    try {
      frame = JSON.parse(rawToString(raw));
    } catch {
      frame = undefined;
    }
    if (sock.state === 'authorizing') {
      this.authorize(sock, frame);
      return;
    }
    if (!isRecord(frame)) {
      this.logger.debug(
        { socketId: sock.id },
        'webex simulator: ignored a socket frame that is not a JSON object',
      );
      return;
    }
    if (frame.type === 'ack' && typeof frame.messageId === 'string') {
      const buffer = this.buffers.get(sock.deviceUuid);
      const known = buffer?.delete(frame.messageId) ?? false;
      this.recorder.record('ack', {
        socketId: sock.id,
        deviceUuid: sock.deviceUuid,
        messageId: frame.messageId,
        known,
        at: this.clock.now(),
      });
      return;
    }
    if (frame.type === 'ping' && !this.faults.swallowPongs) {
      const id = this.faults.pongMismatch ? randomUUID() : frame.id;
      this.sendFrame(sock, { id, type: 'pong' });
      return;
    }
    if (frame.type !== 'ping') {
      this.logger.debug(
        { socketId: sock.id, type: frame.type },
        'webex simulator: ignored an unknown socket frame type',
      );
    }
  }

  private authorize(sock: LiveSocket, frame: unknown): void {
    const device = this.world.devices.get(sock.deviceUuid);
    const token =
      isRecord(frame) &&
      frame.type === 'authorization' &&
      isRecord(frame.data) &&
      typeof frame.data.token === 'string'
        ? frame.data.token
        : undefined;
    const person = token?.startsWith('Bearer ')
      ? this.world.personByToken(token.slice('Bearer '.length))
      : undefined;
    if (!device || device.deleted || !person || person.uuid !== device.ownerUuid) {
      this.recorder.record('socket', {
        type: 'auth-failed',
        socketId: sock.id,
        deviceUuid: sock.deviceUuid,
        at: this.clock.now(),
      });
      this.closeSocket(sock, this.options.badTokenClose.code, this.options.badTokenClose.reason);
      return;
    }
    this.clock.clearTimeout(sock.authTimer);
    sock.state = 'authorized';
    if (sock.query.multipleConnections !== 'true') {
      for (const other of this.sockets.values()) {
        if (other === sock || other.deviceUuid !== sock.deviceUuid) continue;
        if (other.state !== 'open' && other.state !== 'authorized') continue;
        if (other.shutdownSent) this.closeSocket(other, 4001, 'Shutdown');
        else this.closeSocket(other, 4000, 'Replaced');
      }
    }
    this.recorder.record('socket', {
      type: 'authorized',
      socketId: sock.id,
      deviceUuid: sock.deviceUuid,
      at: this.clock.now(),
    });
    if (this.faults.withholdBufferState) return;
    const eventType =
      sock.query.mercuryRegistrationStatus === 'true'
        ? 'mercury.registration_status'
        : 'mercury.buffer_state';
    this.sendFrame(sock, {
      id: randomUUID(),
      data: { eventType },
      timestamp: this.clock.now(),
      trackingId: newTrackingId(),
    });
    sock.state = 'open';
    const buffer = this.buffers.get(sock.deviceUuid);
    if (!buffer) return;
    if (sock.query.bufferStates !== 'true') {
      buffer.clear();
      return;
    }
    const oldest = this.clock.now() - this.options.retentionMs;
    for (const [id, frame] of buffer) {
      if (frame.enqueuedAt < oldest) buffer.delete(id);
      else this.sendEvent(sock, frame);
    }
  }

  private enqueue(deviceUuid: string, frame: BufferedFrame): void {
    let buffer = this.buffers.get(deviceUuid);
    if (!buffer) {
      buffer = new Map();
      this.buffers.set(deviceUuid, buffer);
    }
    buffer.set(frame.id, frame);
    while (buffer.size > this.options.bufferLimit) {
      const oldest = buffer.keys().next().value;
      if (oldest === undefined) break;
      buffer.delete(oldest);
    }
    for (const sock of this.sockets.values()) {
      if (sock.deviceUuid === deviceUuid && sock.state === 'open') this.sendEvent(sock, frame);
    }
  }

  private sendEvent(sock: LiveSocket, frame: BufferedFrame): void {
    this.sendFrame(sock, {
      id: frame.id,
      data: frame.data,
      timestamp: this.clock.now(),
      trackingId: frame.trackingId,
      alertType: 'full',
      headers: {},
      filterMessage: false,
    });
  }

  /** Stamps the socket's next sequence number (applying any injected gap) and sends. */
  private sendFrame(sock: LiveSocket, frame: Record<string, unknown>): void {
    if (sock.ws.readyState !== sock.ws.OPEN) return;
    sock.lastSequenceNumber = Math.max(1, sock.lastSequenceNumber + 1 + sock.gap);
    sock.gap = 0;
    const stamped = { ...frame, sequenceNumber: sock.lastSequenceNumber };
    sock.ws.send(JSON.stringify(stamped));
    this.recorder.record('frame', {
      socketId: sock.id,
      deviceUuid: sock.deviceUuid,
      frame: stamped,
      at: this.clock.now(),
    });
  }

  private closeSocket(sock: LiveSocket, code: number, reason: string): void {
    if (sock.state === 'closing' || sock.state === 'closed') return;
    this.clock.clearTimeout(sock.authTimer);
    sock.state = 'closing';
    sock.closedByServer = true;
    sock.ws.close(code, reason);
  }

  private targets(socketId: number | undefined, includeAuthorizing = false): LiveSocket[] {
    return [...this.sockets.values()].filter(
      (sock) =>
        (socketId === undefined || sock.id === socketId) &&
        (sock.state === 'open' ||
          sock.state === 'authorized' ||
          (includeAuthorizing && sock.state === 'authorizing')),
    );
  }
}

function newTrackingId(): string {
  return `WBX_SIM_${randomUUID()}`;
}

function rawToString(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
