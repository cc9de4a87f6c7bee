/**
 * The Webex REST client: one small wrapper over undici's `request` used for Hydra (`/v1/...`), the
 * U2C catalog and WDM. It knows the things every Webex call shares — the bearer token, a
 * `trackingid` per request, JSON bodies, Webex's error body, `Retry-After` — and turns failures into
 * the two fault domains of `src/errors.ts`:
 *
 * - `WebexApiError`: Webex answered with a non-2xx status (status, trackingId, description,
 *   retryAfterS).
 * - `TransportError`: no answer (refused, reset, timed out). `ambiguous` is true when the request
 *   may have reached Webex, so a caller never blindly repeats a POST that may have landed.
 *
 * Errors name the route template (`GET /messages/{id}`), never a URL, so ids and tokens stay out of
 * log lines. A caller's AbortSignal aborts the request and rejects with the signal's reason.
 */
import { randomUUID } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import { TransportError, WebexApiError } from '../../errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface WebexRestOptions {
  token: string;
  /** Hydra base, e.g. `https://webexapis.com/v1`; relative paths are appended to it. */
  baseUrl: string;
  /** Per-request time limit (connect + headers + body). */
  timeoutMs?: number;
  /** An undici dispatcher (proxy agent, test pool); the global one by default. */
  dispatcher?: Dispatcher;
  userAgent?: string;
  /** Prefix of the `trackingid` header; Webex support can look requests up by it. */
  trackingPrefix?: string;
}

export interface WebexRequest {
  method?: HttpMethod;
  /** A path under `baseUrl` (starting with `/`) or an absolute URL (U2C, WDM device URLs). */
  path: string;
  /** The route template used in errors and metrics, e.g. `GET /messages/{id}`. Defaults to method + path. */
  route?: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface WebexResponse<T> {
  status: number;
  body: T;
  trackingId: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** Observes every completed request; the operations layer binds it to `webex_requests_total`. */
export type RequestObserver = (info: { method: HttpMethod; route: string; status: number | 'error' }) => void;

const DEFAULT_TIMEOUT_MS = 15_000;

/** undici/Node error codes that mean the request never left this process. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_INVALID_ARG',
]);

export class WebexRestClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly userAgent: string;
  private readonly trackingPrefix: string;
  private observer: RequestObserver | undefined;

  constructor(options: WebexRestOptions) {
    this.token = options.token;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.dispatcher = options.dispatcher;
    this.userAgent = options.userAgent ?? 'caipe-webex-bot';
    this.trackingPrefix = options.trackingPrefix ?? 'caipe-webex-bot';
  }

  /** Sets the hook that sees every request's outcome (one observer; later calls replace it). */
  observe(observer: RequestObserver | undefined): void {
    this.observer = observer;
  }

  async get<T>(path: string, options: Omit<WebexRequest, 'path' | 'method' | 'body'> = {}): Promise<T> {
    return (await this.request<T>({ ...options, method: 'GET', path })).body;
  }

  async post<T>(
    path: string,
    body: unknown,
    options: Omit<WebexRequest, 'path' | 'method'> = {},
  ): Promise<T> {
    return (await this.request<T>({ ...options, method: 'POST', path, body })).body;
  }

  async put<T>(path: string, body: unknown, options: Omit<WebexRequest, 'path' | 'method'> = {}): Promise<T> {
    return (await this.request<T>({ ...options, method: 'PUT', path, body })).body;
  }

  async delete(path: string, options: Omit<WebexRequest, 'path' | 'method' | 'body'> = {}): Promise<void> {
    await this.request<unknown>({ ...options, method: 'DELETE', path });
  }

  async request<T>(req: WebexRequest): Promise<WebexResponse<T>> {
    const method = req.method ?? 'GET';
    const route = req.route ?? `${method} ${req.path.startsWith('/') ? req.path : '(absolute)'}`;
    const url = this.buildUrl(req.path, req.query);
    const timeout = AbortSignal.timeout(req.timeoutMs ?? this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
      'user-agent': this.userAgent,
      trackingid: `${this.trackingPrefix}_${randomUUID()}`,
    };
    let payload: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json; charset=utf-8';
      payload = JSON.stringify(req.body);
    }

    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        headers,
        body: payload,
        signal,
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
    } catch (error) {
      this.observer?.({ method, route, status: 'error' });
      if (req.signal?.aborted) throw req.signal.reason ?? error;
      throw toTransportError(error, method, route, timeout.aborted);
    }

    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      this.observer?.({ method, route, status: 'error' });
      if (req.signal?.aborted) throw req.signal.reason ?? error;
      // Headers arrived, so Webex has seen the request: any retry decision is the caller's.
      throw new TransportError(`Webex ${route}: response body cut off`, { cause: error, ambiguous: true });
    }
    this.observer?.({ method, route, status: response.statusCode });

    const trackingHeader = headerValue(response.headers, 'trackingid');
    const parsed = parseJson(text);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const errorBody = isRecord(parsed) ? parsed : {};
      const firstError = Array.isArray(errorBody.errors) ? errorBody.errors[0] : undefined;
      const description =
        stringOrUndefined(errorBody.message) ??
        (isRecord(firstError) ? stringOrUndefined(firstError.description) : undefined);
      const retryAfterS = parseRetryAfter(headerValue(response.headers, 'retry-after'));
      throw new WebexApiError({
        status: response.statusCode,
        method,
        route,
        trackingId: trackingHeader ?? stringOrUndefined(errorBody.trackingId),
        ...(description === undefined ? {} : { description }),
        ...(retryAfterS === undefined ? {} : { retryAfterS }),
      });
    }
    return {
      status: response.statusCode,
      body: parsed as T,
      trackingId: trackingHeader,
      headers: response.headers,
    };
  }

  private buildUrl(path: string, query: WebexRequest['query']): string {
    const url = new URL(/^[a-z]+:\/\//i.test(path) ? path : `${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }
}

function toTransportError(
  error: unknown,
  method: HttpMethod,
  route: string,
  timedOut: boolean,
): TransportError {
  const code = errorCode(error);
  const notSent = code !== undefined && NOT_SENT_CODES.has(code);
  const what = timedOut
    ? 'timed out'
    : `failed (${code ?? (error instanceof Error ? error.name : 'unknown')})`;
  // A GET is safe to repeat, so it is never "ambiguous"; a write that may have been sent is.
  const ambiguous = method !== 'GET' && !notSent;
  return new TransportError(`Webex ${route} ${what}`, { cause: error, ambiguous });
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && isRecord(current); depth++) {
    if (typeof current.code === 'string') return current.code;
    current = current.cause;
  }
  return undefined;
}

/** `Retry-After` as seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
