/** The settings of "Who may use the bot" and the answer bound (SPEC §2). */
import { describe, expect, it } from 'vitest';
import { encodeHydraId } from '../../src/adapters/webex/ids.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const base = { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'bot-token-for-tests-0123456789' };
const ORG = '1eb65fdf-9643-417f-9974-ad72cae0e10f';

function problem(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('WEBEX_ALLOWED_ORG_IDS, WEBEX_ALLOWED_EMAIL_DOMAINS, AGENT_MAX_ANSWER_CHARS', () => {
  it('defaults: the bot’s own organisation (unset), any email domain, 30000 characters', () => {
    const config = loadConfig(base);
    expect(config.allowedOrgIds).toBeUndefined();
    expect(config.allowedEmailDomains).toBeUndefined();
    expect(config.agentMaxAnswerChars).toBe(30_000);
  });

  it('takes raw UUIDs and Y2lz… organisation ids, or * alone', () => {
    const publicId = encodeHydraId('ORGANIZATION', ORG);
    expect(
      loadConfig({ ...base, WEBEX_ALLOWED_ORG_IDS: ` ${ORG.toUpperCase()} , ${publicId}` }).allowedOrgIds,
    ).toEqual([ORG.toUpperCase(), publicId]);
    expect(loadConfig({ ...base, WEBEX_ALLOWED_ORG_IDS: '*' }).allowedOrgIds).toEqual(['*']);
  });

  it('refuses what is not an organisation id, * mixed with ids, and lists too long to be meant', () => {
    expect(problem({ WEBEX_ALLOWED_ORG_IDS: 'acme' })).toMatch(
      /WEBEX_ALLOWED_ORG_IDS: expected organisation ids/,
    );
    expect(problem({ WEBEX_ALLOWED_ORG_IDS: encodeHydraId('ROOM', ORG) })).toMatch(/organisation ids/);
    expect(problem({ WEBEX_ALLOWED_ORG_IDS: `*,${ORG}` })).toMatch(/must stand alone/);
    expect(problem({ WEBEX_ALLOWED_ORG_IDS: ',,' })).toMatch(/1 to 100/);
    expect(problem({ WEBEX_ALLOWED_ORG_IDS: Array(101).fill(ORG).join(',') })).toMatch(/1 to 100/);
    expect(problem({ WEBEX_ALLOWED_ORG_IDS: 'x'.repeat(100_000) }).length).toBeLessThan(300);
  });

  it('reads email domains lower-cased, a leading @ allowed', () => {
    expect(
      loadConfig({ ...base, WEBEX_ALLOWED_EMAIL_DOMAINS: 'Example.COM, @partner.example' })
        .allowedEmailDomains,
    ).toEqual(['example.com', 'partner.example']);
    expect(problem({ WEBEX_ALLOWED_EMAIL_DOMAINS: 'bob@example.com' })).toMatch(/email domains like/);
    expect(problem({ WEBEX_ALLOWED_EMAIL_DOMAINS: 'localhost' })).toMatch(/email domains like/);
    expect(problem({ WEBEX_ALLOWED_EMAIL_DOMAINS: '*.example.com' })).toMatch(/email domains like/);
  });

  it('bounds AGENT_MAX_ANSWER_CHARS', () => {
    expect(loadConfig({ ...base, AGENT_MAX_ANSWER_CHARS: '5000' }).agentMaxAnswerChars).toBe(5_000);
    expect(problem({ AGENT_MAX_ANSWER_CHARS: '10' })).toMatch(/AGENT_MAX_ANSWER_CHARS/);
    expect(problem({ AGENT_MAX_ANSWER_CHARS: '2000000' })).toMatch(/AGENT_MAX_ANSWER_CHARS/);
  });
});
