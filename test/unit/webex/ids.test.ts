import { describe, expect, it } from 'vitest';
import {
  clusterFromCatalogId,
  decodeHydraId,
  encodeHydraId,
  isUuid,
} from '../../../src/adapters/webex/ids.js';

// Literal vector from the reference (caipe-webex-bot.md): a room in the original US cluster.
const ROOM_UUID = '6f91b070-531a-11f1-926d-6fd3c20dfdc4';
const ROOM_ID = 'Y2lzY29zcGFyazovL3VzL1JPT00vNmY5MWIwNzAtNTMxYS0xMWYxLTkyNmQtNmZkM2MyMGRmZGM0';

describe('Hydra ids', () => {
  it('When a room UUID is encoded for the US cluster, Then it is the literal unpadded Y2lz… id', () => {
    expect(encodeHydraId('ROOM', ROOM_UUID)).toBe(ROOM_ID);
    expect(encodeHydraId('ROOM', ROOM_UUID, 'us')).toBe(ROOM_ID);
  });

  it('When the literal id is decoded, Then cluster, type and uuid come back', () => {
    expect(decodeHydraId(ROOM_ID)).toEqual({ cluster: 'us', type: 'ROOM', uuid: ROOM_UUID });
  });

  it('When the id is padded or written in standard base64, Then it still decodes', () => {
    // 59 bytes of input, so standard base64 ends in one '=' that Hydra ids leave out.
    const padded = Buffer.from(`ciscospark://us/PEOPLE/${ROOM_UUID}`).toString('base64');
    expect(padded.endsWith('=')).toBe(true);
    expect(encodeHydraId('PEOPLE', ROOM_UUID)).toBe(padded.replace(/=+$/, ''));
    expect(decodeHydraId(padded)).toEqual({ cluster: 'us', type: 'PEOPLE', uuid: ROOM_UUID });
    expect(decodeHydraId(padded.replace(/=+$/, ''))).toEqual({
      cluster: 'us',
      type: 'PEOPLE',
      uuid: ROOM_UUID,
    });
  });

  it('When the cluster is a full URN, Then it round-trips with its colons', () => {
    const id = encodeHydraId('MESSAGE', ROOM_UUID, 'urn:TEAM:eu-central-1_k');
    expect(Buffer.from(id, 'base64').toString()).toBe(
      `ciscospark://urn:TEAM:eu-central-1_k/MESSAGE/${ROOM_UUID}`,
    );
    expect(decodeHydraId(id)).toEqual({
      cluster: 'urn:TEAM:eu-central-1_k',
      type: 'MESSAGE',
      uuid: ROOM_UUID,
    });
  });

  it('When the uuid part holds a slash (CONTENT) or a colon (MEMBERSHIP), Then it is kept whole', () => {
    expect(decodeHydraId(encodeHydraId('CONTENT', `${ROOM_UUID}/0`))?.uuid).toBe(`${ROOM_UUID}/0`);
    expect(decodeHydraId(encodeHydraId('MEMBERSHIP', `${ROOM_UUID}:${ROOM_UUID}`))?.uuid).toBe(
      `${ROOM_UUID}:${ROOM_UUID}`,
    );
  });

  it.each([
    ['a raw UUID', ROOM_UUID],
    ['an empty string', ''],
    ['not base64', '!!!not-an-id!!!'],
    ['base64 of another scheme', Buffer.from(`https://us/ROOM/${ROOM_UUID}`).toString('base64url')],
    ['an unknown type', Buffer.from(`ciscospark://us/BANANA/${ROOM_UUID}`).toString('base64url')],
    ['a missing uuid', Buffer.from('ciscospark://us/ROOM/').toString('base64url')],
    ['a number', 42],
    ['undefined', undefined],
  ])('When given %s, Then decode returns undefined without throwing', (_label, input) => {
    expect(decodeHydraId(input)).toBeUndefined();
  });

  it('When catalog ids are mapped, Then the original US cluster is `us` and others keep their URN', () => {
    expect(clusterFromCatalogId('urn:TEAM:us-east-2_a')).toBe('us');
    expect(clusterFromCatalogId('urn:TEAM:us-east-2_a:conversation')).toBe('us');
    expect(clusterFromCatalogId('urn:TEAM:us-east-1_int13:conversation')).toBe('us');
    expect(clusterFromCatalogId('urn:TEAM:eu-central-1_k:conversation')).toBe('urn:TEAM:eu-central-1_k');
    expect(clusterFromCatalogId('urn:TEAM:us-west-2_r')).toBe('urn:TEAM:us-west-2_r');
  });

  it('When checking UUIDs, Then only canonical 8-4-4-4-12 hex strings pass', () => {
    expect(isUuid(ROOM_UUID)).toBe(true);
    expect(isUuid(ROOM_UUID.toUpperCase())).toBe(true);
    expect(isUuid(ROOM_ID)).toBe(false);
    expect(isUuid(`${ROOM_UUID}x`)).toBe(false);
    expect(isUuid(undefined)).toBe(false);
  });
});
