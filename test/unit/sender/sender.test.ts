import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SenderRejectedError } from '../../../src/adapters/webex/sender/errors.js';
import type { SenderMetrics } from '../../../src/adapters/webex/sender/metrics.js';
import {
  createWebexSender,
  type SenderLimitsOverride,
  type WebexSender,
} from '../../../src/adapters/webex/sender/sender.js';
import { TransportError, WebexApiError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import {
  apiError,
  deferred,
  FakeTransport,
  ManualClock,
  type RecordedCall,
  settle,
  type TransportHandler,
} from './fakes.js';

interface Harness {
  clock: ManualClock;
  transport: FakeTransport;
  sender: WebexSender;
  metrics: { requests: string[]; rateLimited: number; budgetExhausted: number; writeRates: number[] };
}

/**
 * Tests that are not about the rate get one that never binds (1000 writes/s from the start);
 * tests about the rate say which they want.
 */
const UNBOUND_RATE = { initialPerSecond: 1000, maxPerSecond: 1000 };

let current: Harness | undefined;

function setup(
  options: { handler?: TransportHandler; limits?: SenderLimitsOverride; random?: () => number } = {},
) {
  const clock = new ManualClock();
  const transport = new FakeTransport(clock, options.handler);
  const recorded = {
    requests: [] as string[],
    rateLimited: 0,
    budgetExhausted: 0,
    writeRates: [] as number[],
  };
  const metrics: SenderMetrics = {
    request: ({ method, route, status }) => void recorded.requests.push(`${method} ${route} ${status}`),
    rateLimited: () => void recorded.rateLimited++,
    editBudgetExhausted: () => void recorded.budgetExhausted++,
    writeRate: (perSecond) => void recorded.writeRates.push(perSecond),
  };
  const sender = createWebexSender({
    transport,
    clock,
    retryAfterDefaultS: 10,
    logger: silentLogger(),
    metrics,
    limits: { ...options.limits, rate: options.limits?.rate ?? UNBOUND_RATE },
    random: options.random ?? (() => 0.5),
  });
  current = { clock, transport, sender, metrics: recorded };
  return current;
}

afterEach(() => {
  current?.sender.stop();
  current = undefined;
});

describe('webexSender: payloads and limits', () => {
  it('posts to /messages with the thread root and returns the new id', async () => {
    const { sender, transport } = setup();
    const sent = await sender.post({ roomId: 'r1', parentId: 'root', markdown: '**hi**', text: 'hi' });
    expect(sent).toEqual({ id: 'msg-1' });
    expect(transport.calls[0]?.req).toEqual({
      method: 'POST',
      path: '/messages',
      route: 'messages',
      body: { roomId: 'r1', parentId: 'root', markdown: '**hi**', text: 'hi' },
    });
  });

  it('asks a guard right before a request leaves the queue: no sends nothing, later answers count', async () => {
    const { sender, transport } = setup();
    let owned = true;
    const guard = () => owned;
    await sender.post({ roomId: 'r1', markdown: 'first' }, { guard });
    owned = false;
    const refused = sender.post({ roomId: 'r1', markdown: 'second' }, { guard });
    await expect(refused).rejects.toMatchObject({ name: 'SenderRejectedError', reason: 'fenced' });
    await expect(
      sender.edit({ roomId: 'r1', messageId: 'msg-1', markdown: 'x' }, { guard }),
    ).rejects.toMatchObject({
      reason: 'fenced',
    });
    // An asynchronous guard (a lease renewed at the fence) is awaited.
    const later = sender.post({ roomId: 'r1', markdown: 'third' }, { guard: () => Promise.resolve(true) });
    await expect(later).resolves.toEqual({ id: 'msg-2' });
    expect(transport.calls.map((c) => (c.req.body as { markdown?: string } | undefined)?.markdown)).toEqual([
      'first',
      'third',
    ]);
    // The refused edit did not use the message's edit budget.
    expect(sender.editsLeft('msg-1')).toBe(10);
  });

  it('edits with PUT /messages/{id} carrying the roomId, and deletes with DELETE', async () => {
    const { sender, transport } = setup();
    expect(await sender.edit({ messageId: 'm/1', roomId: 'r1', markdown: 'v2' })).toBe('sent');
    expect(await sender.delete({ messageId: 'm/1', roomId: 'r1' })).toBe('deleted');
    expect(transport.calls.map((c) => [c.req.method, c.req.path, c.req.route, c.req.body])).toEqual([
      ['PUT', '/messages/m%2F1', 'messages/{id}', { roomId: 'r1', markdown: 'v2' }],
      ['DELETE', '/messages/m%2F1', 'messages/{id}', undefined],
    ]);
  });

  it('checks the 7439-byte limit in UTF-8 bytes before sending anything', async () => {
    const { sender, transport } = setup();
    await expect(sender.post({ roomId: 'r', markdown: 'a'.repeat(7439) })).resolves.toEqual({ id: 'msg-1' });
    // 2480 × '€' (3 bytes each) = 7440 bytes in only 2480 characters.
    const euro = '€'.repeat(2480);
    await expect(sender.post({ roomId: 'r', markdown: euro })).rejects.toMatchObject({
      code: 'WEBEX_SENDER_REJECTED',
      reason: 'too-large',
    });
    await expect(sender.post({ roomId: 'r', markdown: 'ok', text: euro })).rejects.toBeInstanceOf(
      SenderRejectedError,
    );
    await expect(sender.edit({ messageId: 'm', roomId: 'r', markdown: euro })).rejects.toMatchObject({
      reason: 'too-large',
    });
    expect(transport.calls).toHaveLength(1);
  });

  it('refuses two cards in one message and edits of a message that carries a card', async () => {
    const { sender, transport } = setup();
    const card = { contentType: 'application/vnd.microsoft.card.adaptive', content: {} };
    await expect(
      sender.post({ roomId: 'r', markdown: 'x', attachments: [card, card] }),
    ).rejects.toMatchObject({
      reason: 'too-many-attachments',
    });
    const { id } = await sender.post({ roomId: 'r', markdown: 'form', attachments: [card] });
    await expect(sender.edit({ messageId: id, roomId: 'r', markdown: 'y' })).rejects.toMatchObject({
      reason: 'not-editable',
    });
    expect(transport.calls.map((c) => c.req.method)).toEqual(['POST']);
  });

  it('fails a post whose answer carries no id instead of inventing one', async () => {
    const { sender } = setup({ handler: () => ({}) });
    await expect(sender.post({ roomId: 'r', markdown: 'x' })).rejects.toBeInstanceOf(WebexApiError);
  });
});

describe('webexSender: ordering', () => {
  it('sends one request per room at a time, in the order asked', async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    const { sender, transport } = setup({
      handler: () => {
        const gate = deferred();
        gates.push(gate);
        return gate.promise.then(() => undefined);
      },
    });
    const results = [
      sender.post({ roomId: 'r1', markdown: 'one' }),
      sender.edit({ messageId: 'm0', roomId: 'r1', markdown: 'two' }),
      sender.post({ roomId: 'r1', markdown: 'three' }),
      sender.delete({ messageId: 'm0', roomId: 'r1' }),
    ];
    for (let i = 0; i < 4; i++) {
      await settle();
      expect(transport.calls).toHaveLength(i + 1); // the next one waits for the previous answer
      gates[i]?.resolve(undefined);
    }
    await Promise.all(results);
    expect(transport.markdowns()).toEqual(['one', 'two', 'three', 'DELETE /messages/m0']);
  });

  it('runs different rooms in parallel: a slow room does not hold up another', async () => {
    const slow = deferred();
    const { sender, transport } = setup({
      handler: (req) => ((req.body as { roomId?: string }).roomId === 'slow' ? slow.promise : undefined),
    });
    const stuck = sender.post({ roomId: 'slow', markdown: 'slow-1' });
    sender.post({ roomId: 'slow', markdown: 'slow-2' });
    const quick = await Promise.all([
      sender.post({ roomId: 'fast', markdown: 'fast-1' }),
      sender.post({ roomId: 'fast', markdown: 'fast-2' }),
    ]);
    expect(quick).toHaveLength(2);
    expect(transport.markdowns()).toEqual(['slow-1', 'fast-1', 'fast-2']);
    slow.resolve({ id: 'slow-id' });
    await expect(stuck).resolves.toEqual({ id: 'slow-id' });
  });

  it('caps requests in flight across rooms', async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    const { sender, transport } = setup({
      limits: { maxInFlight: 3 },
      handler: () => {
        const gate = deferred();
        gates.push(gate);
        return gate.promise;
      },
    });
    const all = Array.from({ length: 5 }, (_, i) => sender.post({ roomId: `r${i}`, markdown: `m${i}` }));
    await settle();
    expect(transport.calls).toHaveLength(3);
    gates[0]?.resolve({ id: 'a' });
    await settle();
    expect(transport.calls).toHaveLength(4);
    for (const gate of gates.slice(1)) gate.resolve({ id: 'b' });
    await settle();
    gates[4]?.resolve({ id: 'c' });
    await Promise.all(all);
    expect(transport.markdowns()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('drops a queued request whose signal aborts, without sending it', async () => {
    const gate = deferred();
    const { sender, transport } = setup({
      handler: (_req, _call, index) => (index === 0 ? gate.promise : undefined),
    });
    const first = sender.post({ roomId: 'r', markdown: 'first' });
    const controller = new AbortController();
    const second = sender.post({ roomId: 'r', markdown: 'second' }, { signal: controller.signal });
    const third = sender.post({ roomId: 'r', markdown: 'third' });
    controller.abort(new Error('user cancelled'));
    await expect(second).rejects.toThrow('user cancelled');
    gate.resolve({ id: 'x' });
    await Promise.all([first, third]);
    expect(transport.markdowns()).toEqual(['first', 'third']);
  });

  it('stop() rejects what is still queued and idle() resolves', async () => {
    const gate = deferred();
    const { sender } = setup({ handler: () => gate.promise });
    const inFlight = sender.post({ roomId: 'r', markdown: 'a' });
    const queued = sender.post({ roomId: 'r', markdown: 'b' });
    await settle();
    sender.stop();
    await expect(queued).rejects.toMatchObject({ reason: 'stopped' });
    gate.resolve({ id: 'a' });
    await expect(inFlight).resolves.toEqual({ id: 'a' });
    await expect(sender.post({ roomId: 'r', markdown: 'c' })).rejects.toMatchObject({ reason: 'stopped' });
  });
});

describe('webexSender: rate limits', () => {
  it('on 429 with Retry-After pauses that endpoint for every room, then resends in order', async () => {
    let first = true;
    const { sender, transport, clock, metrics } = setup({
      handler: (req) => {
        if (req.method === 'POST' && first) {
          first = false;
          throw apiError(429, { retryAfterS: 7 });
        }
        return undefined;
      },
    });
    const posts = [
      sender.post({ roomId: 'a', markdown: 'a1' }),
      sender.post({ roomId: 'b', markdown: 'b1' }),
      sender.post({ roomId: 'a', markdown: 'a2' }),
    ];
    await settle();
    // b1 went out with a1 (before the 429 was known); it succeeded.
    expect(transport.markdowns()).toEqual(['a1', 'b1']);
    // Another endpoint is not paused: an edit in room c goes out as soon as the (lowered) rate has a
    // token again, well before the pause ends.
    const edited = sender.edit({ messageId: 'm', roomId: 'c', markdown: 'edit-c' });
    await clock.advance(10);
    await edited;
    const late = sender.post({ roomId: 'c', markdown: 'c1' });
    await clock.advance(6989);
    expect(transport.markdowns()).toEqual(['a1', 'b1', 'edit-c']);
    await clock.advance(10);
    await Promise.all([...posts, late]);
    const posted = transport.calls.filter((c) => c.req.method === 'POST');
    // Order is per room: a2 waits for a1's answer, so c1 (another room) may pass it. The first 429
    // quartered the rate (1000 → 250 writes/s) and the restart is paced: one write every 4 ms.
    expect(posted.map((c) => [(c.req.body as { markdown: string }).markdown, c.at])).toEqual([
      ['a1', 0],
      ['b1', 0],
      ['a1', 7000],
      ['c1', 7004],
      ['a2', 7008],
    ]);
    expect(sender.stats().writeRate).toBe(250);
    expect(metrics.rateLimited).toBe(1);
    expect(metrics.requests.filter((r) => r === 'POST messages 429')).toHaveLength(1);
  });

  it('on 429 without Retry-After waits WEBEX_RETRY_AFTER_DEFAULT_S', async () => {
    let calls = 0;
    const { sender, transport, clock } = setup({
      handler: () => {
        calls += 1;
        if (calls === 1) throw apiError(429);
        return undefined;
      },
    });
    const done = sender.post({ roomId: 'r', markdown: 'x' });
    await clock.advance(9999);
    expect(transport.calls).toHaveLength(1);
    await clock.advance(1);
    await expect(done).resolves.toEqual({ id: 'msg-1' });
    expect(transport.calls.map((c) => c.at)).toEqual([0, 10_000]);
  });

  it('a 429 storm loses, duplicates and reorders nothing', async () => {
    // Every third request is refused with Retry-After 2 s.
    const { sender, transport, clock } = setup({
      handler: (_req, _call, index) => {
        if (index % 3 === 2) throw apiError(429, { retryAfterS: 2 });
        return undefined;
      },
    });
    const wanted: string[] = [];
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const roomId = `room-${i % 4}`;
      const markdown = `${roomId}#${i}`;
      wanted.push(markdown);
      all.push(sender.post({ roomId, markdown }));
    }
    await clock.advance(120_000);
    await Promise.all(all);
    const delivered = transport.calls
      .filter((_c, index) => index % 3 !== 2)
      .map((c) => (c.req.body as { markdown: string }).markdown);
    expect([...delivered].sort()).toEqual([...wanted].sort());
    for (let room = 0; room < 4; room++) {
      const mine = (list: string[]) => list.filter((m) => m.startsWith(`room-${room}#`));
      expect(mine(delivered)).toEqual(mine(wanted));
    }
  });

  it('gives up after too many 429s for one request', async () => {
    const { sender, clock } = setup({
      limits: { maxRateLimitRetries: 2 },
      handler: () => {
        throw apiError(429, { retryAfterS: 1 });
      },
    });
    const done = sender.post({ roomId: 'r', markdown: 'x' });
    const outcome = expect(done).rejects.toMatchObject({ reason: 'rate-limited' });
    await clock.advance(5000);
    await outcome;
  });
});

describe('webexSender: retries', () => {
  it('retries 5xx with jittered backoff, at most maxRetries times', async () => {
    const { sender, transport, clock, metrics } = setup({
      handler: () => {
        throw apiError(503);
      },
    });
    const done = sender.post({ roomId: 'r', markdown: 'x' });
    const outcome = expect(done).rejects.toMatchObject({ status: 503 });
    await clock.advance(60_000);
    await outcome;
    // random() = 0.5 → 3/4 of each step: 375, 750, 1500 ms.
    expect(transport.calls.map((c) => c.at)).toEqual([0, 375, 1125, 2625]);
    expect(metrics.requests).toEqual(Array(4).fill('POST messages 503'));
  });

  it('a retry that succeeds resolves normally, and the room waits for it', async () => {
    let calls = 0;
    const { sender, transport, clock } = setup({
      handler: () => {
        calls += 1;
        if (calls === 1) throw new TransportError('connection refused');
        return undefined;
      },
    });
    const first = sender.post({ roomId: 'r', markdown: 'first' });
    const second = sender.post({ roomId: 'r', markdown: 'second' });
    await clock.advance(1000);
    await expect(first).resolves.toEqual({ id: 'msg-1' });
    await expect(second).resolves.toEqual({ id: 'msg-2' });
    expect(transport.markdowns()).toEqual(['first', 'first', 'second']);
  });

  it('never repeats a POST after an ambiguous timeout (or a 504)', async () => {
    for (const failure of [
      new TransportError('timed out after sending', { ambiguous: true }),
      apiError(504),
    ]) {
      const { sender, transport, clock } = setup({
        handler: () => {
          throw failure;
        },
      });
      const done = sender.post({ roomId: 'r', markdown: 'x' });
      const outcome = expect(done).rejects.toBe(failure);
      await clock.advance(60_000);
      await outcome;
      expect(transport.calls).toHaveLength(1);
      sender.stop();
    }
  });

  it('retries an ambiguous edit, counting the unknown attempt against the budget', async () => {
    let calls = 0;
    const { sender, transport, clock } = setup({
      handler: () => {
        calls += 1;
        if (calls === 1) throw new TransportError('timed out after sending', { ambiguous: true });
        return undefined;
      },
    });
    const done = sender.edit({ messageId: 'm', roomId: 'r', markdown: 'v' });
    await clock.advance(1000);
    await expect(done).resolves.toBe('sent');
    expect(transport.calls).toHaveLength(2);
    expect(sender.editsLeft('m')).toBe(8);
  });

  it('does not retry a 4xx', async () => {
    const { sender, transport, clock } = setup({
      handler: () => {
        throw apiError(400, { description: 'bad parentId' });
      },
    });
    const done = sender.post({ roomId: 'r', markdown: 'x' });
    const outcome = expect(done).rejects.toMatchObject({ status: 400 });
    await clock.advance(10_000);
    await outcome;
    expect(transport.calls).toHaveLength(1);
  });

  it('treats a DELETE 404 as already gone', async () => {
    const { sender } = setup({
      handler: () => {
        throw apiError(404);
      },
    });
    await expect(sender.delete({ messageId: 'm', roomId: 'r' })).resolves.toBe('not-found');
  });
});

describe('webexSender: edits', () => {
  it('coalesces queued edits of one message: only the latest text is sent', async () => {
    const gate = deferred();
    const { sender, transport } = setup({
      handler: (_req, _call, index) => (index === 0 ? gate.promise : undefined),
    });
    const post = sender.post({ roomId: 'r', markdown: 'working' });
    const edits = ['v1', 'v2', 'v3'].map((markdown) =>
      sender.edit({ messageId: 'm', roomId: 'r', markdown }),
    );
    gate.resolve({ id: 'm' });
    await post;
    expect(await Promise.all(edits)).toEqual(['superseded', 'superseded', 'sent']);
    expect(transport.markdowns()).toEqual(['working', 'v3']);
    expect(sender.editsLeft('m')).toBe(9);
  });

  it('keeps room order when a newer edit replaces a queued one', async () => {
    const gate = deferred();
    const { sender, transport } = setup({
      handler: (_req, _call, index) => (index === 0 ? gate.promise : undefined),
    });
    sender.post({ roomId: 'r', markdown: 'working' });
    sender.edit({ messageId: 'm', roomId: 'r', markdown: 'progress-1' });
    const answer = sender.post({ roomId: 'r', markdown: 'answer' });
    const latest = sender.edit({ messageId: 'm', roomId: 'r', markdown: 'progress-2' });
    gate.resolve({ id: 'm' });
    await Promise.all([answer, latest]);
    expect(transport.markdowns()).toEqual(['working', 'answer', 'progress-2']);
  });

  it('never sends an 11th edit of a message', async () => {
    const { sender, transport, metrics } = setup();
    for (let i = 1; i <= 10; i++) {
      expect(await sender.edit({ messageId: 'm', roomId: 'r', markdown: `v${i}` })).toBe('sent');
    }
    expect(sender.editsLeft('m')).toBe(0);
    expect(await sender.edit({ messageId: 'm', roomId: 'r', markdown: 'v11' })).toBe('budget-exhausted');
    expect(transport.calls).toHaveLength(10);
    expect(metrics.budgetExhausted).toBe(1);
    // Another message has its own budget.
    expect(await sender.edit({ messageId: 'other', roomId: 'r', markdown: 'x' })).toBe('sent');
  });

  it('refuses a queued edit once the edit in flight used the last of the budget', async () => {
    const gate = deferred();
    const { sender, transport } = setup({
      handler: (_req, _call, index) => (index === 9 ? gate.promise : undefined),
    });
    for (let i = 1; i <= 9; i++) await sender.edit({ messageId: 'm', roomId: 'r', markdown: `v${i}` });
    const tenth = sender.edit({ messageId: 'm', roomId: 'r', markdown: 'v10' });
    await settle();
    expect(transport.calls).toHaveLength(10);
    // Queued behind the 10th (in flight, so it cannot be coalesced away).
    const eleventh = sender.edit({ messageId: 'm', roomId: 'r', markdown: 'v11' });
    gate.resolve(undefined);
    expect(await tenth).toBe('sent');
    expect(await eleventh).toBe('budget-exhausted');
    expect(transport.calls).toHaveLength(10);
  });

  it('believes Webex when it says the edit limit is reached', async () => {
    const { sender, transport } = setup({
      handler: (req) => {
        if (req.method === 'PUT') throw apiError(400, { description: 'Edit limit reached' });
        return undefined;
      },
    });
    expect(await sender.edit({ messageId: 'm', roomId: 'r', markdown: 'x' })).toBe('budget-exhausted');
    expect(await sender.edit({ messageId: 'm', roomId: 'r', markdown: 'y' })).toBe('budget-exhausted');
    expect(transport.calls).toHaveLength(1);
  });
});

describe('webexSender: write rate', () => {
  it('starts at 5 writes/s with a one-second burst, then doubles each round while writes wait, up to the ceiling', async () => {
    const { sender, transport, clock, metrics } = setup({
      limits: { maxInFlight: 1000, rate: { initialPerSecond: 5, maxPerSecond: 40, roundMs: 200 } },
    });
    const posts = Array.from({ length: 60 }, (_, i) =>
      sender.post({ roomId: `room-${i}`, markdown: `hi ${i}` }),
    );
    await settle();
    expect(transport.calls).toHaveLength(5); // the burst: one second of 5 writes/s
    expect(sender.stats().writeRate).toBe(5);
    await clock.advance(200);
    expect(sender.stats().writeRate).toBe(10);
    await clock.advance(200);
    expect(sender.stats().writeRate).toBe(20);
    await clock.advance(200);
    expect(sender.stats().writeRate).toBe(40);
    await clock.advance(200);
    expect(sender.stats().writeRate).toBe(40); // the ceiling
    await clock.advance(2000);
    await Promise.all(posts);
    expect(metrics.writeRates).toEqual([5, 10, 20, 40]);
    // Paced, never faster than the rate of the moment: each write at least 1/40 s after the previous.
    const gaps = transport.calls.slice(5).map((c, i) => c.at - transport.calls[i + 4]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(25);
  });

  it('does not rise while nothing waits for it (an idle bot learns nothing)', async () => {
    const { sender, clock } = setup({ limits: { rate: { initialPerSecond: 5, maxPerSecond: 100 } } });
    for (let i = 0; i < 20; i++) {
      await sender.post({ roomId: 'r', markdown: `m${i}` });
      await clock.advance(500); // 2 writes/s asked, 5 allowed
    }
    expect(sender.stats().writeRate).toBe(5);
  });

  it('edits never make it rise: they are thinned instead', async () => {
    const { sender, transport, clock } = setup({
      limits: { editReserve: 0.5, rate: { initialPerSecond: 10, maxPerSecond: 100 } },
    });
    const edits = Array.from({ length: 30 }, (_, i) =>
      sender.edit({ messageId: `m${i}`, roomId: `e${i}`, markdown: `edit ${i}` }),
    );
    await settle();
    expect(transport.calls).toHaveLength(5); // 10 tokens, half kept for posts and deletes
    const post = sender.post({ roomId: 'new-room', markdown: 'Working on it' });
    await settle();
    expect(transport.markdowns().at(-1)).toBe('Working on it'); // from the reserve, at once
    await post;
    await clock.advance(10_000);
    await Promise.all(edits);
    expect(sender.stats().writeRate).toBe(10);
  });

  it('falls on a 429, paces the restart, and rises again while writes succeed', async () => {
    let refuse = 0;
    let refusedAt = 0;
    const { sender, transport, clock, metrics } = setup({
      limits: {
        maxInFlight: 1000,
        rate: {
          initialPerSecond: 40,
          maxPerSecond: 40,
          decreaseFactor: 0.5,
          increaseShare: 0.5,
          roundMs: 200,
        },
      },
      handler: (_req, call) => {
        if (refuse > 0) {
          refuse -= 1;
          refusedAt = call.at;
          throw apiError(429, { retryAfterS: 1 });
        }
        return undefined;
      },
    });
    const posts = Array.from({ length: 400 }, (_, i) =>
      sender.post({ roomId: `room-${i}`, markdown: `m${i}` }),
    );
    await clock.advance(1000);
    refuse = 1;
    await clock.advance(100);
    expect(metrics.rateLimited).toBe(1);
    expect(sender.stats().writeRate).toBe(10); // the first 429: a quarter
    await clock.advance(1500); // the pause, and half a second after it
    // After the pause: no burst (the sender's bucket did not fill up meanwhile), about 1/10 s apart
    // (a little less as the rate starts to rise).
    const afterPause = transport.calls.filter((c) => c.at >= refusedAt + 1000).map((c) => c.at);
    expect(afterPause.length).toBeGreaterThanOrEqual(5);
    expect(afterPause[4]! - afterPause[0]!).toBeGreaterThanOrEqual(350);
    // Then it rises again, linearly: half of 10 writes/s per second, so 5 writes/s per second.
    await clock.advance(2000);
    expect(sender.stats().writeRate).toBeGreaterThan(17);
    expect(sender.stats().writeRate).toBeLessThanOrEqual(23);
    await clock.advance(6000);
    expect(sender.stats().writeRate).toBe(40);
    await clock.advance(10_000);
    await Promise.all(posts);
  });

  it('learns a token-bucket server: after the first seconds, few 429s and nearly its full rate', async () => {
    // The server: 50 writes at once, 20 per second after that; a 429 says when the next token comes.
    // 500 writes: its ideal is (500 − 50) / 20 = 22.5 s.
    const server = { tokens: 50, at: 0 };
    const { sender, clock, transport, metrics } = setup({
      limits: { maxInFlight: 1000, rate: { initialPerSecond: 5, maxPerSecond: 100 } },
      handler: () => {
        server.tokens = Math.min(50, server.tokens + ((clock.now() - server.at) * 20) / 1000);
        server.at = clock.now();
        if (server.tokens < 1) throw apiError(429, { retryAfterS: 1 });
        server.tokens -= 1;
        return undefined;
      },
    });
    const posts = Array.from({ length: 500 }, (_, i) =>
      sender.post({ roomId: `room-${i % 50}`, markdown: `m${i}` }),
    );
    await clock.advance(40_000);
    await Promise.all(posts);
    const done = Math.max(...transport.calls.map((c) => c.at));
    const ideal = ((500 - 50) / 20) * 1000;
    expect(done).toBeLessThan(1.15 * ideal);
    const late = transport.calls.filter((c) => c.at >= 5000);
    const lateRefused = late.filter((c) => metrics.requests[transport.calls.indexOf(c)]?.endsWith('429'));
    expect(lateRefused.length / late.length).toBeLessThan(0.02);
    expect(sender.stats().writeRate).toBeGreaterThan(15);
    expect(sender.stats().writeRate).toBeLessThan(30);
  });

  it('shares the rate fairly between rooms: a room with much queued does not hold back the others', async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: { initialPerSecond: 1, maxPerSecond: 1, burstSeconds: 1 } },
    });
    const all = ['a', 'b', 'c'].flatMap((room) =>
      Array.from({ length: 4 }, (_, i) => sender.post({ roomId: room, markdown: `${room}${i}` })),
    );
    await clock.advance(20_000);
    await Promise.all(all);
    expect(transport.markdowns()).toEqual([
      'a0',
      'b0',
      'c0',
      'a1',
      'b1',
      'c1',
      'a2',
      'b2',
      'c2',
      'a3',
      'b3',
      'c3',
    ]);
  });

  it('reports the rate: at start, on every change, and in stats()', async () => {
    const { sender, metrics } = setup({ limits: { rate: { initialPerSecond: 7, maxPerSecond: 50 } } });
    expect(metrics.writeRates).toEqual([7]);
    expect(sender.stats().writeRate).toBe(7);
  });
});

describe('webexSender: first replies', () => {
  const roomOf = (call: RecordedCall) => (call.req.body as { roomId?: string } | undefined)?.roomId;
  /** The old fixed bucket: `capacity` tokens refilled at `perSecond`, no adaptation. */
  const fixed = (capacity: number, perSecond: number) => ({
    initialPerSecond: perSecond,
    maxPerSecond: perSecond,
    burstSeconds: capacity / perSecond,
  });

  it('first replies spend the reserve that answers, deletes and edits must leave', async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: fixed(10, 1), firstReplyReserve: 0.6, editReserve: 0.2 },
    });
    const first = sender.post({ roomId: 'q0', markdown: 'working q0' }, { priority: 'first-reply' });
    const answers = Array.from({ length: 5 }, (_, i) =>
      sender.post({ roomId: `a${i}`, markdown: `answer ${i}` }),
    );
    const deletes = [sender.delete({ messageId: 'w', roomId: 'd0' })];
    const edits = [sender.edit({ messageId: 'p', roomId: 'e0', markdown: 'progress' })];
    await settle();
    // 10 tokens: the first reply takes one, answers stop when 6 (+1) are left.
    expect(transport.markdowns()).toEqual(['working q0', 'answer 0', 'answer 1', 'answer 2']);

    const later = Array.from({ length: 6 }, (_, i) =>
      sender.post({ roomId: `q${i + 1}`, markdown: `working q${i + 1}` }, { priority: 'first-reply' }),
    );
    await settle();
    // All six from the reserve, at once.
    expect(transport.calls.slice(4).map((c) => [roomOf(c), c.at])).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => [`q${i}`, 0]),
    );
    expect(sender.stats().queued).toBe(4); // answers 3 and 4, the delete, the edit

    await Promise.all([first, ...later]);
    await clock.advance(1999);
    expect(transport.calls).toHaveLength(10); // still held: a first reply was asked for at 0
    await clock.advance(10_000);
    await Promise.all([...answers, ...deletes, ...edits]);
    expect(transport.calls).toHaveLength(14);
  });

  it('releases the reserve once no first reply was asked for during firstReplyHoldMs', async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: fixed(4, 1), firstReplyReserve: 0.75, firstReplyHoldMs: 2000 },
    });
    const first = sender.post({ roomId: 'q', markdown: 'working' }, { priority: 'first-reply' });
    await settle();
    await first;
    const answers = Array.from({ length: 3 }, (_, i) =>
      sender.post({ roomId: `a${i}`, markdown: `answer ${i}` }),
    );
    await settle();
    expect(transport.calls).toHaveLength(1); // 3 tokens left, all reserved
    await clock.advance(1000);
    expect(transport.markdowns().at(-1)).toBe('answer 0'); // the refill above the reserve
    await clock.advance(1000);
    await Promise.all(answers); // at 2000 the hold ends and the answers spend the reserve
    expect(transport.calls.map((c) => c.at)).toEqual([0, 1000, 2000, 2000]);
  });

  it('keeps the reserve always with firstReplyHoldMs Infinity', async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: fixed(4, 1), firstReplyReserve: 0.75, firstReplyHoldMs: Infinity },
    });
    const answers = Array.from({ length: 3 }, (_, i) =>
      sender.post({ roomId: `a${i}`, markdown: `answer ${i}` }),
    );
    await settle();
    expect(transport.calls).toHaveLength(1);
    await clock.advance(10_000);
    await Promise.all(answers);
    expect(transport.calls.map((c) => c.at)).toEqual([0, 1000, 2000]);
  });

  it("a room's first reply goes before other rooms' earlier heads when tokens are short", async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: fixed(1, 1), firstReplyReserve: 0, editReserve: 0 },
    });
    const work = [
      sender.post({ roomId: 'a', markdown: 'answer a' }),
      sender.delete({ messageId: 'w', roomId: 'b' }),
      sender.edit({ messageId: 'p', roomId: 'c', markdown: 'progress c' }),
      sender.post({ roomId: 'd', markdown: 'answer d' }),
      sender.post({ roomId: 'q', markdown: 'working q' }, { priority: 'first-reply' }),
    ];
    await settle();
    await clock.advance(4000);
    await Promise.all(work);
    expect(transport.calls.map((c) => [roomOf(c) ?? c.req.path, c.at])).toEqual([
      ['a', 0],
      ['q', 1000],
      ['/messages/w', 2000],
      ['d', 3000],
      ['c', 4000], // edits last, as before
    ]);
  });

  it('keep their priority while the rate adapts: after a 429 the first replies waiting go first', async () => {
    let refused = false;
    const { sender, transport, clock } = setup({
      limits: { maxInFlight: 1000, rate: { initialPerSecond: 20, maxPerSecond: 20 } },
      handler: (req) => {
        const markdown = (req.body as { markdown?: string }).markdown ?? '';
        if (!refused && markdown === 'answer 25') {
          refused = true;
          throw apiError(429, { retryAfterS: 1 });
        }
        return undefined;
      },
    });
    const answers = Array.from({ length: 40 }, (_, i) =>
      sender.post({ roomId: `a${i}`, markdown: `answer ${i}` }),
    );
    await clock.advance(900); // 20 + 18 sent; the refusal lowers the rate to 10 and pauses POST
    const firsts = Array.from({ length: 5 }, (_, i) =>
      sender.post({ roomId: `q${i}`, markdown: `working q${i}` }, { priority: 'first-reply' }),
    );
    await clock.advance(10_000);
    await Promise.all([...answers, ...firsts]);
    const afterPause = transport.markdowns().slice(transport.markdowns().indexOf('answer 25') + 1);
    expect(afterPause.slice(0, 5)).toEqual([
      'working q0',
      'working q1',
      'working q2',
      'working q3',
      'working q4',
    ]);
    expect(sender.stats().writeRate).toBeLessThan(20);
  });

  it('goes first for an in-flight slot too', async () => {
    const gate = deferred();
    const { sender, transport } = setup({
      limits: { maxInFlight: 1 },
      handler: async (_req, _call, index) => {
        if (index === 0) await gate.promise;
      },
    });
    const work = [
      sender.post({ roomId: 'a', markdown: 'answer a' }),
      sender.post({ roomId: 'b', markdown: 'answer b' }),
      sender.post({ roomId: 'q', markdown: 'working q' }, { priority: 'first-reply' }),
    ];
    await settle();
    gate.resolve(undefined);
    await Promise.all(work);
    expect(transport.markdowns()).toEqual(['answer a', 'working q', 'answer b']);
  });

  it("never overtakes its own room: the requests ahead of it go first, lent the first reply's class", async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: fixed(10, 1), firstReplyReserve: 0.9, editReserve: 0.9 },
    });
    sender.post({ roomId: 'warm', markdown: 'working warm' }, { priority: 'first-reply' });
    await settle();
    // 9 tokens left, all reserved: another room's answer waits.
    const busyElsewhere = sender.post({ roomId: 'x', markdown: 'answer x' });
    // Room r: an earlier turn's answer, its delete, an edit, then a new question's working message.
    const roomR = [
      sender.post({ roomId: 'r', markdown: 'answer r' }),
      sender.delete({ messageId: 'old', roomId: 'r' }),
      sender.edit({ messageId: 'other', roomId: 'r', markdown: 'progress r' }),
      sender.post({ roomId: 'r', markdown: 'working r' }, { priority: 'first-reply' }),
    ];
    const after = sender.post({ roomId: 'r', markdown: 'answer r2' });
    await settle();
    expect(transport.markdowns()).toEqual([
      'working warm',
      'answer r',
      'DELETE /messages/old',
      'progress r',
      'working r',
    ]);
    expect(transport.calls.every((c) => c.at === 0)).toBe(true);
    await Promise.all(roomR);
    // With no first reply left in room r, its next request is normal again and waits with 'x'.
    expect(sender.stats().queued).toBe(2);
    await clock.advance(2000); // the hold ends two seconds after the last first reply was asked for
    await Promise.all([busyElsewhere, after]);
    expect(transport.markdowns().slice(5)).toEqual(['answer x', 'answer r2']);
    expect(transport.calls.slice(5).map((c) => c.at)).toEqual([2000, 2000]);
  });

  it('a progress edit ahead of an answer in its room is lent the answer class, not held to the edit share', async () => {
    const { sender, transport } = setup({
      limits: { rate: fixed(10, 1), firstReplyReserve: 0, editReserve: 0.9 },
    });
    for (let i = 0; i < 5; i++) sender.post({ roomId: `busy${i}`, markdown: `answer ${i}` });
    await settle(); // 5 tokens left: edits may not spend them
    const edit = sender.edit({ messageId: 'w', roomId: 'r', markdown: 'progress' });
    const answer = sender.post({ roomId: 'r', markdown: 'answer r' });
    await Promise.all([edit, answer]);
    expect(transport.markdowns().slice(5)).toEqual(['progress', 'answer r']);
  });
});

describe('webexSender: replaceable posts', () => {
  it('a queued post can be replaced: one request, the replacement, with the same priority and place', async () => {
    const gate = deferred();
    const { sender, transport } = setup({
      handler: (_req, _call, index) => (index === 0 ? gate.promise : undefined),
    });
    const before = sender.post({ roomId: 'r', parentId: 'root', markdown: 'earlier' });
    const working = sender.postReplaceable(
      { roomId: 'r', parentId: 'root', markdown: 'Working on it' },
      { priority: 'first-reply' },
    );
    const after = sender.post({ roomId: 'r', parentId: 'root', markdown: 'later' });
    expect(working.replace({ markdown: 'the answer' })).toBe(true);
    gate.resolve({ id: 'first' });
    await Promise.all([before, after]);
    await expect(working.sent).resolves.toEqual({ id: 'msg-1' });
    expect(transport.calls.map((c) => c.req.body)).toEqual([
      { roomId: 'r', parentId: 'root', markdown: 'earlier' },
      { roomId: 'r', parentId: 'root', markdown: 'the answer' },
      { roomId: 'r', parentId: 'root', markdown: 'later' },
    ]);
  });

  it('cannot be replaced or withdrawn once it left the queue', async () => {
    const gate = deferred();
    const { sender, transport } = setup({ handler: () => gate.promise });
    const working = sender.postReplaceable({ roomId: 'r', markdown: 'Working on it' });
    await settle();
    expect(transport.calls).toHaveLength(1); // in flight
    expect(working.replace({ markdown: 'the answer' })).toBe(false);
    expect(working.withdraw()).toBe(false);
    gate.resolve({ id: 'w' });
    await expect(working.sent).resolves.toEqual({ id: 'w' });
    expect(working.replace({ markdown: 'too late' })).toBe(false);
    expect(transport.markdowns()).toEqual(['Working on it']);
  });

  it('a queued post can be withdrawn: no request, and its promise says why', async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: { initialPerSecond: 1, maxPerSecond: 1 } },
    });
    await sender.post({ roomId: 'other', markdown: 'spends the token' });
    const working = sender.postReplaceable(
      { roomId: 'r', markdown: 'Working on it' },
      { priority: 'first-reply' },
    );
    const outcome = expect(working.sent).rejects.toMatchObject({ reason: 'withdrawn' });
    expect(working.withdraw()).toBe(true);
    await outcome;
    await clock.advance(5000);
    expect(transport.markdowns()).toEqual(['spends the token']);
    await sender.idle();
  });

  it('a replacement is checked like any post, and can carry a card', async () => {
    const { sender, transport, clock } = setup({
      limits: { rate: { initialPerSecond: 1, maxPerSecond: 1 } },
    });
    await sender.post({ roomId: 'other', markdown: 'spends the token' });
    const working = sender.postReplaceable({ roomId: 'r', markdown: 'Working on it' });
    expect(() => working.replace({ markdown: '€'.repeat(2480) })).toThrow(SenderRejectedError);
    const card = { contentType: 'application/vnd.microsoft.card.adaptive', content: {} };
    expect(working.replace({ markdown: 'form', attachments: [card] })).toBe(true);
    await clock.advance(1000);
    const { id } = await working.sent;
    expect(transport.calls[1]?.req.body).toEqual({ roomId: 'r', markdown: 'form', attachments: [card] });
    await expect(sender.edit({ messageId: id, roomId: 'r', markdown: 'x' })).rejects.toMatchObject({
      reason: 'not-editable',
    });
  });

  it('a queued edit can be withdrawn (it resolves superseded); an edit in flight completes', async () => {
    const gate = deferred();
    const { sender, transport } = setup({
      handler: (_req, _call, index) => (index === 0 ? gate.promise : undefined),
    });
    const inFlight = new AbortController();
    const first = sender.edit(
      { messageId: 'm', roomId: 'r', markdown: 'v1' },
      { withdrawSignal: inFlight.signal },
    );
    const queuedWithdrawal = new AbortController();
    const second = sender.edit(
      { messageId: 'm2', roomId: 'r', markdown: 'v2' },
      { withdrawSignal: queuedWithdrawal.signal },
    );
    await settle();
    inFlight.abort();
    queuedWithdrawal.abort();
    await expect(second).resolves.toBe('superseded');
    gate.resolve(undefined);
    await expect(first).resolves.toBe('sent');
    expect(transport.markdowns()).toEqual(['v1']);
    expect(sender.editsLeft('m2')).toBe(10);
  });
});

describe('webexSender: first replies keep every room in order (property)', () => {
  it('sends each room a subsequence of what it asked, in order, under random priorities and token shortage', async () => {
    const request = fc.record({
      room: fc.integer({ min: 0, max: 3 }),
      kind: fc.constantFrom('first-reply', 'post', 'delete', 'edit'),
      message: fc.integer({ min: 0, max: 2 }),
      afterMs: fc.constantFrom(0, 0, 50, 400),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 40 }), async (requests) => {
        const { sender, transport, clock } = setup({
          limits: {
            rate: { initialPerSecond: 2, maxPerSecond: 2, burstSeconds: 2 },
            firstReplyReserve: 0.5,
            editReserve: 0.25,
            firstReplyHoldMs: 500,
            maxInFlight: 2,
          },
        });
        const asked = new Map<string, string[]>();
        const outcomes: Array<Promise<unknown>> = [];
        const superseded = new Set<string>();
        const roomOfDelete = new Map<string, string>();
        for (const [i, r] of requests.entries()) {
          const roomId = `room-${r.room}`;
          const label = `${r.kind}-${i}`;
          asked.set(roomId, [...(asked.get(roomId) ?? []), label]);
          if (r.kind === 'edit') {
            const edit = sender.edit({ messageId: `${roomId}-m${r.message}`, roomId, markdown: label });
            // Replaced by a newer edit, or over the budget: never sent, by design.
            outcomes.push(edit.then((outcome) => outcome !== 'sent' && superseded.add(label)));
          } else if (r.kind === 'delete') {
            roomOfDelete.set(label, roomId);
            outcomes.push(sender.delete({ messageId: label, roomId }));
          } else {
            const priority = r.kind === 'first-reply' ? 'first-reply' : 'normal';
            outcomes.push(sender.post({ roomId, markdown: label }, { priority }));
          }
          await clock.advance(r.afterMs);
        }
        await clock.advance(60_000);
        await Promise.all(outcomes);
        const sent = new Map<string, string[]>();
        for (const call of transport.calls) {
          const body = call.req.body as { roomId?: string; markdown?: string } | undefined;
          const label = body?.markdown ?? decodeURIComponent(call.req.path.split('/')[2] ?? '');
          const roomId = body?.roomId ?? roomOfDelete.get(label) ?? 'unknown';
          sent.set(roomId, [...(sent.get(roomId) ?? []), label]);
        }
        for (const [roomId, labels] of asked) {
          expect(sent.get(roomId) ?? []).toEqual(labels.filter((label) => !superseded.has(label)));
        }
        sender.stop();
      }),
      { numRuns: 150 },
    );
  });
});
