import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRetryAfter, WebexRestClient } from '../../../src/adapters/webex/rest.js';
import { TransportError, WebexApiError } from '../../../src/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server | undefined;
const pending: ServerResponse[] = [];

async function serve(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

afterEach(async () => {
  for (const res of pending.splice(0)) res.destroy();
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
  }
});

describe('WebexRestClient', () => {
  it('sends the token, a trackingid and JSON, and returns the parsed body', async () => {
    const seen: Array<{
      method?: string;
      url?: string;
      auth?: string;
      tracking?: string;
      type?: string;
      body: string;
    }> = [];
    const baseUrl = await serve((req, res, body) => {
      seen.push({
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        tracking: req.headers.trackingid as string,
        type: req.headers['content-type'],
        body,
      });
      res.writeHead(200, { 'content-type': 'application/json', trackingid: 'T1' });
      res.end(JSON.stringify({ id: 'm1' }));
    });
    const rest = new WebexRestClient({ token: 'secret-token', baseUrl });
    const response = await rest.request<{ id: string }>({
      method: 'POST',
      path: '/messages',
      query: { a: 1, b: undefined },
      body: { text: 'hi' },
    });
    expect(response.body).toEqual({ id: 'm1' });
    expect(response.trackingId).toBe('T1');
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/messages?a=1',
      auth: 'Bearer secret-token',
      type: 'application/json; charset=utf-8',
      body: '{"text":"hi"}',
    });
    expect(seen[0]!.tracking).toMatch(/^caipe-webex-bot_[0-9a-f-]{36}$/);
  });

  it('turns a Webex error body into a WebexApiError with status, trackingId and description', async () => {
    const baseUrl = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json', trackingid: 'ROUTER_X' });
      res.end(
        JSON.stringify({
          message: 'Unable to get message.',
          errors: [{ description: 'x' }],
          trackingId: 'B',
        }),
      );
    });
    const rest = new WebexRestClient({ token: 't', baseUrl });
    const error = await rest.get('/messages/abc', { route: 'GET /messages/{id}' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebexApiError);
    expect(error).toMatchObject({
      status: 404,
      method: 'GET',
      route: 'GET /messages/{id}',
      trackingId: 'ROUTER_X',
      description: 'Unable to get message.',
    });
    expect(String((error as Error).message)).not.toContain('abc');
  });

  it('reads errors[].description, the body trackingId and Retry-After; copes with an empty 429', async () => {
    let call = 0;
    const baseUrl = await serve((_req, res) => {
      call += 1;
      if (call === 1) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ description: 'bad parentId' }], trackingId: 'BODY_T' }));
      } else {
        res.writeHead(429, { 'retry-after': '7' });
        res.end();
      }
    });
    const rest = new WebexRestClient({ token: 't', baseUrl });
    await expect(rest.post('/messages', {})).rejects.toMatchObject({
      status: 400,
      description: 'bad parentId',
      trackingId: 'BODY_T',
    });
    await expect(rest.post('/messages', {})).rejects.toMatchObject({ status: 429, retryAfterS: 7 });
  });

  it('reports a refused connection as a TransportError that is not ambiguous', async () => {
    const baseUrl = await serve((_req, res) => res.end());
    server!.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const rest = new WebexRestClient({ token: 't', baseUrl });
    const error = await rest.post('/messages', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).ambiguous).toBe(false);
  });

  it('times out a POST that got no answer as an ambiguous TransportError', async () => {
    const baseUrl = await serve((_req, res) => void pending.push(res));
    const rest = new WebexRestClient({ token: 't', baseUrl, timeoutMs: 50 });
    const error = await rest.post('/messages', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ ambiguous: true });
    expect((error as Error).message).toContain('timed out');
  });

  it("rejects with the caller's abort reason", async () => {
    const baseUrl = await serve((_req, res) => void pending.push(res));
    const rest = new WebexRestClient({ token: 't', baseUrl });
    const controller = new AbortController();
    const call = rest.get('/people/me', { signal: controller.signal });
    const reason = new Error('stopped');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  it('accepts absolute URLs (WDM) and calls the observer', async () => {
    const baseUrl = await serve((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const rest = new WebexRestClient({ token: 't', baseUrl: 'http://unused.invalid/v1' });
    const seen: unknown[] = [];
    rest.observe((info) => seen.push(info));
    await rest.delete(`${baseUrl.replace('/v1', '')}/wdm/api/v1/devices/1`, {
      route: 'DELETE /wdm/devices/{id}',
    });
    expect(seen).toEqual([{ method: 'DELETE', route: 'DELETE /wdm/devices/{id}', status: 204 }]);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('12')).toBe(12);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
  });
});
