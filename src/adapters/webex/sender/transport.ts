/**
 * The port below the sender: one authenticated Webex REST call, nothing more.
 *
 * The sender owns ordering, rate limits, retries and edit budgets; a transport owns only the wire
 * (base URL, token, JSON, timeouts). The undici REST client is adapted to this port in the
 * composition root; tests use a scripted fake.
 *
 * Contract for implementations:
 * - Resolve with the parsed JSON body (`undefined` for 204).
 * - Reject with `WebexApiError` when Webex answered with a non-2xx status. Set `retryAfterS` from
 *   the `Retry-After` header when present (429, 423, 503).
 * - Reject with `TransportError` when no answer arrived. Set `ambiguous: true` when the request
 *   may have reached Webex (a timeout or reset after the body was written): the sender never
 *   repeats a POST after that, because Webex has no idempotency key and a repeat can post twice.
 * - Honour `signal`: abort the request and reject (an abort after sending is also ambiguous).
 */
export type WebexWriteMethod = 'POST' | 'PUT' | 'DELETE';

export interface WebexWriteRequest {
  method: WebexWriteMethod;
  /** Path below the REST base, e.g. `/messages` or `/messages/Y2lz...`. */
  path: string;
  /** Low-cardinality template for metrics and rate-limit buckets, e.g. `messages/{id}`. */
  route: string;
  /** JSON body; absent for DELETE. */
  body?: unknown;
}

export interface WebexWriteTransport {
  request<T>(req: WebexWriteRequest, opts: { signal?: AbortSignal }): Promise<T>;
}
