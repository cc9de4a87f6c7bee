/**
 * Child process of the shared-file test: one bot process's claims on an embedded store that
 * another process uses at the same time. It opens the store (racing the other process to create
 * the file), prints `ready`, waits for `go` on stdin, claims `race-0` … `race-<count-1>` as fast as
 * it can, and prints the ids it won as one JSON line.
 *
 * Usage: node --import tsx test/integration/store/claim-racer.ts <dataDir> <owner> <count>
 */
import { createInterface } from 'node:readline';
import { EmbeddedStores } from '../../../src/adapters/store/embedded.js';
import { silentLogger } from '../../../src/logger.js';

const [dataDir, owner, countText] = process.argv.slice(2);
if (!dataDir || !owner || !countText) throw new Error('usage: claim-racer.ts <dataDir> <owner> <count>');

const stores = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0, owner });
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'go') break;
}
const won: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  if (await stores.claims.claim(`race-${i}`, 3_600_000)) won.push(`race-${i}`);
}
process.stdout.write(`${JSON.stringify(won)}\n`);
await stores.close();
