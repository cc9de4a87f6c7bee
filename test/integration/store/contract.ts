/**
 * One behaviour contract for every store adapter (memory, embedded, MongoDB). Each adapter's
 * test file calls `describeStoreContract` with a factory; time is a ManualClock the factory
 * hands to the adapter, so expiry is tested without waiting.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LeaseInputError,
  MAX_LEASE_KEY_BYTES,
  MAX_LEASE_OWNER_BYTES,
} from '../../../src/adapters/store/lease-input.js';
import type {
  ActiveRooms,
  ConversationRecord,
  ConversationStore,
  EventClaims,
  LeaseStore,
  NoticeLog,
  OwnPostEchoes,
  PendingMessages,
  RunningTurnRecord,
  SpaceRegistry,
} from '../../../src/adapters/store/ports.js';
import { roomIdForms } from '../../../src/adapters/store/space-authorization.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { ManualClock, SIM_EPOCH } from '../../helpers/manual-clock.js';

export interface StoreUnderTest {
  spaces: SpaceRegistry;
  conversations: ConversationStore;
  claims: EventClaims;
  rooms: ActiveRooms;
  notices: NoticeLog;
  echoes: OwnPostEchoes;
  pending: PendingMessages;
  leases: LeaseStore;
  close(): Promise<void>;
}

export interface StoreContractOptions {
  /** Claims expire on the injected clock (the memory adapter uses its own monotonic timer). */
  claimsFollowClock: boolean;
  /** Conversations are forgotten after the retention period (persistent adapters only). */
  conversationRetentionMs?: number;
}

export type StoreFactory = (context: { clock: ManualClock }) => Promise<StoreUnderTest>;

export const ROOM_UUID = '6f91b070-531a-11f1-926d-6fd3c20dfdc4';
export const ROOM_PUBLIC_ID = encodeHydraId('ROOM', ROOM_UUID);
const OTHER_UUID = '0b7e0a52-9d1c-4c5e-8a7e-3f7f4a1c2d90';

export function describeStoreContract(
  name: string,
  factory: StoreFactory,
  options: StoreContractOptions,
): void {
  describe(`store contract: ${name}`, () => {
    let clock: ManualClock;
    let store: StoreUnderTest;

    beforeEach(async () => {
      clock = new ManualClock(SIM_EPOCH);
      store = await factory({ clock });
    });

    afterEach(async () => {
      await store.close();
    });

    describe('space registry', () => {
      it('authorizes a space and finds it by either id form', async () => {
        await clock.advance(1234);
        const record = await store.spaces.authorize({
          roomId: ROOM_PUBLIC_ID,
          spaceName: 'Platform team',
          authorizedBy: 'ana@example.com',
          listenMode: 'all',
        });
        expect(record).toEqual({
          roomId: ROOM_PUBLIC_ID,
          spaceName: 'Platform team',
          status: 'active',
          authorizedBy: 'ana@example.com',
          authorizedAt: new Date(clock.now()),
          listenMode: 'all',
        });
        expect(await store.spaces.find(roomIdForms(ROOM_UUID))).toEqual(record);
        expect(await store.spaces.find(roomIdForms(ROOM_PUBLIC_ID))).toEqual(record);
      });

      it('finds a space an admin stored under its raw UUID by the public id', async () => {
        await store.spaces.authorize({ roomId: ROOM_UUID, authorizedBy: 'admin-api' });
        expect(await store.spaces.find(roomIdForms(ROOM_PUBLIC_ID))).toMatchObject({
          roomId: ROOM_UUID,
          status: 'active',
        });
      });

      it('knows nothing of an unknown room', async () => {
        await store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'ana@example.com' });
        expect(await store.spaces.find(roomIdForms(OTHER_UUID))).toBeUndefined();
        expect(await store.spaces.find([])).toBeUndefined();
        expect(await store.spaces.revoke(roomIdForms(OTHER_UUID), 'admin-api')).toBe(false);
      });

      it('revokes every id form and records who and when', async () => {
        await store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'ana@example.com' });
        await clock.advance(60_000);
        expect(await store.spaces.revoke(roomIdForms(ROOM_UUID), 'admin-api')).toBe(true);
        expect(await store.spaces.find(roomIdForms(ROOM_UUID))).toMatchObject({
          roomId: ROOM_PUBLIC_ID,
          status: 'revoked',
          revokedBy: 'admin-api',
          revokedAt: new Date(clock.now()),
          authorizedBy: 'ana@example.com',
        });
        // Revoking again is not an error: the space is known.
        expect(await store.spaces.revoke([ROOM_PUBLIC_ID], 'admin-api')).toBe(true);
      });

      it('re-authorizing a revoked space clears the revocation and keeps name and listen mode', async () => {
        await store.spaces.authorize({
          roomId: ROOM_PUBLIC_ID,
          spaceName: 'Ops',
          authorizedBy: 'ana@example.com',
          listenMode: 'message',
        });
        await store.spaces.revoke([ROOM_PUBLIC_ID], 'bo@example.com');
        await clock.advance(5_000);
        const again = await store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'admin-api' });
        expect(again).toEqual({
          roomId: ROOM_PUBLIC_ID,
          spaceName: 'Ops',
          status: 'active',
          authorizedBy: 'admin-api',
          authorizedAt: new Date(clock.now()),
          listenMode: 'message',
        });
        expect(await store.spaces.find([ROOM_PUBLIC_ID])).toEqual(again);
      });

      it('keeps a space’s agent until an authorization names another, and forgets it on null', async () => {
        const first = await store.spaces.authorize({
          roomId: ROOM_PUBLIC_ID,
          authorizedBy: 'admin-api',
          agentId: 'platform-agent',
        });
        expect(first.agentId).toBe('platform-agent');
        // Revoked and authorized again without naming the agent: it is kept.
        await store.spaces.revoke([ROOM_PUBLIC_ID], 'admin-api');
        await store.spaces.authorize({
          roomId: ROOM_PUBLIC_ID,
          authorizedBy: 'admin-api',
          listenMode: 'all',
        });
        expect(await store.spaces.find(roomIdForms(ROOM_UUID))).toMatchObject({
          status: 'active',
          listenMode: 'all',
          agentId: 'platform-agent',
        });
        await store.spaces.authorize({
          roomId: ROOM_PUBLIC_ID,
          authorizedBy: 'admin-api',
          agentId: 'incident-agent',
        });
        expect((await store.spaces.list())[0]?.agentId).toBe('incident-agent');
        const cleared = await store.spaces.authorize({
          roomId: ROOM_PUBLIC_ID,
          authorizedBy: 'admin-api',
          agentId: null,
        });
        expect(cleared).not.toHaveProperty('agentId');
        expect(await store.spaces.find([ROOM_PUBLIC_ID])).not.toHaveProperty('agentId');
        expect(await store.spaces.find([ROOM_PUBLIC_ID])).toMatchObject({
          status: 'active',
          listenMode: 'all',
        });
      });

      it('keeps one entry per roomId, also under concurrent authorizations', async () => {
        await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: `user${i}@example.com` }),
          ),
        );
        await store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'ana@example.com' });
        const entries = (await store.spaces.list()).filter((s) => s.roomId === ROOM_PUBLIC_ID);
        expect(entries).toHaveLength(1);
        expect(entries[0]?.authorizedBy).toBe('ana@example.com');
      });

      it('lists active and revoked spaces', async () => {
        await store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'ana@example.com' });
        await store.spaces.authorize({ roomId: OTHER_UUID, spaceName: 'Other', authorizedBy: 'admin-api' });
        await store.spaces.revoke([OTHER_UUID], 'admin-api');
        const listed = await store.spaces.list();
        expect(listed.map((s) => [s.roomId, s.status]).sort()).toEqual(
          [
            [OTHER_UUID, 'revoked'],
            [ROOM_PUBLIC_ID, 'active'],
          ].sort(),
        );
      });

      it('with one entry per id form, a revoked entry decides whichever was written last', async () => {
        await store.spaces.authorize({ roomId: ROOM_UUID, authorizedBy: 'admin-api' });
        await store.spaces.revoke([ROOM_UUID], 'admin-api');
        await clock.advance(1_000);
        await store.spaces.authorize({ roomId: ROOM_PUBLIC_ID, authorizedBy: 'ana@example.com' });
        expect(await store.spaces.find([ROOM_UUID, ROOM_PUBLIC_ID])).toMatchObject({
          roomId: ROOM_UUID,
          status: 'revoked',
        });
        expect(await store.spaces.find([ROOM_PUBLIC_ID, ROOM_UUID])).toMatchObject({ status: 'revoked' });
        // Active again under every form: active.
        await store.spaces.authorize({ roomId: ROOM_UUID, authorizedBy: 'admin-api' });
        expect(await store.spaces.find(roomIdForms(ROOM_UUID))).toMatchObject({ status: 'active' });
      });
    });

    describe('conversations', () => {
      const record = (key: string, extra: Partial<ConversationRecord> = {}): ConversationRecord => ({
        key,
        roomId: ROOM_PUBLIC_ID,
        contextId: `ctx-${key}`,
        taskId: `task-${key}`,
        traceId: `trace-${key}`,
        lastAnswerMessageId: `msg-${key}`,
        updatedAt: clock.now(),
        ...extra,
      });

      it('stores, reads, replaces and deletes a conversation', async () => {
        expect(await store.conversations.get('thread-1')).toBeUndefined();
        await store.conversations.put(record('thread-1'));
        expect(await store.conversations.get('thread-1')).toEqual(record('thread-1'));

        await clock.advance(10);
        const replaced = record('thread-1', { contextId: 'ctx-new', taskId: undefined });
        delete replaced.taskId;
        await store.conversations.put(replaced);
        expect(await store.conversations.get('thread-1')).toEqual(replaced);

        await store.conversations.delete('thread-1');
        expect(await store.conversations.get('thread-1')).toBeUndefined();
        await store.conversations.delete('never-there');
      });

      it('keeps the earlier turns and the reset generation a backend may need', async () => {
        const withHistory = record('thread-h', {
          history: [
            { role: 'user', text: 'which cluster?' },
            { role: 'assistant', text: 'prod-eu, **3** apps' },
          ],
          generation: 2,
        });
        await store.conversations.put(withHistory);
        expect(await store.conversations.get('thread-h')).toEqual(withHistory);
      });

      it('keeps nested fields the conversation adds (forms, cards)', async () => {
        const withCards = {
          ...record('thread-2'),
          feedbackCards: [{ cardId: 'c1', cardMessageId: 'm1', traceId: 't1' }],
          pendingForm: { cardId: 'f1', deadlineAt: clock.now() + 1000, form: { fields: [{ name: 'env' }] } },
        } as ConversationRecord;
        await store.conversations.put(withCards);
        expect(await store.conversations.get('thread-2')).toEqual(withCards);
      });

      it('keeps conversations apart by key', async () => {
        await store.conversations.put(record('a'));
        await store.conversations.put(record('b'));
        await store.conversations.delete('a');
        expect(await store.conversations.get('b')).toEqual(record('b'));
      });

      const running = (startedAt: number, extra: Partial<RunningTurnRecord> = {}): RunningTurnRecord => ({
        state: 'running',
        activityId: `activity-${startedAt}`,
        messageId: `message-${startedAt}`,
        roomType: 'direct',
        person: { personId: 'person-1', email: 'ada@example.com' },
        receivedAt: startedAt - 10,
        startedAt,
        taskId: `task-${startedAt}`,
        workingMessageIds: ['working-1'],
        parts: [
          { index: 0, hash: 'h0', intentAt: startedAt + 5, messageId: 'part-0' },
          { index: 1, hash: 'h1', intentAt: startedAt + 6 },
        ],
        form: { cardId: 'card-1', hash: 'hf', intentAt: startedAt + 7, deadlineAt: startedAt + 86_400_000 },
        ...extra,
      });

      it('keeps a running turn whole and finds the conversations that have one, oldest first', async () => {
        const now = clock.now();
        await store.conversations.put(record('idle'));
        await store.conversations.put(record('late', { runningTurn: running(now + 20) }));
        await store.conversations.put(record('early', { runningTurn: running(now + 10) }));
        expect(await store.conversations.get('early')).toEqual(
          record('early', { runningTurn: running(now + 10) }),
        );
        expect((await store.conversations.running(10)).map((r) => r.key)).toEqual(['early', 'late']);
        expect((await store.conversations.running(1)).map((r) => r.key)).toEqual(['early']);
        expect((await store.conversations.running(10))[0]).toEqual(
          record('early', { runningTurn: running(now + 10) }),
        );

        // The turn is over (saved without it) or the conversation forgotten: no longer running.
        await store.conversations.put(record('early'));
        await store.conversations.delete('late');
        expect(await store.conversations.running(10)).toEqual([]);
      });

      it('finds the conversations whose form waits, the earliest deadline first', async () => {
        const now = clock.now();
        const form = (deadlineAt: number) =>
          ({ cardId: `card-${deadlineAt}`, cardMessageId: 'm', deadlineAt, form: { fields: [] } }) as never;
        await store.conversations.put(record('no-form'));
        await store.conversations.put(record('late', { pendingForm: form(now + 2_000) }));
        await store.conversations.put(record('soon', { pendingForm: form(now + 1_000) }));
        await store.conversations.put(
          record('both', { pendingForm: form(now + 3_000), runningTurn: running(now) }),
        );
        expect((await store.conversations.waiting(10)).map((r) => r.key)).toEqual(['soon', 'late', 'both']);
        expect((await store.conversations.running(10)).map((r) => r.key)).toEqual(['both']);
        expect((await store.conversations.waiting(1)).map((r) => r.key)).toEqual(['soon']);
        // The form is answered (saved without it): no longer waiting.
        await store.conversations.put(record('soon'));
        await store.conversations.put(record('both', { runningTurn: running(now) }));
        expect((await store.conversations.waiting(10)).map((r) => r.key)).toEqual(['late']);
        expect((await store.conversations.running(10)).map((r) => r.key)).toEqual(['both']);
      });

      const retention = options.conversationRetentionMs;
      it.skipIf(retention === undefined)(
        'forgets a conversation untouched for the retention period',
        async () => {
          await store.conversations.put(record('old'));
          await clock.advance((retention ?? 0) - 1);
          expect(await store.conversations.get('old')).toBeDefined();
          await clock.advance(1);
          expect(await store.conversations.get('old')).toBeUndefined();
        },
      );
    });

    describe('event claims', () => {
      it('grants a claim once within its TTL', async () => {
        expect(await store.claims.claim('activity-1', 60_000)).toBe(true);
        expect(await store.claims.claim('activity-1', 60_000)).toBe(false);
        expect(await store.claims.claim('activity-2', 60_000)).toBe(true);
      });

      it('grants exactly one of many concurrent claims', async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.claims.claim('activity-race', 60_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it.skipIf(!options.claimsFollowClock)('grants the claim again after it expired, once', async () => {
        expect(await store.claims.claim('activity-3', 60_000)).toBe(true);
        await clock.advance(59_999);
        expect(await store.claims.claim('activity-3', 60_000)).toBe(false);
        await clock.advance(1);
        expect(await store.claims.claim('activity-3', 60_000)).toBe(true);
        expect(await store.claims.claim('activity-3', 60_000)).toBe(false);
      });
    });

    describe('own post echoes', () => {
      it('lists the echoes of one conversation seen since a time, oldest first, at most the limit', async () => {
        const at = clock.now();
        await store.echoes.record({ key: 'room/a', messageId: 'm2', seenAt: at + 2 });
        await store.echoes.record({ key: 'room/a', messageId: 'm1', seenAt: at + 1 });
        await store.echoes.record({ key: 'room/b', messageId: 'm3', seenAt: at + 3 });
        await store.echoes.record({ key: 'room/a', messageId: 'm0', seenAt: at - 1 });
        expect(await store.echoes.since('room/a', at, 10)).toEqual([
          { key: 'room/a', messageId: 'm1', seenAt: at + 1 },
          { key: 'room/a', messageId: 'm2', seenAt: at + 2 },
        ]);
        expect(await store.echoes.since('room/a', at, 1)).toHaveLength(1);
        expect(await store.echoes.since('room/c', at, 10)).toEqual([]);
      });

      it('keeps the first sighting of a redelivered echo', async () => {
        const at = clock.now();
        await store.echoes.record({ key: 'room/a', messageId: 'm1', seenAt: at + 1 });
        await store.echoes.record({ key: 'room/a', messageId: 'm1', seenAt: at + 50 });
        expect(await store.echoes.since('room/a', at, 10)).toEqual([
          { key: 'room/a', messageId: 'm1', seenAt: at + 1 },
        ]);
      });
    });

    describe('pending messages', () => {
      it('lists what is still owed, oldest first, until settled', async () => {
        const at = clock.now();
        const message = (id: string, offset: number) => ({
          activityId: id,
          key: 'room/main',
          personId: 'person-1',
          at: at + offset,
        });
        await store.pending.add(message('a2', 2), 60_000);
        await store.pending.add(message('a1', 1), 60_000);
        await store.pending.add(message('a3', 3), 60_000);
        expect(await store.pending.list(10)).toEqual([message('a1', 1), message('a2', 2), message('a3', 3)]);
        expect(await store.pending.list(2)).toHaveLength(2);
        await store.pending.settle(['a1', 'a3', 'never-there']);
        await store.pending.settle([]);
        expect(await store.pending.list(10)).toEqual([message('a2', 2)]);
      });

      it.skipIf(!options.claimsFollowClock)('forgets a pending message with its claim', async () => {
        await store.pending.add({ activityId: 'a1', key: 'k', personId: 'p', at: clock.now() }, 60_000);
        await clock.advance(60_000);
        expect(await store.pending.list(10)).toEqual([]);
      });
    });

    describe('active rooms', () => {
      const at = Date.parse('2025-01-01T12:00:00.000Z');

      it('records a room and keeps the latest of its times', async () => {
        await store.rooms.touch({ roomId: ROOM_PUBLIC_ID, roomType: 'direct', lastEventAt: at });
        await store.rooms.touch({ roomId: ROOM_PUBLIC_ID, roomType: 'direct', lastEventAt: at - 5_000 });
        expect(await store.rooms.recent(at - 60_000, 10)).toEqual([
          { roomId: ROOM_PUBLIC_ID, roomType: 'direct', lastEventAt: at },
        ]);
        await store.rooms.touch({ roomId: ROOM_PUBLIC_ID, roomType: 'direct', lastEventAt: at + 1_000 });
        expect((await store.rooms.recent(at, 10)).map((r) => r.lastEventAt)).toEqual([at + 1_000]);
      });

      it('lists rooms active since a time, the most recent first, at most the limit', async () => {
        const rooms = ['room-a', 'room-b', 'room-c', 'room-d'];
        for (const [index, roomId] of rooms.entries()) {
          await store.rooms.touch({
            roomId,
            roomType: index % 2 ? 'group' : 'direct',
            lastEventAt: at + index,
          });
        }
        expect(await store.rooms.recent(at + 1, 10)).toEqual([
          { roomId: 'room-d', roomType: 'group', lastEventAt: at + 3 },
          { roomId: 'room-c', roomType: 'direct', lastEventAt: at + 2 },
          { roomId: 'room-b', roomType: 'group', lastEventAt: at + 1 },
        ]);
        expect((await store.rooms.recent(at, 2)).map((r) => r.roomId)).toEqual(['room-d', 'room-c']);
        expect(await store.rooms.recent(at + 10, 10)).toEqual([]);
        expect(await store.rooms.recent(at, 0)).toEqual([]);
      });

      it('keeps concurrent touches of one room as one entry with the latest time', async () => {
        await Promise.all(
          Array.from({ length: 8 }, (_, index) =>
            store.rooms.touch({ roomId: 'room-race', roomType: 'group', lastEventAt: at + index }),
          ),
        );
        expect(await store.rooms.recent(at, 10)).toEqual([
          { roomId: 'room-race', roomType: 'group', lastEventAt: at + 7 },
        ]);
      });
    });

    describe('leases', () => {
      const MINUTE = 60_000;
      const byKey = <T extends { key: string }>(items: T[]) =>
        [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

      it('acquires a free lease and reads it back', async () => {
        const now = clock.now();
        expect(await store.leases.acquire('conv:a', 'p1', now, now + MINUTE)).toBe(true);
        expect(await store.leases.get(['conv:a'])).toEqual([
          { key: 'conv:a', owner: 'p1', expiresAt: now + MINUTE },
        ]);
      });

      it('refuses a lease another owner holds live, up to the last millisecond, and leaves it alone', async () => {
        const now = clock.now();
        await store.leases.acquire('conv:a', 'p1', now, now + MINUTE);
        expect(await store.leases.acquire('conv:a', 'p2', now, now + 5 * MINUTE)).toBe(false);
        expect(await store.leases.acquire('conv:a', 'p2', now + MINUTE - 1, now + 5 * MINUTE)).toBe(false);
        expect(await store.leases.get(['conv:a'])).toEqual([
          { key: 'conv:a', owner: 'p1', expiresAt: now + MINUTE },
        ]);
      });

      it('gives an expired lease to the next owner; the former owner can no longer take it back', async () => {
        const now = clock.now();
        await store.leases.acquire('conv:a', 'p1', now, now + MINUTE);
        // Expired exactly at its expiry: the taker's `now` equals it.
        expect(await store.leases.acquire('conv:a', 'p2', now + MINUTE, now + 2 * MINUTE)).toBe(true);
        expect(await store.leases.get(['conv:a'])).toEqual([
          { key: 'conv:a', owner: 'p2', expiresAt: now + 2 * MINUTE },
        ]);
        expect(await store.leases.acquire('conv:a', 'p1', now + MINUTE, now + 3 * MINUTE)).toBe(false);
      });

      it("extends the owner's own lease on acquire, live or expired", async () => {
        const now = clock.now();
        await store.leases.acquire('conv:a', 'p1', now, now + MINUTE);
        expect(await store.leases.acquire('conv:a', 'p1', now + 10, now + 2 * MINUTE)).toBe(true);
        expect((await store.leases.get(['conv:a']))[0]?.expiresAt).toBe(now + 2 * MINUTE);
        expect(await store.leases.acquire('conv:a', 'p1', now + 5 * MINUTE, now + 6 * MINUTE)).toBe(true);
        expect(await store.leases.get(['conv:a'])).toEqual([
          { key: 'conv:a', owner: 'p1', expiresAt: now + 6 * MINUTE },
        ]);
      });

      it('grants exactly one of many concurrent acquires of one key', async () => {
        const now = clock.now();
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.leases.acquire('conv:race', `p${i}`, now, now + MINUTE)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = `p${results.indexOf(true)}`;
        expect((await store.leases.get(['conv:race']))[0]?.owner).toBe(winner);
      });

      it('renews the owner’s leases, expired ones too, and reports none lost', async () => {
        const now = clock.now();
        await store.leases.acquire('conv:a', 'p1', now, now + MINUTE);
        await store.leases.acquire('conv:b', 'p1', now, now + MINUTE);
        // `conv:b` has expired, but nobody took it: still the owner’s.
        expect(await store.leases.renew(['conv:a', 'conv:b'], 'p1', now + 3 * MINUTE)).toEqual([]);
        expect(byKey(await store.leases.get(['conv:b', 'conv:a']))).toEqual([
          { key: 'conv:a', owner: 'p1', expiresAt: now + 3 * MINUTE },
          { key: 'conv:b', owner: 'p1', expiresAt: now + 3 * MINUTE },
        ]);
      });

      it('reports the leases taken over, released or never held as lost, and still renews the rest', async () => {
        const now = clock.now();
        for (const key of ['conv:kept', 'conv:taken', 'conv:released'])
          await store.leases.acquire(key, 'p1', now, now + MINUTE);
        expect(await store.leases.acquire('conv:taken', 'p2', now + MINUTE, now + 2 * MINUTE)).toBe(true);
        await store.leases.release(['conv:released'], 'p1');
        const lost = await store.leases.renew(
          ['conv:kept', 'conv:taken', 'conv:released', 'conv:never', 'conv:kept'],
          'p1',
          now + 4 * MINUTE,
        );
        expect(lost).toEqual(['conv:taken', 'conv:released', 'conv:never']);
        expect(byKey(await store.leases.get(['conv:kept', 'conv:taken', 'conv:released']))).toEqual([
          { key: 'conv:kept', owner: 'p1', expiresAt: now + 4 * MINUTE },
          // The renewal of a lost lease changes nothing.
          { key: 'conv:taken', owner: 'p2', expiresAt: now + 2 * MINUTE },
        ]);
      });

      it('releases only the owner’s leases', async () => {
        const now = clock.now();
        await store.leases.acquire('conv:mine', 'p1', now, now + MINUTE);
        await store.leases.acquire('conv:theirs', 'p2', now, now + MINUTE);
        await store.leases.release(['conv:mine', 'conv:theirs', 'conv:never'], 'p1');
        expect(await store.leases.get(['conv:mine', 'conv:theirs'])).toEqual([
          { key: 'conv:theirs', owner: 'p2', expiresAt: now + MINUTE },
        ]);
        // Released: free for anyone at once, before its expiry.
        expect(await store.leases.acquire('conv:mine', 'p3', now, now + MINUTE)).toBe(true);
      });

      it('gets the leases that exist, expired ones included, each once', async () => {
        const now = clock.now();
        await store.leases.acquire('conv:a', 'p1', now - 2 * MINUTE, now - MINUTE);
        await store.leases.acquire('conv:b', 'p2', now, now + MINUTE);
        expect(byKey(await store.leases.get(['conv:b', 'conv:missing', 'conv:a', 'conv:b']))).toEqual([
          { key: 'conv:a', owner: 'p1', expiresAt: now - MINUTE },
          { key: 'conv:b', owner: 'p2', expiresAt: now + MINUTE },
        ]);
      });

      it('takes an empty key list as nothing to do', async () => {
        const now = clock.now();
        await store.leases.acquire('conv:a', 'p1', now, now + MINUTE);
        expect(await store.leases.get([])).toEqual([]);
        expect(await store.leases.renew([], 'p1', now + 2 * MINUTE)).toEqual([]);
        await store.leases.release([], 'p1');
        expect(await store.leases.get(['conv:a'])).toEqual([
          { key: 'conv:a', owner: 'p1', expiresAt: now + MINUTE },
        ]);
      });

      it('lists by prefix literally: no wildcards, no case folding, any Unicode, at most the limit', async () => {
        const now = clock.now();
        const keys = [
          'conv:room%1/a',
          'conv:room_1/b',
          'conv:roomX1/c',
          'CONV:room%1/d',
          'conv:',
          'instance:é',
          'instance:e',
          'instance:éclair',
          'instance:😀',
          'instance:\u{10FFFF}',
          'instance:\u{10FFFF}\u{10FFFF}z',
          'instancf:',
          'instanc',
        ];
        for (const [i, key] of keys.entries()) await store.leases.acquire(key, `p${i}`, now, now + MINUTE);
        const listed = async (prefix: string, limit = 100) =>
          (await store.leases.list(prefix, limit)).map((lease) => lease.key).sort();

        expect(await listed('conv:room%')).toEqual(['conv:room%1/a']);
        expect(await listed('conv:room_')).toEqual(['conv:room_1/b']);
        expect(await listed('conv:')).toEqual(['conv:', 'conv:room%1/a', 'conv:roomX1/c', 'conv:room_1/b']);
        expect(await listed('instance:é')).toEqual(['instance:é', 'instance:éclair']);
        expect(await listed('instance:')).toEqual(
          [
            'instance:e',
            'instance:é',
            'instance:éclair',
            'instance:😀',
            'instance:\u{10FFFF}',
            'instance:\u{10FFFF}\u{10FFFF}z',
          ].sort(),
        );
        expect(await listed('instance:\u{10FFFF}')).toEqual(
          ['instance:\u{10FFFF}', 'instance:\u{10FFFF}\u{10FFFF}z'].sort(),
        );
        expect(await listed('')).toEqual([...keys].sort());
        expect(await listed('nothing')).toEqual([]);

        const two = await store.leases.list('conv:', 2);
        expect(two).toHaveLength(2);
        for (const lease of two) {
          expect(lease.key.startsWith('conv:')).toBe(true);
          expect(lease).toEqual({
            key: lease.key,
            owner: `p${keys.indexOf(lease.key)}`,
            expiresAt: now + MINUTE,
          });
        }
        expect(await store.leases.list('conv:', 0)).toEqual([]);
        expect(await store.leases.list('conv:', -5)).toEqual([]);
        expect(await store.leases.list('conv:', Number.NaN)).toEqual([]);
        expect(await listed('conv:', Number.POSITIVE_INFINITY)).toHaveLength(4);
      });

      describe('hostile input', () => {
        const longest = 'k'.repeat(MAX_LEASE_KEY_BYTES);

        it(`takes keys up to ${MAX_LEASE_KEY_BYTES} UTF-8 bytes`, async () => {
          const now = clock.now();
          // 333 three-byte characters and one byte: 1,000 bytes in 334 characters.
          const wide = `${'€'.repeat(333)}k`;
          for (const key of [longest, wide]) {
            expect(await store.leases.acquire(key, 'p1', now, now + MINUTE)).toBe(true);
            expect(await store.leases.renew([key], 'p1', now + 2 * MINUTE)).toEqual([]);
          }
          expect(byKey(await store.leases.get([longest, wide]))).toEqual(
            byKey([
              { key: longest, owner: 'p1', expiresAt: now + 2 * MINUTE },
              { key: wide, owner: 'p1', expiresAt: now + 2 * MINUTE },
            ]),
          );
          expect((await store.leases.list(longest, 10)).map((lease) => lease.key)).toEqual([longest]);
          expect((await store.leases.list('k'.repeat(999), 10)).map((lease) => lease.key)).toEqual([longest]);
        });

        const refused: Array<[string, string]> = [
          ['one byte too long', `${longest}k`],
          ['too long in bytes, not in characters', '€'.repeat(334)],
          ['a megabyte', 'x'.repeat(1_000_000)],
          ['empty', ''],
          ['with a NUL', 'conv:a\u0000b'],
          ['with a lone surrogate', 'conv:\ud83d'],
        ];
        for (const [what, key] of refused) {
          it(`refuses a key ${what} with a clear error, and changes nothing`, async () => {
            const now = clock.now();
            await store.leases.acquire('conv:ok', 'p1', now, now + MINUTE);
            const bad = [
              store.leases.acquire(key, 'p1', now, now + MINUTE),
              store.leases.renew(['conv:ok', key], 'p1', now + 5 * MINUTE),
              store.leases.release(['conv:ok', key], 'p1'),
              store.leases.get(['conv:ok', key]),
            ];
            for (const call of bad) {
              await expect(call).rejects.toBeInstanceOf(LeaseInputError);
              await expect(call).rejects.toMatchObject({ code: 'STORE_LEASE_INPUT' });
            }
            await expect(store.leases.acquire(key, 'p1', now, now + MINUTE)).rejects.toThrow(/lease key/);
            // The valid key of the refused batches was neither renewed nor released.
            expect(await store.leases.get(['conv:ok'])).toEqual([
              { key: 'conv:ok', owner: 'p1', expiresAt: now + MINUTE },
            ]);
          });
        }

        it('refuses an overlong prefix, an overlong or empty owner and times a Date cannot hold', async () => {
          const now = clock.now();
          await expect(store.leases.list(`${longest}k`, 10)).rejects.toThrow(/lease prefix must be at most/);
          await expect(
            store.leases.acquire('conv:a', 'o'.repeat(MAX_LEASE_OWNER_BYTES + 1), now, now + MINUTE),
          ).rejects.toThrow(/lease owner must be at most/);
          await expect(store.leases.renew(['conv:a'], '', now + MINUTE)).rejects.toThrow(
            /owner must not be empty/,
          );
          await expect(store.leases.acquire('conv:a', 'p1', Number.NaN, now + MINUTE)).rejects.toThrow(
            /now must be an epoch ms/,
          );
          await expect(
            store.leases.acquire('conv:a', 'p1', now, Number.POSITIVE_INFINITY),
          ).rejects.toBeInstanceOf(LeaseInputError);
          await expect(store.leases.renew(['conv:a'], 'p1', 1e300)).rejects.toBeInstanceOf(LeaseInputError);
          expect(await store.leases.get(['conv:a'])).toEqual([]);
        });

        it('rounds fractional times towards keeping the lease: expiry up, now down', async () => {
          const now = clock.now();
          expect(await store.leases.acquire('conv:a', 'p1', now, now + MINUTE + 0.2)).toBe(true);
          expect(await store.leases.get(['conv:a'])).toEqual([
            { key: 'conv:a', owner: 'p1', expiresAt: now + MINUTE + 1 },
          ]);
          expect(await store.leases.acquire('conv:a', 'p2', now + MINUTE + 0.9, now + 2 * MINUTE)).toBe(
            false,
          );
          expect(await store.leases.acquire('conv:a', 'p2', now + MINUTE + 1, now + 2 * MINUTE)).toBe(true);
        });
      });
    });

    describe('notices', () => {
      const DAY_MS = 86_400_000;

      it('says a notice is due once per key within the interval', async () => {
        expect(await store.notices.noticeDue('outsider:person-1', DAY_MS)).toBe(true);
        expect(await store.notices.noticeDue('outsider:person-1', DAY_MS)).toBe(false);
        expect(await store.notices.noticeDue('outsider:person-2', DAY_MS)).toBe(true);
      });

      it('is independent of event claims with the same key', async () => {
        expect(await store.claims.claim('same-key', DAY_MS)).toBe(true);
        expect(await store.notices.noticeDue('same-key', DAY_MS)).toBe(true);
      });

      it('says it is due to exactly one of many concurrent callers', async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.notices.noticeDue('outsider:race', DAY_MS)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it.skipIf(!options.claimsFollowClock)('is due again once the interval has passed', async () => {
        expect(await store.notices.noticeDue('outsider:person-3', DAY_MS)).toBe(true);
        await clock.advance(DAY_MS - 1);
        expect(await store.notices.noticeDue('outsider:person-3', DAY_MS)).toBe(false);
        await clock.advance(1);
        expect(await store.notices.noticeDue('outsider:person-3', DAY_MS)).toBe(true);
      });
    });
  });
}
