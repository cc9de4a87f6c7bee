/**
 * The simulator's own Hydra id codec, against the protocol facts (reference §5), and against the
 * bot's codec: the two are written apart, so agreement here means the bot matches Webex's format
 * rather than the simulator matching the bot.
 */
import { describe, expect, it } from 'vitest';
import { decodeHydraId, encodeHydraId } from '../../src/adapters/webex/ids.js';
import { hydraId, readHydraId } from '../../src/simulator/webex/hydra-ids.js';

const UUID = '54191e15-191b-44fe-9fc8-0a99f1c0d163';

describe('simulator Hydra ids', () => {
  it('issues unpadded URL-safe base64 of ciscospark://<cluster>/<TYPE>/<uuid>', () => {
    const id = hydraId('ROOM', UUID, 'urn:TEAM:eu-central-1_k');
    expect(id).not.toMatch(/[=+/]/);
    expect(Buffer.from(id, 'base64url').toString()).toBe(`ciscospark://urn:TEAM:eu-central-1_k/ROOM/${UUID}`);
    // The original US cluster is the literal `us`.
    expect(Buffer.from(hydraId('PEOPLE', UUID), 'base64url').toString()).toBe(
      `ciscospark://us/PEOPLE/${UUID}`,
    );
  });

  it('reads padded and standard-alphabet forms; refuses other schemes, kinds and junk', () => {
    const padded = Buffer.from(`ciscospark://us/MESSAGE/${UUID}`).toString('base64');
    expect(readHydraId(padded)).toEqual({ cluster: 'us', kind: 'MESSAGE', inner: UUID });
    expect(readHydraId(Buffer.from(`webex://us/MESSAGE/${UUID}`).toString('base64url'))).toBeUndefined();
    expect(
      readHydraId(Buffer.from(`ciscospark://us/SPACESHIP/${UUID}`).toString('base64url')),
    ).toBeUndefined();
    expect(readHydraId(UUID)).toBeUndefined();
    expect(readHydraId('x'.repeat(600))).toBeUndefined();
    expect(readHydraId(42)).toBeUndefined();
  });

  it("agrees with the bot's codec in both directions", () => {
    const cluster = 'urn:TEAM:eu-central-1_k';
    expect(encodeHydraId('ROOM', UUID, cluster)).toBe(hydraId('ROOM', UUID, cluster));
    expect(decodeHydraId(hydraId('MESSAGE', UUID, cluster))).toMatchObject({
      cluster,
      type: 'MESSAGE',
      uuid: UUID,
    });
    expect(readHydraId(encodeHydraId('PEOPLE', UUID))).toEqual({
      cluster: 'us',
      kind: 'PEOPLE',
      inner: UUID,
    });
  });
});
