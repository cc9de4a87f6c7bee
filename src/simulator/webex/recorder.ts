/**
 * What the simulator saw and did, for assertions: REST requests, socket frames sent, acks
 * received, socket lifecycle, activities. Tests await these records instead of sleeping.
 */

export interface RequestRecord {
  method: string;
  /** Path without the query string; never holds a token. */
  path: string;
  /** Route template that handled it, e.g. `/v1/messages/{id}`; undefined when nothing matched. */
  route: string | undefined;
  query: Record<string, string>;
  status: number;
  /** Parsed JSON request body, when there was one. */
  body: unknown;
  /** UUID of the person the bearer token belongs to. */
  callerUuid: string | undefined;
  trackingId: string;
  at: number;
}

export interface FrameRecord {
  socketId: number;
  deviceUuid: string;
  frame: Record<string, unknown>;
  at: number;
}

export interface AckRecord {
  socketId: number;
  deviceUuid: string;
  messageId: string;
  /** False when the id was not (or no longer) waiting for an ack. */
  known: boolean;
  at: number;
}

export type SocketEventType = 'connected' | 'authorized' | 'auth-failed' | 'rejected' | 'closed';

export interface SocketRecord {
  type: SocketEventType;
  socketId: number;
  deviceUuid: string;
  code?: number;
  reason?: string;
  /** Who closed it: the simulator (`server`) or the client. */
  closedBy?: 'server' | 'client';
  at: number;
}

export interface ActivityRecord {
  activity: Record<string, unknown>;
  /** Person UUIDs whose devices got a frame for it. */
  recipients: string[];
  at: number;
}

export interface SimEventMap {
  request: RequestRecord;
  frame: FrameRecord;
  ack: AckRecord;
  socket: SocketRecord;
  activity: ActivityRecord;
}

export type SimEventKind = keyof SimEventMap;

export interface WaitForOptions {
  /** Default 5000 ms; a guard against hanging tests, not a synchronisation device. */
  timeoutMs?: number;
  /** Ignore records that already happened (default: past records count too). */
  futureOnly?: boolean;
}

type Listener<K extends SimEventKind> = (record: SimEventMap[K]) => void;

export class SimRecorder {
  readonly requests: RequestRecord[] = [];
  readonly framesSent: FrameRecord[] = [];
  readonly acks: AckRecord[] = [];
  readonly socketEvents: SocketRecord[] = [];
  readonly activities: ActivityRecord[] = [];
  private readonly listeners = new Map<SimEventKind, Set<Listener<SimEventKind>>>();

  constructor(private readonly limit = 10_000) {}

  record<K extends SimEventKind>(kind: K, value: SimEventMap[K]): void {
    const list = this.listFor(kind) as SimEventMap[K][];
    list.push(value);
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    for (const listener of [...(this.listeners.get(kind) ?? [])]) {
      try {
        (listener as Listener<K>)(value);
      } catch {
        // A faulty test listener must not break the simulator's I/O path.
      }
    }
  }

  on<K extends SimEventKind>(kind: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(kind);
    if (!set) {
      set = new Set();
      this.listeners.set(kind, set);
    }
    set.add(listener as Listener<SimEventKind>);
    return () => set.delete(listener as Listener<SimEventKind>);
  }

  waitFor<K extends SimEventKind>(
    kind: K,
    predicate: (record: SimEventMap[K]) => boolean = () => true,
    options: WaitForOptions = {},
  ): Promise<SimEventMap[K]> {
    if (!options.futureOnly) {
      const found = (this.listFor(kind) as SimEventMap[K][]).find(predicate);
      if (found) return Promise.resolve(found);
    }
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`webex simulator: no '${kind}' record matched within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(kind, (record) => {
        if (!predicate(record)) return;
        clearTimeout(timer);
        off();
        resolve(record);
      });
    });
  }

  private listFor(kind: SimEventKind): unknown[] {
    switch (kind) {
      case 'request':
        return this.requests;
      case 'frame':
        return this.framesSent;
      case 'ack':
        return this.acks;
      case 'socket':
        return this.socketEvents;
      case 'activity':
        return this.activities;
    }
  }
}
