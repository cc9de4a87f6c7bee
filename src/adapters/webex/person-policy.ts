/**
 * Who may use the bot (SPEC "Who may use the bot"): a person's organisation must be in
 * `WEBEX_ALLOWED_ORG_IDS` (default: the bot's own organisation; `*` allows all), and, when
 * `WEBEX_ALLOWED_EMAIL_DOMAINS` is set, their email domain in that list. The caller runs
 * `check` before anything of the person's reaches the agent, on every path (socket events, REST
 * catch-up, card submissions, form answers in text, commands, taken-over answers).
 *
 * - Organisation ids are compared by UUID: Mercury's `actor.orgId` is a raw UUID, the People API
 *   and operators use the `Y2lz…` form (`org-ids.ts`).
 * - What the event does not carry (REST catch-up and card actions name only the person) is read
 *   from the People API (`GET /people/{id}`), cached for a few minutes in a bounded cache; one
 *   lookup per person at a time. The bot's own organisation comes from `GET /people/me`, once.
 * - Anything that cannot be established (malformed ids, a People API failure, a person record
 *   without an organisation) refuses: the check fails closed, with reason `person-unverified`.
 *   An email the event carries is trusted only if it looks like one; else it is looked up.
 * - A refused person is told at most once per 24 h (`notify`), remembered in the store
 *   (`NoticeLog`), so also across restarts and replicas. If the store cannot say, no notice: a
 *   missed notice is better than one per message.
 * - Email domains match exactly (`example.com` does not allow `eu.example.com`), case-insensitively.
 */
import { untilAborted } from '../../abort.js';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import { WebexApiError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { RefusalReason } from '../../metrics.js';
import type { NoticeLog } from '../store/ports.js';
import { decodeHydraId, encodeHydraId, isUuid } from './ids.js';
import { orgUuid } from './org-ids.js';

/** The person behind an event, with what the event itself says about them. */
export interface PersonRef {
  /** Raw UUID (Mercury) or Hydra PEOPLE id (REST). */
  personId: string;
  /** The organisation when the event carries it (Mercury `actor.orgId`). */
  orgId?: string;
  /** The email when the event carries it. */
  email?: string;
}

export type PersonRefusal = Extract<RefusalReason, 'outsider-org' | 'email-domain' | 'person-unverified'>;

export interface PersonDecision {
  allowed: boolean;
  /** Set when refused; also the `refused_total{reason}` label. */
  reason?: PersonRefusal;
  /** Whether to tell the person now: true at most once per person per {@link NOTICE_INTERVAL_MS}. */
  notify: boolean;
}

/** What the policy needs of the Webex REST client (`WebexRestClient` fits). */
export interface PeopleReader {
  get(path: string, options?: { signal?: AbortSignal; route?: string }): Promise<unknown>;
}

export interface PersonPolicyOptions {
  /** `WEBEX_ALLOWED_ORG_IDS`: undefined = the bot's own organisation; `['*']` = every organisation. */
  allowedOrgIds?: readonly string[];
  /** `WEBEX_ALLOWED_EMAIL_DOMAINS`: undefined = any domain. */
  allowedEmailDomains?: readonly string[];
  people: PeopleReader;
  notices: NoticeLog;
  log: Logger;
  clock?: Pick<Clock, 'now'>;
  /** The bot's organisation when the caller already knows it (else `GET /people/me` is asked). */
  botOrgId?: string;
  /** How long a person's People record is reused; default {@link PERSON_CACHE_TTL_MS}. */
  cacheTtlMs?: number;
  /** People remembered at most; default {@link MAX_CACHED_PEOPLE}. */
  maxCachedPeople?: number;
}

/** A refused person hears about it at most this often. */
export const NOTICE_INTERVAL_MS = 24 * 3_600_000;
export const PERSON_CACHE_TTL_MS = 10 * 60_000;
export const MAX_CACHED_PEOPLE = 5_000;
/** Longest email address (RFC 5321 path limit); anything longer is not trusted. */
const MAX_EMAIL_CHARS = 254;
const EMAIL =
  /^[^\s@]{1,64}@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/;
/** Emails of a People record looked at; records list one or a few. */
const MAX_EMAILS = 10;

interface PersonFacts {
  orgUuid?: string;
  emails: string[];
}

/** The domain of a well-formed email address, lower-cased; undefined for anything else. */
export function emailDomain(email: unknown): string | undefined {
  if (typeof email !== 'string' || email.length > MAX_EMAIL_CHARS) return undefined;
  return EMAIL.exec(email.trim())?.[1]?.toLowerCase();
}

/** The person's UUID from a raw UUID or a Hydra PEOPLE id; undefined for anything else. */
export function personUuid(personId: unknown): string | undefined {
  if (typeof personId !== 'string') return undefined;
  if (isUuid(personId)) return personId.toLowerCase();
  const decoded = decodeHydraId(personId);
  return decoded?.type === 'PEOPLE' && isUuid(decoded.uuid) ? decoded.uuid.toLowerCase() : undefined;
}

function factsFromRecord(body: unknown): PersonFacts {
  const record = (typeof body === 'object' && body !== null ? body : {}) as {
    orgId?: unknown;
    emails?: unknown;
  };
  const emails = Array.isArray(record.emails)
    ? record.emails.slice(0, MAX_EMAILS).filter((e): e is string => emailDomain(e) !== undefined)
    : [];
  const org = orgUuid(record.orgId);
  return { ...(org ? { orgUuid: org } : {}), emails };
}

export class PersonPolicy {
  readonly #options: PersonPolicyOptions;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #log: Logger;
  readonly #allowAllOrgs: boolean;
  /** Configured organisations as UUIDs; undefined = the bot's own. */
  readonly #allowedOrgs: ReadonlySet<string> | undefined;
  readonly #allowedDomains: ReadonlySet<string> | undefined;
  readonly #cache = new Map<string, { facts: PersonFacts; expiresAt: number }>();
  readonly #lookups = new Map<string, Promise<PersonFacts>>();
  #botOrg: Promise<string> | undefined;

  constructor(options: PersonPolicyOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log.child({ component: 'person-policy' });
    const orgs = options.allowedOrgIds;
    this.#allowAllOrgs = orgs?.length === 1 && orgs[0] === '*';
    this.#allowedOrgs =
      orgs && !this.#allowAllOrgs
        ? new Set(orgs.map(orgUuid).filter((uuid): uuid is string => uuid !== undefined))
        : undefined;
    this.#allowedDomains = options.allowedEmailDomains
      ? new Set(options.allowedEmailDomains.map((d) => d.replace(/^@/, '').toLowerCase()))
      : undefined;
    const botOrg = orgUuid(options.botOrgId);
    if (botOrg) this.#botOrg = Promise.resolve(botOrg);
  }

  /** Whether `person` may use the bot, and whether to tell them now if not. */
  async check(person: PersonRef, signal?: AbortSignal): Promise<PersonDecision> {
    const uuid = personUuid(person.personId);
    // Not a person id at all: nobody to look up, nobody to notify.
    if (!uuid) return { allowed: false, reason: 'person-unverified', notify: false };
    const reason = await this.#refusal(uuid, person, signal);
    if (!reason) return { allowed: true, notify: false };
    return { allowed: false, reason, notify: await this.#noticeDue(uuid) };
  }

  async #refusal(uuid: string, person: PersonRef, signal?: AbortSignal): Promise<PersonRefusal | undefined> {
    const needOrg = !this.#allowAllOrgs;
    const needEmail = this.#allowedDomains !== undefined;
    if (!needOrg && !needEmail) return undefined;

    let org = needOrg ? orgUuid(person.orgId) : undefined;
    let domains = needEmail ? [emailDomain(person.email)].filter((d): d is string => d !== undefined) : [];
    if ((needOrg && !org) || (needEmail && domains.length === 0)) {
      let facts: PersonFacts;
      try {
        facts = await untilAborted(this.#facts(uuid), signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        this.#log.warn(
          { err: describe(error), personUuid: uuid },
          'person could not be looked up in the People API: refused until it answers',
        );
        return 'person-unverified';
      }
      org ??= facts.orgUuid;
      if (domains.length === 0)
        domains = facts.emails.map(emailDomain).filter((d): d is string => d !== undefined);
    }

    if (needOrg) {
      if (!org) return 'person-unverified';
      let allowed: ReadonlySet<string>;
      try {
        allowed = this.#allowedOrgs ?? new Set([await untilAborted(this.#botOrganisation(), signal)]);
      } catch (error) {
        if (signal?.aborted) throw error;
        this.#log.warn(
          { err: describe(error) },
          "the bot's own organisation is unknown (GET /people/me failed)",
        );
        return 'person-unverified';
      }
      if (!allowed.has(org)) return 'outsider-org';
    }
    if (needEmail) {
      if (domains.length === 0) return 'person-unverified';
      // The primary email decides (the event's, else the People record's first).
      if (!this.#allowedDomains!.has(domains[0]!)) return 'email-domain';
    }
    return undefined;
  }

  /** Organisation and emails from the People API, cached; one lookup per person at a time. */
  #facts(uuid: string): Promise<PersonFacts> {
    const now = this.#clock.now();
    const cached = this.#cache.get(uuid);
    if (cached && cached.expiresAt > now) return Promise.resolve(cached.facts);
    if (cached) this.#cache.delete(uuid);
    let lookup = this.#lookups.get(uuid);
    if (!lookup) {
      lookup = (async () => {
        // No caller's signal: the lookup is shared, and one caller giving up must not fail the others.
        const path = `/people/${encodeURIComponent(encodeHydraId('PEOPLE', uuid))}`;
        const body = await this.#options.people.get(path, { route: 'GET /people/{id}' });
        const facts = factsFromRecord(body);
        this.#remember(uuid, facts);
        return facts;
      })().finally(() => this.#lookups.delete(uuid));
      this.#lookups.set(uuid, lookup);
    }
    return lookup;
  }

  #remember(uuid: string, facts: PersonFacts): void {
    const ttl = this.#options.cacheTtlMs ?? PERSON_CACHE_TTL_MS;
    if (ttl <= 0) return;
    this.#cache.set(uuid, { facts, expiresAt: this.#clock.now() + ttl });
    const max = Math.max(1, this.#options.maxCachedPeople ?? MAX_CACHED_PEOPLE);
    while (this.#cache.size > max) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  /** The bot's organisation from `GET /people/me`; asked again after a failure. */
  #botOrganisation(): Promise<string> {
    this.#botOrg ??= (async () => {
      const me = await this.#options.people.get('/people/me', { route: 'GET /people/me' });
      const org = orgUuid((me as { orgId?: unknown } | null)?.orgId);
      if (!org) throw new Error('GET /people/me answered without an organisation id');
      return org;
    })();
    const attempt = this.#botOrg;
    attempt.catch(() => {
      if (this.#botOrg === attempt) this.#botOrg = undefined;
    });
    return attempt;
  }

  async #noticeDue(uuid: string): Promise<boolean> {
    try {
      return await this.#options.notices.noticeDue(`refused-person:${uuid}`, NOTICE_INTERVAL_MS);
    } catch (error) {
      this.#log.warn(
        { err: describe(error) },
        'notice log unavailable: the refused person is not told this time',
      );
      return false;
    }
  }

  /** Cached people (for tests and diagnostics). */
  get cachedPeople(): number {
    return this.#cache.size;
  }
}

/** Kind and status of a failure, never a body that might carry personal data. */
function describe(error: unknown): { name: string; message: string; status?: number } {
  if (error instanceof WebexApiError)
    return { name: error.name, message: error.message, status: error.status };
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 200) };
  return { name: 'Error', message: String(error).slice(0, 200) };
}
