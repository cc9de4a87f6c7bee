import { describe, expect, it } from 'vitest';
import type { AgentErrorKind } from '../../../src/errors.js';
import { agentFailureMessage, messages } from '../../../src/render/messages.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('messages', () => {
  it('has a short, non-empty text for every fixed message', () => {
    for (const [name, value] of Object.entries(messages)) {
      if (typeof value !== 'string') continue;
      expect(value.trim().length, name).toBeGreaterThan(0);
      expect(bytes(value), name).toBeLessThan(400);
    }
  });

  it('posts the working message the product has always posted', () => {
    expect(messages.working).toBe('⏳ Working on it...');
    expect(messages.workingHeader('1m 05s')).toBe('🔄 Working… (1m 05s)');
    expect(messages.authorizeCardButton).toBe('Connect to CAIPE');
  });

  it('lists every command in the help, with the mention in group spaces', () => {
    const group = messages.help({ botName: 'CAIPE Bot', group: true });
    for (const command of ['help', 'reset', 'new', 'cancel', 'stop', 'authorize', 'auth']) {
      expect(group).toContain(`\`@CAIPE Bot ${command}\``);
    }
    const direct = messages.help({ botName: 'CAIPE Bot', group: false });
    expect(direct).toContain('`reset`');
    expect(direct).not.toContain('@CAIPE Bot');
  });

  it('tells an unauthorized space how to authorize', () => {
    expect(messages.unauthorizedSpace('CAIPE')).toContain('`@CAIPE authorize`');
    expect(messages.hello({ botName: 'CAIPE', authorized: false })).toContain('`@CAIPE authorize`');
    expect(messages.hello({ botName: 'CAIPE', authorized: true })).not.toContain('authorize');
  });

  it('explains the admin API for the embedded store, with the room id and no secret', () => {
    const text = messages.authorizeWithAdminApi({
      roomId: 'Y2lzY29zcGFyazovL3VzL1JPT00vYWJj',
      spaceName: "Team's room",
      adminBaseUrl: 'http://bot:8080/',
      adminApiEnabled: false,
    });
    expect(text).toContain('curl -X PUT "http://bot:8080/admin/spaces/Y2lzY29zcGFyazovL3VzL1JPT00vYWJj"');
    expect(text).toContain('Bearer $ADMIN_API_TOKEN');
    expect(text).toContain('{"spaceName":"Teams room"}');
    expect(text).toContain('`ADMIN_API_TOKEN`');
    expect((text.match(/```/g) ?? []).length).toBe(2);
    const enabled = messages.authorizeWithAdminApi({
      roomId: 'r',
      adminBaseUrl: 'http://b',
      adminApiEnabled: true,
    });
    expect(enabled).not.toContain('is off');
  });

  it('answers each agent failure specifically', () => {
    const kinds: AgentErrorKind[] = [
      'unreachable',
      'http',
      'jsonrpc',
      'not-sse',
      'stream-cut',
      'idle-timeout',
      'bad-event',
      'task-failed',
      'unauthorized',
    ];
    for (const kind of kinds) {
      const text = agentFailureMessage('jira', {
        kind,
        status: 502,
        detail: 'Quota exceeded',
        silentFor: '5m 00s',
      });
      expect(text, kind).toContain('jira');
    }
    expect(agentFailureMessage('jira', { kind: 'unreachable' })).toMatch(/could not reach/);
    expect(agentFailureMessage('jira', { kind: 'http', status: 503 })).toContain('HTTP 503');
    expect(agentFailureMessage('jira', { kind: 'stream-cut' })).toMatch(/dropped/);
    expect(agentFailureMessage('jira', { kind: 'idle-timeout', silentFor: '5m 00s' })).toContain('5m 00s');
    expect(agentFailureMessage('jira', { kind: 'task-failed', detail: 'Quota exceeded' })).toContain(
      'Quota exceeded',
    );
    expect(agentFailureMessage('jira', { kind: 'task-failed' })).toMatch(/could not finish/);
  });

  it('flattens and caps an agent error quoted back to the user', () => {
    const text = messages.agentFailed('jira', `line one\n\n\`\`\`\n${'x'.repeat(5000)}`);
    expect(text.includes('\n')).toBe(false);
    expect(text.length).toBeLessThan(700);
    expect(text.endsWith('…')).toBe(true);
  });

  it('words the queue and feedback notices', () => {
    expect(messages.queued(1)).toMatch(/as soon as/);
    expect(messages.queued(3)).toContain('2 messages are ahead');
    expect(messages.feedbackThanks(true)).not.toBe(messages.feedbackThanks(false));
    expect(messages.shuttingDown).toMatch(/restarting/);
  });

  it('says the turn deadline as configured, never more than it was', () => {
    expect(messages.turnTimedOut(10)).toContain('longer than 10 seconds');
    expect(messages.turnTimedOut(90)).toContain('longer than 90 seconds');
    expect(messages.turnTimedOut(60)).toContain('longer than 1 minute,');
    expect(messages.turnTimedOut(1800)).toContain('longer than 30 minutes');
    expect(messages.turnTimedOut(7200)).toContain('longer than 2 hours');
  });
});
