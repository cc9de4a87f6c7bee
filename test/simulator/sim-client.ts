import { randomUUID } from 'node:crypto';
import { fetch } from 'undici';
import WebSocket from 'ws';
import type { WebexSimulator } from '../../src/simulator/webex/index.js';

/**
 * A deliberately plain client for conformance tests: real `undici` fetch and a real `ws`
 * socket, doing what the reference says a bot does, with no retries or cleverness.
 */

export const MERCURY_QUERY = 'outboundWireFormat=text&bufferStates=true&aliasHttpStatus=true';

export interface RestResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function rest<T = Record<string, unknown>>(
  url: string,
  token: string | undefined,
  init: { method?: string; body?: unknown } = {},
): Promise<RestResponse<T>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers as unknown as Headers,
    body: (text ? JSON.parse(text) : undefined) as T,
  };
}

export interface Frame {
  id?: string;
  type?: string;
  sequenceNumber?: number;
  timestamp?: number;
  trackingId?: string;
  data?: { eventType?: string; activity?: Record<string, unknown> } & Record<string, unknown>;
}

/** One Mercury socket with an inbox that tests await on. */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ predicate: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];

  private constructor(
    readonly ws: WebSocket,
    readonly autoAck: boolean,
  ) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('message', (raw) => {
      let frame: Frame;
      try {
        frame = JSON.parse(raw.toString()) as Frame;
      } catch {
        frame = { type: 'unparseable', data: { raw: raw.toString() } };
      }
      this.frames.push(frame);
      if (this.autoAck && frame.id && frame.type !== 'pong') this.ack(frame.id);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(frame)) {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          waiter.resolve(frame);
        }
      }
    });
  }

  static open(url: string, options: { autoAck?: boolean } = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const socket = new TestSocket(ws, options.autoAck ?? true);
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  authorize(token: string): void {
    this.send({ id: randomUUID(), type: 'authorization', data: { token: `Bearer ${token}` } });
  }

  ack(messageId: string): void {
    this.send({ type: 'ack', messageId });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  next(predicate: (f: Frame) => boolean): Promise<Frame> {
    const found = this.frames.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      this.waiters.push({ predicate, resolve });
      void this.closed.then(({ code, reason }) =>
        reject(new Error(`socket closed ${code} ${reason} while waiting`)),
      );
    });
  }

  activity(predicate: (activity: Record<string, unknown>) => boolean): Promise<Frame> {
    return this.next(
      (f) => f.data?.eventType === 'conversation.activity' && !!f.data.activity && predicate(f.data.activity),
    );
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000, 'done');
    return this.closed;
  }
}

export interface RegisteredDevice {
  url: string;
  webSocketUrl: string;
  userId: string;
  uuid: string;
}

/** U2C → WDM, as a bot starts up. */
export async function registerDevice(sim: WebexSimulator, token = sim.bot.token): Promise<RegisteredDevice> {
  const catalog = await rest<{ serviceLinks: { wdm: string } }>(
    `${sim.urls.u2c}/catalog?format=hostmap`,
    token,
  );
  const device = await rest<{ url: string; webSocketUrl: string; userId: string }>(
    `${catalog.body.serviceLinks.wdm}/devices`,
    token,
    {
      method: 'POST',
      body: { deviceName: 'sim-test', deviceType: 'DESKTOP', name: 'sim-test-client', model: 'test' },
    },
  );
  if (device.status !== 200) throw new Error(`device registration answered ${device.status}`);
  return { ...device.body, uuid: device.body.url.split('/').at(-1) ?? '' };
}

/** Open, authorize and wait for `mercury.buffer_state`. */
export async function connectOnline(
  device: RegisteredDevice,
  token: string,
  options: { autoAck?: boolean; query?: string } = {},
): Promise<TestSocket> {
  const socket = await TestSocket.open(`${device.webSocketUrl}?${options.query ?? MERCURY_QUERY}`, options);
  socket.authorize(token);
  await socket.next((f) => f.data?.eventType === 'mercury.buffer_state');
  return socket;
}
