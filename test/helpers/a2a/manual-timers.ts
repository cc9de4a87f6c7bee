/**
 * Timers a test fires by hand: the agent client's idle timeout and close grace run on these, so
 * a test can say "the stream has now been silent for the idle timeout" without waiting.
 */
import type { AgentTimers } from '../../../src/adapters/agent/a2a/client.js';

interface PendingTimer {
  id: number;
  ms: number;
  callback: () => void;
}

export class ManualTimers implements AgentTimers {
  readonly #pending = new Map<number, PendingTimer>();
  readonly #armed: Array<() => void> = [];
  #nextId = 1;
  /** How many timers were ever set: each (re)arm of the idle timer counts one. */
  armed = 0;

  setTimeout(callback: () => void, ms: number): unknown {
    this.armed++;
    const id = this.#nextId++;
    this.#pending.set(id, { id, ms, callback });
    for (const notify of this.#armed.splice(0)) notify();
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Delays of the timers still pending, oldest first. */
  pendingDelays(): number[] {
    return [...this.#pending.values()].map((t) => t.ms);
  }

  /** Fires every pending timer with this delay; returns how many fired. */
  fire(ms: number): number {
    const due = [...this.#pending.values()].filter((t) => t.ms === ms);
    for (const timer of due) {
      this.#pending.delete(timer.id);
      timer.callback();
    }
    return due.length;
  }

  /** Resolves once a timer with this delay is pending. */
  async whenPending(ms: number): Promise<void> {
    while (!this.pendingDelays().includes(ms)) {
      await new Promise<void>((resolve) => this.#armed.push(resolve));
    }
  }

  clear(): void {
    this.#pending.clear();
  }
}
