import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import { sanitizeContext, startInspection } from '../../src/inspection.js';
import { silentLogger } from '../../src/logger.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const machine = setup({
  types: {
    context: {} as { key: string; personEmail?: string; text?: string },
    events: {} as { type: 'USER_MESSAGE'; personEmail: string; text: string },
  },
}).createMachine({
  context: { key: 'room/main' },
  initial: 'idle',
  states: {
    idle: {
      on: {
        USER_MESSAGE: {
          target: 'answering',
          actions: assign(({ event }) => ({ personEmail: event.personEmail, text: event.text })),
        },
      },
    },
    answering: {},
  },
});

describe('inspection', () => {
  it('jsonl: writes state values and event types, never emails, message text or tokens', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inspect-'));
    dirs.push(dataDir);
    const inspection = await startInspection({ mode: 'jsonl', port: 0, dataDir, log: silentLogger() });
    const actor = createActor(machine, { inspect: inspection.inspect }).start();
    actor.send({
      type: 'USER_MESSAGE',
      personEmail: 'alice@example.com',
      text: 'token=s3cr3t please deploy',
    });
    actor.stop();
    await inspection.close();

    const [file] = readdirSync(dataDir);
    const text = readFileSync(path.join(dataDir, file!), 'utf8');
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.some((r) => r.eventType === 'USER_MESSAGE')).toBe(true);
    expect(records.some((r) => r.value === 'answering')).toBe(true);
    expect(text).not.toContain('alice@example.com');
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('deploy');
  });

  it('stately: a viewer connected to the relay receives sanitized events', async () => {
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const inspection = await startInspection({
      mode: 'stately',
      port,
      dataDir: tmpdir(),
      log: silentLogger(),
    });
    const { WebSocket } = await import('ws');
    const viewer = new WebSocket(`ws://127.0.0.1:${port}`);
    try {
      await new Promise((resolve, reject) => viewer.once('open', resolve).once('error', reject));
      const received: string[] = [];
      const sawAnswering = new Promise<void>((resolve) => {
        viewer.on('message', (data) => {
          received.push(String(data));
          if (String(data).includes('answering')) resolve();
        });
      });
      const actor = createActor(machine, { inspect: inspection.inspect }).start();
      actor.send({
        type: 'USER_MESSAGE',
        personEmail: 'alice@example.com',
        text: 'token=s3cr3t please deploy',
      });
      await sawAnswering;
      actor.stop();
      const all = received.join('\n');
      expect(all).toContain('USER_MESSAGE');
      expect(all).not.toContain('alice@example.com');
      expect(all).not.toContain('s3cr3t');
    } finally {
      viewer.close();
      await inspection.close();
    }
  });

  it('the Stately relay gets only ids and counts from context', () => {
    expect(
      sanitizeContext({
        key: 'k',
        contextId: 'c',
        personEmail: 'a@b.c',
        queue: [{ text: 'hi' }],
        token: 't',
      }),
    ).toEqual({ key: 'k', contextId: 'c', queued: 1 });
  });

  it('false: no inspector at all', async () => {
    const inspection = await startInspection({
      mode: 'false',
      port: 0,
      dataDir: tmpdir(),
      log: silentLogger(),
    });
    expect(inspection.inspect).toBeUndefined();
  });
});
