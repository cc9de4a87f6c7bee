/**
 * What an AG-UI agent is sent of its own thread. AG-UI agents may be stateless, so every run
 * carries the conversation (`messages`: earlier user texts and final answers) and the last state
 * snapshot (`state`). Bounded like the thread context (`WEBEX_THREAD_CONTEXT_MAX_MESSAGES` /
 * `_MAX_CHARS`): the newest messages that fit, a single long one cut with an ellipsis.
 *
 * The default memory lives in the process, bounded in threads; a turn that brings its own
 * `history` (kept with the conversation record) takes precedence over it.
 */
import type { HistoryMessage } from '../port.js';

export interface ThreadRecord {
  messages: HistoryMessage[];
  /** The last `STATE_SNAPSHOT`, when the agent sent one. */
  state?: unknown;
}

export interface ThreadMemory {
  load(threadId: string): Promise<ThreadRecord | undefined>;
  save(threadId: string, record: ThreadRecord): Promise<void>;
}

export interface HistoryLimits {
  maxMessages: number;
  maxChars: number;
}

/** The newest messages within the limits, oldest first. */
export function boundHistory(messages: readonly HistoryMessage[], limits: HistoryLimits): HistoryMessage[] {
  const kept: HistoryMessage[] = [];
  let chars = 0;
  for (let index = messages.length - 1; index >= 0 && kept.length < limits.maxMessages; index--) {
    const message = messages[index]!;
    const room = limits.maxChars - chars;
    if (room <= 0) break;
    const text =
      message.text.length > room ? `${message.text.slice(0, Math.max(0, room - 1))}…` : message.text;
    kept.push({ role: message.role, text });
    chars += text.length;
  }
  return kept.reverse();
}

/** An in-process memory of the most recently used threads. */
export class InProcessThreadMemory implements ThreadMemory {
  readonly #threads = new Map<string, ThreadRecord>();
  readonly #maxThreads: number;

  constructor(maxThreads = 1_000) {
    this.#maxThreads = maxThreads;
  }

  async load(threadId: string): Promise<ThreadRecord | undefined> {
    const record = this.#threads.get(threadId);
    if (record) {
      // Most recently used last, so the oldest thread is the one dropped.
      this.#threads.delete(threadId);
      this.#threads.set(threadId, record);
    }
    return record;
  }

  async save(threadId: string, record: ThreadRecord): Promise<void> {
    this.#threads.delete(threadId);
    this.#threads.set(threadId, record);
    while (this.#threads.size > this.#maxThreads) {
      const oldest = this.#threads.keys().next().value;
      if (oldest === undefined) break;
      this.#threads.delete(oldest);
    }
  }

  get size(): number {
    return this.#threads.size;
  }
}
