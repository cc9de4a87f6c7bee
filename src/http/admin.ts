/**
 * The admin API (SPEC §3): list, authorize and revoke group spaces, effective at once in this
 * process. Served only when ADMIN_API_TOKEN is set; every call needs `Authorization: Bearer
 * <token>`, compared in constant time. The token never reaches a log line. Failed calls are
 * counted (`onAuthFailure`) and logged at most once a minute per client address, with the number
 * left unlogged meanwhile, so a client hammering a wrong token cannot flood the logs.
 *
 *   GET    /admin/spaces            → {items:[{roomId, spaceName, status, authorizedBy, authorizedAt,
 *                                             listenMode?, agentId?}]}
 *   PUT    /admin/spaces/{roomId}   body {spaceName?, listenMode?, agentId?} → 200, active at once
 *                                   (`agentId: null` removes the space's agent: it asks the default)
 *   DELETE /admin/spaces/{roomId}   → 200, revoked at once; 404 if the space is unknown
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CAIPE_ID_MAX_CHARS, CAIPE_ID_PATTERN } from '../adapters/agent/caipe/ids.js';
import type { SpaceRecord, SpaceRegistry } from '../adapters/store/ports.js';
import { isRoomId, roomIdForms } from '../adapters/store/space-authorization.js';
import { decodeHydraId, encodeHydraId, isUuid } from '../adapters/webex/ids.js';
import { type Clock, systemClock } from '../clock.js';
import type { Logger } from '../logger.js';
import { type RouteHandler, sendJson } from './server.js';

/** What the admin API records as the actor of its changes (SPEC §4). */
export const ADMIN_API_ACTOR = 'admin-api';
export const ADMIN_PREFIX = '/admin/';
const DEFAULT_MAX_BODY_BYTES = 16 * 1024;
const MAX_ROOM_ID_CHARS = 500;

export interface AdminApiOptions {
  token: string;
  registry: SpaceRegistry;
  /** Drops the room from this process's authorization cache (SpaceAuthorization.invalidate). */
  invalidate: (roomId: string) => void;
  log: Logger;
  maxBodyBytes?: number;
  /** Each call refused for its token (the `admin_auth_failures_total` counter). */
  onAuthFailure?: () => void;
  /** Time of the once-a-minute log limit; the system clock by default. */
  clock?: Pick<Clock, 'now'>;
}

/** At most one "invalid token" log line per client address in this interval. */
export const AUTH_FAILURE_LOG_INTERVAL_MS = 60_000;
/** Client addresses remembered for the log limit; the oldest are forgotten first. */
const MAX_TRACKED_CLIENTS = 1_000;

/** Decides which refused calls get a log line: the first per client per interval. */
class AuthFailureLog {
  readonly #clients = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  /** The number of failures not logged since this client's last line, or undefined to stay quiet. */
  record(client: string): number | undefined {
    const now = this.clock.now();
    const known = this.#clients.get(client);
    if (known && now - known.loggedAt < AUTH_FAILURE_LOG_INTERVAL_MS) {
      known.unlogged++;
      return undefined;
    }
    this.#clients.delete(client);
    this.#clients.set(client, { loggedAt: now, unlogged: 0 });
    if (this.#clients.size > MAX_TRACKED_CLIENTS) {
      const oldest = this.#clients.keys().next().value;
      if (oldest !== undefined) this.#clients.delete(oldest);
    }
    return known?.unlogged ?? 0;
  }
}

const roomIdSchema = z
  .string()
  .min(1, 'roomId is empty')
  .max(MAX_ROOM_ID_CHARS, `roomId is longer than ${MAX_ROOM_ID_CHARS} characters`)
  .refine(isRoomId, 'roomId must be a room UUID or a Webex room id (Y2lz…)');

const putBodySchema = z
  .object({
    spaceName: z.string().trim().min(1).max(500).optional(),
    listenMode: z.enum(['mention', 'message', 'all']).optional(),
    // CAIPE's own id grammar, so a space is never pointed at an agent CAIPE would refuse.
    agentId: z
      .string()
      .min(1, 'must not be empty (null removes the space’s agent)')
      .max(CAIPE_ID_MAX_CHARS, `must be at most ${CAIPE_ID_MAX_CHARS} characters`)
      .regex(CAIPE_ID_PATTERN, 'may hold only letters, digits, `.`, `_` and `-`')
      .nullable()
      .optional(),
  })
  .strict();

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function tokenDigest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time check of the bearer token (digests make both sides the same length). */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = tokenDigest(match?.[1] ?? '');
  return timingSafeEqual(given, expected) && match !== null;
}

async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new HttpProblem(413, `body larger than ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpProblem(413, `body larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpProblem(400, 'body is not valid JSON');
  }
}

/** The id a new registry entry is stored under: the public `Y2lz…` form, as the CAIPE UI does. */
function storedRoomId(roomId: string): string {
  if (isUuid(roomId)) return encodeHydraId('ROOM', roomId.toLowerCase());
  const decoded = decodeHydraId(roomId);
  // Re-encoding drops `=` padding and normalises the alphabet of a pasted id.
  return decoded ? encodeHydraId('ROOM', decoded.uuid, decoded.cluster) : roomId;
}

function view(record: SpaceRecord) {
  return {
    roomId: record.roomId,
    spaceName: record.spaceName ?? null,
    status: record.status,
    authorizedBy: record.authorizedBy ?? null,
    authorizedAt: record.authorizedAt?.toISOString() ?? null,
    ...(record.listenMode ? { listenMode: record.listenMode } : {}),
    ...(record.agentId ? { agentId: record.agentId } : {}),
    ...(record.status === 'revoked'
      ? { revokedBy: record.revokedBy ?? null, revokedAt: record.revokedAt?.toISOString() ?? null }
      : {}),
  };
}

function parseRoomId(segment: string): string {
  let roomId: string;
  try {
    roomId = decodeURIComponent(segment);
  } catch {
    throw new HttpProblem(400, 'roomId is not valid URL encoding');
  }
  const parsed = roomIdSchema.safeParse(roomId);
  if (!parsed.success) throw new HttpProblem(400, parsed.error.issues[0]?.message ?? 'invalid roomId');
  return parsed.data;
}

export function createAdminRoute(options: AdminApiOptions): { prefix: string; handler: RouteHandler } {
  const expected = tokenDigest(options.token);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log.child({ component: 'admin-api' });
  const authFailures = new AuthFailureLog(options.clock ?? systemClock);

  const listSpaces = async (res: ServerResponse) => {
    const records = await options.registry.list();
    sendJson(res, 200, { items: records.map(view) });
  };

  const authorizeSpace = async (req: IncomingMessage, res: ServerResponse, roomId: string) => {
    const parsed = putBodySchema.safeParse(await readJsonBody(req, maxBodyBytes));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      throw new HttpProblem(400, `${where}${issue?.message ?? 'invalid body'}`);
    }
    // Update the entry the room already has under any id form, so one room keeps one entry; and
    // activate every other entry it has, since a revoked one under any form would still win.
    const forms = roomIdForms(roomId);
    const existing = await options.registry.find(forms);
    const authorize = (id: string) =>
      options.registry.authorize({ roomId: id, authorizedBy: ADMIN_API_ACTOR, ...parsed.data });
    const record = await authorize(existing?.roomId ?? storedRoomId(roomId));
    for (let round = 0; round < forms.length; round++) {
      const left = await options.registry.find(forms);
      if (!left || left.status === 'active') break;
      await authorize(left.roomId);
    }
    options.invalidate(roomId);
    log.info(
      { roomId: record.roomId, listenMode: record.listenMode, agentId: record.agentId },
      'space authorized through the admin API',
    );
    sendJson(res, 200, view(record));
  };

  const revokeSpace = async (res: ServerResponse, roomId: string) => {
    const known = await options.registry.revoke(roomIdForms(roomId), ADMIN_API_ACTOR);
    options.invalidate(roomId);
    if (!known) throw new HttpProblem(404, 'unknown space');
    const record = await options.registry.find(roomIdForms(roomId));
    log.info({ roomId }, 'space revoked through the admin API');
    sendJson(res, 200, record ? view(record) : { roomId, status: 'revoked' });
  };

  const handler: RouteHandler = async (req, res, url) => {
    if (!bearerMatches(req.headers.authorization, expected)) {
      options.onAuthFailure?.();
      const client = req.socket.remoteAddress ?? 'unknown';
      const unlogged = authFailures.record(client);
      if (unlogged !== undefined) {
        log.warn(
          { method: req.method, path: url.pathname.slice(0, 200), client, unloggedSinceLastLine: unlogged },
          'admin API call without a valid token (logged at most once a minute per client)',
        );
      }
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, { error: 'unauthorized' });
    }
    try {
      const parts = url.pathname.slice(ADMIN_PREFIX.length).split('/');
      if (parts[0] !== 'spaces' || parts.length > 2 || (parts.length === 2 && parts[1] === '')) {
        throw new HttpProblem(404, 'not found');
      }
      if (parts.length === 1) {
        if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
        return await listSpaces(res);
      }
      const roomId = parseRoomId(parts[1] ?? '');
      if (req.method === 'PUT') return await authorizeSpace(req, res, roomId);
      if (req.method === 'DELETE') return await revokeSpace(res, roomId);
      return methodNotAllowed(res, 'PUT, DELETE');
    } catch (error) {
      if (error instanceof HttpProblem) {
        if (error.status === 413) res.setHeader('connection', 'close');
        return sendJson(res, error.status, { error: error.message });
      }
      log.error({ err: error, method: req.method, path: url.pathname }, 'admin API call failed');
      if (!res.headersSent) sendJson(res, 503, { error: 'space registry unavailable' });
    }
  };

  return { prefix: ADMIN_PREFIX, handler };
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { error: 'method not allowed' });
}

/** The admin routes for `startHttpServer({routes})`: none when no token is configured. */
export function adminRoutes(
  options: Omit<AdminApiOptions, 'token'> & { token: string | undefined },
): Array<{ prefix: string; handler: RouteHandler }> {
  return options.token ? [createAdminRoute({ ...options, token: options.token })] : [];
}
