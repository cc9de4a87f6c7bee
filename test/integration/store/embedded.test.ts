import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EMBEDDED_FILE_NAME,
  EmbeddedStoreError,
  EmbeddedStores,
} from '../../../src/adapters/store/embedded.js';
import { openStores } from '../../../src/adapters/store/index.js';
import { LEASE_PURGE_AFTER_MS } from '../../../src/adapters/store/lease-input.js';
import { CONVERSATION_RETENTION_MS } from '../../../src/adapters/store/records.js';
import { roomIdForms } from '../../../src/adapters/store/space-authorization.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { createLogger, silentLogger } from '../../../src/logger.js';
import { captureLog } from '../../helpers/capture.js';
import { ManualClock, SIM_EPOCH } from '../../helpers/manual-clock.js';
import { describeStoreContract, ROOM_PUBLIC_ID, ROOM_UUID } from './contract.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'webex-bot-store-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract(
  'embedded',
  async ({ clock }) =>
    new EmbeddedStores({ dataDir: tempDir(), log: silentLogger(), clock, purgeIntervalMs: 0 }),
  {
    claimsFollowClock: true,
    conversationRetentionMs: CONVERSATION_RETENTION_MS,
  },
);

describe('embedded store on disk', () => {
  let clock: ManualClock;
  let dataDir: string;
  const open: EmbeddedStores[] = [];

  const openStore = (options: { purgeIntervalMs?: number } = {}) => {
    const store = new EmbeddedStores({ dataDir, log: silentLogger(), clock, purgeIntervalMs: 0, ...options });
    open.push(store);
    return store;
  };

  beforeEach(() => {
    clock = new ManualClock(SIM_EPOCH);
    dataDir = path.join(tempDir(), 'nested', 'data');
  });

  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

  it('creates DATA_DIR and keeps spaces, conversations, claims and active rooms across close and reopen', async () => {
    const first = openStore();
    expect(first.file).toBe(path.join(dataDir, EMBEDDED_FILE_NAME));
    await first.spaces.authorize({ roomId: ROOM_PUBLIC_ID, spaceName: 'Ops', authorizedBy: 'admin-api' });
    await first.spaces.authorize({
      roomId: '11111111-2222-4333-8444-555555555555',
      authorizedBy: 'admin-api',
    });
    await first.spaces.revoke(['11111111-2222-4333-8444-555555555555'], 'admin-api');
    await first.conversations.put({
      key: 'thread-1',
      roomId: ROOM_PUBLIC_ID,
      contextId: 'ctx-1',
      updatedAt: clock.now(),
    });
    expect(await first.claims.claim('activity-1', 3_600_000)).toBe(true);
    await first.rooms.touch({ roomId: ROOM_PUBLIC_ID, roomType: 'group', lastEventAt: clock.now() });
    await first.close();

    const second = openStore();
    expect(await second.spaces.find(roomIdForms(ROOM_UUID))).toMatchObject({
      status: 'active',
      spaceName: 'Ops',
    });
    expect(await second.spaces.find(['11111111-2222-4333-8444-555555555555'])).toMatchObject({
      status: 'revoked',
      revokedBy: 'admin-api',
    });
    expect((await second.conversations.get('thread-1'))?.contextId).toBe('ctx-1');
    expect(await second.claims.claim('activity-1', 3_600_000)).toBe(false);
    expect(await second.rooms.recent(clock.now() - 1, 10)).toEqual([
      { roomId: ROOM_PUBLIC_ID, roomType: 'group', lastEventAt: clock.now() },
    ]);
  });

  it('purges expired claims and conversations on its interval', async () => {
    const store = openStore({ purgeIntervalMs: 86_400_000 });
    await store.claims.claim('short', 1_000);
    await store.claims.claim('long', 2 * CONVERSATION_RETENTION_MS);
    await store.conversations.put({ key: 'old', roomId: ROOM_UUID, updatedAt: clock.now() });
    await store.rooms.touch({ roomId: ROOM_UUID, roomType: 'direct', lastEventAt: clock.now() });
    await clock.advance(CONVERSATION_RETENTION_MS);

    const raw = new Database(store.file, { readonly: true });
    try {
      const count = (table: string) =>
        (raw.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      expect(count('event_claims')).toBe(1);
      expect(count('conversations')).toBe(0);
      expect(count('active_rooms')).toBe(0);
      expect(clock.pendingTimers).toBe(1);
    } finally {
      raw.close();
    }
    await store.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps a lease a day past its expiry (its holder may still renew it), then purges it', async () => {
    const store = openStore();
    const now = clock.now();
    await store.leases.acquire('conv:stale', 'gone', now, now + 60_000);
    await store.leases.acquire('conv:quiet', 'slow', now, now + 60_000);
    await store.leases.acquire('conv:live', 'alive', now, now + 2 * LEASE_PURGE_AFTER_MS);
    await clock.advance(60_000 + LEASE_PURGE_AFTER_MS - 1);
    expect(store.purgeExpired().leases).toBe(0);
    // Expired for almost a day and never taken: still its holder's.
    expect(await store.leases.renew(['conv:quiet'], 'slow', clock.now() + 60_000)).toEqual([]);
    await clock.advance(1);
    expect(store.purgeExpired().leases).toBe(1);
    expect((await store.leases.list('conv:', 10)).map((lease) => lease.key)).toEqual([
      'conv:live',
      'conv:quiet',
    ]);
    expect(await store.leases.renew(['conv:stale'], 'gone', clock.now() + 60_000)).toEqual(['conv:stale']);
  });

  it('treats an unreadable conversation row as absent and logs it', async () => {
    const capture = captureLog();
    const store = new EmbeddedStores({
      dataDir,
      clock,
      purgeIntervalMs: 0,
      log: createLogger({ level: 'warn', destination: capture.destination }),
    });
    open.push(store);
    const raw = new Database(store.file);
    raw
      .prepare(
        'INSERT INTO conversations (key, room_id, record, updated_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run('broken', ROOM_UUID, '{"key": "brok', clock.now(), clock.now() + 1_000_000);
    raw.close();
    expect(await store.conversations.get('broken')).toBeUndefined();
    expect(capture.records().some((r) => r.msg === 'unreadable conversation record ignored')).toBe(true);
  });

  it('refuses a file written by a newer schema with a clear error', async () => {
    openStore();
    await open[0]?.close();
    const raw = new Database(path.join(dataDir, EMBEDDED_FILE_NAME));
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openStore()).toThrow(/newer version of the bot \(schema 99/);
  });

  it('refuses a file that is not a database at all, naming the file and what to do', () => {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, EMBEDDED_FILE_NAME), 'this is not a database '.repeat(500));
    const error = (() => {
      try {
        openStore();
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(EmbeddedStoreError);
    expect(error).toMatchObject({ reason: 'corrupt', code: 'STORE_EMBEDDED' });
    expect((error as Error).message).toContain(EMBEDDED_FILE_NAME);
    expect((error as Error).message).toMatch(/damaged or not a database.*Restore it from a backup/);
  });

  it('runs an integrity check when it opens: a damaged page stops start-up with a clear error', async () => {
    const store = openStore();
    for (let i = 0; i < 2_000; i++) {
      await store.conversations.put({
        key: `thread-${i}`,
        roomId: ROOM_UUID,
        contextId: 'c'.repeat(200),
        updatedAt: clock.now(),
      });
    }
    await store.close();
    const file = path.join(dataDir, EMBEDDED_FILE_NAME);
    // Fold the write-ahead log into the file, then overwrite pages in the middle of it.
    const raw = new Database(file);
    raw.pragma('wal_checkpoint(TRUNCATE)');
    raw.close();
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    bytes.fill(0xa5, pageSize * 3, pageSize * 12);
    writeFileSync(file, bytes);
    expect(() => openStore()).toThrow(EmbeddedStoreError);
    expect(() => openStore()).toThrow(/damaged or not a database/);
  });

  it('ping fails while writes fail (the file is locked elsewhere) and recovers after', async () => {
    const store = openStore();
    await expect(store.ping()).resolves.toBeUndefined();
    const other = new Database(path.join(dataDir, EMBEDDED_FILE_NAME));
    try {
      other.exec('BEGIN EXCLUSIVE');
      await expect(store.ping()).rejects.toMatchObject({ reason: 'writes-failing' });
      await expect(store.ping()).rejects.toThrow(/writes to the embedded store fail \(SQLITE_BUSY/);
      other.exec('COMMIT');
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      other.close();
    }
  });

  it('uses WAL with synchronous=NORMAL between space changes', async () => {
    const store = openStore();
    await store.spaces.authorize({ roomId: ROOM_UUID, authorizedBy: 'admin-api' });
    const raw = new Database(store.file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
    // synchronous is per connection: read the store's own (FULL only while a space change commits).
    const db = (store as unknown as { spaces: { db: Database.Database } }).spaces.db;
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('survives a writer killed mid-write: opens, and holds only whole records', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/integration/store/crash-writer.ts', dataDir],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    );

    // Kill it once it has committed plenty of iterations, while it is writing the next ones.
    let acknowledged = -1;
    for await (const line of createInterface({ input: child.stdout })) {
      acknowledged = Number(line);
      if (acknowledged >= 150) {
        child.kill('SIGKILL');
        break;
      }
    }
    expect(await exited, stderr).toBe('SIGKILL');
    expect(acknowledged).toBeGreaterThanOrEqual(150);

    const store = openStore();
    const raw = new Database(store.file, { readonly: true });
    try {
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = raw.prepare('SELECT key, record FROM conversations').all() as {
        key: string;
        record: string;
      }[];
      expect(rows.length).toBeGreaterThan(acknowledged);
      for (const row of rows) {
        const i = Number(row.key.slice('thread-'.length));
        const record = JSON.parse(row.record) as { contextId: string; traceId: string };
        expect(record.contextId).toBe(`ctx-${i}`);
        expect(record.traceId).toBe(String(i % 10).repeat(12_000));
      }
      // Every acknowledged iteration is there in full.
      for (let i = 0; i <= acknowledged; i++) {
        expect((await store.conversations.get(`thread-${i}`))?.contextId).toBe(`ctx-${i}`);
        expect(await store.claims.claim(`activity-${i}`, 3_600_000)).toBe(false);
        const uuid = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
        expect(await store.spaces.find([uuid])).toMatchObject({ status: 'revoked' });
      }
      // The revocation of a room's two entries is one transaction: never one revoked, one active.
      const spaces = raw.prepare('SELECT room_id, status FROM authorized_webex_spaces').all() as {
        room_id: string;
        status: string;
      }[];
      const byUuid = new Map<string, string[]>();
      for (const space of spaces) {
        const uuid = roomIdForms(space.room_id).find((form) => /^[0-9a-f-]{36}$/.test(form)) ?? space.room_id;
        byUuid.set(uuid, [...(byUuid.get(uuid) ?? []), space.status]);
      }
      for (const [uuid, statuses] of byUuid) {
        if (statuses.length === 2) expect(new Set(statuses).size, uuid).toBe(1);
      }
      expect(encodeHydraId('ROOM', [...byUuid.keys()][0] ?? '')).toMatch(/^Y2lz/);
    } finally {
      raw.close();
    }
  }, 60_000);
});

describe('openStores without MONGODB_URI', () => {
  it('opens the embedded store under DATA_DIR, answers ping, and warns that only the admin API authorizes', async () => {
    const capture = captureLog();
    const stores = await openStores(
      { mongodbUri: undefined, mongodbDatabase: 'caipe', dataDir: tempDir() },
      {
        log: createLogger({ level: 'info', destination: capture.destination }),
        clock: new ManualClock(SIM_EPOCH),
      },
    );
    try {
      expect(stores.kind).toBe('embedded');
      await expect(stores.ping()).resolves.toBeUndefined();
      await stores.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'admin-api' });
      expect((await stores.spaces.list()).map((s) => s.roomId)).toEqual([ROOM_PUBLIC_ID]);
      expect(await stores.leases.acquire('instance:a', 'a', SIM_EPOCH, SIM_EPOCH + 1_000)).toBe(true);
      expect(await stores.leases.get(['instance:a'])).toEqual([
        { key: 'instance:a', owner: 'a', expiresAt: SIM_EPOCH + 1_000 },
      ]);
      const warning = capture.records().find((r) => r.level === 'warn');
      expect(String(warning?.msg)).toMatch(/admin API/);
    } finally {
      await stores.close();
    }
  });
});

describe('one embedded file shared by several processes (replicas on one host)', () => {
  const open: EmbeddedStores[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

  it('two store instances on one file: one claim per id, the owner recorded, an expired one taken over', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const dataDir = tempDir();
    const [a, b] = ['replica-a', 'replica-b'].map((owner) => {
      const store = new EmbeddedStores({ dataDir, log: silentLogger(), clock, purgeIntervalMs: 0, owner });
      open.push(store);
      return store;
    }) as [EmbeddedStores, EmbeddedStores];
    expect(await a.claims.claim('activity-1', 60_000)).toBe(true);
    expect(await b.claims.claim('activity-1', 60_000)).toBe(false);
    expect(await b.claims.claim('activity-2', 60_000)).toBe(true);
    expect(await a.claims.claim('activity-2', 60_000)).toBe(false);
    const owners = () =>
      new Database(a.file, { readonly: true })
        .prepare('SELECT activity_id, owner FROM event_claims ORDER BY activity_id')
        .all();
    expect(owners()).toEqual([
      { activity_id: 'activity-1', owner: 'replica-a' },
      { activity_id: 'activity-2', owner: 'replica-b' },
    ]);
    await clock.advance(60_000);
    // Past the window the claim is free again: the taker becomes its owner.
    expect(await b.claims.claim('activity-1', 60_000)).toBe(true);
    expect(await a.claims.claim('activity-1', 60_000)).toBe(false);
    expect(owners()[0]).toEqual({ activity_id: 'activity-1', owner: 'replica-b' });
  });

  it('a file written before claims had owners gets the column, and its claims still hold', async () => {
    const dataDir = tempDir();
    const legacy = new Database(path.join(dataDir, EMBEDDED_FILE_NAME));
    legacy.exec(
      `CREATE TABLE event_claims (activity_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
       INSERT INTO event_claims VALUES ('old-activity', ${Date.now() + 3_600_000});`,
    );
    legacy.close();
    const store = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0, owner: 'new' });
    open.push(store);
    expect(await store.claims.claim('old-activity', 60_000)).toBe(false);
    expect(await store.claims.claim('new-activity', 60_000)).toBe(true);
  });

  it('a file written before leases existed gets the table, at the same schema version', async () => {
    const dataDir = tempDir();
    const legacy = new Database(path.join(dataDir, EMBEDDED_FILE_NAME));
    legacy.exec(
      `CREATE TABLE event_claims (activity_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, owner TEXT) STRICT, WITHOUT ROWID;
       INSERT INTO event_claims VALUES ('old-activity', ${Date.now() + 3_600_000}, 'old');
       PRAGMA user_version = 1;`,
    );
    legacy.close();
    const store = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0, owner: 'new' });
    open.push(store);
    expect(await store.claims.claim('old-activity', 60_000)).toBe(false);
    expect(await store.leases.acquire('instance:new', 'new', SIM_EPOCH, SIM_EPOCH + 60_000)).toBe(true);
    expect(await store.leases.list('instance:', 10)).toEqual([
      { key: 'instance:new', owner: 'new', expiresAt: SIM_EPOCH + 60_000 },
    ]);
    const raw = new Database(store.file, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('a file written before spaces had an agent gets the column; its entries load and can name one', async () => {
    const dataDir = tempDir();
    const legacy = new Database(path.join(dataDir, EMBEDDED_FILE_NAME));
    legacy.exec(
      `CREATE TABLE authorized_webex_spaces (
         room_id TEXT PRIMARY KEY, space_name TEXT,
         status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
         authorized_by TEXT, authorized_at INTEGER, revoked_at INTEGER, revoked_by TEXT,
         listen_mode TEXT CHECK (listen_mode IN ('mention', 'message', 'all'))
       ) STRICT;
       INSERT INTO authorized_webex_spaces (room_id, space_name, status, authorized_by, authorized_at, listen_mode)
         VALUES ('${ROOM_PUBLIC_ID}', 'Ops', 'active', 'ana@example.com', ${SIM_EPOCH}, 'all');
       PRAGMA user_version = 1;`,
    );
    legacy.close();
    const store = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
    open.push(store);
    const found = await store.spaces.find(roomIdForms(ROOM_UUID));
    expect(found).toEqual({
      roomId: ROOM_PUBLIC_ID,
      spaceName: 'Ops',
      status: 'active',
      authorizedBy: 'ana@example.com',
      authorizedAt: new Date(SIM_EPOCH),
      listenMode: 'all',
    });
    await store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'admin-api', agentId: 'ops-agent' });
    expect(await store.spaces.find([ROOM_PUBLIC_ID])).toMatchObject({
      spaceName: 'Ops',
      agentId: 'ops-agent',
    });
  });

  it('two processes racing on the same ids, from a file neither has created yet: each id won exactly once', async () => {
    const dataDir = tempDir();
    const COUNT = 5_000;
    const racers = ['replica-a', 'replica-b'].map((owner) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/integration/store/claim-racer.ts', dataDir, owner, String(COUNT)],
        { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async () => {
        const line = await lines.next();
        if (line.done) throw new Error(`${owner} ended early: ${stderr}`);
        return line.value;
      };
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { owner, child, next, exited, stderr: () => stderr };
    });
    for (const racer of racers) expect(await racer.next()).toBe('ready');
    // Both start claiming at once.
    for (const racer of racers) racer.child.stdin.end('go\n');
    const won = await Promise.all(racers.map(async (racer) => JSON.parse(await racer.next()) as string[]));
    for (const racer of racers) expect(await racer.exited, racer.stderr()).toBe(0);

    const [a, b] = won as [string[], string[]];
    expect(a.length + b.length).toBe(COUNT);
    expect(new Set([...a, ...b]).size).toBe(COUNT);
    // The file says who won each id (the split is printed: under load one may win most of them).
    const db = new Database(path.join(dataDir, EMBEDDED_FILE_NAME), { readonly: true });
    try {
      const rows = db.prepare('SELECT activity_id, owner FROM event_claims').all() as Array<{
        activity_id: string;
        owner: string;
      }>;
      const ownerOf = new Map(rows.map((row) => [row.activity_id, row.owner]));
      for (const id of a) expect(ownerOf.get(id)).toBe('replica-a');
      for (const id of b) expect(ownerOf.get(id)).toBe('replica-b');
    } finally {
      db.close();
    }
    console.log(`shared embedded file: ${COUNT} ids claimed by two processes, won ${a.length} / ${b.length}`);
  }, 60_000);

  it('three processes racing for the same leases: each key held by exactly one, fresh or expired, and renewals agree', async () => {
    const dataDir = tempDir();
    const COUNT = 2_000;
    const owners = ['replica-a', 'replica-b', 'replica-c'];
    const racers = owners.map((owner) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/integration/store/lease-racer.ts', dataDir, owner, String(COUNT)],
        { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async () => {
        const line = await lines.next();
        if (line.done) throw new Error(`${owner} ended early: ${stderr}`);
        return line.value;
      };
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { owner, child, next, exited, stderr: () => stderr };
    });
    // Every racer's answer to one command, sent to all of them at once.
    const round = async (command: string) => {
      for (const racer of racers) racer.child.stdin.write(`${command}\n`);
      return Promise.all(racers.map(async (racer) => JSON.parse(await racer.next()) as string[]));
    };
    const ownersInFile = () => {
      const db = new Database(path.join(dataDir, EMBEDDED_FILE_NAME), { readonly: true });
      try {
        const rows = db.prepare('SELECT key, owner, expires_at FROM leases').all() as Array<{
          key: string;
          owner: string;
          expires_at: number;
        }>;
        return new Map(rows.map((row) => [row.key, row]));
      } finally {
        db.close();
      }
    };
    const expectEachKeyOnce = (won: string[][], expiresAt: number) => {
      expect(won.flat()).toHaveLength(COUNT);
      expect(new Set(won.flat()).size).toBe(COUNT);
      const file = ownersInFile();
      for (const [index, keys] of won.entries())
        for (const key of keys)
          expect(file.get(key)).toEqual({ key, owner: owners[index], expires_at: expiresAt });
    };
    try {
      for (const racer of racers) expect(await racer.next()).toBe('ready');
      const start = SIM_EPOCH;

      // Free keys, all three at once.
      const fresh = await round(`acquire ${start} ${start + 60_000}`);
      expectEachKeyOnce(fresh, start + 60_000);

      // Every lease has expired: the former holder's acquire (its own) and the others' takeovers race.
      const expired = await round(`acquire ${start + 60_000} ${start + 120_000}`);
      expectEachKeyOnce(expired, start + 120_000);

      // Each renews every key as its own: it loses exactly the keys the others hold.
      const lost = await round(`renew ${start + 180_000}`);
      for (const [index, keys] of lost.entries()) {
        const mine = new Set(expired[index]);
        expect(keys).toEqual(
          Array.from({ length: COUNT }, (_, i) => `lease-${i}`).filter((key) => !mine.has(key)),
        );
      }
      expectEachKeyOnce(expired, start + 180_000);
      console.log(
        `shared embedded file: ${COUNT} leases raced by three processes, won ${fresh.map((w) => w.length).join(' / ')} fresh, ` +
          `${expired.map((w) => w.length).join(' / ')} expired`,
      );
      for (const racer of racers) racer.child.stdin.end('end\n');
      for (const racer of racers) expect(await racer.exited, racer.stderr()).toBe(0);
    } finally {
      for (const racer of racers) if (racer.child.exitCode === null) racer.child.kill('SIGKILL');
    }
  }, 60_000);
});
