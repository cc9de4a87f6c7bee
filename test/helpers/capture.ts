/** A pino destination that keeps every line, for assertions on log output. */
export interface CapturedLog {
  destination: { write(line: string): void };
  lines: string[];
  /** Parsed JSON lines. */
  records(): Array<Record<string, unknown>>;
  text(): string;
  /**
   * Resolves once `count` parsed lines pass `test` (lines already written count): for waiting on
   * something the bot only logs, such as a refusal that posts nothing.
   */
  until(
    test: (record: Record<string, unknown>) => boolean,
    count?: number,
    timeoutMs?: number,
  ): Promise<void>;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;
  return {
    destination: {
      write: (line: string) => {
        lines.push(line);
        for (const check of [...waiters]) check();
      },
    },
    lines,
    records: () => lines.map(parse),
    text: () => lines.join(''),
    until: (test, count = 1, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        // Each line is parsed once per waiter, as it arrives.
        let found = 0;
        let read = 0;
        const check = () => {
          for (; read < lines.length; read++) if (test(parse(lines[read]!))) found++;
          if (found < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`log: ${found} of ${count} expected lines after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}
