import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_MAX_MS,
  backoffDelayMs,
  type CloseReaction,
  classifyClose,
  notReadyExplanation,
  type SocketCloseInfo,
} from '../../../src/machines/close-policy.js';

describe('close-code policy (webex-protocol.md §3.5)', () => {
  const table: Array<[string, SocketCloseInfo, CloseReaction]> = [
    ['1000 idle', { phase: 'open', code: 1000, reason: 'idle' }, { action: 'reconnect', reason: 'recycle' }],
    [
      '1000 Done (forced)',
      { phase: 'open', code: 1000, reason: 'Done (forced)' },
      { action: 'reconnect', reason: 'recycle' },
    ],
    [
      '1050 IDLE (any case)',
      { phase: 'open', code: 1050, reason: 'IDLE' },
      { action: 'reconnect', reason: 'recycle' },
    ],
    [
      '1000 Pong not received',
      { phase: 'open', code: 1000, reason: 'Pong not received' },
      { action: 'reconnect', reason: 'pong-timeout' },
    ],
    [
      '1000 Pong mismatch',
      { phase: 'open', code: 1000, reason: 'Pong mismatch' },
      { action: 'reconnect', reason: 'pong-mismatch' },
    ],
    [
      '1000 other reason',
      { phase: 'open', code: 1000, reason: 'logout' },
      { action: 'notReady', reason: 'closed-by-server' },
    ],
    ['1001', { phase: 'open', code: 1001, reason: '' }, { action: 'reconnect', reason: 'going-away' }],
    ['1005 when open', { phase: 'open', code: 1005 }, { action: 'reconnect', reason: 'abnormal' }],
    [
      '1005 during open (the device is refreshed, not replaced)',
      { phase: 'opening', code: 1005 },
      { action: 'refresh', reason: 'unknown-response' },
    ],
    [
      '1005 "Replaced" is read as 4000',
      { phase: 'open', code: 1005, reason: 'Replaced' },
      { action: 'standDown', reason: 'replaced' },
    ],
    [
      '1005 "authentication failed" is read as 1008',
      { phase: 'opening', code: 1005, reason: 'authentication failed' },
      { action: 'notReady', reason: 'unauthorized' },
    ],
    ['1006', { phase: 'open', code: 1006 }, { action: 'reconnect', reason: 'abnormal' }],
    [
      '1011',
      { phase: 'open', code: 1011, reason: 'unexpected error' },
      { action: 'reconnect', reason: 'server-error' },
    ],
    ['1003', { phase: 'open', code: 1003 }, { action: 'notReady', reason: 'rejected' }],
    [
      '1008',
      { phase: 'opening', code: 1008, reason: 'authentication failed' },
      { action: 'notReady', reason: 'unauthorized' },
    ],
    [
      '4000 Replaced',
      { phase: 'open', code: 4000, reason: 'Replaced' },
      { action: 'standDown', reason: 'replaced' },
    ],
    [
      '4000 replaced (any case)',
      { phase: 'open', code: 4000, reason: 'replaced' },
      { action: 'standDown', reason: 'replaced' },
    ],
    [
      '4000 other',
      { phase: 'open', code: 4000, reason: 'Whatever' },
      { action: 'reconnect', reason: 'unexpected-close' },
    ],
    [
      '4001',
      { phase: 'open', code: 4001, reason: 'Shutdown' },
      { action: 'reconnect', reason: 'switchover' },
    ],
    ['4400', { phase: 'opening', code: 4400 }, { action: 'notReady', reason: 'bad-request' }],
    ['4401', { phase: 'opening', code: 4401 }, { action: 'notReady', reason: 'unauthorized' }],
    ['4403', { phase: 'opening', code: 4403 }, { action: 'notReady', reason: 'forbidden' }],
    ['4404', { phase: 'open', code: 4404 }, { action: 'reregister', reason: 'stale-device' }],
    ['unknown code', { phase: 'open', code: 4999 }, { action: 'reconnect', reason: 'unexpected-close' }],
    [
      'handshake 404',
      { phase: 'handshake', httpStatus: 404 },
      { action: 'reregister', reason: 'stale-device' },
    ],
    [
      'handshake 401',
      { phase: 'handshake', httpStatus: 401 },
      { action: 'notReady', reason: 'unauthorized' },
    ],
    ['handshake 403', { phase: 'handshake', httpStatus: 403 }, { action: 'notReady', reason: 'forbidden' }],
    [
      'handshake 502',
      { phase: 'handshake', httpStatus: 502 },
      { action: 'reconnect', reason: 'handshake-failed' },
    ],
    ['handshake refused', { phase: 'handshake', code: 1006 }, { action: 'reconnect', reason: 'abnormal' }],
    [
      'handshake with no details',
      { phase: 'handshake' },
      { action: 'reconnect', reason: 'handshake-failed' },
    ],
  ];

  it.each(table)('%s', (_name, info, expected) => {
    expect(classifyClose(info)).toEqual(expected);
  });

  it('explains the replaced state in words an operator can act on', () => {
    expect(notReadyExplanation('replaced')).toContain('another process uses this bot token');
    expect(notReadyExplanation('unauthorized')).toContain('WEBEX_INTEGRATION_BOT_ACCESS_TOKEN');
  });
});

describe('backoff', () => {
  it('doubles from 1 s to 32 s without jitter', () => {
    const none = () => 0;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelayMs(n, none))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000, 32000,
    ]);
  });

  it('takes off at most 20 % as jitter, never going under 1 s', () => {
    const most = () => 0.999999;
    expect(backoffDelayMs(0, most)).toBe(1000);
    expect(backoffDelayMs(1, most)).toBe(1600);
    expect(backoffDelayMs(5, most)).toBe(25600);
  });

  it('stays within [max(1 s, 0.8·step), step] for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r) => {
          const delay = backoffDelayMs(attempt, () => r);
          const step = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** Math.min(attempt, 30));
          return delay >= Math.max(1000, Math.floor(0.8 * step)) && delay <= step;
        },
      ),
    );
  });

  it('survives a broken random source', () => {
    expect(backoffDelayMs(3, () => Number.NaN)).toBe(8000);
    expect(backoffDelayMs(-4, () => 2)).toBe(1000);
  });
});
