/** A pino destination that keeps every line, for assertions on log output. */
export interface CapturedLog {
  destination: { write(line: string): void };
  lines: string[];
  /** Parsed JSON lines. */
  records(): Array<Record<string, unknown>>;
  text(): string;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  return {
    destination: { write: (line: string) => void lines.push(line) },
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => lines.join(''),
  };
}
