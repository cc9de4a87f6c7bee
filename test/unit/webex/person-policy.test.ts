import { describe, expect, it } from 'vitest';
import type { NoticeLog } from '../../../src/adapters/store/ports.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import {
  emailDomain,
  NOTICE_INTERVAL_MS,
  PERSON_CACHE_TTL_MS,
  type PeopleReader,
  PersonPolicy,
  type PersonPolicyOptions,
  personUuid,
} from '../../../src/adapters/webex/person-policy.js';
import { WebexApiError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { ManualClock, SIM_EPOCH } from '../../helpers/manual-clock.js';

const OWN_ORG = '1eb65fdf-9643-417f-9974-ad72cae0e10f';
const PARTNER_ORG = '7c1e2f6a-3b9d-4e8f-a1b2-c3d4e5f6a7b8';
const OTHER_ORG = '0f0f0f0f-1111-4222-8333-444455556666';
const ANA = 'a1a1a1a1-0000-4000-8000-000000000001';
const BO = 'b2b2b2b2-0000-4000-8000-000000000002';

interface PersonRecord {
  orgId?: unknown;
  emails?: unknown;
}

/** The People API as Webex answers it: `Y2lz…` ids, 404 for unknown people. */
class FakePeople implements PeopleReader {
  readonly people = new Map<string, PersonRecord>();
  readonly calls: string[] = [];
  me: PersonRecord | Error = { orgId: encodeHydraId('ORGANIZATION', OWN_ORG) };
  failing: Error | undefined;
  gate: Promise<void> | undefined;

  async get(path: string): Promise<unknown> {
    this.calls.push(path);
    await this.gate;
    if (this.failing) throw this.failing;
    if (path === '/people/me') {
      if (this.me instanceof Error) throw this.me;
      return this.me;
    }
    const id = decodeURIComponent(path.slice('/people/'.length));
    const uuid = personUuid(id);
    const record = uuid ? this.people.get(uuid) : undefined;
    if (!record) throw new WebexApiError({ status: 404, method: 'GET', route: 'GET /people/{id}' });
    return { id, ...record };
  }

  lookups(): number {
    return this.calls.filter((c) => c !== '/people/me').length;
  }
}

/** A NoticeLog on the test's clock, as the store adapters behave. */
class ClockedNotices implements NoticeLog {
  readonly #until = new Map<string, number>();
  failing = false;
  constructor(private readonly clock: ManualClock) {}
  async noticeDue(key: string, intervalMs: number): Promise<boolean> {
    if (this.failing) throw new Error('store down');
    if ((this.#until.get(key) ?? 0) > this.clock.now()) return false;
    this.#until.set(key, this.clock.now() + intervalMs);
    return true;
  }
}

function setUp(options: Partial<PersonPolicyOptions> = {}) {
  const clock = new ManualClock(SIM_EPOCH);
  const people = new FakePeople();
  const notices = new ClockedNotices(clock);
  const policy = new PersonPolicy({ people, notices, clock, log: silentLogger(), ...options });
  return { clock, people, notices, policy };
}

describe('PersonPolicy: organisations', () => {
  it('by default allows the bot’s own organisation, read once from GET /people/me, compared by UUID', async () => {
    const { people, policy } = setUp();
    // Mercury's orgId is the raw UUID; /people/me answers with the Y2lz… form.
    expect(await policy.check({ personId: ANA, orgId: OWN_ORG.toUpperCase() })).toEqual({
      allowed: true,
      notify: false,
    });
    expect(await policy.check({ personId: BO, orgId: OWN_ORG })).toMatchObject({ allowed: true });
    expect(people.calls).toEqual(['/people/me']);
  });

  it('refuses another organisation and tells the person at most once per 24 h', async () => {
    const { clock, policy } = setUp();
    expect(await policy.check({ personId: ANA, orgId: OTHER_ORG })).toEqual({
      allowed: false,
      reason: 'outsider-org',
      notify: true,
    });
    expect(await policy.check({ personId: ANA, orgId: OTHER_ORG })).toMatchObject({ notify: false });
    // Another outsider gets their own notice.
    expect(await policy.check({ personId: BO, orgId: OTHER_ORG })).toMatchObject({ notify: true });
    await clock.advance(NOTICE_INTERVAL_MS - 1);
    expect(await policy.check({ personId: encodeHydraId('PEOPLE', ANA), orgId: OTHER_ORG })).toMatchObject({
      notify: false,
    });
    await clock.advance(1);
    expect(await policy.check({ personId: ANA, orgId: OTHER_ORG })).toMatchObject({ notify: true });
  });

  it('takes WEBEX_ALLOWED_ORG_IDS in either form (partner organisations), and * for everyone', async () => {
    const { people, policy } = setUp({
      allowedOrgIds: [OWN_ORG.toUpperCase(), encodeHydraId('ORGANIZATION', PARTNER_ORG)],
    });
    expect(
      await policy.check({ personId: ANA, orgId: encodeHydraId('ORGANIZATION', OWN_ORG) }),
    ).toMatchObject({
      allowed: true,
    });
    expect(await policy.check({ personId: ANA, orgId: PARTNER_ORG })).toMatchObject({ allowed: true });
    expect(await policy.check({ personId: ANA, orgId: OTHER_ORG })).toMatchObject({ reason: 'outsider-org' });
    // A configured list replaces the default: /people/me is never asked.
    expect(people.calls).toEqual([]);

    const open = setUp({ allowedOrgIds: ['*'] });
    expect(await open.policy.check({ personId: ANA })).toEqual({ allowed: true, notify: false });
    expect(open.people.calls).toEqual([]);
  });

  it('asks the People API when the event has no orgId (REST catch-up, card actions), and caches the answer', async () => {
    const { clock, people, policy } = setUp({ botOrgId: OWN_ORG });
    people.people.set(ANA, { orgId: encodeHydraId('ORGANIZATION', OWN_ORG), emails: ['ana@example.com'] });
    people.people.set(BO, { orgId: encodeHydraId('ORGANIZATION', OTHER_ORG), emails: ['bo@other.example'] });
    expect(await policy.check({ personId: encodeHydraId('PEOPLE', ANA) })).toMatchObject({ allowed: true });
    expect(await policy.check({ personId: BO })).toMatchObject({ allowed: false, reason: 'outsider-org' });
    expect(people.calls).toEqual([
      `/people/${encodeHydraId('PEOPLE', ANA)}`,
      `/people/${encodeHydraId('PEOPLE', BO)}`,
    ]);
    await policy.check({ personId: ANA });
    expect(people.lookups()).toBe(2);
    await clock.advance(PERSON_CACHE_TTL_MS);
    await policy.check({ personId: ANA });
    expect(people.lookups()).toBe(3);
  });

  it('concurrent checks of one person share one lookup', async () => {
    const { people, policy } = setUp({ botOrgId: OWN_ORG });
    people.people.set(ANA, { orgId: OWN_ORG });
    let release!: () => void;
    people.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pending = Array.from({ length: 5 }, () => policy.check({ personId: ANA }));
    release();
    expect((await Promise.all(pending)).every((d) => d.allowed)).toBe(true);
    expect(people.lookups()).toBe(1);
  });

  it('keeps the person cache bounded', async () => {
    const { people, policy } = setUp({ botOrgId: OWN_ORG, maxCachedPeople: 3 });
    for (let i = 0; i < 20; i++) {
      const uuid = `c3c3c3c3-0000-4000-8000-${String(i).padStart(12, '0')}`;
      people.people.set(uuid, { orgId: OWN_ORG });
      await policy.check({ personId: uuid });
    }
    expect(policy.cachedPeople).toBe(3);
  });
});

describe('PersonPolicy: email domains', () => {
  it('when set, the primary email’s domain must match exactly (case-insensitive)', async () => {
    const { policy } = setUp({
      allowedOrgIds: ['*'],
      allowedEmailDomains: ['example.com', 'partner.example'],
    });
    expect(await policy.check({ personId: ANA, email: 'Ana@EXAMPLE.com' })).toMatchObject({ allowed: true });
    expect(await policy.check({ personId: ANA, email: 'ana@partner.example' })).toMatchObject({
      allowed: true,
    });
    expect(await policy.check({ personId: ANA, email: 'ana@eu.example.com' })).toMatchObject({
      allowed: false,
      reason: 'email-domain',
    });
    expect(await policy.check({ personId: BO, email: 'bo@example.com.evil.example' })).toMatchObject({
      reason: 'email-domain',
    });
  });

  it('both rules apply: the right organisation with the wrong domain is refused', async () => {
    const { policy } = setUp({ botOrgId: OWN_ORG, allowedEmailDomains: ['example.com'] });
    expect(await policy.check({ personId: ANA, orgId: OWN_ORG, email: 'ana@gmail.com' })).toMatchObject({
      reason: 'email-domain',
    });
    expect(await policy.check({ personId: ANA, orgId: OTHER_ORG, email: 'ana@example.com' })).toMatchObject({
      reason: 'outsider-org',
    });
  });

  it('reads the email from the People API when the event has none', async () => {
    const { people, policy } = setUp({ allowedOrgIds: ['*'], allowedEmailDomains: ['example.com'] });
    people.people.set(ANA, { orgId: OWN_ORG, emails: ['ana@example.com', 'ana@gmail.com'] });
    people.people.set(BO, { orgId: OWN_ORG, emails: ['bo@gmail.com', 'bo@example.com'] });
    expect(await policy.check({ personId: ANA })).toMatchObject({ allowed: true });
    expect(await policy.check({ personId: BO })).toMatchObject({ reason: 'email-domain' });
  });
});

describe('PersonPolicy: hostile and missing input fails closed', () => {
  it.each([
    ['garbage', 'not-a-person'],
    ['a huge id', 'Y'.repeat(1_000_000)],
    ['a room id', encodeHydraId('ROOM', ANA)],
    ['an empty id', ''],
    ['a UUID with a NUL', `${ANA}\u0000`],
  ])('refuses %s as person id without a lookup or a notice', async (_label, personId) => {
    const { people, policy } = setUp();
    expect(await policy.check({ personId, orgId: OWN_ORG })).toEqual({
      allowed: false,
      reason: 'person-unverified',
      notify: false,
    });
    expect(people.calls).toEqual([]);
  });

  it('does not trust a malformed orgId or a huge email from the event: it asks the People API', async () => {
    const { people, policy } = setUp({ botOrgId: OWN_ORG, allowedEmailDomains: ['example.com'] });
    people.people.set(ANA, { orgId: OTHER_ORG, emails: ['ana@example.com'] });
    for (const orgId of ['x'.repeat(1_000_000), encodeHydraId('ROOM', OWN_ORG), `${OWN_ORG}0`]) {
      expect(await policy.check({ personId: ANA, orgId, email: 'ana@example.com' })).toMatchObject({
        reason: 'outsider-org',
      });
    }
    people.people.set(BO, { orgId: OWN_ORG, emails: ['bo@gmail.com'] });
    const huge = `bo@${'a'.repeat(1_000_000)}.example.com`;
    expect(await policy.check({ personId: BO, orgId: OWN_ORG, email: huge })).toMatchObject({
      reason: 'email-domain',
    });
    expect(await policy.check({ personId: BO, orgId: OWN_ORG, email: 'not an email' })).toMatchObject({
      reason: 'email-domain',
    });
  });

  it('refuses when the People API fails, does not know the person, or answers nonsense; retries next time', async () => {
    const { people, policy } = setUp({ botOrgId: OWN_ORG, allowedEmailDomains: ['example.com'] });
    people.failing = new Error('connect ECONNREFUSED');
    expect(await policy.check({ personId: ANA })).toMatchObject({
      allowed: false,
      reason: 'person-unverified',
    });
    people.failing = undefined;
    expect(await policy.check({ personId: ANA })).toMatchObject({ reason: 'person-unverified' }); // 404
    people.people.set(ANA, { orgId: 12, emails: 'ana@example.com' });
    expect(await policy.check({ personId: ANA })).toMatchObject({ reason: 'person-unverified' });
    people.people.set(BO, {
      orgId: OWN_ORG,
      emails: [...Array.from({ length: 10_000 }, () => 'junk'), 'bo@example.com'],
    });
    expect(await policy.check({ personId: BO })).toMatchObject({ reason: 'person-unverified' });
    expect(people.lookups()).toBe(4);
  });

  it('refuses while the bot’s own organisation is unknown, and asks again next time', async () => {
    const { people, policy } = setUp();
    people.me = new Error('503');
    expect(await policy.check({ personId: ANA, orgId: OWN_ORG })).toMatchObject({
      reason: 'person-unverified',
    });
    people.me = { emails: ['bot@webex.bot'] };
    expect(await policy.check({ personId: ANA, orgId: OWN_ORG })).toMatchObject({
      reason: 'person-unverified',
    });
    people.me = { orgId: OWN_ORG };
    expect(await policy.check({ personId: ANA, orgId: OWN_ORG })).toMatchObject({ allowed: true });
    expect(people.calls).toEqual(['/people/me', '/people/me', '/people/me']);
  });

  it('gives no notice when the notice log cannot say (never one per message)', async () => {
    const { notices, policy } = setUp({ botOrgId: OWN_ORG });
    notices.failing = true;
    expect(await policy.check({ personId: ANA, orgId: OTHER_ORG })).toEqual({
      allowed: false,
      reason: 'outsider-org',
      notify: false,
    });
  });

  it('stops waiting when the caller’s signal aborts', async () => {
    const { people, policy } = setUp({ botOrgId: OWN_ORG });
    people.people.set(ANA, { orgId: OWN_ORG });
    people.gate = new Promise<void>(() => {});
    const controller = new AbortController();
    const pending = policy.check({ personId: ANA }, controller.signal);
    controller.abort(new Error('turn cancelled'));
    await expect(pending).rejects.toThrow('turn cancelled');
  });
});

describe('helpers', () => {
  it('emailDomain accepts only plausible addresses', () => {
    expect(emailDomain('a.b+c@Sub.Example.COM')).toBe('sub.example.com');
    for (const bad of ['', 'a@', '@example.com', 'a@b', 'a b@example.com', 'a@@example.com', 42, undefined]) {
      expect(emailDomain(bad)).toBeUndefined();
    }
  });
});
