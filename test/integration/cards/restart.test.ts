/**
 * A form that waits survives a restart: the conversation's open task and form card are kept in the
 * embedded store, so a submission after the bot restarted resumes the task.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { loadConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { readinessOf } from '../../../src/machines/webex-connection.js';
import { type Runtime, startRuntime } from '../../../src/runtime.js';
import { startWebexSimulator, type WebexSimulator } from '../../../src/simulator/webex/index.js';
import type { SseEmulator } from '../../helpers/a2a/sse-emulator.js';
import { BOT_TOKEN, startEmulator } from '../../helpers/world.js';
import { CaipeTurn, sentMessage, waitForBotPostContaining } from '../conversations/support.js';

let sim: WebexSimulator | undefined;
let emulator: SseEmulator | undefined;
let runtime: Runtime | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await runtime?.shutdown();
  await sim?.close();
  await emulator?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  runtime = sim = emulator = dataDir = undefined;
});

async function boot(): Promise<Runtime> {
  const config = loadConfig({
    WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: BOT_TOKEN,
    WEBEX_U2C_URL: sim!.urls.u2c,
    WEBEX_API_BASE_URL: sim!.urls.hydra,
    CAIPE_URL: emulator!.url,
    HTTP_PORT: '0',
    DATA_DIR: dataDir!,
  });
  const started = await startRuntime({ config, log: silentLogger(), httpHost: '127.0.0.1' });
  await waitFor(started.connection, (s) => readinessOf(s).ready, { timeout: 10_000 });
  return started;
}

describe('a waiting form across a restart', () => {
  it('is answered after the bot restarted, resuming the same task', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'caipe-bot-restart-'));
    sim = await startWebexSimulator({ botToken: BOT_TOKEN, botDisplayName: 'CAIPE Bot' });
    emulator = await startEmulator();
    let asked: CaipeTurn | undefined;
    emulator.enqueue(
      async (exchange) => {
        asked = new CaipeTurn(exchange);
        await asked.open();
        await asked.artifact('caipe_form', [
          {
            kind: 'data',
            data: {
              input_title: 'Approve',
              input_fields: [
                { field_name: 'ticket', field_label: 'Ticket', field_type: 'text', required: true },
              ],
            },
          },
        ]);
        await asked.status('input-required', 'Which ticket?', undefined, true);
        await exchange.end();
      },
      async (exchange) => {
        const turn = new CaipeTurn(exchange);
        await turn.open();
        await turn.answer('Approved after the restart.');
      },
    );
    runtime = await boot();
    expect(runtime.stores.kind).toBe('embedded');
    const user = sim.createUser({ displayName: 'Hal', email: 'hal@example.com' });
    const room = sim.createDirectRoom(user);
    sim.post(user, room, { text: 'approve my change' });
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && JSON.stringify(r.body).includes('"attachments"'),
      {
        timeoutMs: 10_000,
      },
    );
    await sim.waitFor('request', (r) => r.method === 'DELETE', { timeoutMs: 10_000 });
    const card = sim.roomMessages(room.id).find((m) => (m.attachments?.length ?? 0) > 0)!;

    await runtime.shutdown();
    runtime = await boot();

    const actions = (
      card.attachments![0] as { content: { actions: Array<{ data?: Record<string, unknown> }> } }
    ).content.actions;
    const submit = actions.find((a) => JSON.stringify(a.data).includes('"form"'))!;
    sim.submitCard(user, card.id, { ...submit.data, 'field:ticket': 'CHG-42' });
    await waitForBotPostContaining(sim, 'Approved after the restart.');

    const resumed = sentMessage(
      emulator.requests.filter((r) => r.json?.method === 'message/stream')[1]!.json,
    );
    expect(resumed.taskId).toBe(asked!.taskId);
    expect(resumed.contextId).toBe(asked!.contextId);
    expect(resumed.prompt).toContain('ticket: CHG-42');
  });
});
