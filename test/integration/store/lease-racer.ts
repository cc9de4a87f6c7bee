/**
 * Child process of the shared-file lease test: one bot process's leases on an embedded store that
 * other processes use at the same time. It opens the store (racing the others to create the
 * file), prints `ready`, then for each line read on stdin:
 * - `acquire <now> <expiresAt>`: acquires `lease-0` … `lease-<count-1>` with those times as fast as
 *   it can and prints the keys it won as one JSON line;
 * - `renew <expiresAt>`: renews every one of those keys as its own, in one call, and prints the
 *   keys reported lost as one JSON line;
 * - `end`: closes the store and exits.
 *
 * Usage: node --import tsx test/integration/store/lease-racer.ts <dataDir> <owner> <count>
 */
import { createInterface } from 'node:readline';
import { EmbeddedStores } from '../../../src/adapters/store/embedded.js';
import { silentLogger } from '../../../src/logger.js';

const [dataDir, owner, countText] = process.argv.slice(2);
if (!dataDir || !owner || !countText) throw new Error('usage: lease-racer.ts <dataDir> <owner> <count>');

const stores = new EmbeddedStores({ dataDir, log: silentLogger(), purgeIntervalMs: 0, owner });
const keys = Array.from({ length: Number(countText) }, (_, i) => `lease-${i}`);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, ...args] = line.trim().split(' ');
  const [first, second] = args.map(Number);
  if (command === 'acquire' && first !== undefined && second !== undefined) {
    const won: string[] = [];
    for (const key of keys) if (await stores.leases.acquire(key, owner, first, second)) won.push(key);
    process.stdout.write(`${JSON.stringify(won)}\n`);
  } else if (command === 'renew' && first !== undefined) {
    process.stdout.write(`${JSON.stringify(await stores.leases.renew(keys, owner, first))}\n`);
  } else if (command === 'end') {
    break;
  }
}
await stores.close();
