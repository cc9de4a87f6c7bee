/**
 * The one SSE reader every agent backend uses, bounded in memory and in time.
 *
 * `SseDecoder` parses the WHATWG "event stream" format (html.spec.whatwg.org §9.2.6): lines end in
 * CRLF, LF or CR (a CRLF split across two chunks is one ending); `:` starts a comment (sse-starlette's
 * `: ping`); `data` lines of one event are joined with newlines; `event` names it; a blank line
 * dispatches it; a leading BOM is dropped. It works on bytes and decodes a line only once it is
 * complete, so what it holds is exactly the incomplete line plus the event's fields so far: that
 * sum never exceeds `maxEventBytes`, checked before anything is appended.
 *
 * `readSse` feeds a response body through a decoder and adds the time bound: an event still
 * incomplete `maxEventMs` after its first byte fails the stream, so bytes dripped one at a time
 * cannot hold a turn (pings between events are complete lines and never start that clock). That
 * bound runs on wall time unless a test injects timers for it.
 */
import { systemClock } from '../../clock.js';
import { AgentError } from '../../errors.js';
import type { AgentTimers, Stopper } from './http.js';

export interface SseEvent {
  /** The `event:` field; undefined when the event named none (the spec's default "message"). */
  event?: string;
  data: string;
  id?: string;
}

export interface SseLimits {
  /** Most bytes one event (its fields plus the incomplete line) may hold. */
  maxEventBytes: number;
  /** Longest time one event may stay incomplete. */
  maxEventMs: number;
}

/** SPEC "Agent output": 4 MB and 10 s. */
export const SSE_LIMITS: SseLimits = { maxEventBytes: 4 * 1024 * 1024, maxEventMs: 10_000 };

const LF = 0x0a;
const CR = 0x0d;

export class SseTooLargeError extends AgentError {
  constructor(limit: number) {
    super('event-too-large', `Agent stream event grew past ${formatBytes(limit)} before it ended`);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} bytes`;
}

export class SseDecoder {
  readonly #maxBytes: number;
  readonly #utf8 = new TextDecoder('utf-8');
  /** The incomplete line's bytes, in arrival order. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** The current event's fields (bytes counted as received). */
  #data: string[] = [];
  #type: string | undefined;
  #id: string | undefined;
  #fieldBytes = 0;
  /** The previous chunk ended in CR: an LF first in the next chunk belongs to that line ending. */
  #afterCr = false;
  #firstLine = true;
  #comments = 0;

  constructor(limits: Pick<SseLimits, 'maxEventBytes'> = SSE_LIMITS) {
    this.#maxBytes = limits.maxEventBytes;
  }

  /** Bytes held for the event in progress: never above `maxEventBytes`. */
  get bufferedBytes(): number {
    return this.#partialBytes + this.#fieldBytes;
  }

  /** Comment lines seen so far (keep-alive pings). */
  get comments(): number {
    return this.#comments;
  }

  /** Parses a chunk; returns the events it completed. Throws `SseTooLargeError` past the cap. */
  feed(chunk: Uint8Array): SseEvent[] {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const events: SseEvent[] = [];
    let start = 0;
    if (this.#afterCr && bytes.length > 0) {
      if (bytes[0] === LF) start = 1;
      this.#afterCr = false;
    }
    while (start < bytes.length) {
      const end = nextLineEnd(bytes, start);
      if (end < 0) {
        this.#hold(bytes.subarray(start));
        break;
      }
      if (this.#partialBytes === 0) {
        // The whole line is in this chunk: read it in place, no copy.
        this.#check(end - start);
        this.#line(events, bytes.subarray(start, end));
      } else {
        this.#hold(bytes.subarray(start, end));
        this.#line(events);
      }
      if (bytes[end] === CR) {
        if (end + 1 >= bytes.length) {
          this.#afterCr = true;
          start = end + 1;
        } else start = bytes[end + 1] === LF ? end + 2 : end + 1;
      } else start = end + 1;
    }
    return events;
  }

  /**
   * The stream ended. An event whose blank line never came is still delivered (servers that close
   * right after their last `data:` line exist; the caller decides whether the turn had ended).
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.#partialBytes > 0) this.#line(events);
    this.#dispatch(events);
    return events;
  }

  #check(length: number): void {
    if (this.bufferedBytes + length > this.#maxBytes) throw new SseTooLargeError(this.#maxBytes);
  }

  #hold(segment: Buffer): void {
    if (segment.length === 0) return;
    this.#check(segment.length);
    // A copy: the chunk's memory belongs to the socket layer and may be a slice of a larger buffer.
    this.#partial.push(Buffer.from(segment));
    this.#partialBytes += segment.length;
  }

  /** Handles one complete line: `whole` when it came in one piece, else the held parts. */
  #line(events: SseEvent[], whole?: Buffer): void {
    let raw: Buffer;
    if (whole) raw = whole;
    else {
      raw = this.#partial.length === 1 ? this.#partial[0]! : Buffer.concat(this.#partial);
      this.#partial = [];
      this.#partialBytes = 0;
    }
    const bytes = raw.length;
    let line = raw.length > 0 ? this.#utf8.decode(raw) : '';
    if (this.#firstLine) {
      this.#firstLine = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    if (line === '') {
      this.#dispatch(events);
      return;
    }
    if (line.startsWith(':')) {
      this.#comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        this.#fieldBytes += bytes;
        break;
      case 'event':
        this.#type = value;
        this.#fieldBytes += bytes;
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      default:
        // `retry` and unknown fields are ignored, as the spec says.
        break;
    }
  }

  #dispatch(events: SseEvent[]): void {
    if (this.#data.length > 0) {
      events.push({
        data: this.#data.join('\n'),
        ...(this.#type ? { event: this.#type } : {}),
        ...(this.#id !== undefined ? { id: this.#id } : {}),
      });
    }
    this.#data = [];
    this.#type = undefined;
    // Per event, as eventsource-parser does; no backend resumes by `Last-Event-ID`.
    this.#id = undefined;
    this.#fieldBytes = 0;
  }
}

function nextLineEnd(bytes: Buffer, from: number): number {
  const lf = bytes.indexOf(LF, from);
  const cr = bytes.indexOf(CR, from);
  if (lf < 0) return cr;
  if (cr < 0) return lf;
  return Math.min(lf, cr);
}

/** How a client's SSE reader is bounded and observed. */
export interface SseReaderOptions {
  /** Per-event bounds; SPEC's 4 MB and 10 s by default. */
  limits?: SseLimits;
  /**
   * The clock of the per-event time bound. Wall time by default, whatever clock the bot runs on:
   * the bound is about bytes crossing the network, which a scaled test clock does not speed up.
   */
  timers?: AgentTimers;
  /** Told after every chunk how much is buffered (tests assert the cap; benches print it). */
  onBuffered?(bytes: number): void;
}

export interface ReadSseOptions extends SseReaderOptions {
  /** Aborts the request when a bound is hit (and carries the caller's signal). */
  stop: Stopper;
}

/**
 * The events of an SSE response body, bounded per `limits`. The last partial event at a clean end
 * of the body is delivered too (see `SseDecoder.end`). A time or size fault rejects with its
 * `AgentError`; any other failure of the body (cut, abort) is rethrown as is.
 */
export async function* readSse(
  body: AsyncIterable<Uint8Array>,
  options: ReadSseOptions,
): AsyncGenerator<SseEvent> {
  const limits = options.limits ?? SSE_LIMITS;
  const decoder = new SseDecoder(limits);
  const slow = options.stop.timer(options.timers ?? systemClock);
  try {
    for await (const chunk of body) {
      // The body normally fails on the abort a bound causes; a body that does not is stopped here.
      if (options.stop.fault) throw options.stop.fault;
      let events: SseEvent[];
      try {
        events = decoder.feed(chunk);
      } catch (error) {
        options.onBuffered?.(decoder.bufferedBytes);
        throw options.stop.fail(error as AgentError);
      }
      options.onBuffered?.(decoder.bufferedBytes);
      if (decoder.bufferedBytes === 0) slow.clear();
      else if (!slow.armed) {
        slow.arm(limits.maxEventMs, () =>
          options.stop.fail(
            new AgentError(
              'event-too-slow',
              `Agent stream event was still incomplete after ${Math.round(limits.maxEventMs / 1000)} s`,
            ),
          ),
        );
      }
      yield* events;
    }
  } catch (error) {
    // The body fails with the abort the time bound caused: report the bound, not the abort.
    throw options.stop.fault ?? error;
  } finally {
    slow.clear();
  }
  yield* decoder.end();
}
