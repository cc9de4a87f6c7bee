import { describe, expect, it } from 'vitest';
import {
  ackFrame,
  authorizationFrame,
  mercuryUrl,
  parseServerFrame,
  pingFrame,
} from '../../../src/adapters/webex/mercury.js';

describe('mercury wire format', () => {
  it('adds the three query parameters and keeps existing ones', () => {
    const url = new URL(mercuryUrl('wss://mercury.example/v1/apps/wx2/registrations/abc/messages?x=1'));
    expect(Object.fromEntries(url.searchParams)).toEqual({
      x: '1',
      outboundWireFormat: 'text',
      bufferStates: 'true',
      aliasHttpStatus: 'true',
    });
  });

  it('builds authorization, ack and ping frames', () => {
    expect(JSON.parse(authorizationFrame('id1', 'tok'))).toEqual({
      id: 'id1',
      type: 'authorization',
      data: { token: 'Bearer tok' },
    });
    expect(JSON.parse(ackFrame('f1'))).toEqual({ type: 'ack', messageId: 'f1' });
    expect(JSON.parse(pingFrame('p1'))).toEqual({ id: 'p1', type: 'ping' });
  });

  it('classifies server frames', () => {
    expect(
      parseServerFrame('{"id":"a","data":{"eventType":"mercury.buffer_state"},"sequenceNumber":1}'),
    ).toEqual({
      kind: 'ready',
      id: 'a',
      eventType: 'mercury.buffer_state',
      sequenceNumber: 1,
    });
    expect(parseServerFrame('{"id":"p","type":"pong","sequenceNumber":2}')).toEqual({
      kind: 'pong',
      id: 'p',
      sequenceNumber: 2,
    });
    expect(parseServerFrame('{"id":"s","type":"shutdown"}')).toEqual({ kind: 'shutdown', id: 's' });
    expect(
      parseServerFrame('{"id":"e","data":{"eventType":"conversation.activity","activity":{"id":"x"}}}'),
    ).toEqual({ kind: 'activity', id: 'e', activity: { id: 'x' } });
    expect(parseServerFrame('{"id":"t","data":{"eventType":"status.start_typing"}}')).toEqual({
      kind: 'other',
      id: 't',
      eventType: 'status.start_typing',
    });
  });

  it('does not take a typed frame as readiness', () => {
    expect(parseServerFrame('{"type":"weird","data":{"eventType":"mercury.buffer_state"}}').kind).toBe(
      'other',
    );
  });

  it('turns bad input into malformed frames, keeping the id for the ack when there is one', () => {
    expect(parseServerFrame('not json')).toEqual({ kind: 'malformed', problem: 'not JSON' });
    expect(parseServerFrame('[1,2]')).toEqual({ kind: 'malformed', problem: 'not a JSON object' });
    expect(parseServerFrame('null')).toEqual({ kind: 'malformed', problem: 'not a JSON object' });
    expect(
      parseServerFrame('{"id":"q","data":{"eventType":"conversation.activity","activity":"x"}}'),
    ).toEqual({
      kind: 'malformed',
      id: 'q',
      problem: 'conversation.activity without activity',
    });
    expect(parseServerFrame('{"id":7,"sequenceNumber":"3"}')).toEqual({ kind: 'other' });
  });
});
