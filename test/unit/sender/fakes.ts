/**
 * Test doubles for the sender: a manual clock (time moves only when a test says so) and a
 * scripted transport that records every request with the clock time it went out.
 */
import type { WebexWriteRequest, WebexWriteTransport } from '../../../src/adapters/webex/sender/transport.js';
import type { Clock } from '../../../src/clock.js';
import { WebexApiError } from '../../../src/errors.js';

export { ManualClock, settle } from '../../helpers/manual-clock.js';

export interface RecordedCall {
  req: WebexWriteRequest;
  at: number;
  signal: AbortSignal | undefined;
}

export type TransportHandler = (req: WebexWriteRequest, call: RecordedCall, index: number) => unknown;

/** Answers like Webex by default: POST → a fresh id, PUT → the edited message, DELETE → 204. */
export class FakeTransport implements WebexWriteTransport {
  readonly calls: RecordedCall[] = [];
  #posted = 0;
  handler: TransportHandler | undefined;

  constructor(
    private readonly clock: Clock,
    handler?: TransportHandler,
  ) {
    this.handler = handler;
  }

  async request<T>(req: WebexWriteRequest, opts: { signal?: AbortSignal }): Promise<T> {
    const call: RecordedCall = { req, at: this.clock.now(), signal: opts.signal };
    this.calls.push(call);
    const index = this.calls.length - 1;
    if (this.handler) {
      const answer = await this.handler(req, call, index);
      if (answer !== undefined) return answer as T;
    }
    return this.defaultAnswer(req) as T;
  }

  defaultAnswer(req: WebexWriteRequest): unknown {
    if (req.method === 'POST') return { id: `msg-${++this.#posted}` };
    if (req.method === 'PUT') return { id: req.path.split('/').pop() };
    return undefined;
  }

  /** Bodies' markdown in send order, for order assertions. */
  markdowns(method?: string): string[] {
    return this.calls
      .filter((c) => method === undefined || c.req.method === method)
      .map(
        (c) => (c.req.body as { markdown?: string } | undefined)?.markdown ?? `${c.req.method} ${c.req.path}`,
      );
  }
}

export function apiError(
  status: number,
  extra: { retryAfterS?: number; description?: string } = {},
): WebexApiError {
  return new WebexApiError({ status, method: 'POST', route: 'messages', ...extra });
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
