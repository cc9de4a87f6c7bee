/**
 * Runs async work one at a time per key, in the order it was asked for; different keys run in
 * parallel. Keys are forgotten once their work is done, so memory follows what is in flight.
 */
export interface KeyedQueue {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      // Whatever the previous work did, this one runs: its failure is its caller's to handle.
      const next = previous.then(work, work);
      tails.set(key, next);
      void next.then(
        () => tails.get(key) === next && tails.delete(key),
        () => tails.get(key) === next && tails.delete(key),
      );
      return next;
    },
  };
}
