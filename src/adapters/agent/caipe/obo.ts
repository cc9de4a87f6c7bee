/**
 * `CAIPE_AUTH_MODE=obo`: every CAIPE call carries a token minted for the Keycloak user linked to the
 * Webex person who asks, as CAIPE's own Webex bot does (reference caipe-current.md §1.4):
 *
 * 1. Who is the person in Keycloak: with the admin client's client-credentials token,
 *    `GET /admin/realms/<realm>/users?q=webex_user_id:<personId>&max=5`; only an exact attribute
 *    match counts, a disabled user is unlinked; results are remembered for 60 s.
 * 2. Their token: a token exchange at the realm's token endpoint (`grant_type=…:token-exchange`,
 *    `requested_subject=<user id>`, no `subject_token`), by the bot's exchange client, for the
 *    CAIPE platform audience. Minted once per turn; a 401 from CAIPE mints afresh.
 * 3. A person with no linked account gets, privately, the signed link CAIPE's UI expects
 *    (`<base>/api/auth/webex-link?webex_user_id&ts&sig`, `sig` = hex HMAC-SHA256 of
 *    `<personId>:<ts>`, checked by the UI within 600 s: `ui/src/app/api/auth/webex-link/route.ts`),
 *    through `onUnlinked`, at most once per person per `linkNoticeIntervalMs`; the turn then fails
 *    with `not-linked`, which tells them to look at that private message.
 *
 * Failures of Keycloak itself are `identity-unavailable`. No token, secret or signature is logged.
 */
import { createHmac } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import { type Clock, systemClock } from '../../../clock.js';
import { AgentError } from '../../../errors.js';
import { type Logger, silentLogger } from '../../../logger.js';
import { describeUrl, redactText } from '../a2a/redact.js';
import type { AgentAuth } from '../http.js';
import { createOAuth2TokenSource, type OAuth2TokenSource } from '../oauth2.js';
import type { PersonCredentials } from './client.js';

export interface OnBehalfOptions {
  keycloakUrl: string;
  realm: string;
  /** The token-exchange client (`KEYCLOAK_WEBEX_BOT_CLIENT_ID` / `_SECRET`). */
  clientId: string;
  clientSecret: string;
  /** Audience of the minted token (`KEYCLOAK_WEBEX_BOT_AUDIENCE`). */
  audience: string;
  /** The user-lookup client (`KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_ID` / `_SECRET`). */
  adminClientId: string;
  adminClientSecret: string;
  /** `WEBEX_LINKING_BASE_URL` (else `CAIPE_UI_BASE_URL`). */
  linkBaseUrl: string;
  /** `WEBEX_LINK_HMAC_SECRET` (else `WEBEX_SIGNING_SECRET`). */
  linkSecret: string;
  /** Sends the private link to an unlinked person (a 1:1 card); failures are logged, not thrown. */
  onUnlinked?(notice: { personId: string; url: string }): Promise<void>;
  clock?: Clock;
  logger?: Logger;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  lookupTtlMs?: number;
  linkNoticeIntervalMs?: number;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const MAX_BODY_BYTES = 256 * 1024;
const MAX_REMEMBERED = 5_000;

/** The signed account-link URL CAIPE's UI checks (HMAC-SHA256 of `<personId>:<ts>`, hex, ts in seconds). */
export function signedLinkUrl(base: string, personId: string, secret: string, nowMs: number): string {
  const ts = String(Math.floor(nowMs / 1000));
  const sig = createHmac('sha256', secret).update(`${personId}:${ts}`).digest('hex');
  const query = new URLSearchParams({ webex_user_id: personId, ts, sig });
  return `${base.replace(/\/+$/, '')}/api/auth/webex-link?${query.toString()}`;
}

interface Remembered {
  userId: string | undefined;
  until: number;
}

export class KeycloakOnBehalf implements PersonCredentials {
  readonly #options: OnBehalfOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #tokenUrl: string;
  readonly #usersUrl: string;
  readonly #admin: OAuth2TokenSource;
  readonly #timeoutMs: number;
  readonly #lookupTtlMs: number;
  readonly #noticeIntervalMs: number;
  readonly #users = new Map<string, Remembered>();
  readonly #noticed = new Map<string, number>();

  constructor(options: OnBehalfOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'obo' });
    const realm = encodeURIComponent(options.realm);
    const base = options.keycloakUrl.replace(/\/+$/, '');
    this.#tokenUrl = `${base}/realms/${realm}/protocol/openid-connect/token`;
    this.#usersUrl = `${base}/admin/realms/${realm}/users`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#lookupTtlMs = options.lookupTtlMs ?? 60_000;
    this.#noticeIntervalMs = options.linkNoticeIntervalMs ?? 10 * 60_000;
    this.#admin = createOAuth2TokenSource({
      tokenUrl: this.#tokenUrl,
      clientId: options.adminClientId,
      clientSecret: options.adminClientSecret,
      clock: this.#clock,
      timeoutMs: this.#timeoutMs,
      logger: this.#logger,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  }

  async authFor(personId: string, signal?: AbortSignal): Promise<AgentAuth> {
    const userId = await this.linkedUser(personId, signal);
    if (!userId) {
      await this.#noticeUnlinked(personId);
      throw new AgentError('not-linked', 'The Webex person has no linked CAIPE account');
    }
    let header: string | undefined;
    return {
      getAuthHeader: async () => {
        header ??= await this.#mint(userId, signal);
        return header;
      },
      onUnauthorized: () => {
        header = undefined;
      },
    };
  }

  /** The Keycloak user id linked to a Webex person, or undefined when there is none (or it is disabled). */
  async linkedUser(personId: string, signal?: AbortSignal): Promise<string | undefined> {
    const now = this.#clock.now();
    const known = this.#users.get(personId);
    if (known && now < known.until) return known.userId;
    const query = new URLSearchParams({ q: `webex_user_id:${personId}`, max: '5' });
    const { status, text } = await this.#send(
      `${this.#usersUrl}?${query.toString()}`,
      { method: 'GET', headers: { authorization: await this.#adminHeader(), accept: 'application/json' } },
      signal,
    );
    if (status === 401) this.#admin.onUnauthorized();
    if (status !== 200) throw this.#unavailable(`user lookup answered HTTP ${status}`, text);
    let users: unknown;
    try {
      users = JSON.parse(text);
    } catch {
      throw this.#unavailable('user lookup answered with something other than JSON', '');
    }
    const match = (Array.isArray(users) ? users : []).find(
      (user) =>
        typeof user === 'object' &&
        user !== null &&
        Array.isArray((user as { attributes?: { webex_user_id?: unknown } }).attributes?.webex_user_id) &&
        (
          (user as { attributes: { webex_user_id: unknown[] } }).attributes.webex_user_id as unknown[]
        ).includes(personId),
    ) as { id?: unknown; enabled?: unknown } | undefined;
    const userId = match && match.enabled !== false && typeof match.id === 'string' ? match.id : undefined;
    if (this.#users.size >= MAX_REMEMBERED) this.#users.clear();
    this.#users.set(personId, { userId, until: now + this.#lookupTtlMs });
    return userId;
  }

  async #mint(userId: string, signal?: AbortSignal): Promise<string> {
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      requested_subject: userId,
      requested_token_type: ACCESS_TOKEN_TYPE,
      client_id: this.#options.clientId,
      client_secret: this.#options.clientSecret,
      audience: this.#options.audience,
    });
    const { status, text } = await this.#send(
      this.#tokenUrl,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      },
      signal,
    );
    if (status !== 200) throw this.#unavailable(`token exchange answered HTTP ${status}`, text);
    let token: unknown;
    try {
      token = (JSON.parse(text) as { access_token?: unknown }).access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || !token.trim())
      throw this.#unavailable('token exchange gave no access_token', '');
    this.#logger.debug({ event: 'obo.minted' }, 'minted a token on behalf of a person');
    return `Bearer ${token.trim()}`;
  }

  async #noticeUnlinked(personId: string): Promise<void> {
    const now = this.#clock.now();
    const last = this.#noticed.get(personId);
    if (last !== undefined && now - last < this.#noticeIntervalMs) return;
    if (this.#noticed.size >= MAX_REMEMBERED) this.#noticed.clear();
    this.#noticed.set(personId, now);
    const url = signedLinkUrl(this.#options.linkBaseUrl, personId, this.#options.linkSecret, now);
    this.#logger.info(
      { event: 'obo.unlinked', personId },
      'Webex person has no linked CAIPE account; sending the link privately',
    );
    await this.#options.onUnlinked?.({ personId, url }).catch((error: unknown) => {
      this.#logger.warn({ event: 'obo.link_not_sent', err: error }, 'account link not sent');
    });
  }

  async #adminHeader(): Promise<string> {
    try {
      return await this.#admin.getAuthHeader();
    } catch (error) {
      throw new AgentError('identity-unavailable', 'Could not get the Keycloak admin token', {
        cause: error,
      });
    }
  }

  async #send(
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const controller = new AbortController();
    const timer = this.#clock.setTimeout(() => controller.abort(), this.#timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await request(url, {
        ...init,
        signal: controller.signal,
        ...(this.#options.dispatcher ? { dispatcher: this.#options.dispatcher } : {}),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          response.body.destroy();
          throw this.#unavailable('Keycloak answered with too much data', '');
        }
        chunks.push(chunk as Buffer);
      }
      return { status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof AgentError) throw error;
      throw new AgentError('identity-unavailable', `Keycloak at ${describeUrl(url)} could not be reached`, {
        cause: error,
      });
    } finally {
      this.#clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #unavailable(what: string, text: string): AgentError {
    const secrets = [this.#options.clientSecret, this.#options.adminClientSecret];
    const detail = text.trim() ? `: ${redactText(text, secrets)}` : '';
    return new AgentError('identity-unavailable', `Keycloak ${what}${detail}`);
  }
}
