/**
 * Task handles of the run-based backends (AG-UI, CAIPE ≥0.6). Above the port a `taskId` is opaque:
 * the conversation stores it while a run waits for input, sends it back with the answer, and hands
 * it to `cancel`. These backends have no task id of their own, so the adapter packs into it what it
 * needs to resume or cancel: a versioned, base64url JSON record, bounded in size, that says which
 * backend wrote it.
 */

export interface InterruptRef {
  /** How the interrupt arrived, hence how it is answered. */
  style: 'agui' | 'legacy' | 'caipe';
  /** The interrupt ids to answer (AG-UI `resume[].interruptId`; CAIPE's tool-call id). */
  ids: string[];
  /** `human_input`, `tool_approval`, or the AG-UI `reason`. */
  reason: string;
  /** How the user's answer becomes the resume payload. */
  answer: 'fields' | 'decision' | 'text';
  /** For `text` answers and plain-text replies: the field a lone answer goes to. */
  field?: string;
}

export interface AguiHandle {
  backend: 'agui';
  threadId: string;
  runId: string;
  interrupt?: InterruptRef;
}

export interface CaipeHandle {
  backend: 'caipe';
  conversationId: string;
  agentId: string;
  /** The person whose token started the run (on-behalf-of mode cancels with it). */
  personId?: string;
  interrupt?: InterruptRef;
}

export type RunHandle = AguiHandle | CaipeHandle;

const PREFIX = 'run1.';
/** A handle is a few ids; anything longer was not written by us. */
const MAX_HANDLE_CHARS = 4096;

export function encodeHandle(handle: RunHandle): string {
  return PREFIX + Buffer.from(JSON.stringify(handle), 'utf8').toString('base64url');
}

/** The handle in a task id, or undefined when the id is not one of ours (or not this backend's). */
export function decodeHandle<B extends RunHandle['backend']>(
  taskId: string | undefined,
  backend: B,
): Extract<RunHandle, { backend: B }> | undefined {
  if (!taskId?.startsWith(PREFIX) || taskId.length > MAX_HANDLE_CHARS) return undefined;
  try {
    const parsed: unknown = JSON.parse(
      Buffer.from(taskId.slice(PREFIX.length), 'base64url').toString('utf8'),
    );
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const handle = parsed as Partial<RunHandle>;
    if (handle.backend !== backend) return undefined;
    if (backend === 'agui') {
      const agui = handle as Partial<AguiHandle>;
      if (typeof agui.threadId !== 'string' || typeof agui.runId !== 'string') return undefined;
    } else {
      const caipe = handle as Partial<CaipeHandle>;
      if (typeof caipe.conversationId !== 'string' || typeof caipe.agentId !== 'string') return undefined;
    }
    if (handle.interrupt !== undefined && !validInterrupt(handle.interrupt)) return undefined;
    return handle as Extract<RunHandle, { backend: B }>;
  } catch {
    return undefined;
  }
}

function validInterrupt(value: unknown): value is InterruptRef {
  if (typeof value !== 'object' || value === null) return false;
  const ref = value as Partial<InterruptRef>;
  return (
    (ref.style === 'agui' || ref.style === 'legacy' || ref.style === 'caipe') &&
    Array.isArray(ref.ids) &&
    ref.ids.every((id) => typeof id === 'string') &&
    typeof ref.reason === 'string' &&
    (ref.answer === 'fields' || ref.answer === 'decision' || ref.answer === 'text')
  );
}
