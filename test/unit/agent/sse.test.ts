/**
 * The shared SSE reader: the event-stream grammar (line endings, comments, fields, BOM, splits at
 * any byte), agreement with eventsource-parser on random streams, and the two bounds — size
 * (never more than the cap held, checked after every chunk) and time (an event dripping for
 * longer than the cap fails; pings between events never start that clock).
 */
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Stopper } from '../../../src/adapters/agent/http.js';
import { readSse, SSE_LIMITS, SseDecoder, type SseEvent } from '../../../src/adapters/agent/sse.js';
import { AgentError } from '../../../src/errors.js';
import { ManualTimers } from '../../helpers/a2a/manual-timers.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

function decodeAll(
  chunks: readonly (string | Buffer)[],
  maxEventBytes = SSE_LIMITS.maxEventBytes,
): SseEvent[] {
  const decoder = new SseDecoder({ maxEventBytes });
  const events: SseEvent[] = [];
  for (const chunk of chunks) events.push(...decoder.feed(typeof chunk === 'string' ? bytes(chunk) : chunk));
  return events;
}

describe('SseDecoder: the event-stream grammar', () => {
  it('reads LF, CRLF and CR line endings, also mixed in one stream', () => {
    expect(decodeAll(['data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r\n\n'])).toEqual([
      { data: 'a' },
      { data: 'b' },
      { data: 'c' },
      { data: 'd' },
    ]);
  });

  it('a CRLF split across two chunks is one line ending, not an empty line', () => {
    // If the LF were read as a second (blank) line, `data: x` and `data: y` would be two events.
    expect(decodeAll(['data: x\r', '\ndata: y\r\n\r\n'])).toEqual([{ data: 'x\ny' }]);
    // A CR at the end of a chunk followed by something else is a line ending on its own.
    expect(decodeAll(['data: x\r', '\rdata: z\n\n'])).toEqual([{ data: 'x' }, { data: 'z' }]);
  });

  it('joins data lines with newlines, takes the event name, skips comments and unknown fields', () => {
    const events = decodeAll([
      ': ping - 2026-01-01 00:00:00\r\n\r\n',
      'event: RUN_STARTED\nid: 7\nretry: 1000\nfoo: bar\ndata: {"a":\ndata:1}\n\n',
      'data\n\n',
    ]);
    expect(events).toEqual([{ event: 'RUN_STARTED', id: '7', data: '{"a":\n1}' }, { data: '' }]);
  });

  it('strips one leading space of a value and a BOM at the start of the stream', () => {
    expect(decodeAll(['\uFEFFdata:  two spaces\n\n'])).toEqual([{ data: ' two spaces' }]);
  });

  it('keeps a multi-byte character split across chunks whole', () => {
    const encoded = bytes('data: ✅ done\n\n');
    expect(decodeAll([encoded.subarray(0, 7), encoded.subarray(7)])).toEqual([{ data: '✅ done' }]);
  });

  it('delivers a last event whose blank line never came at the end of the stream', () => {
    const decoder = new SseDecoder();
    expect(decoder.feed(bytes('data: a\n\ndata: tail'))).toEqual([{ data: 'a' }]);
    expect(decoder.end()).toEqual([{ data: 'tail' }]);
  });

  it('agrees with eventsource-parser on random streams split at random bytes', () => {
    const text = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ''));
    const eol = fc.constantFrom('\n', '\r\n', '\r');
    const event = fc.record({
      name: fc.option(fc.stringMatching(/^[A-Z_]{1,12}$/), { nil: undefined }),
      lines: fc.array(text, { minLength: 1, maxLength: 3 }),
      comment: fc.boolean(),
      eol,
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (events, cuts) => {
        const stream = events
          .map(
            (e) =>
              (e.comment ? `: ping${e.eol}` : '') +
              (e.name ? `event: ${e.name}${e.eol}` : '') +
              e.lines.map((l) => `data: ${l}${e.eol}`).join('') +
              e.eol,
          )
          // A final comment line flushes a trailing CR, which a parser may hold until it sees what follows.
          .join('')
          .concat(': end\n');
        const whole = bytes(stream);
        const points = [...new Set(cuts.map((c) => (whole.length ? c % whole.length : 0)))].sort(
          (a, b) => a - b,
        );
        const chunks: Buffer[] = [];
        let from = 0;
        for (const point of points) {
          chunks.push(whole.subarray(from, point));
          from = point;
        }
        chunks.push(whole.subarray(from));

        const ours = decodeAll(chunks).map(({ id: _id, ...rest }) => rest);
        // eventsource-parser is fed the whole text (it works on strings): splits inside multi-byte
        // characters are our own concern, covered above.
        const wholeExpected: SseEvent[] = [];
        const parser = createParser({
          onEvent: (e) => wholeExpected.push({ data: e.data, ...(e.event ? { event: e.event } : {}) }),
        });
        parser.feed(stream);
        expect(ours).toEqual(wholeExpected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('SseDecoder: the size bound', () => {
  it('fails an endless event at the cap and never holds more than the cap', () => {
    const cap = 64 * 1024;
    const decoder = new SseDecoder({ maxEventBytes: cap });
    decoder.feed(bytes('data: '));
    const chunk = Buffer.alloc(5000, 'x');
    let error: unknown;
    let fed = 0;
    try {
      for (;;) {
        decoder.feed(chunk);
        fed += chunk.length;
        expect(decoder.bufferedBytes).toBeLessThanOrEqual(cap);
      }
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ kind: 'event-too-large' });
    expect((error as Error).message).toContain('64 kB');
    expect(fed).toBeLessThan(cap);
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(cap);
  });

  it('counts the lines of one event together, and starts again after each event', () => {
    const cap = 100;
    const line = `data: ${'y'.repeat(40)}\n`;
    // Two lines of 46 bytes fit; events of that size may follow one another forever.
    const decoder = new SseDecoder({ maxEventBytes: cap });
    for (let i = 0; i < 50; i++) expect(decoder.feed(bytes(`${line}${line}\n`))).toHaveLength(1);
    expect(() => decoder.feed(bytes(`${line}${line}${line}`))).toThrow(/grew past 100 bytes/);
  });
});

/** A body the test feeds by hand, as a socket would deliver it; it fails when the call is aborted. */
function handFedBody(signal: AbortSignal) {
  const queue: Array<Buffer | null> = [];
  let wake: (() => void) | undefined;
  signal.addEventListener('abort', () => wake?.());
  const body = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length === 0) {
          if (signal.aborted) throw signal.reason;
          await new Promise<void>((resolve) => (wake = resolve));
        }
        const next = queue.shift()!;
        if (next === null) return;
        yield next;
      }
    },
  };
  return {
    body,
    push(text: string | null) {
      queue.push(text === null ? null : bytes(text));
      wake?.();
    },
  };
}

describe('readSse: the time bound', () => {
  it('an event dripping for longer than the cap fails the stream with event-too-slow', async () => {
    const timers = new ManualTimers();
    const stop = new Stopper(timers, undefined);
    const feed = handFedBody(stop.signal);
    const seen: SseEvent[] = [];
    const reading = (async () => {
      for await (const event of readSse(feed.body, {
        stop,
        timers,
        limits: { maxEventBytes: 1024, maxEventMs: 10_000 },
      }))
        seen.push(event);
    })();
    feed.push(': ping\n\n');
    feed.push('data: whole\n\n');
    feed.push('data: {"partial":');
    await timers.whenPending(10_000);
    feed.push(' 1');
    // The clock started at the first byte of the event; more drops do not restart it.
    expect(timers.pendingDelays()).toEqual([10_000]);
    timers.fire(10_000);
    feed.push('}');
    const error = await reading.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ kind: 'event-too-slow' });
    expect((error as Error).message).toContain('10 s');
    expect(seen).toEqual([{ data: 'whole' }]);
    expect(stop.signal.aborted).toBe(true);
    stop.dispose();
  });

  it('pings and whole events never arm the clock; an event that completes disarms it', async () => {
    const timers = new ManualTimers();
    const stop = new Stopper(timers, undefined);
    const feed = handFedBody(stop.signal);
    const seen: SseEvent[] = [];
    const buffered: number[] = [];
    const reading = (async () => {
      for await (const event of readSse(feed.body, { stop, timers, onBuffered: (n) => buffered.push(n) }))
        seen.push(event);
    })();
    feed.push(': ping\r\n\r\n');
    feed.push('data: one\r\n\r\n');
    feed.push('data: tw');
    await timers.whenPending(SSE_LIMITS.maxEventMs);
    feed.push('o\r\n\r\n');
    feed.push(null);
    await reading;
    expect(seen).toEqual([{ data: 'one' }, { data: 'two' }]);
    expect(timers.armed).toBe(1);
    expect(timers.pendingDelays()).toEqual([]);
    expect(buffered.at(-1)).toBe(0);
    stop.dispose();
  });

  it('runs on wall time by default, whatever clock the call runs on (a scaled test clock does not shrink it)', async () => {
    const timers = new ManualTimers();
    const stop = new Stopper(timers, undefined);
    const feed = handFedBody(stop.signal);
    const reading = (async () => {
      for await (const _event of readSse(feed.body, {
        stop,
        limits: { maxEventBytes: 1024, maxEventMs: 30 },
      })) {
        // nothing completes
      }
    })();
    feed.push('data: {"never":');
    const error = await reading.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ kind: 'event-too-slow' });
    // The call's own clock was never asked for the bound.
    expect(timers.pendingDelays()).not.toContain(30);
    stop.dispose();
  });
});
