/**
 * Everything a test opens (worlds, agent peers, fake servers) is closed after it, last opened first,
 * so ports, sockets and timers never leak into the next test.
 */
import { afterEach } from 'vitest';

export interface Closable {
  close(): Promise<unknown> | unknown;
}

/** Registers an `afterEach` that closes what `track(resource)` was given during the test. */
export function closeAfterEach(): <T extends Closable>(resource: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const resource of open.splice(0).reverse()) await resource.close();
  });
  return (resource) => {
    open.push(resource);
    return resource;
  };
}
