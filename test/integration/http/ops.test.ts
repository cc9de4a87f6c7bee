/**
 * The operator's view: /healthz, /readyz following the socket and the store, /metrics with the
 * names and low-cardinality labels of SPEC §3.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { readinessOf } from '../../../src/machines/webex-connection.js';
import { memoryStores } from '../../../src/runtime.js';
import { echoScript, type SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';

let world: World | undefined;
let peer: SdkPeer | undefined;

const track = closeAfterEach();

const get = (path: string) => fetch(`http://127.0.0.1:${world!.runtime.http.port}${path}`);

describe('operator endpoints', () => {
  it('readiness follows the store: 503 with a reason while it does not answer', async () => {
    peer = track(await startSdkPeer());
    let storeDown = false;
    world = track(
      await startWorld({
        agentUrl: peer.url,
        stores: {
          ...memoryStores(),
          ping: async () => {
            if (storeDown) throw new Error('store unreachable');
          },
        },
      }),
    );
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    storeDown = true;
    const down = await get('/readyz');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'not ready', reason: 'store not answering' });
    storeDown = false;
    expect((await get('/readyz')).status).toBe(200);
  });

  it('readiness follows the socket: a revoked token (4401) makes it fail with a clear reason', async () => {
    peer = track(await startSdkPeer());
    world = track(await startWorld({ agentUrl: peer.url }));
    world.sim.faults.close(4401, 'token revoked');
    await waitFor(world.runtime.connection, (s) => !readinessOf(s).ready, { timeout: 5_000 });
    const response = await get('/readyz');
    expect(response.status).toBe(503);
    expect(((await response.json()) as { reason: string }).reason).toMatch(/unauthorized|token/i);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('exposes the SPEC metrics with low-cardinality labels only', async () => {
    peer = track(await startSdkPeer());
    peer.enqueue(echoScript);
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const user = sim.createUser({ displayName: 'Eve', email: 'eve@example.com' });
    const room = sim.createDirectRoom(user);
    sim.post(user, room, { text: 'hi' });
    await sim.waitFor('request', (r) => r.method === 'DELETE', { timeoutMs: 10_000 });

    const text = await (await get('/metrics')).text();
    for (const name of [
      'webex_bot_events_total',
      'webex_bot_conversations_active',
      'webex_bot_agent_streams_total',
      'webex_bot_webex_requests_total',
      'webex_bot_webex_rate_limited_total',
      'webex_bot_webex_write_rate',
      'webex_bot_socket_reconnects_total',
      'webex_bot_edit_budget_exhausted_total',
      'webex_bot_first_reply_seconds',
      'webex_bot_answer_seconds',
      'webex_bot_process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/webex_bot_events_total\{kind="message",outcome="handled"\} 1/);
    expect(text).toMatch(/webex_bot_agent_streams_total\{backend="a2a",outcome="completed"\} 1/);
    expect(text).toMatch(/webex_bot_first_reply_seconds_count 1/);
    // The sender's current write rate, a plain number (it starts at 5 writes/s).
    expect(text).toMatch(/^webex_bot_webex_write_rate \d+(\.\d+)?$/m);
    // No ids, rooms or emails in any label.
    expect(text).not.toContain(room.id);
    expect(text).not.toContain('eve@example.com');
    expect(text).not.toMatch(/Y2lz/);
  });
});
