/**
 * The demo server answers only its own Host and Origin: another page in the same browser (or a
 * DNS-rebound name) cannot post as the demo user.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type DemoApi, demoHosts, foreignRequest, startDemoServer } from '../../src/demo/server.js';
import { silentLogger } from '../../src/logger.js';
import { closeAfterEach } from '../helpers/cleanup.js';

const track = closeAfterEach();

function fakeApi(posted: string[]): DemoApi {
  return {
    snapshot: () => ({ spaces: [] }),
    postMessage: ({ text }) => {
      posted.push(text);
      return { id: `m${posted.length}` };
    },
    submitCard: () => ({ id: 'a1' }),
    authorizeSpace: async () => ({ authorized: true }),
    ingest: () => {},
  };
}

function send(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('demo server', () => {
  it('serves its own origin and refuses other hosts and other origins', async () => {
    const posted: string[] = [];
    const server = track(await startDemoServer({ port: 0, api: fakeApi(posted), log: silentLogger() }));
    const own = `127.0.0.1:${server.port}`;
    const post = (headers: Record<string, string>) =>
      send(server.port, {
        method: 'POST',
        path: '/api/messages',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ spaceId: 's1', text: 'hello' }),
      });

    expect((await post({ host: own, origin: `http://${own}` })).status).toBe(200);
    expect(
      (await post({ host: `localhost:${server.port}`, origin: `http://localhost:${server.port}` })).status,
    ).toBe(200);
    // A node client (the fake Langfuse's caller) sends no Origin.
    expect((await post({ host: own })).status).toBe(200);
    expect(posted).toEqual(['hello', 'hello', 'hello']);

    const refused = [
      await post({ host: own, origin: 'http://evil.example' }),
      await post({ host: own, origin: `http://localhost:${server.port}` }),
      await post({ host: own, origin: 'null' }),
      await post({ host: `evil.example:${server.port}`, origin: `http://evil.example:${server.port}` }),
      await post({ host: `127.0.0.1:${server.port + 1}` }),
      await send(server.port, { path: '/', headers: { host: `rebound.example:${server.port}` } }),
      await send(server.port, {
        path: '/api/events',
        headers: { host: own, origin: 'https://evil.example' },
      }),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect(posted).toHaveLength(3);
    expect((await send(server.port, { path: '/', headers: { host: own } })).status).toBe(200);
  });

  it('knows which hosts it answers to', () => {
    expect([...(demoHosts('127.0.0.1', 8080) ?? [])].sort()).toEqual([
      '127.0.0.1:8080',
      '[::1]:8080',
      'localhost:8080',
    ]);
    expect([...(demoHosts('demo.internal', 80) ?? [])]).toEqual(['demo.internal:80']);
    expect(demoHosts('0.0.0.0', 80)).toBeUndefined();
    // Listening everywhere, the Origin must still match the Host it was sent to.
    expect(foreignRequest({ host: 'box:80', origin: 'http://box:80' }, undefined)).toBeUndefined();
    expect(foreignRequest({ host: 'box:80', origin: 'http://other:80' }, undefined)).toBe(
      'cross-origin request',
    );
    expect(foreignRequest({ host: undefined }, undefined)).toBe('missing or oversized Host header');
    expect(foreignRequest({ host: 'x'.repeat(10_000) }, undefined)).toBe('missing or oversized Host header');
  });
});
