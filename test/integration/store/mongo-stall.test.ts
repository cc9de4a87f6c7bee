/**
 * A MongoDB that accepts connections and never answers (a stalled server, a black-holed network):
 * every store call must fail within its bound, never hang, so a room's intake is never frozen by
 * the store. Runs everywhere: it needs no MongoDB, only a TCP listener that stays silent.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStores, type Stores } from '../../../src/adapters/store/index.js';
import { MONGO_TIMEOUTS, type MongoTimeouts, retryWritesInUri } from '../../../src/adapters/store/mongo.js';
import { StoreTimeoutError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';

/** Accepts TCP connections, reads what comes and never writes a byte. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, sockets };
}

/** Every call of every store port, with harmless arguments. */
function everyCall(stores: Stores): Array<[string, () => Promise<unknown>]> {
  const record = { key: 'thread-1', roomId: 'room-1', updatedAt: 1 };
  return [
    ['spaces.find', () => stores.spaces.find(['room-1'])],
    ['spaces.list', () => stores.spaces.list()],
    ['spaces.authorize', () => stores.spaces.authorize({ roomId: 'room-1', authorizedBy: 'admin-api' })],
    ['spaces.revoke', () => stores.spaces.revoke(['room-1'], 'admin-api')],
    ['conversations.get', () => stores.conversations.get('thread-1')],
    ['conversations.put', () => stores.conversations.put(record)],
    ['conversations.delete', () => stores.conversations.delete('thread-1')],
    ['claims.claim', () => stores.claims.claim('activity-1', 60_000)],
    ['rooms.touch', () => stores.rooms.touch({ roomId: 'room-1', roomType: 'direct', lastEventAt: 1 })],
    ['rooms.recent', () => stores.rooms.recent(0, 20)],
    ['leases.acquire', () => stores.leases.acquire('conv:a', 'p1', 1, 60_001)],
    ['leases.renew', () => stores.leases.renew(['conv:a'], 'p1', 120_001)],
    ['leases.release', () => stores.leases.release(['conv:a'], 'p1')],
    ['leases.get', () => stores.leases.get(['conv:a'])],
    ['leases.list', () => stores.leases.list('conv:', 10)],
    ['ping', () => stores.ping()],
  ];
}

/** Starts every call at once and says how each ended and after how long. */
async function settleAll(calls: Array<[string, () => Promise<unknown>]>) {
  const started = performance.now();
  return Promise.all(
    calls.map(async ([name, call]) => {
      try {
        await call();
        return { name, outcome: 'resolved' as const, error: undefined, ms: performance.now() - started };
      } catch (error) {
        return { name, outcome: 'rejected' as const, error, ms: performance.now() - started };
      }
    }),
  );
}

describe('MongoDB that never answers', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let stores: Stores | undefined;

  beforeEach(async () => {
    silent = await silentServer();
  });

  afterEach(async () => {
    await stores?.close();
    stores = undefined;
    for (const socket of silent.sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.server.close(() => resolve()));
  });

  const open = async (timeouts: Partial<MongoTimeouts>) => {
    stores = await openStores(
      {
        mongodbUri: `mongodb://127.0.0.1:${silent.port}/?directConnection=true`,
        mongodbDatabase: 'caipe',
        dataDir: '/nonexistent',
      },
      { log: silentLogger(), mongoTimeouts: timeouts },
    );
    return stores;
  };

  it('fails every store call with a store timeout within the operation bound, while the driver still waits', async () => {
    // The driver's own timeouts are left long: only the operation bound can end these calls.
    const bound = 400;
    const opened = await open({
      operationTimeoutMS: bound,
      serverSelectionTimeoutMS: 60_000,
      connectTimeoutMS: 60_000,
      socketTimeoutMS: 60_000,
    });
    const results = await settleAll(everyCall(opened).filter(([name]) => name !== 'ping'));
    for (const result of results) {
      expect(result.outcome, result.name).toBe('rejected');
      expect(result.error, result.name).toBeInstanceOf(StoreTimeoutError);
      expect((result.error as StoreTimeoutError).code).toBe('STORE_TIMEOUT');
      expect(result.ms, result.name).toBeLessThan(bound + 1_500);
    }
    // The listener was really reached: the calls waited on a connection, not on nothing.
    expect(silent.sockets.size).toBeGreaterThan(0);
    // Readiness's ping has its own, shorter bound and fails too.
    const [ping] = await settleAll(everyCall(opened).filter(([name]) => name === 'ping'));
    expect(ping!.outcome).toBe('rejected');
  });

  it('with the driver bounds shorter, every call fails with the driver error within them', async () => {
    const opened = await open({
      serverSelectionTimeoutMS: 250,
      connectTimeoutMS: 250,
      operationTimeoutMS: 5_000,
    });
    const results = await settleAll(everyCall(opened));
    for (const result of results) {
      expect(result.outcome, result.name).toBe('rejected');
      expect(result.error, result.name).not.toBeInstanceOf(StoreTimeoutError);
      expect(result.ms, result.name).toBeLessThan(250 + 2_000);
    }
  });

  it('defaults: bounded calls, majority writes and retryable writes unless the URI turns them off', () => {
    expect(MONGO_TIMEOUTS.operationTimeoutMS).toBeGreaterThanOrEqual(MONGO_TIMEOUTS.serverSelectionTimeoutMS);
    expect(MONGO_TIMEOUTS.socketTimeoutMS).toBeGreaterThan(MONGO_TIMEOUTS.maxTimeMS);
    expect(retryWritesInUri('mongodb://db:27017/caipe')).toBeUndefined();
    expect(
      retryWritesInUri('mongodb://u:p@docdb.example:27017/?tls=true&replicaSet=rs0&retryWrites=false'),
    ).toBe(false);
    expect(retryWritesInUri('mongodb+srv://cluster.example/?retryWrites=true&w=1')).toBe(true);
  });
});
