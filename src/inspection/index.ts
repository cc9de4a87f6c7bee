/**
 * Live inspection of the actor system (`XSTATE_INSPECT`):
 * - `stately`: a relay on `XSTATE_INSPECT_HOST:XSTATE_INSPECT_PORT` for the hosted Stately
 *   inspector (the viewer's browser needs internet to load it);
 * - `jsonl`: one allow-listed record per inspection event under `DATA_DIR`, for offline reading.
 *
 * Both modes send only what `toInspectionRecord` builds (ids, event types, state values), and an
 * inspector that fails is switched off with a log line: inspection never takes the bot down.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { InspectionEvent } from 'xstate';
import type { Logger } from '../logger.js';
import {
  actorRecord,
  type InspectedActor,
  type InspectionRecord,
  inspectedActor,
  machineOutline,
  toInspectionRecord,
} from './allow-list.js';
import { startInspectorRelay } from './relay.js';

export type { InspectionRecord } from './allow-list.js';
export { allowedContext, machineOutline, toInspectionRecord } from './allow-list.js';

export type InspectMode = 'false' | 'stately' | 'jsonl';

export interface Inspection {
  /** Pass as XState's `inspect` option; undefined when inspection is off. */
  inspect: ((event: InspectionEvent) => void) | undefined;
  /** Where the Stately relay listens (stately mode only). */
  address?: { host: string; port: number };
  close(): Promise<void>;
}

export interface InspectionOptions {
  mode: InspectMode;
  host: string;
  port: number;
  dataDir: string;
  log: Logger;
  now?: () => number;
}

/** The protocol version the hosted Stately inspector expects in each message. */
const STATELY_PROTOCOL_VERSION = '0.7.2';

/**
 * Guards an inspector: XState calls `inspect` synchronously inside the actor system, so a throw
 * there would break the transition that produced the event. The first failure is logged and the
 * inspector switched off.
 */
function guarded(log: Logger, inspect: (event: InspectionEvent) => void): (event: InspectionEvent) => void {
  let failed = false;
  return (event) => {
    if (failed) return;
    try {
      inspect(event);
    } catch (error) {
      failed = true;
      log.error({ err: error }, 'live inspection failed and was switched off; the bot carries on');
    }
  };
}

/** Stately's message for one record; `definition` only where the actor runs a machine. */
function statelyMessage(record: InspectionRecord, ref: InspectedActor, createdAt: number) {
  const common = {
    type: record.type,
    sessionId: record.sessionId,
    rootId: record.rootId,
    id: null,
    createdAt: String(createdAt),
    _version: STATELY_PROTOCOL_VERSION,
  };
  const snapshot = { status: record.status ?? 'active', value: record.value, context: record.context ?? {} };
  switch (record.type) {
    case '@xstate.actor':
      return {
        ...common,
        name: record.actorId,
        parentId: record.parentId,
        definition: JSON.stringify(definitionOf(ref, record.actorId)),
        snapshot,
      };
    case '@xstate.event':
      return { ...common, sourceId: record.sourceId, event: { type: record.eventType ?? '' } };
    default:
      return { ...common, event: { type: record.eventType ?? '' }, snapshot };
  }
}

function isActive(ref: InspectedActor): boolean {
  return (ref.getSnapshot() as { status?: unknown } | undefined)?.status === 'active';
}

const outlines = new WeakMap<object, unknown>();
function definitionOf(ref: InspectedActor, name: string): unknown {
  const logic = ref.logic;
  if (!logic || typeof logic.config !== 'object' || logic.config === null) return { id: name };
  let outline = outlines.get(logic);
  if (!outline) {
    outline = machineOutline(logic.config);
    outlines.set(logic, outline);
  }
  return outline;
}

async function startStately(options: InspectionOptions): Promise<Inspection> {
  const now = options.now ?? Date.now;
  /** Actors a late viewer must be told about; pruned of stopped ones when a viewer connects. */
  const live = new Map<string, InspectedActor>();
  const relay = await startInspectorRelay({
    host: options.host,
    port: options.port,
    welcome: () => {
      const messages: string[] = [];
      // Called when a viewer connects, outside any transition: every live actor is initialized.
      for (const [sessionId, ref] of live) {
        if (!isActive(ref)) {
          live.delete(sessionId);
          continue;
        }
        const record = actorRecord(ref, undefined, ref.getSnapshot());
        messages.push(JSON.stringify(statelyMessage(record, ref, now())));
      }
      return messages;
    },
  });
  let pruneAt = 1_000;
  options.log.info(
    { host: relay.host, port: relay.port },
    'Stately inspector relay listening; open its page in a browser with internet access',
  );
  return {
    address: { host: relay.host, port: relay.port },
    inspect: guarded(options.log, (event) => {
      const record = toInspectionRecord(event);
      if (!record) return;
      if (record.type === '@xstate.actor') {
        live.set(record.sessionId, inspectedActor(event));
        if (live.size > pruneAt) {
          for (const [sessionId, ref] of live) if (!isActive(ref)) live.delete(sessionId);
          pruneAt = Math.max(1_000, live.size * 2);
        }
      } else if (record.status && record.status !== 'active') {
        live.delete(record.sessionId);
      }
      relay.publish(JSON.stringify(statelyMessage(record, inspectedActor(event), now())));
    }),
    close: () => relay.close(),
  };
}

function startJsonl(options: InspectionOptions): Inspection {
  const now = options.now ?? Date.now;
  mkdirSync(options.dataDir, { recursive: true });
  const file = path.join(
    options.dataDir,
    `inspect-${new Date(now()).toISOString().replace(/[:.]/g, '-')}.jsonl`,
  );
  const out = createWriteStream(file, { flags: 'a' });
  let broken = false;
  out.on('error', (error) => {
    // A full disk or a removed folder ends inspection, not the bot.
    broken = true;
    options.log.error({ err: error, file }, 'inspection file not writable; live inspection switched off');
  });
  options.log.info({ file }, 'writing allow-listed inspection events');
  return {
    inspect: guarded(options.log, (event) => {
      if (broken) return;
      const record = toInspectionRecord(event);
      if (record) out.write(`${JSON.stringify({ at: now(), ...record })}\n`);
    }),
    close: () => new Promise<void>((resolve) => out.end(() => resolve())),
  };
}

export async function startInspection(options: InspectionOptions): Promise<Inspection> {
  if (options.mode === 'jsonl') return startJsonl(options);
  if (options.mode === 'stately') return startStately(options);
  return { inspect: undefined, close: async () => {} };
}
