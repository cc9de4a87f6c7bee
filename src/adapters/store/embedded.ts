/**
 * Embedded stores: one SQLite file under DATA_DIR (better-sqlite3), for a bot without MongoDB.
 * Spaces, conversations, event claims, leases and recently active rooms survive restarts and crashes.
 * Several processes on one host may share the file (replicas with one token, as the tests run
 * them): every claim is a single `INSERT … ON CONFLICT` statement, which SQLite runs under its
 * write lock, and a process that finds the lock held waits up to `BUSY_TIMEOUT_MS` for it. Across
 * hosts (network file systems break SQLite's locking) the store is MongoDB.
 *
 * Durability choices:
 * - WAL journal: a commit is one append to the write-ahead log, so a process killed mid-write
 *   leaves the last transaction either whole or absent, never half a record; readers never block
 *   the writer.
 * - synchronous=NORMAL for claims and conversations: in WAL mode this is safe against a crash of
 *   the process (committed data is in the OS cache and reaches the file); only a power loss or
 *   kernel crash can roll back the last few commits, never corrupt the file. That costs at most a
 *   re-answered event or a thread that starts a fresh agent context, and it spares the event loop
 *   an fsync per inbound event (better-sqlite3 is synchronous; on network volumes an fsync can
 *   take tens of milliseconds).
 * - synchronous=FULL around space authorizations and revocations: they are rare and an operator
 *   was told "done", so they are on disk before the call returns.
 * - Multi-row changes (revoking every id form of a room) run in one transaction.
 *
 * Expired claims, notices, conversations, own-post echoes and pending messages are ignored on read
 * and purged on an interval, and so are rooms inactive for a day and leases expired for a day.
 * Which conversations have a running turn or a waiting form is a small table of its own
 * (`open_conversations`), written in the same transaction as the record, so the takeover at start
 * reads a few rows.
 *
 * Schema changes are additive (`CREATE … IF NOT EXISTS`, `ADD COLUMN`): a table or column added
 * later (`active_rooms`, the claims' `owner`) needs no version bump, and an older bot can still
 * open the file.
 *
 * Health:
 * - Opening runs SQLite's `quick_check` (every page and index of the file is read once, so a large
 *   store takes longer to open): a corrupt or foreign file stops start-up with a clear
 *   `EmbeddedStoreError` naming the file, instead of failing later on some write.
 * - `ping` (readiness) reads and also writes one row, with a short lock wait: a full disk, a
 *   read-only volume or a lock held elsewhere makes it reject, so readiness turns 503 while writes
 *   fail and recovers when they succeed again.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import { CodedError } from '../../errors.js';
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
  SpaceStatus,
} from './ports.js';
import {
  ACTIVE_ROOM_RETENTION_MS,
  CONVERSATION_RETENTION_MS,
  distinctIdForms,
  ECHO_RETENTION_MS,
  pickSpace,
} from './records.js';

export const EMBEDDED_FILE_NAME = 'caipe-webex-bot.sqlite';
const PURGE_INTERVAL_MS = 10 * 60_000;
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS authorized_webex_spaces (
  room_id TEXT PRIMARY KEY,
  space_name TEXT,
  status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  authorized_by TEXT,
  authorized_at INTEGER,
  revoked_at INTEGER,
  revoked_by TEXT,
  listen_mode TEXT CHECK (listen_mode IN ('mention', 'message', 'all')),
  agent_id TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS authorized_webex_spaces_status ON authorized_webex_spaces (status);

CREATE TABLE IF NOT EXISTS conversations (
  key TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  record TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS conversations_expires_at ON conversations (expires_at);

CREATE TABLE IF NOT EXISTS event_claims (
  activity_id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL,
  owner TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_claims_expires_at ON event_claims (expires_at);

CREATE TABLE IF NOT EXISTS active_rooms (
  room_id TEXT PRIMARY KEY,
  room_type TEXT NOT NULL CHECK (room_type IN ('direct', 'group')),
  last_event_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS active_rooms_last_event_at ON active_rooms (last_event_at);

CREATE TABLE IF NOT EXISTS notices (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notices_expires_at ON notices (expires_at);

CREATE TABLE IF NOT EXISTS open_conversations (
  key TEXT PRIMARY KEY,
  turn_started_at INTEGER,
  form_deadline_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS open_conversations_turn ON open_conversations (turn_started_at)
  WHERE turn_started_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS open_conversations_form ON open_conversations (form_deadline_at)
  WHERE form_deadline_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS own_post_echoes (
  message_id TEXT PRIMARY KEY,
  key TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS own_post_echoes_key ON own_post_echoes (key, seen_at);
CREATE INDEX IF NOT EXISTS own_post_echoes_expires_at ON own_post_echoes (expires_at);

CREATE TABLE IF NOT EXISTS pending_messages (
  activity_id TEXT PRIMARY KEY,
  message TEXT NOT NULL,
  at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_messages_at ON pending_messages (at);
CREATE INDEX IF NOT EXISTS pending_messages_expires_at ON pending_messages (expires_at);

CREATE TABLE IF NOT EXISTS leases (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS leases_expires_at ON leases (expires_at);

CREATE TABLE IF NOT EXISTS store_health (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  checked_at INTEGER NOT NULL
) STRICT;
`;

/** How long the readiness write waits for a lock held elsewhere before it counts as failing. */
const PING_BUSY_TIMEOUT_MS = 250;
const BUSY_TIMEOUT_MS = 5_000;

/** The embedded store cannot be used: a corrupt or foreign file, or writes that fail. */
export class EmbeddedStoreError extends CodedError {
  readonly code = 'STORE_EMBEDDED';

  constructor(
    message: string,
    readonly reason: 'corrupt' | 'newer-schema' | 'writes-failing',
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'EmbeddedStoreError';
  }
}

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

interface SpaceRow {
  room_id: string;
  space_name: string | null;
  status: SpaceStatus;
  authorized_by: string | null;
  authorized_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  listen_mode: ListenMode | null;
  /** Added later: absent from rows an older bot read before the column existed. */
  agent_id?: string | null;
}

function spaceFromRow(row: SpaceRow): SpaceRecord {
  const record: SpaceRecord = { roomId: row.room_id, status: row.status };
  if (row.space_name !== null) record.spaceName = row.space_name;
  if (row.authorized_by !== null) record.authorizedBy = row.authorized_by;
  if (row.authorized_at !== null) record.authorizedAt = new Date(row.authorized_at);
  if (row.revoked_at !== null) record.revokedAt = new Date(row.revoked_at);
  if (row.revoked_by !== null) record.revokedBy = row.revoked_by;
  if (row.listen_mode !== null) record.listenMode = row.listen_mode;
  if (row.agent_id) record.agentId = row.agent_id;
  return record;
}

export interface EmbeddedStoreOptions {
  dataDir: string;
  log: Logger;
  clock?: Clock;
  conversationRetentionMs?: number;
  /** How often expired rows are deleted; 0 turns the timer off (tests call `purgeExpired`). */
  purgeIntervalMs?: number;
  /** Recorded with each event claim: `INSTANCE_ID`, else the host name. */
  owner?: string | undefined;
}

type Db = Database.Database;

export class EmbeddedSpaceRegistry implements SpaceRegistry {
  readonly #byForms = new Map<number, Database.Statement<string[], SpaceRow>>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly durably: <T>(work: () => T) => T,
  ) {}

  async find(roomIds: readonly string[]): Promise<SpaceRecord | undefined> {
    const forms = distinctIdForms(roomIds);
    if (forms.length === 0) return undefined;
    const rows = this.#selectByForms(forms.length).all(...forms);
    return pickSpace(rows.map(spaceFromRow));
  }

  async list(): Promise<SpaceRecord[]> {
    const rows = this.db
      .prepare<[], SpaceRow>('SELECT * FROM authorized_webex_spaces ORDER BY authorized_at DESC')
      .all();
    return rows.map(spaceFromRow);
  }

  async authorize(input: Parameters<SpaceRegistry['authorize']>[0]): Promise<SpaceRecord> {
    const row = this.durably(() =>
      this.db
        .prepare<[Record<string, unknown>], SpaceRow>(
          `INSERT INTO authorized_webex_spaces
             (room_id, space_name, status, authorized_by, authorized_at, listen_mode, agent_id)
           VALUES (@roomId, @spaceName, 'active', @authorizedBy, @now, @listenMode, @agentId)
           ON CONFLICT (room_id) DO UPDATE SET
             space_name = COALESCE(excluded.space_name, space_name),
             status = 'active',
             authorized_by = excluded.authorized_by,
             authorized_at = excluded.authorized_at,
             revoked_at = NULL,
             revoked_by = NULL,
             listen_mode = COALESCE(excluded.listen_mode, listen_mode),
             agent_id = CASE WHEN @agentIdGiven = 1 THEN excluded.agent_id ELSE agent_id END
           RETURNING *`,
        )
        .get({
          roomId: input.roomId,
          spaceName: input.spaceName ?? null,
          authorizedBy: input.authorizedBy,
          now: this.clock.now(),
          listenMode: input.listenMode ?? null,
          agentId: input.agentId ?? null,
          agentIdGiven: input.agentId === undefined ? 0 : 1,
        }),
    );
    if (!row) throw new Error('authorize: upsert returned no row');
    return spaceFromRow(row);
  }

  async revoke(roomIds: readonly string[], revokedBy: string): Promise<boolean> {
    const forms = distinctIdForms(roomIds);
    if (forms.length === 0) return false;
    const placeholders = forms.map(() => '?').join(', ');
    const revokeAll = this.db.transaction(() => {
      const known = this.#selectByForms(forms.length).all(...forms).length > 0;
      this.db
        .prepare(
          `UPDATE authorized_webex_spaces SET status = 'revoked', revoked_at = ?, revoked_by = ?
           WHERE status = 'active' AND room_id IN (${placeholders})`,
        )
        .run(this.clock.now(), revokedBy, ...forms);
      return known;
    });
    return this.durably(() => revokeAll.immediate());
  }

  #selectByForms(count: number): Database.Statement<string[], SpaceRow> {
    let statement = this.#byForms.get(count);
    if (!statement) {
      const placeholders = Array.from({ length: count }, () => '?').join(', ');
      statement = this.db.prepare<string[], SpaceRow>(
        `SELECT * FROM authorized_webex_spaces WHERE room_id IN (${placeholders})`,
      );
      this.#byForms.set(count, statement);
    }
    return statement;
  }
}

export class EmbeddedConversationStore implements ConversationStore {
  readonly #select: Database.Statement<[string], { record: string; expires_at: number }>;
  readonly #upsert: Database.Statement<[Record<string, unknown>]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #markOpen: Database.Statement<[string, number | null, number | null]>;
  readonly #unmarkOpen: Database.Statement<[string]>;
  readonly #running: Database.Statement<[number, number], { key: string; record: string }>;
  readonly #waiting: Database.Statement<[number, number], { key: string; record: string }>;
  readonly #putTx: (record: ConversationRecord) => void;
  readonly #deleteTx: (key: string) => void;

  constructor(
    db: Db,
    private readonly clock: Clock,
    private readonly retentionMs: number,
    private readonly log: Logger,
  ) {
    this.#select = db.prepare('SELECT record, expires_at FROM conversations WHERE key = ?');
    this.#upsert = db.prepare(
      `INSERT INTO conversations (key, room_id, record, updated_at, expires_at)
       VALUES (@key, @roomId, @record, @updatedAt, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET room_id = excluded.room_id, record = excluded.record,
         updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
    );
    this.#delete = db.prepare('DELETE FROM conversations WHERE key = ?');
    // Which records have a running turn or a waiting form, in a table of its own: the start-up
    // queries read a few rows instead of every conversation's JSON.
    this.#markOpen = db.prepare(
      `INSERT INTO open_conversations (key, turn_started_at, form_deadline_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET turn_started_at = excluded.turn_started_at,
         form_deadline_at = excluded.form_deadline_at`,
    );
    this.#unmarkOpen = db.prepare('DELETE FROM open_conversations WHERE key = ?');
    this.#running = db.prepare(
      `SELECT c.key AS key, c.record AS record FROM open_conversations o
       JOIN conversations c ON c.key = o.key
       WHERE o.turn_started_at IS NOT NULL AND c.expires_at > ? ORDER BY o.turn_started_at ASC LIMIT ?`,
    );
    this.#waiting = db.prepare(
      `SELECT c.key AS key, c.record AS record FROM open_conversations o
       JOIN conversations c ON c.key = o.key
       WHERE o.form_deadline_at IS NOT NULL AND c.expires_at > ? ORDER BY o.form_deadline_at ASC LIMIT ?`,
    );
    // The record and its running-turn mark change together, or not at all.
    this.#putTx = db.transaction((record: ConversationRecord) => {
      this.#upsert.run({
        key: record.key,
        roomId: record.roomId,
        record: JSON.stringify(record),
        updatedAt: record.updatedAt,
        expiresAt: record.updatedAt + this.retentionMs,
      });
      const turnStartedAt = record.runningTurn?.startedAt ?? null;
      const formDeadlineAt = record.pendingForm?.deadlineAt ?? null;
      if (turnStartedAt !== null || formDeadlineAt !== null)
        this.#markOpen.run(record.key, turnStartedAt, formDeadlineAt);
      else this.#unmarkOpen.run(record.key);
    });
    this.#deleteTx = db.transaction((key: string) => {
      this.#delete.run(key);
      this.#unmarkOpen.run(key);
    });
  }

  async get(key: string): Promise<ConversationRecord | undefined> {
    const row = this.#select.get(key);
    if (!row) return undefined;
    if (row.expires_at <= this.clock.now()) {
      this.#deleteTx(key);
      return undefined;
    }
    return this.#parse(key, row.record);
  }

  async put(record: ConversationRecord): Promise<void> {
    // The whole record as JSON: fields added to ConversationRecord later are kept without a migration.
    this.#putTx(record);
  }

  async delete(key: string): Promise<void> {
    this.#deleteTx(key);
  }

  async running(limit: number): Promise<ConversationRecord[]> {
    const rows = this.#running.all(this.clock.now(), Math.max(0, Math.floor(limit)));
    return rows
      .map((row) => this.#parse(row.key, row.record))
      .filter((record): record is ConversationRecord => record?.runningTurn !== undefined);
  }

  async waiting(limit: number): Promise<ConversationRecord[]> {
    const rows = this.#waiting.all(this.clock.now(), Math.max(0, Math.floor(limit)));
    return rows
      .map((row) => this.#parse(row.key, row.record))
      .filter((record): record is ConversationRecord => record?.pendingForm !== undefined);
  }

  #parse(key: string, text: string): ConversationRecord | undefined {
    try {
      const record = JSON.parse(text) as ConversationRecord;
      if (typeof record === 'object' && record !== null && record.key === key) return record;
    } catch {
      // fall through: an unreadable record is treated as absent, the thread starts afresh
    }
    this.log.warn({ threadKey: key }, 'unreadable conversation record ignored');
    return undefined;
  }
}

export class EmbeddedOwnPostEchoes implements OwnPostEchoes {
  readonly #insert: Database.Statement<[Record<string, unknown>]>;
  readonly #since: Database.Statement<
    [string, number, number, number],
    { message_id: string; key: string; seen_at: number }
  >;

  constructor(
    db: Db,
    private readonly clock: Clock,
  ) {
    this.#insert = db.prepare(
      `INSERT INTO own_post_echoes (message_id, key, seen_at, expires_at)
       VALUES (@messageId, @key, @seenAt, @expiresAt) ON CONFLICT (message_id) DO NOTHING`,
    );
    this.#since = db.prepare(
      `SELECT message_id, key, seen_at FROM own_post_echoes
       WHERE key = ? AND seen_at >= ? AND expires_at > ? ORDER BY seen_at ASC LIMIT ?`,
    );
  }

  async record(echo: OwnPostEcho): Promise<void> {
    this.#insert.run({ ...echo, expiresAt: this.clock.now() + ECHO_RETENTION_MS });
  }

  async since(key: string, since: number, limit: number): Promise<OwnPostEcho[]> {
    return this.#since
      .all(key, since, this.clock.now(), Math.max(0, Math.floor(limit)))
      .map((row) => ({ key: row.key, messageId: row.message_id, seenAt: row.seen_at }));
  }
}

export class EmbeddedPendingMessages implements PendingMessages {
  readonly #insert: Database.Statement<[Record<string, unknown>]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #list: Database.Statement<[number, number], { message: string }>;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.#insert = db.prepare(
      `INSERT INTO pending_messages (activity_id, message, at, expires_at)
       VALUES (@activityId, @message, @at, @expiresAt)
       ON CONFLICT (activity_id) DO UPDATE SET message = excluded.message, at = excluded.at,
         expires_at = excluded.expires_at`,
    );
    this.#delete = db.prepare('DELETE FROM pending_messages WHERE activity_id = ?');
    this.#list = db.prepare(
      'SELECT message FROM pending_messages WHERE expires_at > ? ORDER BY at ASC LIMIT ?',
    );
  }

  async add(message: PendingMessage, ttlMs: number): Promise<void> {
    this.#insert.run({
      activityId: message.activityId,
      message: JSON.stringify(message),
      at: message.at,
      expiresAt: this.clock.now() + ttlMs,
    });
  }

  async settle(activityIds: readonly string[]): Promise<void> {
    if (activityIds.length === 0) return;
    this.db.transaction(() => {
      for (const id of activityIds) this.#delete.run(id);
    })();
  }

  async list(limit: number): Promise<PendingMessage[]> {
    const out: PendingMessage[] = [];
    for (const row of this.#list.all(this.clock.now(), Math.max(0, Math.floor(limit)))) {
      try {
        const message = JSON.parse(row.message) as PendingMessage;
        if (typeof message?.activityId === 'string' && typeof message.key === 'string') out.push(message);
      } catch {
        this.log.warn('unreadable pending message ignored');
      }
    }
    return out;
  }
}

/**
 * Claims are one statement each, so they are atomic across processes sharing the file: SQLite
 * takes the write lock for the statement (waiting up to the busy timeout while another process
 * holds it) and reads the row under that lock, so of two processes claiming one id exactly one
 * inserts it; the other sees the conflict and changes nothing.
 */
export class EmbeddedEventClaims implements EventClaims {
  readonly #claim: Database.Statement<[Record<string, string | number | null>]>;
  readonly #owner: string | null | undefined;

  /** `table`: another table of claims (notices), without an owner column. */
  constructor(
    db: Db,
    private readonly clock: Clock,
    options: { table?: { name: string; key: string }; owner?: string | undefined } = {},
  ) {
    const { table } = options;
    // Inserts a new claim, or takes over an expired one; a live claim is left alone (0 changes).
    if (table) {
      this.#claim = db.prepare(
        `INSERT INTO ${table.name} (${table.key}, expires_at) VALUES (@id, @expiresAt)
         ON CONFLICT (${table.key}) DO UPDATE SET expires_at = excluded.expires_at
         WHERE ${table.name}.expires_at <= @now`,
      );
    } else {
      this.#owner = options.owner ?? null;
      this.#claim = db.prepare(
        `INSERT INTO event_claims (activity_id, expires_at, owner) VALUES (@id, @expiresAt, @owner)
         ON CONFLICT (activity_id) DO UPDATE SET expires_at = excluded.expires_at, owner = excluded.owner
         WHERE event_claims.expires_at <= @now`,
      );
    }
  }

  async claim(activityId: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const params = { id: activityId, expiresAt: now + ttlMs, now };
    const result =
      this.#owner === undefined
        ? this.#claim.run(params)
        : this.#claim.run({ ...params, owner: this.#owner });
    return result.changes === 1;
  }
}

/**
 * Leases, atomic across processes sharing the file: `acquire` is one `INSERT … ON CONFLICT`
 * statement, whose condition (free, expired, or already the owner's) SQLite evaluates under its
 * write lock, so of processes racing for one key exactly one holds it afterwards. `renew` and
 * `release` change and read their keys in one IMMEDIATE transaction. The keys of a call travel as
 * one JSON array (`json_each`), so a call is one statement whatever the number of keys.
 */
export class EmbeddedLeases implements LeaseStore {
  readonly #acquire: Database.Statement<[Record<string, string | number>]>;
  readonly #extend: Database.Statement<[Record<string, string | number>]>;
  readonly #owned: Database.Statement<[Record<string, string>], { key: string }>;
  readonly #release: Database.Statement<[Record<string, string>]>;
  readonly #get: Database.Statement<[string], LeaseRow>;
  readonly #list: Database.Statement<[Record<string, string | number>], LeaseRow>;
  readonly #renewTx: (keys: string[], owner: string, expiresAt: number) => Set<string>;

  constructor(db: Db) {
    this.#acquire = db.prepare(
      `INSERT INTO leases (key, owner, expires_at) VALUES (@key, @owner, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE leases.owner = excluded.owner OR leases.expires_at <= @now`,
    );
    this.#extend = db.prepare(
      `UPDATE leases SET expires_at = @expiresAt
       WHERE owner = @owner AND key IN (SELECT value FROM json_each(@keys))`,
    );
    this.#owned = db.prepare(
      'SELECT key FROM leases WHERE owner = @owner AND key IN (SELECT value FROM json_each(@keys))',
    );
    this.#release = db.prepare(
      'DELETE FROM leases WHERE owner = @owner AND key IN (SELECT value FROM json_each(@keys))',
    );
    this.#get = db.prepare(
      'SELECT key, owner, expires_at FROM leases WHERE key IN (SELECT value FROM json_each(?))',
    );
    this.#list = db.prepare(
      `SELECT key, owner, expires_at FROM leases WHERE key >= @prefix AND key <= @upper
       ORDER BY key LIMIT @limit`,
    );
    const renew = db.transaction((keys: string[], owner: string, expiresAt: number) => {
      const params = { keys: JSON.stringify(keys), owner };
      this.#extend.run({ ...params, expiresAt });
      return new Set(this.#owned.all(params).map((row) => row.key));
    });
    this.#renewTx = (keys, owner, expiresAt) => renew.immediate(keys, owner, expiresAt);
  }

  async acquire(key: string, owner: string, now: number, expiresAt: number): Promise<boolean> {
    const result = this.#acquire.run({
      key: leaseKey(key),
      owner: leaseOwner(owner),
      now: leaseTime(now, 'now'),
      expiresAt: leaseTime(expiresAt, 'expiresAt'),
    });
    return result.changes === 1;
  }

  async renew(keys: readonly string[], owner: string, expiresAt: number): Promise<string[]> {
    const distinct = leaseKeys(keys);
    const checkedOwner = leaseOwner(owner);
    const until = leaseTime(expiresAt, 'expiresAt');
    if (distinct.length === 0) return [];
    const held = this.#renewTx(distinct, checkedOwner, until);
    return distinct.filter((key) => !held.has(key));
  }

  async release(keys: readonly string[], owner: string): Promise<void> {
    const distinct = leaseKeys(keys);
    const checkedOwner = leaseOwner(owner);
    if (distinct.length === 0) return;
    this.#release.run({ keys: JSON.stringify(distinct), owner: checkedOwner });
  }

  async get(keys: readonly string[]): Promise<Lease[]> {
    const distinct = leaseKeys(keys);
    if (distinct.length === 0) return [];
    const found = new Map(this.#get.all(JSON.stringify(distinct)).map((row) => [row.key, leaseFromRow(row)]));
    return distinct.flatMap((key) => found.get(key) ?? []);
  }

  async list(prefix: string, limit: number): Promise<Lease[]> {
    const checked = leasePrefix(prefix);
    const max = listLimit(limit);
    if (max === 0) return [];
    return this.#list
      .all({ prefix: checked, upper: prefixUpperBound(checked), limit: max })
      .map(leaseFromRow);
  }
}

interface LeaseRow {
  key: string;
  owner: string;
  expires_at: number;
}

function leaseFromRow(row: LeaseRow): Lease {
  return { key: row.key, owner: row.owner, expiresAt: row.expires_at };
}

export class EmbeddedActiveRooms implements ActiveRooms {
  readonly #touch: Database.Statement<[ActiveRoom]>;
  readonly #recent: Database.Statement<
    [number, number],
    { room_id: string; room_type: ActiveRoom['roomType']; last_event_at: number }
  >;

  constructor(db: Db) {
    this.#touch = db.prepare(
      `INSERT INTO active_rooms (room_id, room_type, last_event_at)
       VALUES (@roomId, @roomType, @lastEventAt)
       ON CONFLICT (room_id) DO UPDATE SET room_type = excluded.room_type,
         last_event_at = MAX(last_event_at, excluded.last_event_at)`,
    );
    this.#recent = db.prepare(
      `SELECT room_id, room_type, last_event_at FROM active_rooms
       WHERE last_event_at >= ? ORDER BY last_event_at DESC LIMIT ?`,
    );
  }

  async touch(room: ActiveRoom): Promise<void> {
    this.#touch.run({ roomId: room.roomId, roomType: room.roomType, lastEventAt: room.lastEventAt });
  }

  async recent(since: number, limit: number): Promise<ActiveRoom[]> {
    return this.#recent.all(since, Math.max(0, Math.floor(limit))).map((row) => ({
      roomId: row.room_id,
      roomType: row.room_type,
      lastEventAt: row.last_event_at,
    }));
  }
}

/** Notices as claims in their own table: the same once-per-interval rule. */
export class EmbeddedNoticeLog implements NoticeLog {
  readonly #claims: EmbeddedEventClaims;

  constructor(db: Db, clock: Clock) {
    this.#claims = new EmbeddedEventClaims(db, clock, { table: { name: 'notices', key: 'key' } });
  }

  noticeDue(key: string, intervalMs: number): Promise<boolean> {
    return this.#claims.claim(key, intervalMs);
  }
}

/** The embedded adapters over one SQLite file. */
export class EmbeddedStores {
  readonly spaces: EmbeddedSpaceRegistry;
  readonly conversations: EmbeddedConversationStore;
  readonly claims: EmbeddedEventClaims;
  readonly rooms: EmbeddedActiveRooms;
  readonly notices: EmbeddedNoticeLog;
  readonly echoes: EmbeddedOwnPostEchoes;
  readonly pending: EmbeddedPendingMessages;
  readonly leases: EmbeddedLeases;
  readonly file: string;
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #purgeIntervalMs: number;
  #purgeHandle: unknown;

  /** Opens (creating if needed) `<dataDir>/caipe-webex-bot.sqlite`. Throws if the file is unusable. */
  constructor(options: EmbeddedStoreOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log.child({ component: 'store', store: 'embedded' });
    mkdirSync(options.dataDir, { recursive: true });
    this.file = path.join(options.dataDir, EMBEDDED_FILE_NAME);
    this.#db = new Database(this.file, { timeout: BUSY_TIMEOUT_MS });
    try {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#checkIntegrity();
      this.#migrate();
    } catch (error) {
      this.#db.close();
      if (error instanceof EmbeddedStoreError) throw error;
      const code = sqliteCode(error);
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw this.#corrupt(code, error);
      throw error;
    }
    const durably = <T>(work: () => T): T => {
      this.#db.pragma('synchronous = FULL');
      try {
        return work();
      } finally {
        this.#db.pragma('synchronous = NORMAL');
      }
    };
    this.spaces = new EmbeddedSpaceRegistry(this.#db, this.#clock, durably);
    this.conversations = new EmbeddedConversationStore(
      this.#db,
      this.#clock,
      options.conversationRetentionMs ?? CONVERSATION_RETENTION_MS,
      this.#log,
    );
    this.claims = new EmbeddedEventClaims(this.#db, this.#clock, { owner: options.owner });
    this.rooms = new EmbeddedActiveRooms(this.#db);
    this.notices = new EmbeddedNoticeLog(this.#db, this.#clock);
    this.echoes = new EmbeddedOwnPostEchoes(this.#db, this.#clock);
    this.pending = new EmbeddedPendingMessages(this.#db, this.#clock, this.#log);
    this.leases = new EmbeddedLeases(this.#db);
    this.#purgeIntervalMs = options.purgeIntervalMs ?? PURGE_INTERVAL_MS;
    this.#schedulePurge();
  }

  /**
   * Deletes expired claims, notices, conversations, echoes and pending messages, rooms inactive
   * for a day and leases expired for a day; returns how many rows went.
   */
  purgeExpired(): {
    claims: number;
    notices: number;
    conversations: number;
    rooms: number;
    echoes: number;
    pending: number;
    leases: number;
  } {
    const now = this.#clock.now();
    const purge = this.#db.transaction(() => ({
      claims: this.#db.prepare('DELETE FROM event_claims WHERE expires_at <= ?').run(now).changes,
      notices: this.#db.prepare('DELETE FROM notices WHERE expires_at <= ?').run(now).changes,
      conversations: this.#purgeConversations(now),
      echoes: this.#db.prepare('DELETE FROM own_post_echoes WHERE expires_at <= ?').run(now).changes,
      pending: this.#db.prepare('DELETE FROM pending_messages WHERE expires_at <= ?').run(now).changes,
      rooms: this.#db
        .prepare('DELETE FROM active_rooms WHERE last_event_at <= ?')
        .run(now - ACTIVE_ROOM_RETENTION_MS).changes,
      leases: this.#db.prepare('DELETE FROM leases WHERE expires_at <= ?').run(now - LEASE_PURGE_AFTER_MS)
        .changes,
    }));
    return purge.immediate();
  }

  #purgeConversations(now: number): number {
    const changes = this.#db.prepare('DELETE FROM conversations WHERE expires_at <= ?').run(now).changes;
    this.#db.prepare('DELETE FROM open_conversations WHERE key NOT IN (SELECT key FROM conversations)').run();
    return changes;
  }

  /** Resolves while the file can be read and written; rejects with the reason otherwise. */
  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
    this.#db.pragma(`busy_timeout = ${PING_BUSY_TIMEOUT_MS}`);
    try {
      this.#db
        .prepare(
          `INSERT INTO store_health (id, checked_at) VALUES (1, ?)
           ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`,
        )
        .run(this.#clock.now());
    } catch (error) {
      throw new EmbeddedStoreError(
        `writes to the embedded store fail (${sqliteCode(error) ?? 'error'})`,
        'writes-failing',
        { cause: error },
      );
    } finally {
      this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  async close(): Promise<void> {
    if (this.#purgeHandle !== undefined) this.#clock.clearTimeout(this.#purgeHandle);
    this.#purgeHandle = undefined;
    if (this.#db.open) this.#db.close();
  }

  /** SQLite's own check of every page and index; anything but "ok" means the file is damaged. */
  #checkIntegrity(): void {
    const rows = this.#db.pragma('quick_check(5)') as Array<Record<string, unknown>>;
    const problems = rows.map((row) => String(Object.values(row)[0] ?? '')).filter((row) => row !== 'ok');
    if (problems.length > 0) throw this.#corrupt(problems.join('; ').slice(0, 300));
  }

  #corrupt(detail: string, cause?: unknown): EmbeddedStoreError {
    return new EmbeddedStoreError(
      `the embedded store ${this.file} is damaged or not a database (${detail}). ` +
        'Restore it from a backup, or move it away to start with an empty store (spaces authorized ' +
        'through the admin API and open conversations are then forgotten).',
      'corrupt',
      { cause },
    );
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new EmbeddedStoreError(
        `${this.file} was written by a newer version of the bot (schema ${version}, this one knows ${SCHEMA_VERSION})`,
        'newer-schema',
      );
    }
    // IMMEDIATE: processes sharing the file (replicas on one host) migrate one after the other,
    // each seeing what the previous one did, instead of failing on a stale read.
    this.#db
      .transaction(() => {
        this.#db.exec(SCHEMA);
        // Columns added later (additive, so an older bot still opens the file).
        const claimColumns = this.#db.pragma('table_info(event_claims)') as Array<{ name: string }>;
        if (!claimColumns.some((column) => column.name === 'owner'))
          this.#db.exec('ALTER TABLE event_claims ADD COLUMN owner TEXT');
        const spaceColumns = this.#db.pragma('table_info(authorized_webex_spaces)') as Array<{
          name: string;
        }>;
        if (!spaceColumns.some((column) => column.name === 'agent_id'))
          this.#db.exec('ALTER TABLE authorized_webex_spaces ADD COLUMN agent_id TEXT');
        this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })
      .immediate();
  }

  #schedulePurge(): void {
    if (this.#purgeIntervalMs <= 0) return;
    this.#purgeHandle = this.#clock.setTimeout(() => {
      if (!this.#db.open) return;
      try {
        const purged = this.purgeExpired();
        if (Object.values(purged).some((count) => count > 0)) this.#log.debug(purged, 'expired rows purged');
      } catch (error) {
        this.#log.warn({ err: error }, 'purging expired rows failed');
      }
      this.#schedulePurge();
    }, this.#purgeIntervalMs);
  }
}
