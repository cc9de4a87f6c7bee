/**
 * The demo's own HTTP server on loopback: the chat page (static files, no bundler), the
 * adaptivecards browser bundle straight from node_modules, a Server-Sent Events feed of what Webex
 * would show (messages from the simulator, the live actor tree, Langfuse scores), a small API for
 * the page to act as the demo user, and a fake Langfuse (`/langfuse/api/public/scores` and
 * `/ingestion`, answered as Langfuse does).
 *
 * It answers only requests addressed to itself: the `Host` header must name the address it listens
 * on (for loopback also `localhost`, `127.0.0.1` or `[::1]`, with its port), which defeats DNS
 * rebinding; and a request that carries an `Origin` (every browser POST, cross-site fetches and
 * event streams) must come from that same origin, so another page open in the same browser cannot
 * drive the demo user. Node clients (the fake Langfuse's caller) send no `Origin`.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';

/** A browser event: `name` is the SSE event name, `data` its JSON payload. */
export interface PageEvent {
  name: string;
  data: unknown;
}

export interface DemoApi {
  /** The first event a new page gets: everything it needs to draw. */
  snapshot(): unknown;
  postMessage(input: { spaceId: string; text: string; parentId?: string; mention?: boolean }): { id: string };
  submitCard(input: { messageId: string; inputs: Record<string, unknown> }): { id: string };
  /** Authorizes a group space through the bot's admin API. */
  authorizeSpace(input: { spaceId: string }): Promise<{ authorized: boolean }>;
  /** Langfuse ingestion batch (already parsed JSON). */
  ingest(batch: unknown[]): void;
}

export interface DemoServer {
  url: string;
  port: number;
  /** Sends an event to every open page. */
  broadcast(event: PageEvent): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 256 * 1024;
const KEEPALIVE_MS = 15_000;

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/markdown.js': { file: 'markdown.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/**
 * The page files live in `src/demo/page`; compiled code runs from `dist/src/demo`, so both places
 * are tried (the page is served as written, nothing is built).
 */
export function pageDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'page'), join(here, '..', '..', '..', 'src', 'demo', 'page')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`demo page not found (looked in ${candidates.join(', ')})`);
  return found;
}

function adaptiveCardsBundle(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('adaptivecards/package.json')), 'dist', 'adaptivecards.min.js');
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'body is not JSON');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(body: Record<string, unknown>, key: string, maxChars = 10_000): string {
  const value = body[key];
  if (typeof value !== 'string' || value.length === 0 || value.length > maxChars) {
    throw new HttpProblem(400, `${key} must be a non-empty string`);
  }
  return value;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** The `Host` values the server answers to; undefined when it listens on every interface. */
export function demoHosts(host: string, port: number): ReadonlySet<string> | undefined {
  if (WILDCARD.has(host)) return undefined;
  const names = LOOPBACK.has(host)
    ? ['127.0.0.1', 'localhost', '[::1]']
    : [host.includes(':') ? `[${host}]` : host];
  return new Set(names.map((name) => `${name}:${port}`.toLowerCase()));
}

/** Why a request is not for this server, or undefined when it is. */
export function foreignRequest(
  headers: { host?: string | undefined; origin?: string | undefined },
  hosts: ReadonlySet<string> | undefined,
): string | undefined {
  const host = headers.host?.toLowerCase();
  if (!host || host.length > 300) return 'missing or oversized Host header';
  if (hosts && !hosts.has(host)) return 'unknown Host';
  const origin = headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) return 'cross-origin request';
  return undefined;
}

export async function startDemoServer(options: {
  port: number;
  host?: string;
  api: DemoApi;
  log: Logger;
}): Promise<DemoServer> {
  const { api } = options;
  const log = options.log.child({ component: 'demo-server' });
  const host = options.host ?? '127.0.0.1';
  const pageDir = pageDirectory();
  const bundle = adaptiveCardsBundle();
  const pages = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const write = (res: ServerResponse, event: PageEvent) => {
    res.write(`event: ${event.name}\ndata: ${JSON.stringify(event.data)}\n\n`);
  };

  const keepalive = setInterval(() => {
    for (const res of pages) res.write(': keep-alive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hosts = demoHosts(host, (server.address() as AddressInfo).port);
    const foreign = foreignRequest({ host: req.headers.host, origin: req.headers.origin }, hosts);
    if (foreign) throw new HttpProblem(403, foreign);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const staticFile = STATIC_FILES[path];
    if (req.method === 'GET' && staticFile) {
      const body = await readFile(join(pageDir, staticFile.file));
      res.writeHead(200, { 'content-type': staticFile.type, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && path === '/vendor/adaptivecards.min.js') {
      const body = await readFile(bundle);
      res.writeHead(200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'max-age=3600',
      });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      write(res, { name: 'snapshot', data: api.snapshot() });
      pages.add(res);
      res.on('close', () => pages.delete(res));
      return;
    }
    if (req.method === 'POST' && path === '/api/messages') {
      const body = await readJson(req);
      if (!isObject(body)) throw new HttpProblem(400, 'body must be an object');
      const parentId = typeof body.parentId === 'string' && body.parentId ? body.parentId : undefined;
      return sendJson(
        res,
        200,
        api.postMessage({
          spaceId: requireString(body, 'spaceId', 500),
          text: requireString(body, 'text'),
          ...(parentId ? { parentId } : {}),
          mention: body.mention === true,
        }),
      );
    }
    if (req.method === 'POST' && path === '/api/authorize') {
      const body = await readJson(req);
      if (!isObject(body)) throw new HttpProblem(400, 'body must be an object');
      return sendJson(res, 200, await api.authorizeSpace({ spaceId: requireString(body, 'spaceId', 500) }));
    }
    if (req.method === 'POST' && path === '/api/cards') {
      const body = await readJson(req);
      if (!isObject(body) || !isObject(body.inputs)) throw new HttpProblem(400, 'inputs must be an object');
      return sendJson(
        res,
        200,
        api.submitCard({ messageId: requireString(body, 'messageId', 500), inputs: body.inputs }),
      );
    }
    if (req.method === 'POST' && path === '/langfuse/api/public/scores') {
      const body = await readJson(req);
      if (!isObject(body)) throw new HttpProblem(400, 'body must be an object');
      const id = typeof body.id === 'string' ? body.id : randomUUID();
      api.ingest([{ id, type: 'score-create', body: { ...body, id } }]);
      return sendJson(res, 200, { id });
    }
    if (req.method === 'POST' && path === '/langfuse/api/public/ingestion') {
      const body = await readJson(req);
      const batch = isObject(body) && Array.isArray(body.batch) ? body.batch : [];
      api.ingest(batch);
      // Langfuse answers a batch with 207 and a status per event.
      return sendJson(res, 207, {
        successes: batch.filter(isObject).map((event) => ({ id: event.id, status: 201 })),
        errors: [],
      });
    }
    sendJson(res, 404, { error: 'not found' });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpProblem ? error.status : statusOf(error);
      const message = error instanceof Error ? error.message : 'internal error';
      if (status >= 500) log.error({ err: error, path: req.url?.split('?')[0] }, 'demo request failed');
      else log.info({ status, message, path: req.url?.split('?')[0] }, 'demo request refused');
      if (!res.headersSent) sendJson(res, status, { error: message });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(options.port, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}/`,
    port,
    broadcast(event) {
      for (const res of pages) write(res, event);
    },
    close: async () => {
      clearInterval(keepalive);
      for (const res of pages) res.end();
      pages.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The simulator's rule violations carry a Webex status (400, 403, 404): the page shows them. */
function statusOf(error: unknown): number {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}
