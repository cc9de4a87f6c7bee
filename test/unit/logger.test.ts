import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { captureLog } from '../helpers/capture.js';

const TOKEN = 'NmQ2ZTk0ZTAtYmM0Ny00ZTQ4LWI0ZTItZmFrZS10b2tlbi1mb3ItdGVzdHM';

describe('logger', () => {
  it('writes JSON lines carrying the bound conversation context', () => {
    const capture = captureLog();
    const log = createLogger({ level: 'info', destination: capture.destination });
    log.child({ roomId: 'room-1' }).child({ threadKey: 'thread-1', activityId: 'act-1' }).info('answered');
    expect(capture.records()[0]).toMatchObject({
      level: 'info',
      msg: 'answered',
      roomId: 'room-1',
      threadKey: 'thread-1',
      activityId: 'act-1',
    });
  });

  it('never lets the bot token or an Authorization value reach the output', () => {
    const capture = captureLog();
    const log = createLogger({ level: 'debug', secrets: [TOKEN], destination: capture.destination });
    log.info({ headers: { authorization: `Bearer ${TOKEN}` } }, 'request');
    log.info({ request: { headers: { Authorization: 'Bearer some-other-credential' } } }, 'nested');
    log.warn({ err: new Error(`handshake failed for token ${TOKEN}`) }, 'socket error');
    log.debug(`frame {"type":"authorization","data":{"token":"Bearer ${TOKEN}"}}`);
    log.info({ token: TOKEN, clientSecret: 'client-secret-value' }, 'config');
    const text = capture.text();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('some-other-credential');
    expect(text).not.toContain('client-secret-value');
    expect(capture.lines).toHaveLength(5);
    expect(text).toContain('[redacted]');
  });
});
