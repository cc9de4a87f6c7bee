/**
 * MongoDB stores: the space registry shared with the CAIPE UI, plus the bot's own conversations,
 * event claims, recently active rooms and leases (shared by every replica).
 *
 * `authorized_webex_spaces` is the CAIPE UI's collection: documents are read tolerantly (the UI
 * stores the public `Y2lz…` id, admins may store a raw UUID, `revokedAt` may be null after a
 * re-authorization) and written in the UI's shape, so the CAIPE admin dashboard keeps working.
 *
 * Every call is bounded (`MONGO_TIMEOUTS`): a stalled server or network makes a store call fail
 * with `StoreTimeoutError` within `operationTimeoutMS`, never hang, whatever the driver does
 * (server selection, connect and socket timeouts, and `maxTimeMS` on the server, bound it from
 * below). Writes ask for a majority acknowledgement (`w: 'majority'`, bounded by `wtimeoutMS`) and
 * are retried once by the driver after a failover (retryable writes).
 *
 * DocumentDB compatibility: only operations DocumentDB supports (findOneAndUpdate, TTL indexes,
 * `$in`); DocumentDB has no retryable writes, so a `retryWrites=false` in the URI (as AWS's
 * connection strings carry) is honoured.
 *
 * The driver gives up on a client whose first connection failed ("Topology is closed" forever
 * after), so `MongoConnection` replaces such a client on the next operation: the bot starts with
 * MongoDB down, fails closed meanwhile, and recovers when it returns. Once connected, the
 * driver's own monitoring rides out later outages.
 */
import { type Collection, type Db, MongoClient, MongoServerError } from 'mongodb';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import { StoreTimeoutError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  LEASE_PURGE_AFTER_MS,
  leaseKey,
  leaseKeys,
  leaseOwner,
  leasePrefix,
  leaseTime,
  listLimit,
  prefixUpperBound,
} from './lease-input.js';
import type {
  ActiveRoom,
  ActiveRooms,
  ConversationRecord,
  ConversationStore,
  EventClaims,
  Lease,
  LeaseStore,
  ListenMode,
  NoticeLog,
  OwnPostEcho,
  OwnPostEchoes,
  PendingMessage,
  PendingMessages,
  SpaceRecord,
  SpaceRegistry,
} from './ports.js';
import {
  ACTIVE_ROOM_RETENTION_MS,
  CONVERSATION_RETENTION_MS,
  distinctIdForms,
  ECHO_RETENTION_MS,
  MAX_RECORDS_PER_ROOM,
  pickSpace,
} from './records.js';

export const SPACES_COLLECTION = 'authorized_webex_spaces';
export const CONVERSATIONS_COLLECTION = 'webex_bot_conversations';
export const CLAIMS_COLLECTION = 'webex_bot_event_claims';
export const ACTIVE_ROOMS_COLLECTION = 'webex_bot_active_rooms';
export const NOTICES_COLLECTION = 'webex_bot_notices';
export const ECHOES_COLLECTION = 'webex_bot_own_post_echoes';
export const PENDING_COLLECTION = 'webex_bot_pending_messages';
export const LEASES_COLLECTION = 'webex_bot_leases';

/** The bounds of every MongoDB call; tests shorten them. */
export interface MongoTimeouts {
  /** Finding a server to talk to, the first connection included. */
  serverSelectionTimeoutMS: number;
  /** TCP connect and handshake of one connection. */
  connectTimeoutMS: number;
  /** A connection that stays silent this long while a reply is due is closed. */
  socketTimeoutMS: number;
  /** Server-side limit of each operation (`maxTimeMS`), and of a majority write's wait (`wtimeoutMS`). */
  maxTimeMS: number;
  /** Each store call as the bot sees it, connecting included: past it, `StoreTimeoutError`. */
  operationTimeoutMS: number;
}

export const MONGO_TIMEOUTS: MongoTimeouts = {
  serverSelectionTimeoutMS: 5_000,
  connectTimeoutMS: 5_000,
  socketTimeoutMS: 10_000,
  maxTimeMS: 5_000,
  operationTimeoutMS: 8_000,
};

/** Runs one store call within the operation bound. */
export type Bounded = <T>(operation: string, work: () => Promise<T>) => Promise<T>;

/** Rejects with `StoreTimeoutError` after `timeoutMs` on the clock; the work itself is not stopped. */
export function boundedBy(clock: Clock, timeoutMs: number): Bounded {
  return <T>(operation: string, work: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new StoreTimeoutError(operation, timeoutMs)), timeoutMs);
      Promise.resolve()
        .then(work)
        .then(
          (value) => {
            clock.clearTimeout(timer);
            resolve(value);
          },
          (error: unknown) => {
            clock.clearTimeout(timer);
            reject(error);
          },
        );
    });
}

/** `retryWrites` as the URI sets it, if it does (DocumentDB URIs say `false`). */
export function retryWritesInUri(uri: string): boolean | undefined {
  const value = /[?&]retryWrites=(true|false)(?:&|$)/i.exec(uri)?.[1];
  return value === undefined ? undefined : value.toLowerCase() === 'true';
}
const INDEX_RETRY_MS = 30_000;
const MAX_LISTED_SPACES = 10_000;

const DUPLICATE_KEY = 11000;
/** createIndex codes when an equivalent index exists under another name or with other options. */
const INDEX_CONFLICT_CODES = new Set([85, 86]);

/** A document of `authorized_webex_spaces` as any writer may have left it. */
interface SpaceDoc {
  roomId: string;
  spaceName?: string | null;
  status?: string;
  authorizedBy?: string | null;
  authorizedAt?: Date | string | number | null;
  revokedAt?: Date | string | number | null;
  revokedBy?: string | null;
  listenMode?: string | null;
  agentId?: string | null;
}

type ConversationDoc = ConversationRecord & { _id: string; expiresAt: Date };

interface ClaimDoc {
  _id: string;
  expiresAt: Date;
  claimedAt: Date;
  /** The process that holds the claim (`INSTANCE_ID`, else the host name); for operators. */
  owner?: string;
}

interface EchoDoc {
  /** The Hydra message id. */
  _id: string;
  key: string;
  seenAt: number;
  expiresAt: Date;
}

interface PendingDoc extends Omit<PendingMessage, 'activityId'> {
  _id: string;
  expiresAt: Date;
}

interface LeaseDoc {
  /** The lease key. */
  _id: string;
  owner: string;
  expiresAt: Date;
  /**
   * When the TTL monitor may delete the lease: a day after it expired, so a lease still being
   * renewed (or expired and not yet taken over) is never removed under its holder.
   */
  purgeAt: Date;
}

interface ActiveRoomDoc {
  _id: string;
  roomType: ActiveRoom['roomType'];
  lastEventAt: Date;
  expiresAt: Date;
}

export interface MongoStoreOptions {
  uri: string;
  database: string;
  log: Logger;
  clock?: Clock;
  /** Defaults to 5 s (the seed's value; DocumentDB clusters answer well within it). */
  serverSelectionTimeoutMS?: number | undefined;
  /** Overrides of `MONGO_TIMEOUTS` (`serverSelectionTimeoutMS` above wins for that one). */
  timeouts?: Partial<MongoTimeouts> | undefined;
  conversationRetentionMs?: number;
  /** Recorded with each event claim: `INSTANCE_ID`, else the host name. */
  owner?: string | undefined;
}

/** One MongoClient at a time; a client whose first connection failed is replaced, not reused. */
export class MongoConnection {
  #client: MongoClient | undefined;
  #db: Db | undefined;
  #connecting: Promise<Db> | undefined;
  /** The client of the attempt under way, so `close` can cut it short. */
  #pendingClient: MongoClient | undefined;
  #closed = false;

  constructor(
    private readonly uri: string,
    private readonly database: string,
    private readonly timeouts: MongoTimeouts,
  ) {}

  db(): Promise<Db> {
    if (this.#closed) return Promise.reject(new Error('MongoDB store is closed'));
    if (this.#db) return Promise.resolve(this.#db);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#pendingClient?.close().catch(() => undefined);
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    this.#db = undefined;
    await client?.close();
  }

  async #connect(): Promise<Db> {
    const client = new MongoClient(this.uri, {
      // Options here win over the URI's: retryable writes unless the URI turns them off
      // (DocumentDB has none).
      retryWrites: retryWritesInUri(this.uri) ?? true,
      retryReads: true,
      writeConcern: { w: 'majority', wtimeoutMS: this.timeouts.maxTimeMS },
      serverSelectionTimeoutMS: this.timeouts.serverSelectionTimeoutMS,
      connectTimeoutMS: this.timeouts.connectTimeoutMS,
      socketTimeoutMS: this.timeouts.socketTimeoutMS,
      ignoreUndefined: true,
      appName: 'caipe-webex-bot',
    });
    this.#pendingClient = client;
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    } finally {
      this.#pendingClient = undefined;
    }
    if (this.#closed) {
      await client.close();
      throw new Error('MongoDB store is closed');
    }
    this.#client = client;
    this.#db = client.db(this.database);
    return this.#db;
  }
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'string' || typeof value === 'number') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}

function toText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

const LISTEN_MODES: readonly string[] = ['mention', 'message', 'all'];
/** Longer than any id CAIPE accepts (128), so a cut id still reads as invalid. */
const MAX_AGENT_ID_CHARS = 200;

/** Reads a registry document whatever wrote it; an unknown status counts as revoked (fail closed). */
export function spaceFromDoc(doc: SpaceDoc): SpaceRecord {
  const record: SpaceRecord = {
    roomId: doc.roomId,
    status: doc.status === 'active' ? 'active' : 'revoked',
  };
  const spaceName = toText(doc.spaceName);
  if (spaceName) record.spaceName = spaceName;
  const authorizedBy = toText(doc.authorizedBy);
  if (authorizedBy) record.authorizedBy = authorizedBy;
  const authorizedAt = toDate(doc.authorizedAt);
  if (authorizedAt) record.authorizedAt = authorizedAt;
  const revokedAt = toDate(doc.revokedAt);
  if (revokedAt) record.revokedAt = revokedAt;
  const revokedBy = toText(doc.revokedBy);
  if (revokedBy) record.revokedBy = revokedBy;
  if (typeof doc.listenMode === 'string' && LISTEN_MODES.includes(doc.listenMode)) {
    record.listenMode = doc.listenMode as ListenMode;
  }
  // Kept as written, only bounded: an id CAIPE would refuse fails the space's turns with a log line
  // rather than quietly sending them to the default agent.
  if (typeof doc.agentId === 'string' && doc.agentId !== '')
    record.agentId = doc.agentId.slice(0, MAX_AGENT_ID_CHARS);
  return record;
}

/** What every MongoDB adapter gets: its collection, the clock, the call bound and `maxTimeMS`. */
export interface MongoCollectionAccess<T extends object> {
  collection: () => Promise<Collection<T>>;
  clock: Clock;
  bounded: Bounded;
  maxTimeMS: number;
}

export class MongoSpaceRegistry implements SpaceRegistry {
  private readonly collection: () => Promise<Collection<SpaceDoc>>;
  private readonly clock: Clock;
  private readonly bounded: Bounded;
  private readonly maxTimeMS: number;

  constructor(access: MongoCollectionAccess<SpaceDoc>) {
    ({
      collection: this.collection,
      clock: this.clock,
      bounded: this.bounded,
      maxTimeMS: this.maxTimeMS,
    } = access);
  }

  find(roomIds: readonly string[]): Promise<SpaceRecord | undefined> {
    return this.bounded('spaces.find', async () => {
      const forms = distinctIdForms(roomIds);
      if (forms.length === 0) return undefined;
      const collection = await this.collection();
      const docs = await collection
        .find({ roomId: { $in: forms } }, { projection: { _id: 0 }, maxTimeMS: this.maxTimeMS })
        .limit(MAX_RECORDS_PER_ROOM)
        .toArray();
      // More documents than that means the unique index is missing and duplicates exist: make sure
      // a document that is not active (revoked, or a status we do not know) is among those read.
      if (docs.length >= MAX_RECORDS_PER_ROOM) {
        const inactive = await collection.findOne(
          { roomId: { $in: forms }, status: { $ne: 'active' } },
          { projection: { _id: 0 }, maxTimeMS: this.maxTimeMS },
        );
        if (inactive) docs.push(inactive);
      }
      return pickSpace(docs.map(spaceFromDoc));
    });
  }

  list(): Promise<SpaceRecord[]> {
    return this.bounded('spaces.list', async () => {
      const docs = await (await this.collection())
        .find({}, { projection: { _id: 0 }, maxTimeMS: this.maxTimeMS })
        .sort({ authorizedAt: -1 })
        .limit(MAX_LISTED_SPACES)
        .toArray();
      return docs.filter((doc) => typeof doc.roomId === 'string').map(spaceFromDoc);
    });
  }

  authorize(input: Parameters<SpaceRegistry['authorize']>[0]): Promise<SpaceRecord> {
    return this.bounded('spaces.authorize', () => this.#authorize(input));
  }

  revoke(roomIds: readonly string[], revokedBy: string): Promise<boolean> {
    return this.bounded('spaces.revoke', () => this.#revoke(roomIds, revokedBy));
  }

  async #authorize(input: Parameters<SpaceRegistry['authorize']>[0]): Promise<SpaceRecord> {
    const set: Partial<SpaceDoc> = {
      status: 'active',
      authorizedBy: input.authorizedBy,
      authorizedAt: new Date(this.clock.now()),
    };
    if (input.spaceName !== undefined) set.spaceName = input.spaceName;
    if (input.listenMode !== undefined) set.listenMode = input.listenMode;
    if (input.agentId) set.agentId = input.agentId;
    const unset: Record<string, ''> = { revokedAt: '', revokedBy: '' };
    if (input.agentId === null) unset.agentId = '';
    const collection = await this.collection();
    const upsert = () =>
      collection.findOneAndUpdate(
        { roomId: input.roomId },
        // As the CAIPE UI does on re-authorization: active again, revocation fields cleared.
        { $set: set, $unset: unset },
        { upsert: true, returnDocument: 'after', projection: { _id: 0 }, maxTimeMS: this.maxTimeMS },
      );
    let doc: SpaceDoc | null;
    try {
      doc = await upsert();
    } catch (error) {
      // Two concurrent upserts of a new room: one inserts, the other hits the unique index and
      // succeeds as an update on its second try.
      if (!isDuplicateKey(error)) throw error;
      doc = await upsert();
    }
    if (!doc) throw new Error('authorize: upsert returned no document');
    return spaceFromDoc(doc);
  }

  async #revoke(roomIds: readonly string[], revokedBy: string): Promise<boolean> {
    const forms = distinctIdForms(roomIds);
    if (forms.length === 0) return false;
    const collection = await this.collection();
    const result = await collection.updateMany(
      { roomId: { $in: forms }, status: { $ne: 'revoked' } },
      { $set: { status: 'revoked', revokedAt: new Date(this.clock.now()), revokedBy } },
      { maxTimeMS: this.maxTimeMS },
    );
    if (result.matchedCount > 0) return true;
    // Already revoked counts as known (the UI answers "already revoked" too).
    return (
      (await collection.countDocuments({ roomId: { $in: forms } }, { limit: 1, maxTimeMS: this.maxTimeMS })) >
      0
    );
  }
}

export class MongoConversationStore implements ConversationStore {
  private readonly collection: () => Promise<Collection<ConversationDoc>>;
  private readonly clock: Clock;
  private readonly bounded: Bounded;
  private readonly maxTimeMS: number;

  constructor(
    access: MongoCollectionAccess<ConversationDoc>,
    private readonly retentionMs: number,
  ) {
    ({
      collection: this.collection,
      clock: this.clock,
      bounded: this.bounded,
      maxTimeMS: this.maxTimeMS,
    } = access);
  }

  get(key: string): Promise<ConversationRecord | undefined> {
    return this.bounded('conversations.get', async () => {
      const doc = await (await this.collection()).findOne({ _id: key }, { maxTimeMS: this.maxTimeMS });
      // MongoDB's TTL monitor runs about once a minute; an expired record is already gone for us.
      const expiresAt = toDate(doc?.expiresAt)?.getTime() ?? Number.POSITIVE_INFINITY;
      if (!doc || expiresAt <= this.clock.now()) return undefined;
      const { _id, expiresAt: _expiresAt, ...record } = doc;
      return record;
    });
  }

  put(record: ConversationRecord): Promise<void> {
    return this.bounded('conversations.put', async () => {
      const doc: ConversationDoc = {
        ...record,
        _id: record.key,
        expiresAt: new Date(record.updatedAt + this.retentionMs),
      };
      await (await this.collection()).replaceOne({ _id: record.key }, doc, {
        upsert: true,
        maxTimeMS: this.maxTimeMS,
      });
    });
  }

  delete(key: string): Promise<void> {
    return this.bounded('conversations.delete', async () => {
      await (await this.collection()).deleteOne({ _id: key }, { maxTimeMS: this.maxTimeMS });
    });
  }

  running(limit: number): Promise<ConversationRecord[]> {
    return this.bounded('conversations.running', async () => {
      // Served by the sparse index on `runningTurn.startedAt`: only records with a running turn.
      const docs = await (await this.collection())
        .find({ 'runningTurn.startedAt': { $exists: true }, expiresAt: { $gt: new Date(this.clock.now()) } })
        .sort({ 'runningTurn.startedAt': 1 })
        .limit(Math.max(0, Math.floor(limit)))
        .maxTimeMS(this.maxTimeMS)
        .toArray();
      return docs.map(({ _id, expiresAt: _expiresAt, ...record }) => record);
    });
  }

  waiting(limit: number): Promise<ConversationRecord[]> {
    return this.bounded('conversations.waiting', async () => {
      // Served by the sparse index on `pendingForm.deadlineAt`: only records with a waiting form.
      const docs = await (await this.collection())
        .find({ 'pendingForm.deadlineAt': { $exists: true }, expiresAt: { $gt: new Date(this.clock.now()) } })
        .sort({ 'pendingForm.deadlineAt': 1 })
        .limit(Math.max(0, Math.floor(limit)))
        .maxTimeMS(this.maxTimeMS)
        .toArray();
      return docs.map(({ _id, expiresAt: _expiresAt, ...record }) => record);
    });
  }
}

export class MongoOwnPostEchoes implements OwnPostEchoes {
  private readonly collection: () => Promise<Collection<EchoDoc>>;
  private readonly clock: Clock;
  private readonly bounded: Bounded;
  private readonly maxTimeMS: number;

  constructor(access: MongoCollectionAccess<EchoDoc>) {
    ({
      collection: this.collection,
      clock: this.clock,
      bounded: this.bounded,
      maxTimeMS: this.maxTimeMS,
    } = access);
  }

  record(echo: OwnPostEcho): Promise<void> {
    return this.bounded('echoes.record', async () => {
      // The first sighting counts: a redelivered echo keeps its first time.
      await (await this.collection()).updateOne(
        { _id: echo.messageId },
        {
          $setOnInsert: {
            key: echo.key,
            seenAt: echo.seenAt,
            expiresAt: new Date(this.clock.now() + ECHO_RETENTION_MS),
          },
        },
        { upsert: true, maxTimeMS: this.maxTimeMS },
      );
    });
  }

  since(key: string, since: number, limit: number): Promise<OwnPostEcho[]> {
    return this.bounded('echoes.since', async () => {
      const docs = await (await this.collection())
        .find({ key, seenAt: { $gte: since } })
        .sort({ seenAt: 1 })
        .limit(Math.max(0, Math.floor(limit)))
        .maxTimeMS(this.maxTimeMS)
        .toArray();
      return docs.map((doc) => ({ key: doc.key, messageId: doc._id, seenAt: doc.seenAt }));
    });
  }
}

export class MongoPendingMessages implements PendingMessages {
  private readonly collection: () => Promise<Collection<PendingDoc>>;
  private readonly clock: Clock;
  private readonly bounded: Bounded;
  private readonly maxTimeMS: number;

  constructor(access: MongoCollectionAccess<PendingDoc>) {
    ({
      collection: this.collection,
      clock: this.clock,
      bounded: this.bounded,
      maxTimeMS: this.maxTimeMS,
    } = access);
  }

  add(message: PendingMessage, ttlMs: number): Promise<void> {
    return this.bounded('pending.add', async () => {
      const { activityId, ...rest } = message;
      await (await this.collection()).replaceOne(
        { _id: activityId },
        { ...rest, expiresAt: new Date(this.clock.now() + ttlMs) },
        { upsert: true, maxTimeMS: this.maxTimeMS },
      );
    });
  }

  settle(activityIds: readonly string[]): Promise<void> {
    return this.bounded('pending.settle', async () => {
      if (activityIds.length === 0) return;
      await (await this.collection()).deleteMany(
        { _id: { $in: [...activityIds] } },
        { maxTimeMS: this.maxTimeMS },
      );
    });
  }

  list(limit: number): Promise<PendingMessage[]> {
    return this.bounded('pending.list', async () => {
      const docs = await (await this.collection())
        .find({ expiresAt: { $gt: new Date(this.clock.now()) } })
        .sort({ at: 1 })
        .limit(Math.max(0, Math.floor(limit)))
        .maxTimeMS(this.maxTimeMS)
        .toArray();
      return docs.map(({ _id, expiresAt: _expiresAt, ...rest }) => ({ ...rest, activityId: _id }));
    });
  }
}

export class MongoEventClaims implements EventClaims {
  private readonly collection: () => Promise<Collection<ClaimDoc>>;
  private readonly clock: Clock;
  private readonly bounded: Bounded;
  private readonly maxTimeMS: number;
  private readonly owner: string | undefined;

  constructor(access: MongoCollectionAccess<ClaimDoc>, owner?: string) {
    ({
      collection: this.collection,
      clock: this.clock,
      bounded: this.bounded,
      maxTimeMS: this.maxTimeMS,
    } = access);
    this.owner = owner;
  }

  claim(activityId: string, ttlMs: number): Promise<boolean> {
    return this.bounded('claims.claim', () => this.#claim(activityId, ttlMs));
  }

  async #claim(activityId: string, ttlMs: number): Promise<boolean> {
    const collection = await this.collection();
    const now = this.clock.now();
    const claim = {
      expiresAt: new Date(now + ttlMs),
      claimedAt: new Date(now),
      ...(this.owner ? { owner: this.owner } : {}),
    };
    // Two rounds: the TTL monitor may delete an expired claim between our insert and our takeover.
    for (let round = 0; round < 2; round++) {
      try {
        await collection.insertOne({ _id: activityId, ...claim }, { maxTimeMS: this.maxTimeMS });
        return true;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      // The id is known; it is ours only if its claim has expired (and nobody else took it over).
      const taken = await collection.findOneAndUpdate(
        { _id: activityId, expiresAt: { $lte: new Date(now) } },
        { $set: claim },
        { maxTimeMS: this.maxTimeMS },
      );
      if (taken) return true;
      const live = await collection.countDocuments(
        { _id: activityId },
        { limit: 1, maxTimeMS: this.maxTimeMS },
      );
      if (live > 0) return false;
    }
    return false;
  }
}

/** Key lists are sent in slices of this many (each key is at most 1,000 bytes). */
const LEASE_KEYS_PER_QUERY = 500;

function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/**
 * Leases shared by every replica. `acquire` is one conditional upsert on `_id`: it updates the
 * lease when it is the owner's or expired, and otherwise tries to insert it, which the unique
 * `_id` refuses (duplicate key) while someone else holds it live, so of processes racing for one
 * key exactly one holds it afterwards.
 */
export class MongoLeases implements LeaseStore {
  private readonly collection: () => Promise<Collection<LeaseDoc>>;
  private readonly bounded: Bounded;
  private readonly maxTimeMS: number;

  constructor(access: MongoCollectionAccess<LeaseDoc>) {
    ({ collection: this.collection, bounded: this.bounded, maxTimeMS: this.maxTimeMS } = access);
  }

  acquire(key: string, owner: string, now: number, expiresAt: number): Promise<boolean> {
    return this.bounded('leases.acquire', async () => {
      const id = leaseKey(key);
      const holder = leaseOwner(owner);
      const at = leaseTime(now, 'now');
      const until = leaseTime(expiresAt, 'expiresAt');
      const collection = await this.collection();
      try {
        await collection.updateOne(
          { _id: id, $or: [{ owner: holder }, { expiresAt: { $lte: new Date(at) } }] },
          { $set: leaseFields(holder, until) },
          { upsert: true, maxTimeMS: this.maxTimeMS },
        );
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    });
  }

  renew(keys: readonly string[], owner: string, expiresAt: number): Promise<string[]> {
    return this.bounded('leases.renew', async () => {
      const distinct = leaseKeys(keys);
      const holder = leaseOwner(owner);
      const until = leaseTime(expiresAt, 'expiresAt');
      if (distinct.length === 0) return [];
      const collection = await this.collection();
      const held = new Set<string>();
      for (const slice of slices(distinct, LEASE_KEYS_PER_QUERY)) {
        await collection.updateMany(
          { _id: { $in: slice }, owner: holder },
          { $set: leaseFields(holder, until) },
          { maxTimeMS: this.maxTimeMS },
        );
        // Read after the update: a lease taken over in between is reported lost, as it is.
        const docs = await collection
          .find({ _id: { $in: slice }, owner: holder }, { projection: { _id: 1 }, maxTimeMS: this.maxTimeMS })
          .toArray();
        for (const doc of docs) held.add(doc._id);
      }
      return distinct.filter((key) => !held.has(key));
    });
  }

  release(keys: readonly string[], owner: string): Promise<void> {
    return this.bounded('leases.release', async () => {
      const distinct = leaseKeys(keys);
      const holder = leaseOwner(owner);
      if (distinct.length === 0) return;
      const collection = await this.collection();
      for (const slice of slices(distinct, LEASE_KEYS_PER_QUERY)) {
        await collection.deleteMany({ _id: { $in: slice }, owner: holder }, { maxTimeMS: this.maxTimeMS });
      }
    });
  }

  get(keys: readonly string[]): Promise<Lease[]> {
    return this.bounded('leases.get', async () => {
      const distinct = leaseKeys(keys);
      if (distinct.length === 0) return [];
      const collection = await this.collection();
      const found = new Map<string, Lease>();
      for (const slice of slices(distinct, LEASE_KEYS_PER_QUERY)) {
        const docs = await collection.find({ _id: { $in: slice } }, { maxTimeMS: this.maxTimeMS }).toArray();
        for (const doc of docs) {
          const lease = leaseFromDoc(doc);
          if (lease) found.set(lease.key, lease);
        }
      }
      return distinct.flatMap((key) => found.get(key) ?? []);
    });
  }

  list(prefix: string, limit: number): Promise<Lease[]> {
    return this.bounded('leases.list', async () => {
      const checked = leasePrefix(prefix);
      const max = listLimit(limit);
      // `limit(0)` would mean no limit at all.
      if (max === 0) return [];
      // A range on `_id` (served by its index), not a regex: no metacharacters to escape.
      const docs = await (await this.collection())
        .find({ _id: { $gte: checked, $lte: prefixUpperBound(checked) } }, { maxTimeMS: this.maxTimeMS })
        .sort({ _id: 1 })
        .limit(max)
        .toArray();
      return docs.flatMap((doc) => leaseFromDoc(doc) ?? []);
    });
  }
}

function leaseFields(owner: string, expiresAt: number): Omit<LeaseDoc, '_id'> {
  return {
    owner,
    expiresAt: new Date(expiresAt),
    purgeAt: new Date(Math.min(expiresAt + LEASE_PURGE_AFTER_MS, 8.64e15)),
  };
}

/** A lease document as stored; one some other writer left malformed is skipped. */
function leaseFromDoc(doc: LeaseDoc): Lease | undefined {
  const expiresAt = toDate(doc.expiresAt)?.getTime();
  if (typeof doc._id !== 'string' || typeof doc.owner !== 'string' || expiresAt === undefined)
    return undefined;
  return { key: doc._id, owner: doc.owner, expiresAt };
}

export class MongoActiveRooms implements ActiveRooms {
  private readonly collection: () => Promise<Collection<ActiveRoomDoc>>;
  private readonly bounded: Bounded;
  private readonly maxTimeMS: number;

  constructor(access: MongoCollectionAccess<ActiveRoomDoc>) {
    ({ collection: this.collection, bounded: this.bounded, maxTimeMS: this.maxTimeMS } = access);
  }

  touch(room: ActiveRoom): Promise<void> {
    return this.bounded('rooms.touch', async () => {
      // `$max`: a late or replayed touch never moves a room's time back.
      await (await this.collection()).updateOne(
        { _id: room.roomId },
        {
          $set: { roomType: room.roomType },
          $max: {
            lastEventAt: new Date(room.lastEventAt),
            expiresAt: new Date(room.lastEventAt + ACTIVE_ROOM_RETENTION_MS),
          },
        },
        { upsert: true, maxTimeMS: this.maxTimeMS },
      );
    });
  }

  recent(since: number, limit: number): Promise<ActiveRoom[]> {
    return this.bounded('rooms.recent', async () => {
      const docs = await (await this.collection())
        .find({ lastEventAt: { $gte: new Date(since) } }, { maxTimeMS: this.maxTimeMS })
        .sort({ lastEventAt: -1 })
        .limit(Math.max(0, Math.floor(limit)))
        .toArray();
      return docs.flatMap((doc) => {
        const lastEventAt = toDate(doc.lastEventAt)?.getTime();
        if (lastEventAt === undefined || (doc.roomType !== 'direct' && doc.roomType !== 'group')) return [];
        return [{ roomId: doc._id, roomType: doc.roomType, lastEventAt }];
      });
    });
  }
}

/** Notices as claims on their own collection: the same once-per-interval rule, its own TTL index. */
export class MongoNoticeLog implements NoticeLog {
  readonly #claims: MongoEventClaims;

  constructor(access: MongoCollectionAccess<ClaimDoc>) {
    this.#claims = new MongoEventClaims(access);
  }

  noticeDue(key: string, intervalMs: number): Promise<boolean> {
    return this.#claims.claim(key, intervalMs);
  }
}

/** The MongoDB adapters over one connection. */
export class MongoStores {
  readonly spaces: MongoSpaceRegistry;
  readonly conversations: MongoConversationStore;
  readonly claims: MongoEventClaims;
  readonly rooms: MongoActiveRooms;
  readonly notices: MongoNoticeLog;
  readonly echoes: MongoOwnPostEchoes;
  readonly pending: MongoPendingMessages;
  readonly leases: MongoLeases;
  readonly #connection: MongoConnection;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #timeouts: MongoTimeouts;
  readonly #bounded: Bounded;
  #indexesReady = false;
  #retryHandle: unknown;
  #closed = false;

  constructor(options: MongoStoreOptions) {
    this.#log = options.log.child({ component: 'store', store: 'mongodb' });
    this.#clock = options.clock ?? systemClock;
    this.#timeouts = {
      ...MONGO_TIMEOUTS,
      ...options.timeouts,
      ...(options.serverSelectionTimeoutMS === undefined
        ? {}
        : { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS }),
    };
    this.#connection = new MongoConnection(options.uri, options.database, this.#timeouts);
    this.#bounded = boundedBy(this.#clock, this.#timeouts.operationTimeoutMS);
    const access = <T extends object>(name: string): MongoCollectionAccess<T> => ({
      collection: async () => (await this.#connection.db()).collection<T>(name),
      clock: this.#clock,
      bounded: this.#bounded,
      maxTimeMS: this.#timeouts.maxTimeMS,
    });
    this.spaces = new MongoSpaceRegistry(access<SpaceDoc>(SPACES_COLLECTION));
    this.conversations = new MongoConversationStore(
      access<ConversationDoc>(CONVERSATIONS_COLLECTION),
      options.conversationRetentionMs ?? CONVERSATION_RETENTION_MS,
    );
    this.claims = new MongoEventClaims(access<ClaimDoc>(CLAIMS_COLLECTION), options.owner);
    this.rooms = new MongoActiveRooms(access<ActiveRoomDoc>(ACTIVE_ROOMS_COLLECTION));
    this.notices = new MongoNoticeLog(access<ClaimDoc>(NOTICES_COLLECTION));
    this.echoes = new MongoOwnPostEchoes(access<EchoDoc>(ECHOES_COLLECTION));
    this.pending = new MongoPendingMessages(access<PendingDoc>(PENDING_COLLECTION));
    this.leases = new MongoLeases(access<LeaseDoc>(LEASES_COLLECTION));
  }

  get timeouts(): MongoTimeouts {
    return { ...this.#timeouts };
  }

  get indexesReady(): boolean {
    return this.#indexesReady;
  }

  /** Creates every index (idempotent). Indexes the CAIPE UI already made are left as they are. */
  async ensureIndexes(): Promise<void> {
    const db = await this.#connection.db();
    const create = async (
      collection: string,
      spec: Record<string, 1 | -1>,
      options: Record<string, unknown>,
    ) => {
      try {
        await db
          .collection(collection)
          .createIndex(spec, { ...options, maxTimeMS: this.#timeouts.maxTimeMS });
      } catch (error) {
        if (!(error instanceof MongoServerError && INDEX_CONFLICT_CODES.has(Number(error.code)))) throw error;
        this.#log.warn(
          { collection, index: Object.keys(spec).join(','), code: error.code },
          'an equivalent index already exists with other options; keeping it',
        );
      }
    };
    await create(SPACES_COLLECTION, { roomId: 1 }, { unique: true });
    await create(SPACES_COLLECTION, { status: 1 }, {});
    await create(CONVERSATIONS_COLLECTION, { expiresAt: 1 }, { expireAfterSeconds: 0 });
    await create(CLAIMS_COLLECTION, { expiresAt: 1 }, { expireAfterSeconds: 0 });
    await create(ACTIVE_ROOMS_COLLECTION, { lastEventAt: -1 }, {});
    await create(ACTIVE_ROOMS_COLLECTION, { expiresAt: 1 }, { expireAfterSeconds: 0 });
    await create(NOTICES_COLLECTION, { expiresAt: 1 }, { expireAfterSeconds: 0 });
    // Sparse: only the few records with a running turn are in it (the takeover at start).
    await create(CONVERSATIONS_COLLECTION, { 'runningTurn.startedAt': 1 }, { sparse: true });
    await create(CONVERSATIONS_COLLECTION, { 'pendingForm.deadlineAt': 1 }, { sparse: true });
    await create(ECHOES_COLLECTION, { key: 1, seenAt: 1 }, {});
    await create(ECHOES_COLLECTION, { expiresAt: 1 }, { expireAfterSeconds: 0 });
    await create(PENDING_COLLECTION, { at: 1 }, {});
    await create(PENDING_COLLECTION, { expiresAt: 1 }, { expireAfterSeconds: 0 });
    // On `purgeAt` (a day past expiry), never on `expiresAt`: a lease its holder is renewing stays.
    await create(LEASES_COLLECTION, { purgeAt: 1 }, { expireAfterSeconds: 0 });
    this.#indexesReady = true;
  }

  /**
   * Start-up: create the indexes without holding start-up up; if MongoDB is unreachable, log it
   * and try again every 30 s until it answers (meanwhile lookups fail and spaces fail closed).
   */
  startIndexing(): void {
    const attempt = () => {
      this.#retryHandle = undefined;
      if (this.#closed) return;
      this.ensureIndexes().then(
        () => this.#log.info('MongoDB indexes ready'),
        (error: unknown) => {
          if (this.#closed) return;
          this.#log.warn(
            { err: describeMongoError(error), retryInS: INDEX_RETRY_MS / 1000 },
            'MongoDB unreachable or refused the indexes; retrying',
          );
          this.#retryHandle = this.#clock.setTimeout(attempt, INDEX_RETRY_MS);
        },
      );
    };
    attempt();
  }

  ping(): Promise<void> {
    return this.#bounded('ping', async () => {
      await (await this.#connection.db()).command({ ping: 1, maxTimeMS: this.#timeouts.maxTimeMS });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryHandle !== undefined) this.#clock.clearTimeout(this.#retryHandle);
    await this.#connection.close();
  }
}

/** The error's kind and message only: driver errors can carry whole connection descriptions. */
export function describeMongoError(error: unknown): { name: string; message: string; code?: unknown } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message.slice(0, 300),
      ...(code === undefined ? {} : { code }),
    };
  }
  return { name: 'Error', message: String(error).slice(0, 300) };
}
