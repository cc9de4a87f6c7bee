/**
 * How a registry document from MongoDB is read, whoever wrote it (the CAIPE UI knows nothing of
 * `agentId`): old documents without the field load; an agent id is kept only as a bounded string,
 * so one CAIPE would refuse still fails the space's turns instead of going to the default agent.
 */
import { describe, expect, it } from 'vitest';
import { spaceFromDoc } from '../../../src/adapters/store/mongo.js';

const ROOM = 'Y2lzY29zcGFyazovL3VzL1JPT00vNmY5MWIwNzAtNTMxYS0xMWYxLTkyNmQtNmZkM2MyMGRmZGM0';

describe('spaceFromDoc', () => {
  it('reads a document the CAIPE UI wrote (no agentId) as a space without an agent', () => {
    const record = spaceFromDoc({ roomId: ROOM, status: 'active', authorizedBy: 'ana@example.com' });
    expect(record).toEqual({ roomId: ROOM, status: 'active', authorizedBy: 'ana@example.com' });
  });

  it('keeps a named agent', () => {
    expect(spaceFromDoc({ roomId: ROOM, status: 'active', agentId: 'ops-agent' }).agentId).toBe('ops-agent');
  });

  it.each([
    ['null', null],
    ['an empty string', ''],
    ['a number', 42],
    ['an object', { $ne: '' }],
  ])('treats %s as no agent', (_label, agentId) => {
    // biome-ignore lint/suspicious/noExplicitAny: hostile documents are not of the declared type
    expect(spaceFromDoc({ roomId: ROOM, status: 'active', agentId } as any)).not.toHaveProperty('agentId');
  });

  it('bounds a huge agent id so that it still reads as one CAIPE refuses', () => {
    const record = spaceFromDoc({ roomId: ROOM, status: 'active', agentId: 'a'.repeat(1_000_000) });
    expect(record.agentId!.length).toBeLessThanOrEqual(200);
    expect(record.agentId!.length).toBeGreaterThan(128);
  });
});
