import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type SimClock, sleepOn } from './clock.js';
import type { RestFaultPlan } from './faults.js';
import { MISSING_TOKEN, SimHttpError } from './http-error.js';
import type { SimWorld } from './model.js';
import type { SimRecorder } from './recorder.js';
import type { Router } from './router.js';
import type { WriteLimit } from './write-limit.js';

/**
 * The REST request pipeline shared by U2C, WDM, Hydra and the conversation service:
 * latency → planned fault → bearer auth → write limit → route, with a `Trackingid` header and Webex's error
 * body on every answer, and one request record per call.
 */

const MAX_BODY_BYTES = 1024 * 1024;

export interface PipelineDeps {
  world: SimWorld;
  router: Router;
  faults: RestFaultPlan;
  recorder: SimRecorder;
  clock: SimClock;
  /** The server-side write limit, when the driver switched one on. */
  writeLimit?: WriteLimit;
  onInternalError(error: unknown): void;
}

export function createRequestHandler(deps: PipelineDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const clientTracking = req.headers.trackingid;
    const trackingId =
      typeof clientTracking === 'string' && clientTracking ? clientTracking : `ROUTER_${randomUUID()}`;
    let body: unknown;
    let callerUuid: string | undefined;
    let status = 500;
    try {
      const raw = await readBody(req);
      const route = deps.router.templateFor(path);
      // The control plane is not Webex: faults never apply to it.
      const faultable = !path.startsWith('/_sim/');
      const delay = faultable ? deps.faults.latencyFor(method, path, route) : 0;
      if (delay > 0) await sleepOn(deps.clock, delay);
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
          throw new SimHttpError(400, 'The request body is not valid JSON.');
        }
      }
      const fault = faultable ? deps.faults.take(method, path, route) : undefined;
      if (fault) {
        throw new SimHttpError(fault.status, fault.message, {
          headers: fault.headers,
          emptyBody: fault.emptyBody,
        });
      }
      const match = deps.router.match(method, path);
      if (match === undefined) throw new SimHttpError(404, 'The requested resource could not be found.');
      if (match === 'method') throw new SimHttpError(405, `Method ${method} is not allowed here.`);
      const caller = bearerPerson(deps.world, req.headers.authorization);
      if (!caller && match.def.auth !== false) throw new SimHttpError(401, MISSING_TOKEN);
      callerUuid = caller?.uuid;
      if (caller) deps.writeLimit?.admit(method, path, caller.uuid);
      const result = await match.def.handle({
        req,
        method,
        path,
        params: match.params,
        query,
        body,
        // Routes that opt out of auth never read the caller.
        caller: caller as NonNullable<typeof caller>,
        trackingId,
      });
      status = result.status;
      send(res, result.status, trackingId, result.body, result.headers);
    } catch (error) {
      if (error instanceof SimHttpError) {
        status = error.status;
        const payload = error.emptyBody
          ? undefined
          : { message: error.message, errors: [{ description: error.message }], trackingId };
        send(res, error.status, trackingId, payload, error.headers);
      } else {
        status = 500;
        deps.onInternalError(error);
        send(res, 500, trackingId, {
          message: 'Internal error',
          errors: [{ description: 'Internal error' }],
          trackingId,
        });
      }
    } finally {
      deps.recorder.record('request', {
        method,
        path,
        route: deps.router.templateFor(path),
        query,
        status,
        body,
        callerUuid,
        trackingId,
        at: deps.clock.now(),
      });
    }
  };
}

function bearerPerson(world: SimWorld, header: string | undefined) {
  if (!header?.startsWith('Bearer ')) return undefined;
  return world.personByToken(header.slice('Bearer '.length).trim());
}

function send(
  res: ServerResponse,
  status: number,
  trackingId: string,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.setHeader('Trackingid', trackingId);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === undefined || status === 204) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json;charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimHttpError(413, 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
