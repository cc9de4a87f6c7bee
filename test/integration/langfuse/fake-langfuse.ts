/**
 * A fake Langfuse on 127.0.0.1 that answers the two ways a score arrives, as Langfuse does:
 *
 * - `POST /api/public/scores`: one score; 200 `{id}`, 400 for an invalid body.
 * - `POST /api/public/ingestion`: a batch of events; always 207 `{successes, errors}` (invalid
 *   events are listed in `errors`, not refused with a 4xx).
 *
 * Both need `Authorization: Basic base64(publicKey:secretKey)` (401 otherwise). Scores are kept by
 * `id`, so a second score with the same id updates the first (Langfuse upserts the same way).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredScore {
  id: string;
  traceId?: string;
  name: string;
  value: string | number;
  dataType?: string;
  metadata?: Record<string, unknown>;
  comment?: string;
  /** How many times this id was written. */
  writes: number;
}

export interface LangfuseRequestRecord {
  method: string;
  path: string;
  status: number;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeLangfuse {
  baseUrl: string;
  scores: Map<string, StoredScore>;
  requests: LangfuseRequestRecord[];
  /** The next `count` requests get `status` (e.g. 500, 503). */
  failNext(status: number, count?: number): void;
  /** Resolves on the next request that matches (past ones count). */
  waitForRequest(predicate: (r: LangfuseRequestRecord) => boolean): Promise<LangfuseRequestRecord>;
  close(): Promise<void>;
}

const DATA_TYPES = new Set(['NUMERIC', 'BOOLEAN', 'CATEGORICAL', 'CORRECTION', 'TEXT']);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Why a score body is invalid, or undefined when it is fine. */
function invalidScore(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'body must be an object';
  const score = body as Record<string, unknown>;
  if (typeof score.name !== 'string' || !score.name) return 'name is required';
  if (score.value === undefined) return 'value is required';
  if (score.dataType !== undefined && !DATA_TYPES.has(String(score.dataType))) return 'invalid dataType';
  if (score.dataType === 'CATEGORICAL' && typeof score.value !== 'string')
    return 'categorical values are strings';
  if (score.id !== undefined && typeof score.id !== 'string') return 'id must be a string';
  return undefined;
}

export async function startFakeLangfuse(credentials: {
  publicKey: string;
  secretKey: string;
}): Promise<FakeLangfuse> {
  const expectedAuth = `Basic ${Buffer.from(`${credentials.publicKey}:${credentials.secretKey}`).toString('base64')}`;
  const scores = new Map<string, StoredScore>();
  const requests: LangfuseRequestRecord[] = [];
  const waiters: {
    predicate: (r: LangfuseRequestRecord) => boolean;
    resolve: (r: LangfuseRequestRecord) => void;
  }[] = [];
  let failures: { status: number; count: number } | undefined;

  const store = (body: Record<string, unknown>): string => {
    const id = typeof body.id === 'string' ? body.id : randomUUID();
    const previous = scores.get(id);
    scores.set(id, {
      id,
      name: body.name as string,
      value: body.value as string | number,
      ...(typeof body.traceId === 'string' ? { traceId: body.traceId } : {}),
      ...(typeof body.dataType === 'string' ? { dataType: body.dataType } : {}),
      ...(typeof body.comment === 'string' ? { comment: body.comment } : {}),
      ...(typeof body.metadata === 'object' && body.metadata !== null
        ? { metadata: body.metadata as Record<string, unknown> }
        : {}),
      writes: (previous?.writes ?? 0) + 1,
    });
    return id;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const reply = (status: number, payload: unknown) => {
      const record = { method: req.method ?? '', path, status, headers: req.headers, body };
      requests.push(record);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
      for (const waiter of [...waiters]) {
        if (waiter.predicate(record)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(record);
        }
      }
    };

    if (failures && failures.count > 0) {
      failures.count -= 1;
      return reply(failures.status, { message: 'Internal Server Error' });
    }
    if (req.headers.authorization !== expectedAuth) return reply(401, { message: 'Invalid credentials' });

    if (req.method === 'POST' && path === '/api/public/scores') {
      const problem = invalidScore(body);
      if (problem) return reply(400, { message: problem });
      return reply(200, { id: store(body as Record<string, unknown>) });
    }
    if (req.method === 'POST' && path === '/api/public/ingestion') {
      const batch = (body as { batch?: unknown } | undefined)?.batch;
      if (!Array.isArray(batch)) return reply(400, { message: 'batch is required' });
      const successes: { id: string; status: number }[] = [];
      const errors: { id: string; status: number; message: string }[] = [];
      for (const event of batch as Record<string, unknown>[]) {
        const eventId = String(event?.id ?? '');
        const problem = event?.type !== 'score-create' ? 'unsupported event type' : invalidScore(event.body);
        if (problem) errors.push({ id: eventId, status: 400, message: problem });
        else {
          store(event.body as Record<string, unknown>);
          successes.push({ id: eventId, status: 201 });
        }
      }
      return reply(207, { successes, errors });
    }
    return reply(404, { message: 'Not found' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    scores,
    requests,
    failNext(status, count = 1) {
      failures = { status, count };
    },
    waitForRequest(predicate) {
      const seen = requests.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
