/**
 * One behaviour contract for every store adapter (memory, embedded, MongoDB). Each adapter's
 * test file calls `describeStoreContract` with a factory; time is a ManualClock the factory
 * hands to the adapter, so expiry is tested without waiting.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  ActiveRooms,
  ConversationRecord,
  ConversationStore,
  EventClaims,
  NoticeLog,
  OwnPostEchoes,
  PendingMessages,
  RunningTurnRecord,
  SpaceRegistry,
} from '../../../src/adapters/store/ports.js';
import { roomIdForms } from '../../../src/adapters/store/spaceAuthorization.js';
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
