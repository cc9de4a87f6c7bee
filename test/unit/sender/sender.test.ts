import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SenderRejectedError } from '../../../src/adapters/webex/sender/errors.js';
import type { SenderMetrics } from '../../../src/adapters/webex/sender/metrics.js';
import {
  createWebexSender,
  type SenderLimits,
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
  metrics: { requests: string[]; rateLimited: number; budgetExhausted: number };
}

let current: Harness | undefined;

function setup(
  options: { handler?: TransportHandler; limits?: Partial<SenderLimits>; random?: () => number } = {},
) {
  const clock = new ManualClock();
  const transport = new FakeTransport(clock, options.handler);
  const recorded = { requests: [] as string[], rateLimited: 0, budgetExhausted: 0 };
  const metrics: SenderMetrics = {
    request: ({ method, route, status }) => void recorded.requests.push(`${method} ${route} ${status}`),
    rateLimited: () => void recorded.rateLimited++,
    editBudgetExhausted: () => void recorded.budgetExhausted++,
  };
  const sender = createWebexSender({
    transport,
    clock,
    retryAfterDefaultS: 10,
    logger: silentLogger(),
    metrics,
    limits: options.limits,
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
    // Another endpoint is not paused: an edit in room c goes out at once.
    await sender.edit({ messageId: 'm', roomId: 'c', markdown: 'edit-c' });
    const late = sender.post({ roomId: 'c', markdown: 'c1' });
    await clock.advance(6999);
    expect(transport.markdowns()).toEqual(['a1', 'b1', 'edit-c']);
    await clock.advance(1);
    await Promise.all([...posts, late]);
    const posted = transport.calls.filter((c) => c.req.method === 'POST');
    // Order is per room: a2 waits for a1's answer, so c1 (another room) may pass it.
    expect(posted.map((c) => [(c.req.body as { markdown: string }).markdown, c.at])).toEqual([
      ['a1', 0],
      ['b1', 0],
      ['a1', 7000],
      ['c1', 7000],
      ['a2', 7000],
    ]);
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

describe('webexSender: token bucket', () => {
  it('lets 200 simultaneous first replies out at once, then 5 per second', async () => {
    const { sender, transport, clock } = setup({ limits: { maxInFlight: 1000 } });
    const posts = Array.from({ length: 210 }, (_, i) =>
      sender.post({ roomId: `room-${i}`, markdown: `hi ${i}` }),
    );
    await settle();
    expect(transport.calls).toHaveLength(200);
    await clock.advance(1000);
    expect(transport.calls).toHaveLength(205);
    await clock.advance(1000);
    await Promise.all(posts);
    expect(transport.calls.slice(200).map((c) => c.at)).toEqual([
      200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000,
    ]);
  });

  it('edits spend only tokens above the reserve; posts jump ahead of waiting edits', async () => {
    const { sender, transport, clock } = setup({
      limits: { bucketCapacity: 10, editReserve: 5, refillPerSecond: 1 },
    });
    const edits = Array.from({ length: 8 }, (_, i) =>
      sender.edit({ messageId: `m${i}`, roomId: `e${i}`, markdown: `edit ${i}` }),
    );
    await settle();
    expect(transport.calls).toHaveLength(5); // 10 tokens, 5 reserved
    const post = sender.post({ roomId: 'new-room', markdown: 'Working on it' });
    await settle();
    expect(transport.markdowns().at(-1)).toBe('Working on it'); // from the reserve, at once
    await post;
    await clock.advance(10_000);
    await Promise.all(edits);
    expect(transport.calls).toHaveLength(9);
  });
});

describe('webexSender: first replies', () => {
  const roomOf = (call: RecordedCall) => (call.req.body as { roomId?: string } | undefined)?.roomId;

  it('first replies spend the reserve that answers, deletes and edits must leave', async () => {
    const { sender, transport, clock } = setup({
      limits: { bucketCapacity: 10, refillPerSecond: 1, firstReplyReserve: 6, editReserve: 2 },
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
      limits: { bucketCapacity: 4, refillPerSecond: 1, firstReplyReserve: 3, firstReplyHoldMs: 2000 },
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
      limits: { bucketCapacity: 4, refillPerSecond: 1, firstReplyReserve: 3, firstReplyHoldMs: Infinity },
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
      limits: { bucketCapacity: 1, refillPerSecond: 1, firstReplyReserve: 0, editReserve: 0 },
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
      limits: { bucketCapacity: 10, refillPerSecond: 1, firstReplyReserve: 9, editReserve: 9 },
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
            bucketCapacity: 4,
            refillPerSecond: 2,
            firstReplyReserve: 2,
            editReserve: 1,
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
