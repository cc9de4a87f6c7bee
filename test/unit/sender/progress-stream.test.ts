import { afterEach, describe, expect, it } from 'vitest';
import {
  createProgressStream,
  DEFAULT_WORKING_HOLD_MS,
  defaultProgressGap,
  type ProgressSender,
  type ProgressStream,
  type ProgressStreamOptions,
} from '../../../src/adapters/webex/sender/progress-stream.js';
import {
  createWebexSender,
  type SenderLimitsOverride,
  type WebexSender,
} from '../../../src/adapters/webex/sender/sender.js';
import { silentLogger } from '../../../src/logger.js';
import { WEBEX_MESSAGE_BYTE_LIMIT } from '../../../src/render/bytes.js';
import {
  apiError,
  deferred,
  FakeTransport,
  ManualClock,
  type RecordedCall,
  settle,
  type TransportHandler,
} from './fakes.js';

const INTERVAL = 3000;

interface Harness {
  clock: ManualClock;
  transport: FakeTransport;
  sender: WebexSender;
  stream: ProgressStream;
  /** What the caller's state says right now; render reads it at send time. */
  state: { step: string };
  renders: number[];
}

let current: Harness | undefined;

function setup(
  options: Partial<ProgressStreamOptions> & {
    handler?: TransportHandler;
    limits?: SenderLimitsOverride;
  } = {},
): Harness {
  const clock = new ManualClock(1_000_000);
  const transport = new FakeTransport(clock, options.handler);
  const sender = createWebexSender({
    transport,
    clock,
    retryAfterDefaultS: 10,
    logger: silentLogger(),
    random: () => 0.5,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const state = { step: 'starting' };
  const renders: number[] = [];
  const stream = createProgressStream(sender, {
    roomId: 'room',
    parentId: 'root',
    intervalMs: INTERVAL,
    clock,
    logger: silentLogger(),
    // The hold has its own tests; elsewhere the working message may go at once.
    holdMs: 0,
    render: ({ elapsedMs, rollovers }) => {
      renders.push(elapsedMs);
      return `⏳ ${state.step} (${Math.round(elapsedMs / 1000)}s, part ${rollovers + 1})`;
    },
    ...options,
  });
  current = { clock, transport, sender, stream, state, renders };
  return current;
}

afterEach(async () => {
  if (current) {
    await current.stream.abandon();
    current.sender.stop();
    current = undefined;
  }
});

/** Simulates an agent run: a state change every `everyMs` for `durationMs`. */
async function run(h: Harness, durationMs: number, everyMs: number): Promise<void> {
  for (let t = 0; t < durationMs; t += everyMs) {
    h.state.step = `step at ${t}`;
    h.stream.update();
    await h.clock.advance(everyMs);
  }
}

function markdownOf(call: RecordedCall): string {
  return (call.req.body as { markdown: string }).markdown;
}

/** Checks the invariants of a finished run and returns per-message edit times. */
function checkInvariants(h: Harness): Map<string, number[]> {
  const posts: string[] = [];
  const editsByMessage = new Map<string, number[]>();
  const deleted = new Set<string>();
  let postIndex = 0;
  for (const [index, call] of h.transport.calls.entries()) {
    const id = decodeURIComponent(call.req.path.split('/')[2] ?? '');
    if (call.req.method === 'POST') posts.push(`msg-${++postIndex}`);
    if (call.req.method === 'PUT') {
      expect(deleted.has(id)).toBe(false);
      editsByMessage.set(id, [...(editsByMessage.get(id) ?? []), call.at]);
    }
    if (call.req.method === 'DELETE') {
      // While running, a message is deleted only after its successor was posted (never a moment
      // without a working message); only finish(), the last call, deletes the newest one.
      if (index < h.transport.calls.length - 1) expect(posts.at(-1)).not.toBe(id);
      deleted.add(id);
    }
    if (call.req.method !== 'DELETE') {
      expect(Buffer.byteLength(markdownOf(call), 'utf8')).toBeLessThanOrEqual(WEBEX_MESSAGE_BYTE_LIMIT);
    }
  }
  for (const [, times] of editsByMessage) {
    expect(times.length).toBeLessThanOrEqual(10);
    for (let i = 1; i < times.length; i++) {
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(INTERVAL);
    }
  }
  return editsByMessage;
}

describe('progress stream', () => {
  it('posts the working message at once, in the thread', async () => {
    const h = setup();
    const posted = await h.stream.start();
    expect(posted.id).toBe('msg-1');
    expect(h.transport.calls[0]?.at).toBe(h.clock.now());
    expect(h.transport.calls[0]?.req.body).toEqual({
      roomId: 'room',
      parentId: 'root',
      markdown: '⏳ starting (0s, part 1)',
    });
    expect(h.stream.state).toBe('active');
  });

  it('asks for its working message as a first reply; a rollover post is a normal one', async () => {
    const h = setup();
    const priorities: Array<string | undefined> = [];
    const recording: ProgressSender = {
      post: (message, options) => {
        priorities.push(options?.priority);
        return h.sender.post(message, options);
      },
      postReplaceable: (message, options) => {
        priorities.push(options?.priority);
        return h.sender.postReplaceable(message, options);
      },
      edit: (message, options) => h.sender.edit(message, options),
      delete: (message, options) => h.sender.delete(message, options),
      editsLeft: (messageId) => h.sender.editsLeft(messageId),
    };
    const stream = createProgressStream(recording, {
      roomId: 'room',
      intervalMs: INTERVAL,
      holdMs: 0,
      clock: h.clock,
      logger: silentLogger(),
      render: ({ elapsedMs }) => `⏳ ${h.state.step} (${Math.round(elapsedMs / 1000)}s)`,
    });
    await stream.start();
    await run({ ...h, stream }, 90_000, 500);
    await stream.finish();
    expect(priorities[0]).toBe('first-reply');
    expect(priorities.length).toBeGreaterThan(1); // it rolled over at least once
    expect(priorities.slice(1).every((priority) => priority !== 'first-reply')).toBe(true);
  });

  it('coalesces: many updates inside one interval give one edit built from the latest state', async () => {
    const h = setup();
    await h.stream.start();
    for (let i = 0; i < 50; i++) {
      h.state.step = `tool ${i}`;
      h.stream.update();
      await h.clock.advance(50);
    }
    await h.clock.advance(INTERVAL);
    const edits = h.transport.calls.filter((c) => c.req.method === 'PUT');
    expect(edits).toHaveLength(1);
    expect(markdownOf(edits[0]!)).toBe('⏳ tool 49 (3s, part 1)');
    expect(edits[0]!.at - h.transport.calls[0]!.at).toBe(INTERVAL); // trailing edge of the first gap
  });

  it('stays alive through a 3-minute run: spaced edits, ≤ 10 per message, rollover post-then-delete', async () => {
    const h = setup();
    await h.stream.start();
    await run(h, 180_000, 500);
    await h.stream.finish();
    const edits = checkInvariants(h);
    const posts = h.transport.calls.filter((c) => c.req.method === 'POST');
    const deletes = h.transport.calls.filter((c) => c.req.method === 'DELETE');
    expect(posts.length).toBeGreaterThanOrEqual(3); // it continued in fresh messages
    expect(deletes).toHaveLength(posts.length); // and every working message is gone at the end
    expect([...edits.values()].some((times) => times.length === 10)).toBe(true);
    // Alive: no stretch of more than a minute without a visible write.
    const writes = h.transport.calls.filter((c) => c.req.method !== 'DELETE').map((c) => c.at);
    for (let i = 1; i < writes.length; i++) expect(writes[i]! - writes[i - 1]!).toBeLessThanOrEqual(60_000);
    expect(writes.at(-1)! - writes[0]!).toBeGreaterThan(170_000);
    // The elapsed time reaches the user: the last progress text shows ~3 minutes.
    const lastText = markdownOf(h.transport.calls.filter((c) => c.req.method !== 'DELETE').at(-1)!);
    expect(Number(/\((\d+)s/.exec(lastText)?.[1])).toBeGreaterThan(170);
  });

  it('stays alive through a 30-minute run without churning through messages', async () => {
    const h = setup();
    await h.stream.start();
    await run(h, 30 * 60_000, 1000);
    await h.stream.finish();
    checkInvariants(h);
    const posts = h.transport.calls.filter((c) => c.req.method === 'POST');
    const writes = h.transport.calls.filter((c) => c.req.method !== 'DELETE').map((c) => c.at);
    for (let i = 1; i < writes.length; i++) expect(writes[i]! - writes[i - 1]!).toBeLessThanOrEqual(60_000);
    expect(writes.at(-1)! - writes[0]!).toBeGreaterThan(29 * 60_000);
    // The gap widens with elapsed time: far fewer than the 600 edits a fixed 3 s gap would take.
    expect(writes.length).toBeLessThan(150);
    expect(posts.length).toBeLessThan(20);
    expect(h.transport.calls.filter((c) => c.req.method === 'DELETE')).toHaveLength(posts.length);
  });

  it('keeps the elapsed time moving without updates when keepAliveMs is set', async () => {
    const h = setup({ keepAliveMs: 20_000 });
    await h.stream.start();
    await h.clock.advance(65_000);
    const edits = h.transport.calls.filter((c) => c.req.method === 'PUT');
    expect(edits.map((c) => c.at - h.transport.calls[0]!.at)).toEqual([20_000, 40_000, 60_000]);
    expect(markdownOf(edits.at(-1)!)).toContain('(60s');
  });

  it('without updates and without keep-alive it sends nothing', async () => {
    const h = setup();
    await h.stream.start();
    await h.clock.advance(120_000);
    expect(h.transport.calls).toHaveLength(1);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('skips an edit whose text did not change', async () => {
    const h = setup({ render: () => 'same text' });
    await h.stream.start();
    h.stream.update();
    await h.clock.advance(10_000);
    expect(h.transport.calls).toHaveLength(1);
  });

  it('elapsed time counts from startedAt (the event), not from the post', async () => {
    const h = setup({ startedAt: 1_000_000 - 4000 });
    await h.stream.start();
    expect(markdownOf(h.transport.calls[0]!)).toContain('(4s');
  });

  it('widens the gap as the budget runs low, and with long runs', () => {
    const base = { intervalMs: 3000, editLimit: 10, elapsedMs: 0 };
    expect([0, 5, 6, 7, 8, 9, 10].map((editsUsed) => defaultProgressGap({ ...base, editsUsed }))).toEqual([
      3000, 3000, 6000, 6000, 12_000, 12_000, 12_000,
    ]);
    expect(defaultProgressGap({ ...base, editsUsed: 0, elapsedMs: 10 * 60_000 })).toBe(30_000);
    expect(defaultProgressGap({ ...base, editsUsed: 0, elapsedMs: 5 * 3600_000 })).toBe(60_000);
  });

  it('finish() waits for an edit in flight, deletes the working message, and stops for good', async () => {
    let release: (() => void) | undefined;
    const h = setup({
      handler: (req) =>
        req.method === 'PUT' ? new Promise<undefined>((r) => (release = () => r(undefined))) : undefined,
    });
    await h.stream.start();
    h.stream.update();
    await h.clock.advance(INTERVAL);
    expect(release).toBeDefined();
    const finished = h.stream.finish();
    release?.();
    await finished;
    expect(h.transport.calls.map((c) => c.req.method)).toEqual(['POST', 'PUT', 'DELETE']);
    h.stream.update();
    await h.clock.advance(60_000);
    expect(h.transport.calls).toHaveLength(3);
    expect(h.clock.pendingTimers).toBe(0);
    expect(h.stream.state).toBe('ended');
  });

  it('abandon() leaves the working message in place', async () => {
    const h = setup();
    await h.stream.start();
    h.stream.update();
    await h.stream.abandon();
    await h.clock.advance(60_000);
    expect(h.transport.calls.map((c) => c.req.method)).toEqual(['POST']);
  });

  it('finish() during start() deletes the message once it exists', async () => {
    const h = setup();
    const started = h.stream.start();
    const finished = h.stream.finish();
    await started;
    await finished;
    expect(h.transport.calls.map((c) => c.req.method)).toEqual(['POST', 'DELETE']);
  });

  describe('the answer and the working message (SPEC, Answering 1)', () => {
    it('during a burst, holds the working message, so that an answer ready by then is the first reply', async () => {
      const h = setup({ holdMs: undefined, limits: { rate: { initialPerSecond: 1, maxPerSecond: 1 } } });
      void h.sender.post({ roomId: 'elsewhere', markdown: 'spends the token' });
      void h.sender.post({ roomId: 'elsewhere-too', markdown: 'waits for the rate' });
      void h.stream.start();
      await h.clock.advance(200);
      expect(h.transport.markdowns()).toEqual(['spends the token']);
      const answer = h.stream.reply('fast answer'); // in the working message's place in the queue
      await h.clock.advance(1000);
      await h.stream.finish();
      await h.clock.advance(60_000);
      expect(await answer).toEqual({ id: 'msg-2' });
      expect(h.transport.markdowns()).toEqual(['spends the token', 'fast answer', 'waits for the rate']);
    });

    it('an idle sender posts the working message at once, hold or not', async () => {
      const h = setup({ holdMs: undefined });
      const started = h.stream.start();
      await expect(started).resolves.toEqual({ id: 'msg-1' });
      expect(h.transport.calls.map((c) => c.at - 1_000_000)).toEqual([0]);
    });

    it('during a burst, without an answer by then, the working message goes out when the hold ends', async () => {
      const gate = deferred();
      const h = setup({
        holdMs: undefined,
        limits: { maxInFlight: 1 },
        handler: (req) =>
          (req.body as { roomId?: string } | undefined)?.roomId === 'elsewhere' ? gate.promise : undefined,
      });
      void h.sender.post({ roomId: 'elsewhere', markdown: 'holds the slot' });
      void h.sender.post({ roomId: 'elsewhere-too', markdown: 'waits for the slot' });
      const started = h.stream.start();
      gate.resolve({ id: 'x' });
      await h.clock.advance(DEFAULT_WORKING_HOLD_MS - 1);
      expect(h.transport.markdowns()).not.toContain('⏳ starting (0s, part 1)');
      await h.clock.advance(1);
      await expect(started).resolves.toEqual({ id: 'msg-2' });
    });

    /** One write per second, and the one token of the first second already spent elsewhere. */
    const SLOW = { rate: { initialPerSecond: 1, maxPerSecond: 1 } };

    it('an answer ready before the working message left the queue takes its place: one post, nothing to delete', async () => {
      const h = setup({ limits: SLOW });
      await h.sender.post({ roomId: 'elsewhere', markdown: 'spends the token' });
      const started = h.stream.start();
      await settle();
      expect(h.transport.calls).toHaveLength(1); // the working message waits for the rate
      const answer = h.stream.reply('**the answer**');
      expect(h.stream.replaced).toBe(true);
      await h.clock.advance(1000);
      await expect(answer).resolves.toEqual({ id: 'msg-2' });
      await expect(started).resolves.toEqual({ id: 'msg-2' }); // the first reply is the answer
      expect(h.stream.messageId).toBeUndefined();
      const more = h.stream.reply('second part');
      await h.clock.advance(1000);
      await h.stream.finish();
      await h.clock.advance(60_000);
      expect(h.transport.calls.map((c) => [c.req.method, markdownOf(c)])).toEqual([
        ['POST', 'spends the token'],
        ['POST', '**the answer**'],
        ['POST', 'second part'],
      ]);
      expect(h.transport.calls[1]?.req.body).toMatchObject({ roomId: 'room', parentId: 'root' });
      await expect(more).resolves.toEqual({ id: 'msg-3' });
    });

    it('once the working message is up, a reply is a new post; a progress edit still queued is dropped', async () => {
      const other = deferred();
      const h = setup({
        limits: { maxInFlight: 1 },
        handler: (req) =>
          (req.body as { roomId?: string } | undefined)?.roomId === 'elsewhere' ? other.promise : undefined,
      });
      await h.stream.start();
      h.state.step = 'tool running';
      h.stream.update();
      await h.clock.advance(INTERVAL - 1);
      void h.sender.post({ roomId: 'elsewhere', markdown: 'holds the only slot' });
      await h.clock.advance(1); // the edit is due, and waits for the slot
      expect(h.sender.stats()).toMatchObject({ queued: 2, inFlight: 1 }); // the edit waits
      const answer = h.stream.reply('the answer');
      other.resolve({ id: 'x' });
      await answer;
      await h.stream.finish();
      await h.clock.advance(60_000);
      expect(h.transport.calls.map((c) => c.req.method)).toEqual(['POST', 'POST', 'POST', 'DELETE']);
      expect(markdownOf(h.transport.calls[2]!)).toBe('the answer');
    });

    it('finish() while the working message is still queued withdraws it: nothing posted, nothing deleted', async () => {
      const h = setup({ limits: SLOW });
      await h.sender.post({ roomId: 'elsewhere', markdown: 'spends the token' });
      const started = h.stream.start();
      const outcome = expect(started).rejects.toMatchObject({ reason: 'withdrawn' });
      await h.stream.finish();
      await outcome;
      await h.clock.advance(60_000);
      expect(h.transport.markdowns()).toEqual(['spends the token']);
      expect(h.stream.state).toBe('ended');
    });

    it('an answer the sender refuses is the caller’s error, and the working message is not lost', async () => {
      const h = setup({ limits: SLOW });
      await h.sender.post({ roomId: 'elsewhere', markdown: 'spends the token' });
      void h.stream.start().catch(() => {});
      await expect(h.stream.reply('€'.repeat(2480))).rejects.toMatchObject({ reason: 'too-large' });
      expect(h.stream.replaced).toBe(false);
      await h.clock.advance(1000);
      expect(h.stream.messageId).toBe('msg-2'); // the working message still went out
      const finished = h.stream.finish();
      await h.clock.advance(1000);
      await finished;
      expect(h.transport.calls.map((c) => c.req.method)).toEqual(['POST', 'POST', 'DELETE']);
    });
  });

  it('a failed start rejects and leaves the stream inert', async () => {
    const h = setup({
      handler: () => {
        throw apiError(403);
      },
    });
    await expect(h.stream.start()).rejects.toMatchObject({ status: 403 });
    expect(h.stream.state).toBe('failed');
    h.stream.update();
    await h.stream.finish();
    expect(h.transport.calls).toHaveLength(1);
  });

  it('continues in a fresh message when the working message was deleted by someone', async () => {
    const h = setup({
      handler: (req) => {
        if (req.method === 'PUT') throw apiError(404, { description: 'Unable to get message.' });
        return undefined;
      },
    });
    await h.stream.start();
    h.state.step = 'after delete';
    h.stream.update();
    await h.clock.advance(INTERVAL * 3);
    const methods = h.transport.calls.map((c) => c.req.method);
    expect(methods.slice(0, 3)).toEqual(['POST', 'PUT', 'POST']);
    expect(markdownOf(h.transport.calls[2]!)).toContain('after delete');
    expect(h.stream.messageId).toBe('msg-2');
  });

  it('keeps the old message when the fresh one cannot be posted, and tries again later', async () => {
    let failPosts = 1;
    const h = setup({
      handler: (req) => {
        if (
          req.method === 'POST' &&
          req.path === '/messages' &&
          h.transport.calls.length > 1 &&
          failPosts-- > 0
        ) {
          throw apiError(400, { description: 'nope' });
        }
        return undefined;
      },
    });
    await h.stream.start();
    await run(h, 150_000, 500);
    const methods = h.transport.calls.map((c) => c.req.method);
    const firstDelete = methods.indexOf('DELETE');
    // PUT×10, then a refused POST, later a successful POST, and only then the DELETE of msg-1.
    expect(methods.slice(0, 12)).toEqual(['POST', ...Array(10).fill('PUT'), 'POST']);
    expect(firstDelete).toBeGreaterThan(12);
    expect(methods[firstDelete - 1]).toBe('POST');
    expect(h.transport.calls[firstDelete]?.req.path).toBe('/messages/msg-1');
  });

  it('truncates an oversized progress text to the byte limit instead of failing', async () => {
    const h = setup({ render: () => '😀'.repeat(3000) });
    await h.stream.start();
    const sent = markdownOf(h.transport.calls[0]!);
    expect(Buffer.byteLength(sent, 'utf8')).toBeLessThanOrEqual(WEBEX_MESSAGE_BYTE_LIMIT);
    expect(sent.endsWith('…')).toBe(true);
  });
});
