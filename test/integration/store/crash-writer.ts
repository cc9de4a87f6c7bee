/**
 * Child process of the crash test: writes to the embedded store in a loop until it is killed.
 * After each iteration's writes have returned (committed), it prints the iteration number, so
 * the parent knows which records must survive.
 *
 * Usage: node --import tsx test/integration/store/crash-writer.ts <dataDir>
 */
import { EmbeddedStores } from '../../../src/adapters/store/embedded.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { silentLogger } from '../../../src/logger.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: crash-writer.ts <dataDir>');

/** Large enough that one record spans several SQLite pages, so a torn write would show. */
const PAYLOAD_CHARS = 12_000;

function roomUuid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

const stores = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0 });
for (let i = 0; ; i++) {
  const uuid = roomUuid(i);
  await stores.conversations.put({
    key: `thread-${i}`,
    roomId: uuid,
    contextId: `ctx-${i}`,
    traceId: `${String(i % 10).repeat(PAYLOAD_CHARS)}`,
    updatedAt: Date.now(),
  });
  await stores.claims.claim(`activity-${i}`, 3_600_000);
  // Two entries for one room, then one transaction that revokes both.
  await stores.spaces.authorize({ roomId: uuid, authorizedBy: 'writer' });
  await stores.spaces.authorize({ roomId: encodeHydraId('ROOM', uuid), authorizedBy: 'writer' });
  await stores.spaces.revoke([uuid, encodeHydraId('ROOM', uuid)], 'writer');
  process.stdout.write(`${i}\n`);
}
