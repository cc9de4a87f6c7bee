/**
 * OAuth2 client credentials (RFC 6749 §4.4) for the A2A calls, as the CAIPE bots do it: a form
 * POST with `grant_type=client_credentials`, `client_id` and `client_secret` in the body, plus
 * `scope` and `audience` when configured (Keycloak, Okta and Auth0 all accept this form).
 *
 * The token is cached until shortly before it expires; concurrent callers share one in-flight
 * request, so a burst of conversations after start-up costs one round trip to the IdP; a 401 from
 * the agent drops the cache (`onUnauthorized`), and the agent client retries once with a new token.
 * Neither the client secret nor a token ever appears in an error or a log line.
 */
import { type Dispatcher, request } from 'undici';
import { type Clock, systemClock } from '../../clock.js';
import { AgentError } from '../../errors.js';
import { type Logger, silentLogger } from '../../logger.js';
import type { AgentAuth } from './a2a/client.js';
import { describeUrl, redactText } from './a2a/redact.js';

export interface OAuth2ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes; sent as the `scope` form field when set. */
  scope?: string | undefined;
  /** Sent as the `audience` form field when set (Auth0/Okta style; Keycloak maps it by client scope). */
  audience?: string | undefined;
}

export interface OAuth2TokenSourceOptions extends OAuth2ClientCredentials {
  /** `now()` decides freshness; `setTimeout` runs the request timeout. Tests pass a hand-driven clock. */
  clock?: Clock;
  /** Whole request budget (connect, headers, body). Default 10 s, as the CAIPE bots use. */
  timeoutMs?: number;
  /** Refresh this long before expiry, but never more than half the token's lifetime. Default 60 s. */
  refreshMarginMs?: number;
  /** Lifetime assumed when the IdP sends no usable `expires_in`. Default 3600 s. */
  defaultExpiresInS?: number;
  /** Defaults to undici's global dispatcher. */
  dispatcher?: Dispatcher;
  logger?: Logger;
}

/** An `AgentAuth` whose 401 hook always exists. */
export interface OAuth2TokenSource extends AgentAuth {
  /** `Bearer <access_token>`, from the cache or a fresh (shared) token request. */
  getAuthHeader(): Promise<string>;
  /** Drops the cached token: the agent rejected it. */
  onUnauthorized(): void;
}

interface CachedToken {
  header: string;
  /** When a caller should start fetching a new one. */
  refreshAt: number;
  /** When the IdP says it stops working. */
  expiresAt: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MARGIN_MS = 60_000;
const DEFAULT_EXPIRES_IN_S = 3_600;
/** A token response is a few hundred bytes; anything far bigger is not one. */
const MAX_BODY_BYTES = 64 * 1024;

export function createOAuth2TokenSource(options: OAuth2TokenSourceOptions): OAuth2TokenSource {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const marginMs = options.refreshMarginMs ?? DEFAULT_MARGIN_MS;
  const defaultExpiresInS = options.defaultExpiresInS ?? DEFAULT_EXPIRES_IN_S;
  const log = (options.logger ?? silentLogger()).child({ component: 'oauth2' });
  const where = describeUrl(options.tokenUrl);
  const secrets = [options.clientSecret];

  let cached: CachedToken | undefined;
  let inflight: Promise<CachedToken> | undefined;

  const fail = (message: string, extra: { status?: number; cause?: unknown } = {}) =>
    new AgentError('unauthorized', `OAuth2 token request to ${where} failed: ${message}`, extra);

  function formBody(): string {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: options.clientId,
      client_secret: options.clientSecret,
    });
    if (options.scope) form.set('scope', options.scope);
    if (options.audience) form.set('audience', options.audience);
    return form.toString();
  }

  async function readText(body: Dispatcher.ResponseData['body']): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        body.destroy();
        throw fail(`the answer is larger than ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** RFC 6749 §5.2 errors carry `error` and `error_description`; anything else is quoted, redacted. */
  function errorDetail(text: string): string {
    try {
      const parsed = JSON.parse(text) as { error?: unknown; error_description?: unknown };
      if (typeof parsed.error === 'string') {
        const description =
          typeof parsed.error_description === 'string' ? ` (${parsed.error_description})` : '';
        return redactText(`${parsed.error}${description}`, secrets);
      }
    } catch {
      // not JSON: fall through to the raw text
    }
    return redactText(text, secrets);
  }

  function lifetimeMs(expiresIn: unknown): number {
    const seconds = typeof expiresIn === 'string' && expiresIn.trim() !== '' ? Number(expiresIn) : expiresIn;
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
    return defaultExpiresInS * 1000;
  }

  async function fetchToken(): Promise<CachedToken> {
    const controller = new AbortController();
    const timer = clock.setTimeout(() => controller.abort(), timeoutMs);
    const startedAt = clock.now();
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(options.tokenUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: formBody(),
          signal: controller.signal,
          ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        });
      } catch (error) {
        if (controller.signal.aborted) throw fail(`no answer within ${Math.round(timeoutMs / 1000)} s`);
        const code = (error as { code?: unknown }).code;
        throw fail(`unreachable${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error });
      }
      let text: string;
      try {
        text = await readText(response.body);
      } catch (error) {
        if (error instanceof AgentError) throw error;
        if (controller.signal.aborted) throw fail(`no answer within ${Math.round(timeoutMs / 1000)} s`);
        throw fail('the answer was cut off', { cause: error });
      }
      const status = response.statusCode;
      if (status < 200 || status >= 300) {
        const detail = text.trim() ? `: ${errorDetail(text)}` : '';
        throw fail(`HTTP ${status}${detail}`, { status });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw fail(`HTTP ${status} with a body that is not JSON`, { status });
      }
      const token = (parsed as { access_token?: unknown } | null)?.access_token;
      if (typeof token !== 'string' || token.trim() === '') {
        throw fail(`HTTP ${status} without an access_token`, { status });
      }
      const lifetime = lifetimeMs((parsed as { expires_in?: unknown }).expires_in);
      // Measured from the request's start: the IdP's clock started before the answer arrived.
      const expiresAt = startedAt + lifetime;
      const refreshAt = expiresAt - Math.min(marginMs, lifetime / 2);
      log.info(
        { event: 'oauth2.token_fetched', expiresInS: Math.round(lifetime / 1000) },
        'fetched an OAuth2 access token for the agent',
      );
      return { header: `Bearer ${token.trim()}`, refreshAt, expiresAt };
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /** One request for every caller that arrives while it runs. */
  function refresh(): Promise<CachedToken> {
    if (!inflight) {
      const current = fetchToken().then(
        (token) => {
          if (inflight === current) inflight = undefined;
          cached = token;
          return token;
        },
        (error: unknown) => {
          if (inflight === current) inflight = undefined;
          throw error;
        },
      );
      inflight = current;
    }
    return inflight;
  }

  return {
    async getAuthHeader() {
      const now = clock.now();
      if (cached && now < cached.refreshAt) return cached.header;
      const stale = cached;
      try {
        return (await refresh()).header;
      } catch (error) {
        // A refresh inside the margin failed but the old token still works: use it and try
        // again on the next call rather than fail a conversation over an IdP hiccup.
        if (stale && clock.now() < stale.expiresAt && cached === stale) {
          log.warn(
            { event: 'oauth2.refresh_failed', err: error },
            'OAuth2 token refresh failed; using the current token until it expires',
          );
          return stale.header;
        }
        log.warn({ event: 'oauth2.token_failed', err: error }, 'could not get an OAuth2 access token');
        throw error;
      }
    },
    onUnauthorized() {
      if (cached)
        log.info({ event: 'oauth2.token_dropped' }, 'the agent rejected the token; fetching a new one');
      cached = undefined;
    },
  };
}
