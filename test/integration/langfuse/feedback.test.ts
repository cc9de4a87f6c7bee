/**
 * The feedback scorer against a fake Langfuse on loopback, through the real `@langfuse/client`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LangfuseClient } from '@langfuse/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createFeedbackScorer,
  FEEDBACK_SCORE_NAME,
  type FeedbackScorer,
  feedbackScoreId,
} from '../../../src/adapters/langfuse/feedback.js';
import { createLogger } from '../../../src/logger.js';
import { type CapturedLog, captureLog } from '../../helpers/capture.js';
import { type FakeLangfuse, startFakeLangfuse } from './fake-langfuse.js';

const PUBLIC_KEY = 'pk-lf-test-1234';
const SECRET_KEY = 'sk-lf-very-secret-5f2a9c';
const BASIC = Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64');

let langfuse: FakeLangfuse;
let log: CapturedLog;
let scorers: { shutdown(): Promise<void> }[];
let consoleOutput: string[];

beforeEach(async () => {
  langfuse = await startFakeLangfuse({ publicKey: PUBLIC_KEY, secretKey: SECRET_KEY });
  log = captureLog();
  scorers = [];
  consoleOutput = [];
  // The Langfuse client logs through console; nothing it prints may hold the secret either.
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleOutput.push(args.map(String).join(' '));
    });
  }
});

afterEach(async () => {
  await Promise.all(scorers.map((s) => s.shutdown()));
  await langfuse.close();
  vi.restoreAllMocks();
});

function scorer(overrides: { baseUrl?: string; secretKey?: string; maxRetries?: number } = {}) {
  const failures = { count: 0 };
  const created = createFeedbackScorer({
    publicKey: PUBLIC_KEY,
    secretKey: overrides.secretKey ?? SECRET_KEY,
    baseUrl: overrides.baseUrl ?? langfuse.baseUrl,
    // No `secrets` here: the scorer must keep the key out of its lines by itself.
    log: createLogger({ level: 'debug', destination: log.destination }),
    onFailure: () => {
      failures.count += 1;
    },
    maxRetries: overrides.maxRetries ?? 0,
    timeoutS: 5,
  });
  scorers.push(created);
  return { scorer: created as FeedbackScorer & { shutdown(): Promise<void> }, failures };
}

function expectNoSecretAnywhere(): void {
  const everything = `${log.text()}\n${consoleOutput.join('\n')}`;
  expect(everything).not.toContain(SECRET_KEY);
  expect(everything).not.toContain(BASIC);
}

describe('feedback scorer', () => {
  it('a 👍 becomes a CATEGORICAL user_feedback score on the trace, with the email', async () => {
    const { scorer: s, failures } = scorer();
    await s.score({ traceId: 'trace-1', personId: 'person-a', email: 'ada@example.com', positive: true });
    const id = feedbackScoreId('trace-1', 'person-a');
    expect(langfuse.scores.get(id)).toEqual({
      id,
      traceId: 'trace-1',
      name: FEEDBACK_SCORE_NAME,
      value: 'positive',
      dataType: 'CATEGORICAL',
      metadata: { user_email: 'ada@example.com' },
      writes: 1,
    });
    const request = langfuse.requests[0];
    expect(request?.path).toBe('/api/public/scores');
    expect(request?.headers.authorization).toBe(`Basic ${BASIC}`);
    expect(request?.headers['x-langfuse-public-key']).toBe(PUBLIC_KEY);
    expect(failures.count).toBe(0);
    expectNoSecretAnywhere();
  });

  it('a 👎 scores negative; without an email there is no metadata', async () => {
    const { scorer: s } = scorer();
    await s.score({ traceId: 'trace-2', personId: 'person-b', positive: false });
    const stored = langfuse.scores.get(feedbackScoreId('trace-2', 'person-b'));
    expect(stored?.value).toBe('negative');
    expect(stored?.metadata).toBeUndefined();
  });

  it('a changed vote updates the same score; another person gets their own', async () => {
    const { scorer: s } = scorer();
    await s.score({ traceId: 'trace-3', personId: 'person-a', email: 'ada@example.com', positive: true });
    await s.score({ traceId: 'trace-3', personId: 'person-a', email: 'ada@example.com', positive: false });
    await s.score({ traceId: 'trace-3', personId: 'person-b', positive: true });
    expect(langfuse.scores.size).toBe(2);
    const ada = langfuse.scores.get(feedbackScoreId('trace-3', 'person-a'));
    expect(ada).toMatchObject({ value: 'negative', writes: 2 });
    expect(langfuse.scores.get(feedbackScoreId('trace-3', 'person-b'))).toMatchObject({ value: 'positive' });
  });

  it('Langfuse down: resolves, counts the failure, logs a warning without the secret', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const { scorer: s, failures } = scorer({ baseUrl: `http://127.0.0.1:${port}` });
    await expect(s.score({ traceId: 't', personId: 'p', positive: true })).resolves.toBeUndefined();
    expect(failures.count).toBe(1);
    const warning = log.records().find((r) => r.msg === 'feedback score did not reach Langfuse');
    expect(warning).toMatchObject({ level: 'warn', traceId: 't', value: 'positive' });
    expectNoSecretAnywhere();
  });

  it('a server error and refused credentials are failures too, never thrown', async () => {
    const { scorer: s, failures } = scorer();
    langfuse.failNext(500);
    await s.score({ traceId: 't', personId: 'p', positive: true });
    expect(failures.count).toBe(1);
    const warning = log.records().find((r) => r.msg === 'feedback score did not reach Langfuse');
    expect(warning?.failure).toMatchObject({ status: 500, message: expect.stringMatching(/500|Internal/) });

    const wrong = scorer({ secretKey: `${SECRET_KEY}-wrong` });
    await wrong.scorer.score({ traceId: 't', personId: 'p', positive: false });
    expect(wrong.failures.count).toBe(1);
    expect(langfuse.requests.at(-1)?.status).toBe(401);
    expect(langfuse.scores.size).toBe(0);
    expectNoSecretAnywhere();
  });

  it('retries a 503 when allowed', async () => {
    const { scorer: s, failures } = scorer({ maxRetries: 1 });
    langfuse.failNext(503);
    await s.score({ traceId: 'tr', personId: 'p', positive: true });
    expect(failures.count).toBe(0);
    expect(langfuse.requests.map((r) => r.status)).toEqual([503, 200]);
  });

  it('shutdown waits for scores in flight', async () => {
    const { scorer: s } = scorer();
    const pending = s.score({ traceId: 'late', personId: 'p', positive: true });
    await s.shutdown();
    expect(langfuse.scores.has(feedbackScoreId('late', 'p'))).toBe(true);
    await pending;
  });
});

describe('the fake Langfuse ingestion endpoint', () => {
  it('answers the client’s queued scores with 207, listing invalid events as errors', async () => {
    const client = new LangfuseClient({
      publicKey: PUBLIC_KEY,
      secretKey: SECRET_KEY,
      baseUrl: langfuse.baseUrl,
    });
    client.score.create({
      id: 'queued-1',
      traceId: 'tr',
      name: 'user_feedback',
      value: 'positive',
      dataType: 'CATEGORICAL',
    });
    client.score.create({
      id: 'queued-2',
      traceId: 'tr',
      name: 'user_feedback',
      value: 1,
      dataType: 'CATEGORICAL',
    });
    await client.flush();
    const request = await langfuse.waitForRequest((r) => r.path === '/api/public/ingestion');
    expect(request.status).toBe(207);
    expect(langfuse.scores.get('queued-1')).toMatchObject({ value: 'positive', dataType: 'CATEGORICAL' });
    // The invalid one is reported in `errors`, yet flush() resolved: why the scorer does not use this path.
    expect(langfuse.scores.has('queued-2')).toBe(false);
    await client.shutdown();
  });
});
