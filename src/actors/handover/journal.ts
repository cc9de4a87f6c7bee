/**
 * The running turn of each conversation, written to its conversation record while the answer is
 * on its way (SPEC "Durability and replicas"): who asked, the agent's task and context ids, the
 * working messages, and for each message the turn posts its intent (index and hash, recorded
 * before the post) and its id (recorded after). A process that stops or dies leaves this in the
 * store; the next one takes the turn over from it (`./takeover.ts`).
 *
 * Writes go through the conversation's own queue (the one `saveConversation` uses), so a running
 * turn never overwrites a newer record: the record written is the conversation's record at the
 * start of the turn plus the turn. When the turn ends, the conversation's next save drops it; a
 * turn that ends without a save (cancel, failure, busy) is cleared here.
 */
import { createHash } from 'node:crypto';
import type {
  AnswerPartRecord,
  ConversationRecord,
  ConversationStore,
  RunningTurnRecord,
} from '../../adapters/store/ports.js';
import type { Clock } from '../../clock.js';
import { asCodedError } from '../../errors.js';
import type { KeyedQueue } from '../../keyed-queue.js';
import type { Logger } from '../../logger.js';

/** Working message ids kept per turn: each rollover deletes the previous one, so few matter. */
const MAX_WORKING_IDS = 10;
/** Parts kept per turn: answers are bounded (`AGENT_MAX_ANSWER_CHARS`), so a handful at most. */
const MAX_PARTS = 64;

/** The hash a post's intent carries: of its markdown as posted (trimmed), hex. */
export function hashPost(markdown: string): string {
  return createHash('sha256').update(markdown.trim()).digest('hex').slice(0, 32);
}

/** What the turn starts from: the message being answered. */
export type TurnStart = Pick<
  RunningTurnRecord,
  'activityId' | 'messageId' | 'roomType' | 'person' | 'receivedAt' | 'hasFiles'
>;

export type PartKind = NonNullable<AnswerPartRecord['kind']>;

interface Entry {
  /** The conversation's record without the turn (as at the start of the turn). */
  base: ConversationRecord;
  turn: RunningTurnRecord;
  /** Working messages a previous process left up (a taken-over turn): the takeover deletes them. */
  staleWorking: string[];
  /** When this process adopted the turn from the store; undefined for its own turns. */
  adoptedAt?: number;
  handedOver: boolean;
  /** Another process took the conversation's lease: this one writes nothing more for the turn. */
  lost?: boolean;
}

export interface TurnJournalDeps {
  store: ConversationStore;
  /** The conversation's write queue (shared with `saveConversation`). */
  queue: KeyedQueue;
  clock: Clock;
  log: Logger;
  onStoreError?: () => void;
  /** The turn of this message is recorded (its claim need not be kept as owed any more). */
  onTurnRecorded?: (activityId: string) => void;
  /** The conversation's lease (replicas): a record is written only while this process owns it. */
  fence?: ((key: string) => boolean | Promise<boolean>) | undefined;
}

export class TurnJournal {
  readonly #entries = new Map<string, Entry>();
  /** Saves per key, so a clear that a save already covered is skipped. */
  readonly #saves = new Map<string, number>();
  readonly #writes = new Set<Promise<void>>();
  readonly #deps: TurnJournalDeps;

  constructor(deps: TurnJournalDeps) {
    this.#deps = deps;
  }

  /**
   * A turn starts (before its working message goes up). A turn adopted from the store for this
   * message carries on instead. Resolves once recorded (never rejects: a store that fails costs
   * only the takeover of this turn).
   */
  begin(key: string, base: ConversationRecord, start: TurnStart): Promise<void> {
    const adopted = this.#entries.get(key);
    if (adopted?.adoptedAt !== undefined && adopted.turn.activityId === start.activityId) {
      adopted.turn = { ...adopted.turn, state: 'running' };
      return this.#persist(key).then(() => this.#deps.onTurnRecorded?.(start.activityId));
    }
    const now = this.#deps.clock.now();
    const { runningTurn: _previous, ...rest } = base;
    this.#entries.set(key, {
      base: rest,
      staleWorking: [],
      handedOver: false,
      turn: {
        state: 'running',
        ...start,
        startedAt: now,
        ...(base.contextId ? { contextId: base.contextId } : {}),
        workingMessageIds: [],
        parts: [],
      },
    });
    return this.#persist(key).then(() => this.#deps.onTurnRecorded?.(start.activityId));
  }

  /** A conversation restored with a running turn takes it over (nothing is written yet). */
  adopt(key: string, record: ConversationRecord): RunningTurnRecord | undefined {
    const { runningTurn, ...base } = record;
    if (!runningTurn) return undefined;
    const turn: RunningTurnRecord = {
      ...runningTurn,
      workingMessageIds: [...(runningTurn.workingMessageIds ?? [])],
      parts: [...(runningTurn.parts ?? [])],
    };
    this.#entries.set(key, {
      base,
      turn,
      staleWorking: [...turn.workingMessageIds],
      adoptedAt: this.#deps.clock.now(),
      handedOver: false,
    });
    return turn;
  }

  turn(key: string): RunningTurnRecord | undefined {
    return this.#entries.get(key)?.turn;
  }

  /** Working messages of a previous process, and when this one adopted the turn. */
  takeover(key: string): { staleWorking: readonly string[]; adoptedAt: number } | undefined {
    const entry = this.#entries.get(key);
    return entry?.adoptedAt === undefined
      ? undefined
      : { staleWorking: entry.staleWorking, adoptedAt: entry.adoptedAt };
  }

  /** Changes the turn and records it; resolves once written (or failed to write). */
  change(key: string, update: (turn: RunningTurnRecord) => RunningTurnRecord): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return Promise.resolve();
    entry.turn = bound(update(entry.turn));
    return this.#persist(key);
  }

  /** The turn's ids as the agent reports them; written only when they change. */
  ids(key: string, ids: { taskId?: string; contextId?: string; traceId?: string }): void {
    const turn = this.turn(key);
    if (!turn) return;
    const changed =
      (ids.taskId !== undefined && ids.taskId !== turn.taskId) ||
      (ids.contextId !== undefined && ids.contextId !== turn.contextId) ||
      (ids.traceId !== undefined && ids.traceId !== turn.traceId);
    if (!changed) return;
    void this.change(key, (t) => ({
      ...t,
      ...(ids.taskId !== undefined ? { taskId: ids.taskId } : {}),
      ...(ids.contextId !== undefined ? { contextId: ids.contextId } : {}),
      ...(ids.traceId !== undefined ? { traceId: ids.traceId } : {}),
    }));
  }

  workingPosted(key: string, messageId: string): void {
    void this.change(key, (t) => ({
      ...t,
      workingMessageIds: [...t.workingMessageIds.filter((id) => id !== messageId), messageId],
    }));
  }

  /** The stale working messages were deleted (or found gone). */
  staleWorkingRemoved(key: string, messageIds: readonly string[]): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.staleWorking = entry.staleWorking.filter((id) => !messageIds.includes(id));
    void this.change(key, (t) => ({
      ...t,
      workingMessageIds: t.workingMessageIds.filter((id) => !messageIds.includes(id)),
    }));
  }

  /** A posted part of `kind` at `index`, when the turn has one (a taken-over turn). */
  postedPart(key: string, kind: PartKind, index: number): AnswerPartRecord | undefined {
    return this.turn(key)?.parts.find(
      (p) => p.index === index && (p.kind ?? 'answer') === kind && p.messageId !== undefined,
    );
  }

  partIntent(key: string, kind: PartKind, index: number, markdown: string): Promise<void> {
    const intent: AnswerPartRecord = {
      index,
      kind,
      hash: hashPost(markdown),
      intentAt: this.#deps.clock.now(),
    };
    return this.change(key, (t) => ({
      ...t,
      parts: [...t.parts.filter((p) => !(p.index === index && (p.kind ?? 'answer') === kind)), intent].sort(
        (a, b) => a.index - b.index,
      ),
    }));
  }

  partPosted(key: string, kind: PartKind, index: number, messageId: string): Promise<void> {
    return this.change(key, (t) => ({
      ...t,
      parts: t.parts.map((p) =>
        p.index === index && (p.kind ?? 'answer') === kind ? { ...p, messageId } : p,
      ),
    }));
  }

  /** Stopping past the grace period: the turn is left running for the next process. */
  handOver(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.handedOver = true;
    entry.turn = { ...entry.turn, state: 'handed-over' };
    void this.#persist(key);
  }

  /**
   * The conversation's lease went to another process, which owns the turn now: nothing more is
   * written, the working message stays (the new owner removes it) and the agent's task runs on.
   */
  leaseLost(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.handedOver = true;
    entry.lost = true;
  }

  isHandedOver(key: string): boolean {
    return this.#entries.get(key)?.handedOver === true;
  }

  /**
   * The turn is over in this process. Unless it was handed over, it is cleared from the record
   * (skipped when the conversation saved its record meanwhile, which drops it anyway).
   *
   * `workingRemoved` settles when the turn's working message is deleted. The clear waits for it in
   * the conversation's queue, so the conversation's own save (queued behind) waits too: until the
   * deletion is done, the record keeps the working message ids, and a process that dies meanwhile
   * leaves them for the next one to delete.
   */
  end(key: string, workingRemoved: Promise<unknown> = Promise.resolve()): void {
    const entry = this.#entries.get(key);
    // A handed-over turn stays: a post still in flight records its id when it returns.
    if (!entry || entry.handedOver) return;
    this.#entries.delete(key);
    const savesAtEnd = this.#saves.get(key) ?? 0;
    const { base, turn } = entry;
    this.#track(
      this.#deps.queue.run(key, async () => {
        await workingRemoved.catch(() => undefined);
        if ((this.#saves.get(key) ?? 0) !== savesAtEnd) return;
        await this.#write({
          ...base,
          ...(turn.contextId ? { contextId: turn.contextId } : {}),
          ...(turn.traceId ? { traceId: turn.traceId } : {}),
          updatedAt: this.#deps.clock.now(),
        });
      }),
    );
  }

  /** The conversation saves its whole record (without a running turn): called before the write. */
  saving(key: string): void {
    this.#saves.set(key, (this.#saves.get(key) ?? 0) + 1);
    // Bounded: only keys with a write in flight matter.
    if (this.#saves.size > 10_000) this.#saves.clear();
  }

  /** Resolves when every write asked for so far is done (shutdown waits for it). */
  async flushed(): Promise<void> {
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
  }

  #persist(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return Promise.resolve();
    // The turn as it is when the write runs (later changes queue their own write).
    return this.#track(
      this.#deps.queue.run(key, async () => {
        // An ended turn is cleared by `end`, a replaced one by its successor's writes.
        if (this.#entries.get(key) !== entry || entry.lost) return;
        await this.#write({ ...entry.base, runningTurn: entry.turn, updatedAt: this.#deps.clock.now() });
      }),
    );
  }

  async #write(record: ConversationRecord): Promise<void> {
    const { fence } = this.#deps;
    if (fence && !(await fence(record.key))) return;
    try {
      await this.#deps.store.put(record);
    } catch (error) {
      this.#deps.onStoreError?.();
      this.#deps.log.warn(
        { err: asCodedError(error), threadKey: record.key },
        'running turn not recorded (a takeover of this answer may not be possible)',
      );
    }
  }

  #track(work: Promise<void>): Promise<void> {
    const tracked = work.catch(() => undefined);
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
    return tracked;
  }
}

function bound(turn: RunningTurnRecord): RunningTurnRecord {
  return {
    ...turn,
    workingMessageIds: turn.workingMessageIds.slice(-MAX_WORKING_IDS),
    parts: turn.parts.slice(0, MAX_PARTS),
  };
}
