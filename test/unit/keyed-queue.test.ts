import { describe, expect, it } from 'vitest';
import { createKeyedQueue } from '../../src/keyed-queue.js';
import { deferred } from '../helpers/deferred.js';

describe('createKeyedQueue', () => {
  it('runs work of one key in order, keys in parallel, and survives a failure', async () => {
    const queue = createKeyedQueue();
    const log: string[] = [];
    const gate = deferred<void>();
    const a1 = queue.run('a', async () => {
      await gate.promise;
      log.push('a1');
      throw new Error('a1 failed');
    });
    const a2 = queue.run('a', async () => void log.push('a2'));
    const b1 = queue.run('b', async () => void log.push('b1'));
    await b1;
    expect(log).toEqual(['b1']);
    gate.resolve();
    await expect(a1).rejects.toThrow('a1 failed');
    await a2;
    expect(log).toEqual(['b1', 'a1', 'a2']);
  });
});
