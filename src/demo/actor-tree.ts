/**
 * The live actor tree for the chat page, built from XState inspection events: one node per running
 * actor (the bot, a supervisor per room, a conversation per thread, the promises they invoke) with
 * its state and a few ids. Only those summaries leave this module — never the machines' context
 * (user text, emails, agent answers), so the panel shows structure, not data.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';

export interface ActorNode {
  sessionId: string;
  /** The actor's id under its parent: `bot`, a room id, a conversation key, an invoke id. */
  id: string;
  /** The machine's id (`bot`, `room`, `conversation`) or `promise` / `actor`. */
  kind: string;
  /** The state value as a dotted path (`answering`, `active`), or the snapshot status. */
  state: string;
  status: string;
  parent?: string;
  /** Room of a room or conversation actor, for the page to name the space. */
  roomId?: string;
  /** Conversation details that say what it is doing (no text). */
  details?: Record<string, string | number | boolean>;
  updatedAt: number;
}

export interface ActorTreeTracker {
  /** Pass as XState's `inspect` option. */
  inspect(event: InspectionEvent): void;
  /** Every live actor, parents before children. */
  nodes(): ActorNode[];
  /** Called (at most once per `throttleMs`) after the tree changed. */
  onChange(listener: (nodes: ActorNode[]) => void): () => void;
  close(): void;
}

export function stateString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, inner]) => `${key}.${stateString(inner)}`)
      .join(', ');
  }
  return '';
}

interface SnapshotLike {
  status?: string;
  value?: unknown;
  context?: Record<string, unknown>;
  machine?: { id?: string };
}

function kindOf(ref: AnyActorRef, snapshot: SnapshotLike | undefined): string {
  const machineId = snapshot?.machine?.id ?? (ref.src as { id?: string } | undefined)?.id;
  if (machineId) return machineId;
  if (typeof (ref.src as { config?: unknown })?.config === 'function') return 'promise';
  return typeof ref.src === 'string' ? ref.src : 'actor';
}

function detailsOf(kind: string, context: Record<string, unknown> | undefined) {
  if (!context) return undefined;
  const details: Record<string, string | number | boolean> = {};
  if (kind === 'conversation') {
    details.contextId = typeof context.contextId === 'string';
    if (typeof context.taskId === 'string') details.openTask = true;
    if (Array.isArray(context.queue) && context.queue.length > 0) details.queued = context.queue.length;
    if (context.pendingForm) details.formOpen = true;
  }
  if (kind === 'room' && Array.isArray(context.conversations))
    details.conversations = context.conversations.length;
  if (kind === 'bot' && Array.isArray(context.rooms)) details.rooms = context.rooms.length;
  return Object.keys(details).length > 0 ? details : undefined;
}

export function createActorTreeTracker(
  options: { throttleMs?: number; now?: () => number } = {},
): ActorTreeTracker {
  const throttleMs = options.throttleMs ?? 50;
  const now = options.now ?? Date.now;
  const nodes = new Map<string, ActorNode>();
  const listeners = new Set<(nodes: ActorNode[]) => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const ordered = (): ActorNode[] => {
    const out: ActorNode[] = [];
    const children = new Map<string | undefined, ActorNode[]>();
    for (const node of nodes.values()) {
      const parent = node.parent && nodes.has(node.parent) ? node.parent : undefined;
      const list = children.get(parent) ?? [];
      list.push(node);
      children.set(parent, list);
    }
    const visit = (parent: string | undefined) => {
      for (const node of children.get(parent) ?? []) {
        out.push(node);
        visit(node.sessionId);
      }
    };
    visit(undefined);
    return out;
  };

  const changed = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      const snapshot = ordered();
      for (const listener of listeners) listener(snapshot);
    }, throttleMs);
  };

  const upsert = (ref: AnyActorRef, snapshot: SnapshotLike | undefined) => {
    const status = snapshot?.status ?? 'active';
    if (status !== 'active') {
      // Finished actors leave the tree; their parent's next snapshot says what happened.
      if (nodes.delete(ref.sessionId)) changed();
      return;
    }
    const kind = kindOf(ref, snapshot);
    const parent = (ref as { _parent?: AnyActorRef })._parent?.sessionId;
    const context = snapshot?.context;
    const roomId = typeof context?.roomId === 'string' ? context.roomId : undefined;
    const details = detailsOf(kind, context);
    nodes.set(ref.sessionId, {
      sessionId: ref.sessionId,
      id: ref.id,
      kind,
      state: snapshot && 'value' in snapshot ? stateString(snapshot.value) : status,
      status,
      ...(parent ? { parent } : {}),
      ...(roomId ? { roomId } : {}),
      ...(details ? { details } : {}),
      updatedAt: now(),
    });
    changed();
  };

  return {
    inspect(event) {
      if (closed) return;
      const ref = event.actorRef as AnyActorRef;
      if (event.type === '@xstate.actor') {
        // Announced before its first snapshot exists; the snapshot event that follows fills it in.
        upsert(ref, undefined);
      } else if (event.type === '@xstate.snapshot') {
        upsert(ref, event.snapshot as SnapshotLike);
      }
    },
    nodes: ordered,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}
