import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { MASK, scrubText, secretForms } from '../../src/scrub.js';
import { startupFailureMessage } from '../../src/startup-failure.js';
import { captureLog } from '../helpers/capture.js';

const MONGO_PASSWORD = 'p@ss"w\\rd/42';
const MONGODB_URI = `mongodb+srv://bot-user:${encodeURIComponent(MONGO_PASSWORD)}@cluster0.example.net/caipe?retryWrites=false`;
const SECRET_WITH_QUOTES = 'sk-"quoted"\\secret-0001';

describe('secret scrubbing', () => {
  it('masks a secret JSON-escaped, twice-escaped and URL-encoded, not only as written', () => {
    const forms = secretForms([SECRET_WITH_QUOTES]);
    const once = JSON.stringify({ body: SECRET_WITH_QUOTES });
    const twice = JSON.stringify({ error: JSON.stringify({ token: SECRET_WITH_QUOTES }) });
    const encoded = `https://api.example/cb?secret=${encodeURIComponent(SECRET_WITH_QUOTES)}`;
    for (const text of [once, twice, encoded, `raw ${SECRET_WITH_QUOTES}`]) {
      const out = scrubText(text, forms);
      expect(out).toContain(MASK);
      expect(out).not.toContain('quoted');
    }
  });

  it('masks the password of MONGODB_URI wherever it shows, and the user info of any URI', () => {
    const forms = secretForms([MONGODB_URI]);
    for (const text of [
      `MongoServerSelectionError: connection to ${MONGODB_URI} failed`,
      `authentication failed for password ${MONGO_PASSWORD}`,
      JSON.stringify({ msg: `auth with ${MONGO_PASSWORD}` }),
      `uri mongodb://bot-user:${encodeURIComponent(MONGO_PASSWORD)}@other-host:27017/caipe`,
    ]) {
      const out = scrubText(text, forms);
      expect(out).not.toContain(MONGO_PASSWORD);
      expect(out).not.toContain(encodeURIComponent(MONGO_PASSWORD));
      expect(out).not.toContain('rd/42');
    }
    // Not configured as a secret: still masked by its shape.
    expect(scrubText('proxy http://alice:hunter2@proxy.local:3128 refused', [])).toBe(
      `proxy http://alice:${MASK}@proxy.local:3128 refused`,
    );
    expect(scrubText('clone https://ghp_abcdef123456@github.com/x', [])).toBe(
      `clone https://${MASK}@github.com/x`,
    );
    expect(scrubText('Authorization: Bearer abc.def-ghi', [])).toBe(`Authorization: Bearer ${MASK}`);
    expect(scrubText('mail bob@example.com about http://example.com/a@b', [])).toBe(
      'mail bob@example.com about http://example.com/a@b',
    );
  });

  it('the logger applies it to every line', () => {
    const capture = captureLog();
    const log = createLogger({
      level: 'info',
      secrets: [MONGODB_URI, SECRET_WITH_QUOTES],
      destination: capture.destination,
    });
    log.warn({ err: new Error(`bad auth: ${MONGO_PASSWORD}`) }, 'mongo down');
    log.info({ echoed: `{"k":"${SECRET_WITH_QUOTES}"}` }, 'agent body');
    log.info(`connecting to ${MONGODB_URI}`);
    const text = capture.text();
    expect(text).not.toContain('rd/42');
    expect(text).not.toContain('quoted');
    expect(capture.records()).toHaveLength(3);
  });
});

describe('startupFailureMessage', () => {
  it('names the error, its code and causes, with secrets masked and no stack', () => {
    const cause = new Error(`connect to ${MONGODB_URI} refused`);
    const error = Object.assign(new Error('store did not open', { cause }), { code: 'STORE_X' });
    const message = startupFailureMessage(error, [MONGODB_URI]);
    expect(message).toMatch(
      /^Error \[STORE_X\]: store did not open\n {2}caused by Error: connect to mongodb\+srv:\/\/bot-user:\[redacted\]@cluster0/,
    );
    expect(message).not.toContain(encodeURIComponent(MONGO_PASSWORD));
    expect(message).not.toMatch(/\n\s+at /);
  });

  it('stays bounded for huge messages and deep or circular causes', () => {
    const error = new Error('x'.repeat(100_000));
    (error as { cause?: unknown }).cause = error;
    const message = startupFailureMessage(error, []);
    expect(message.length).toBeLessThanOrEqual(2_001);
    expect(startupFailureMessage('plain string', [])).toBe('plain string');
  });
});
