/**
 * The operator-facing HTTP surface (SPEC §3): liveness, readiness and Prometheus metrics.
 * node:http is enough; routes are a small table so the admin API can join it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../logger.js';

export interface Readiness {
  ready: boolean;
  /** Why the bot is not ready, for the 503 body and the operator's eyes. */
  reason?: string;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export interface HttpServerOptions {
  port: number;
  host?: string;
  log: Logger;
  readiness: () => Readiness | Promise<Readiness>;
  /** False when the actor system has failed: `/healthz` answers 503 so Kubernetes restarts the pod. */
  liveness?: () => boolean;
  /** Defaults to a fresh registry with Node's process metrics. */
  registry?: Registry;
  /** Extra routes by path prefix (e.g. `/admin/`), tried after the built-in ones. */
  routes?: ReadonlyArray<{ prefix: string; handler: RouteHandler }>;
}

export interface RunningHttpServer {
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'webex_bot_' });
  return registry;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const registry = options.registry ?? createMetricsRegistry();
  const log = options.log.child({ component: 'http' });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      return options.liveness?.() === false
        ? sendJson(res, 503, { status: 'failed' })
        : sendJson(res, 200, { status: 'ok' });
    }
    if (req.method === 'GET' && url.pathname === '/readyz') {
      const readiness = await options.readiness();
      return readiness.ready
        ? sendJson(res, 200, { status: 'ready' })
        : sendJson(res, 503, { status: 'not ready', reason: readiness.reason ?? 'unknown' });
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(text);
      return;
    }
    const route = options.routes?.find((r) => url.pathname.startsWith(r.prefix));
    if (route) return route.handler(req, res, url);
    return sendJson(res, 404, { error: 'not found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error, path: req.url?.split('?')[0] }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
