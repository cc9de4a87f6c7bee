import { describe, expect, it } from 'vitest';
import { MemoryActiveRooms } from '../../../src/adapters/store/memory.js';
import type { ActiveRoom, ActiveRooms } from '../../../src/adapters/store/ports.js';
import {
  CATCH_UP_DEFAULTS,
  catchUpEvent,
  catchUpSettings,
  RecentRooms,
} from '../../../src/adapters/webex/catch-up.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const botUuid = '0b0b0b0b-0000-4000-8000-000000000001';
const self = { userId: botUuid, personId: encodeHydraId('PEOPLE', botUuid) };
const adaUuid = 'ada00000-0000-4000-8000-000000000002';
const messageUuid = 'a1a1a1a1-0000-4000-8000-000000000003';
const cluster = 'urn:TEAM:eu-central-1_k';

describe('RecentRooms', () => {
  it('lists rooms newest activity first and forgets them after the TTL', async () => {
    const clock = new ManualClock(1_000_000);
    const rooms = new RecentRooms({ roomTtlMs: 60_000, maxTrackedRooms: 10 }, clock);
    rooms.touch('r1', 'direct', clock.now());
    await clock.advance(10_000);
    rooms.touch('r2', 'group', clock.now());
    await clock.advance(10_000);
    rooms.touch('r1', 'direct', clock.now());
    expect(rooms.recent(10).map((r) => r.roomId)).toEqual(['r1', 'r2']);
    expect(rooms.recent(1).map((r) => r.roomId)).toEqual(['r1']);
    await clock.advance(50_001);
    expect(rooms.recent(10).map((r) => r.roomId)).toEqual(['r1']);
    await clock.advance(10_000);
    expect(rooms.recent(10)).toEqual([]);
    expect(rooms.size).toBe(0);
  });

  it('keeps at most maxTrackedRooms, dropping the least recently active', async () => {
    const clock = new ManualClock(1_000_000);
    const rooms = new RecentRooms({ roomTtlMs: 60_000, maxTrackedRooms: 2 }, clock);
    const t = clock.now();
    rooms.touch('r1', 'direct', t + 1);
    rooms.touch('r2', 'direct', t + 2);
    rooms.touch('r1', 'direct', t + 3);
    rooms.touch('r3', 'direct', t + 4);
    expect(rooms.size).toBe(2);
    expect(rooms.recent(10).map((r) => r.roomId)).toEqual(['r3', 'r1']);
  });

  it('never moves a room back in time', async () => {
    const clock = new ManualClock(100);
    const rooms = new RecentRooms({ roomTtlMs: 1_000, maxTrackedRooms: 2 }, clock);
    rooms.touch('r1', 'direct', 90);
    rooms.touch('r1', 'direct', 50);
    expect(rooms.recent(1)[0]?.lastEventAt).toBe(90);
  });
});

describe('RecentRooms kept in the store', () => {
  /** Records every write, and can be made to fail. */
  function recordingStore(): ActiveRooms & { writes: ActiveRoom[]; fail: boolean } {
    const inner = new MemoryActiveRooms();
    const store = {
      writes: [] as ActiveRoom[],
      fail: false,
      touch: async (room: ActiveRoom) => {
        if (store.fail) throw new Error('store down');
        store.writes.push(room);
        await inner.touch(room);
      },
      recent: (since: number, limit: number) =>
        store.fail ? Promise.reject(new Error('store down')) : inner.recent(since, limit),
    };
    return store;
  }

  it('writes a room at most every 30 s, at once when durable, and keeps the latest time', async () => {
    const clock = new ManualClock(1_000_000);
    const store = recordingStore();
    const errors: string[] = [];
    const rooms = new RecentRooms({ roomTtlMs: 3_600_000, maxTrackedRooms: 10 }, clock, {
      store,
      onError: (_, operation) => void errors.push(operation),
    });
    rooms.touch('r1', 'direct', clock.now());
    await clock.advance(10_000);
    rooms.touch('r1', 'direct', clock.now());
    await rooms.flush();
    expect(store.writes.map((w) => w.lastEventAt)).toEqual([1_000_000]);
    rooms.touch('r1', 'direct', clock.now(), { durable: true });
    await clock.advance(30_000);
    rooms.touch('r1', 'direct', clock.now());
    await rooms.flush();
    expect(store.writes.map((w) => w.lastEventAt)).toEqual([1_000_000, 1_010_000, 1_040_000]);
    expect(await store.recent(0, 10)).toEqual([{ roomId: 'r1', roomType: 'direct', lastEventAt: 1_040_000 }]);

    // A failed write is logged, and the room is written again at its next event.
    store.fail = true;
    await clock.advance(30_000);
    rooms.touch('r1', 'direct', clock.now());
    await rooms.flush();
    expect(errors).toEqual(['touch']);
    store.fail = false;
    rooms.touch('r1', 'direct', clock.now() + 1);
    await rooms.flush();
    expect(store.writes.at(-1)?.lastEventAt).toBe(1_070_001);
  });

  it('loads what a previous process recorded once, within the TTL, and survives a failed read', async () => {
    const clock = new ManualClock(1_000_000);
    const store = recordingStore();
    await store.touch({ roomId: 'old', roomType: 'group', lastEventAt: clock.now() - 120_000 });
    await store.touch({ roomId: 'r2', roomType: 'group', lastEventAt: clock.now() - 20_000 });
    await store.touch({ roomId: 'r1', roomType: 'direct', lastEventAt: clock.now() - 10_000 });
    const settings = { roomTtlMs: 60_000, maxTrackedRooms: 10 };
    const rooms = new RecentRooms(settings, clock, { store, onError: () => {} });
    expect(await rooms.load()).toBe(2);
    expect(await rooms.load()).toBe(2);
    expect(rooms.recent(10).map((r) => [r.roomId, r.roomType])).toEqual([
      ['r1', 'direct'],
      ['r2', 'group'],
    ]);

    store.fail = true;
    const errors: string[] = [];
    const unlucky = new RecentRooms(settings, clock, { store, onError: (_, op) => void errors.push(op) });
    unlucky.touch('fresh', 'direct', clock.now());
    expect(await unlucky.load()).toBe(0);
    expect(errors).toContain('load');
    expect(unlucky.recent(10).map((r) => r.roomId)).toEqual(['fresh']);
  });
});

describe('catchUpSettings', () => {
  it('keeps rooms no longer than the dedupe remembers what the window can list', async () => {
    expect(catchUpSettings(3_600_000).roomTtlMs).toBe(3_600_000 - CATCH_UP_DEFAULTS.skewMs);
    expect(catchUpSettings(86_400_000).roomTtlMs).toBe(CATCH_UP_DEFAULTS.roomTtlMs);
    expect(catchUpSettings(3_600_000, { maxRooms: 3 }).maxRooms).toBe(3);
  });
});

describe('catchUpEvent', () => {
  const room = { roomId: encodeHydraId('ROOM', 'room-uuid', cluster), roomType: 'group' as const };

  it('gives a listed message the socket activity id (the UUID inside its Hydra id)', async () => {
    const item = catchUpEvent(
      {
        id: encodeHydraId('MESSAGE', messageUuid, cluster),
        roomId: room.roomId,
        roomType: 'group',
        text: 'CAIPE status?',
        html: '<p><spark-mention>CAIPE</spark-mention> status?</p>',
        personId: encodeHydraId('PEOPLE', adaUuid),
        personEmail: 'ada@example.com',
        mentionedPeople: [self.personId],
        mentionedGroups: ['all'],
        created: '2026-01-01T00:00:00.000Z',
      },
      room,
      self,
      42,
    );
    expect(item).toEqual({
      event: {
        kind: 'message',
        activityId: messageUuid,
        roomId: room.roomId,
        roomType: 'group',
        messageId: encodeHydraId('MESSAGE', messageUuid, cluster),
        person: { id: encodeHydraId('PEOPLE', adaUuid), email: 'ada@example.com' },
        text: 'CAIPE status?',
        html: '<p><spark-mention>CAIPE</spark-mention> status?</p>',
        mentionedPeople: [self.personId, 'all'],
        files: false,
        receivedAt: 42,
      },
    });
  });

  it('keeps thread replies and files', async () => {
    const parentId = encodeHydraId('MESSAGE', 'root-uuid', cluster);
    const item = catchUpEvent(
      {
        id: encodeHydraId('MESSAGE', messageUuid, cluster),
        parentId,
        text: 'see file',
        files: ['https://example.com/f'],
        personId: encodeHydraId('PEOPLE', adaUuid),
      },
      room,
      self,
      1,
    );
    expect(item).toMatchObject({ event: { parentId, files: true } });
  });

  it('skips the bot’s own messages, by person id or by device user id', async () => {
    const own = { id: encodeHydraId('MESSAGE', messageUuid, cluster), text: 'answer' };
    expect(catchUpEvent({ ...own, personId: self.personId }, room, self, 1)).toMatchObject({ skip: 'own' });
    expect(
      catchUpEvent({ ...own, personId: encodeHydraId('PEOPLE', botUuid, cluster) }, room, self, 1),
    ).toMatchObject({ skip: 'own' });
  });

  it('skips ids that are not Hydra MESSAGE ids', async () => {
    expect(catchUpEvent({ id: messageUuid }, room, self, 1)).toMatchObject({ skip: 'malformed' });
    expect(catchUpEvent({ id: encodeHydraId('ROOM', messageUuid) }, room, self, 1)).toMatchObject({
      skip: 'malformed',
    });
  });
});
