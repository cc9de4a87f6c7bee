/**
 * The two A2A wire versions the client speaks, as data: JSON-RPC method names, headers, how a user
 * message is written, and how a result is read back. Results of v1.0 are rewritten into the v0.3
 * shape (`kind` discriminators, lowercase states, `kind`-tagged parts) so one classifier serves both.
 *
 * v0.3: a2aproject/A2A `types/src/types.ts` @ v0.3.0. v1.0: `specification/a2a.proto` @ v1.0.0 and
 * the JSON written by `@a2a-js/sdk` 1.x — wrapper keys `task` / `message` / `statusUpdate` /
 * `artifactUpdate`, parts `{text}` / `{data}` / `{url}` / `{raw}`, roles `ROLE_*`, states
 * `TASK_STATE_*`, no `final`, and `append` / `lastChunk` left out when false.
 */
import type { TurnPart } from '../port.js';

export type A2aVersion = '0.3' | '1.0';

export interface A2aDialect {
  version: A2aVersion;
  methods: { stream: string; resubscribe: string; get: string; cancel: string };
  headers: Record<string, string>;
  /** The `message` of a send request. */
  message(input: {
    messageId: string;
    text: string;
    parts: readonly TurnPart[];
    contextId?: string;
    taskId?: string;
    metadata: Record<string, unknown>;
  }): Record<string, unknown>;
  /** A stream event's `result` in the v0.3 shape, or undefined when it is none of the known kinds. */
  streamResult(result: unknown): unknown;
  /** The `result` of a get-task call (a bare Task in both versions) in the v0.3 shape. */
  taskResult(result: unknown): unknown;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const A2A_V03: A2aDialect = {
  version: '0.3',
  methods: {
    stream: 'message/stream',
    resubscribe: 'tasks/resubscribe',
    get: 'tasks/get',
    cancel: 'tasks/cancel',
  },
  headers: {},
  message: ({ messageId, text, parts, contextId, taskId, metadata }) => ({
    role: 'user',
    kind: 'message',
    messageId,
    parts: [...(text ? [{ kind: 'text', text }] : []), ...parts],
    ...(contextId ? { contextId } : {}),
    ...(taskId ? { taskId } : {}),
    metadata,
  }),
  streamResult: (result) => result,
  taskResult: (result) =>
    isObject(result) && result.kind === undefined ? { ...result, kind: 'task' } : result,
};

function v1Part(part: TurnPart): Json {
  return part.kind === 'text' ? { text: part.text } : { data: part.data };
}

/** A v1.0 part (`{text}`, `{data}`, `{url}`, `{raw}`) as the v0.3 `kind`-tagged part. */
function partFromV1(part: unknown): unknown {
  if (!isObject(part) || typeof part.kind === 'string') return part;
  const metadata = isObject(part.metadata) ? { metadata: part.metadata } : {};
  if (typeof part.text === 'string') return { kind: 'text', text: part.text, ...metadata };
  if ('data' in part) {
    // The proto's `data` is any JSON value; v0.3 data parts hold objects.
    const data = isObject(part.data) ? part.data : { value: part.data };
    return { kind: 'data', data, ...metadata };
  }
  if (typeof part.url === 'string' || typeof part.raw === 'string') {
    return {
      kind: 'file',
      file: {
        ...(typeof part.url === 'string' ? { uri: part.url } : { bytes: part.raw }),
        ...(typeof part.mediaType === 'string' ? { mimeType: part.mediaType } : {}),
        ...(typeof part.filename === 'string' ? { name: part.filename } : {}),
      },
      ...metadata,
    };
  }
  return part;
}

function partsFromV1(parts: unknown): unknown {
  return Array.isArray(parts) ? parts.map(partFromV1) : parts;
}

function roleFromV1(role: unknown): unknown {
  if (role === 'ROLE_USER') return 'user';
  if (role === 'ROLE_AGENT') return 'agent';
  return role;
}

function messageFromV1(message: unknown): unknown {
  if (!isObject(message)) return message;
  return { ...message, kind: 'message', role: roleFromV1(message.role), parts: partsFromV1(message.parts) };
}

function statusFromV1(status: unknown): unknown {
  if (!isObject(status)) return status;
  return status.message === undefined ? status : { ...status, message: messageFromV1(status.message) };
}

function artifactFromV1(artifact: unknown): unknown {
  return isObject(artifact) ? { ...artifact, parts: partsFromV1(artifact.parts) } : artifact;
}

function taskFromV1(task: Json): Json {
  return {
    ...task,
    kind: 'task',
    status: statusFromV1(task.status),
    ...(Array.isArray(task.artifacts) ? { artifacts: task.artifacts.map(artifactFromV1) } : {}),
    ...(Array.isArray(task.history) ? { history: task.history.map(messageFromV1) } : {}),
  };
}

export const A2A_V10: A2aDialect = {
  version: '1.0',
  methods: {
    stream: 'SendStreamingMessage',
    resubscribe: 'SubscribeToTask',
    get: 'GetTask',
    cancel: 'CancelTask',
  },
  headers: { 'a2a-version': '1.0' },
  message: ({ messageId, text, parts, contextId, taskId, metadata }) => ({
    role: 'ROLE_USER',
    messageId,
    parts: [...(text ? [{ text }] : []), ...parts.map(v1Part)],
    ...(contextId ? { contextId } : {}),
    ...(taskId ? { taskId } : {}),
    metadata,
  }),
  streamResult: (result) => {
    if (!isObject(result)) return result;
    if (isObject(result.task)) return taskFromV1(result.task);
    if (isObject(result.message)) return messageFromV1(result.message);
    if (isObject(result.statusUpdate)) {
      return {
        ...result.statusUpdate,
        kind: 'status-update',
        status: statusFromV1(result.statusUpdate.status),
      };
    }
    if (isObject(result.artifactUpdate)) {
      const update = result.artifactUpdate;
      return {
        ...update,
        kind: 'artifact-update',
        append: update.append === true,
        lastChunk: update.lastChunk === true,
        artifact: artifactFromV1(update.artifact),
      };
    }
    // A v0.3-shaped result on a v1.0 stream: read it as it is.
    return result;
  },
  taskResult: (result) => (isObject(result) && result.kind === undefined ? taskFromV1(result) : result),
};

export function dialectOf(version: A2aVersion): A2aDialect {
  return version === '1.0' ? A2A_V10 : A2A_V03;
}
