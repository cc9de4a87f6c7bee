/**
 * Nothing goes on for an activity this process has not claimed (SPEC "Durability and replicas"):
 * while the store's claims fail, the admission keeps activities in a bounded queue, in arrival
 * order, retries with backoff on the injected clock, and drops what outlives the dedupe window —
 * so a store outage never makes N replicas answer (or notify) N times. Time is a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { type AdmitOptions, createAdmission } from '../../src/actors/intake/admission.js';
import { MemoryEventClaims, MemorySpaceRegistry } from '../../src/adapters/store/memory.js';
import type { EventClaims } from '../../src/adapters/store/ports.js';
import { SpaceAuthorization } from '../../src/adapters/store/space-authorization.js';
import { encodeHydraId } from '../../src/adapters/webex/ids.js';
import { createBotFacts } from '../../src/facts.js';
import { createLogger } from '../../src/logger.js';
import type { BotEvent } from '../../src/machines/bot.js';
import type { InboundMessageEvent } from '../../src/machines/inbound-event.js';
import { captureLog } from '../helpers/capture.js';
import { ManualClock, SIM_EPOCH, settle } from '../helpers/manual-clock.js';

const BOT_ID = encodeHydraId('PEOPLE', '11111111-1111-4111-8111-111111111111');
const ROOM_A = encodeHydraId('ROOM', '22222222-2222-4222-8222-222222222222');
const ROOM_B = encodeHydraId('ROOM', '33333333-3333-4333-8333-333333333333');
const TTL_MS = 60_000;

/** A shared claims store that throws while `down` (a store outage), recording every attempt. */
class FlakyClaims implements EventClaims {
  readonly inner = new MemoryEventClaims();
  down = false;
  readonly attempts: Array<{ activityId: string; at: number; ok: boolean }> = [];

  constructor(private readonly clock: ManualClock) {}

  async claim(activityId: string, ttlMs: number): Promise<boolean> {
    const ok = !this.down;
    this.attempts.push({ activityId, at: this.clock.now(), ok });
    if (!ok) throw new Error('store unreachable');
    return this.inner.claim(activityId, ttlMs);
  }

  attemptsFor(activityId: string) {
    return this.attempts.filter((a) => a.activityId === activityId);
  }
}

function setUp(claims: EventClaims, clock: ManualClock, options: { maxWaitingClaims?: number } = {}) {
  const log = captureLog();
  const facts = createBotFacts();
  facts.trigger.identityKnown({
    identity: { personId: BOT_ID, displayName: 'CAIPE Bot', email: 'bot@webex.bot' },
  });
  const admit = createAdmission({
    claims,
    dedupeTtlMs: TTL_MS,
    spaces: new SpaceAuthorization({
      registry: new MemorySpaceRegistry(clock),
      cacheTtlMs: 1000,
      log: createLogger({ level: 'silent' }),
    }),
    facts,
    listenMode: 'mention',
    parseCard: () => undefined,
    notify: () => {},
    log: createLogger({ level: 'info', destination: log.destination }),
    clock,
    ...options,
  });
  return { admit, log };
}

let seq = 0;
function dm(roomId: string, text: string, receivedAt: number): InboundMessageEvent {
  seq += 1;
  return {
    kind: 'message',
    activityId: `act-${seq}`,
    roomId,
    roomType: 'direct',
    person: { id: 'person', email: 'p@example.com' },
    receivedAt,
    messageId: `msg-${seq}`,
    text,
    mentionedPeople: [],
    files: false,
  };
}

const textOf = (event: BotEvent | undefined) =>
  event?.type === 'MESSAGE' ? event.message.text : `(${event?.type ?? 'nothing'})`;

/** Admits with `later`, as the intake does: returns what came at once and what came later. */
function laterSink() {
  const delivered: string[] = [];
  const options: AdmitOptions = { later: (event) => delivered.push(textOf(event)) };
  return { delivered, options };
}

describe('the admission while claims fail', () => {
  it('delivers nothing unclaimed, keeps the order, and retries with backoff on the clock', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const claims = new FlakyClaims(clock);
    const { admit, log } = setUp(claims, clock);
    const { delivered, options } = laterSink();

    claims.down = true;
    const first = dm(ROOM_A, 'one', clock.now());
    // The claim failed: `admit` resolves at once with nothing, so the intake's room queue moves on.
    expect(await admit(first, options)).toBeUndefined();
    const rest = [dm(ROOM_A, 'two', clock.now()), dm(ROOM_B, 'other room', clock.now())];
    for (const event of rest) expect(await admit(event, options)).toBeUndefined();
    // Events after the first wait behind it without a store call of their own.
    expect(claims.attempts.map((a) => a.activityId)).toEqual([first.activityId]);

    await clock.advance(500);
    await clock.advance(1_000);
    await clock.advance(2_000);
    // Only the head is probed, 0.5 s, 1 s, 2 s apart; nothing was delivered.
    expect(claims.attemptsFor(first.activityId).map((a) => a.at - SIM_EPOCH)).toEqual([0, 500, 1_500, 3_500]);
    expect(claims.attempts).toHaveLength(4);
    expect(delivered).toEqual([]);

    claims.down = false;
    await clock.advance(4_000);
    expect(delivered).toEqual(['one', 'two', 'other room']);
    // Back to normal: a new event is claimed and decided at once.
    expect(textOf(await admit(dm(ROOM_A, 'three', clock.now()), options))).toBe('three');
    const lines = log.records();
    expect(
      lines.filter(
        (r) => r.msg === 'event claim failed; events wait for the store (nothing is handled unclaimed)',
      ),
    ).toHaveLength(4);
    expect(lines.some((r) => r.msg === 'event claims work again; no event waits')).toBe(true);
  });

  it('without `later`, admit resolves with the decision once the claim is made', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const claims = new FlakyClaims(clock);
    const { admit } = setUp(claims, clock);
    claims.down = true;
    const decided: string[] = [];
    void admit(dm(ROOM_A, 'waits', clock.now())).then((event) => decided.push(textOf(event)));
    await clock.advance(500);
    expect(decided).toEqual([]);
    claims.down = false;
    await clock.advance(1_000);
    expect(decided).toEqual(['waits']);
  });

  it('drops what outlives the dedupe window with a warn line, never claiming it', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const claims = new FlakyClaims(clock);
    const { admit, log } = setUp(claims, clock);
    const { delivered, options } = laterSink();
    claims.down = true;
    const old = dm(ROOM_A, 'old', clock.now());
    await admit(old, options);
    await clock.advance(TTL_MS - 20_000);
    const young = dm(ROOM_A, 'young', clock.now());
    await admit(young, options);
    // The store stays down past the old event's window (backoff is capped at 30 s).
    await clock.advance(25_000);
    claims.down = false;
    await clock.advance(30_000);
    expect(delivered).toEqual(['young']);
    expect(claims.attemptsFor(old.activityId).every((a) => !a.ok)).toBe(true);
    const dropped = log.records().filter((r) => String(r.msg).startsWith('event dropped'));
    expect(dropped).toEqual([
      expect.objectContaining({
        level: 'warn',
        activityId: old.activityId,
        waitedMs: 61_500,
        msg: 'event dropped: not claimed within the dedupe window (the store was failing)',
      }),
    ]);
  });

  it('is bounded: past the limit a new event is dropped with a warn line', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const claims = new FlakyClaims(clock);
    const { admit, log } = setUp(claims, clock, { maxWaitingClaims: 3 });
    const { delivered, options } = laterSink();
    claims.down = true;
    for (const text of ['1', '2', '3', '4', '5']) await admit(dm(ROOM_A, text, clock.now()), options);
    expect(
      log.records().filter((r) => r.msg === 'event dropped: too many events wait for the store'),
    ).toHaveLength(2);
    claims.down = false;
    await clock.advance(500);
    expect(delivered).toEqual(['1', '2', '3']);
  });

  it('a stopping caller leaves its waiting events unclaimed', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const claims = new FlakyClaims(clock);
    const { admit } = setUp(claims, clock);
    const stopping = new AbortController();
    const delivered: string[] = [];
    const options: AdmitOptions = {
      later: (event) => delivered.push(textOf(event)),
      signal: stopping.signal,
    };
    claims.down = true;
    const waiting = dm(ROOM_A, 'left for the next process', clock.now());
    await admit(waiting, options);
    stopping.abort();
    claims.down = false;
    await clock.advance(30_000);
    expect(delivered).toEqual([]);
    expect(claims.attemptsFor(waiting.activityId).filter((a) => a.ok)).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('two replicas through one failing store: each event is delivered by exactly one of them', async () => {
    const clock = new ManualClock(SIM_EPOCH);
    const claims = new FlakyClaims(clock);
    const replicas = [setUp(claims, clock), setUp(claims, clock)].map(({ admit }) => ({
      admit,
      ...laterSink(),
    }));
    claims.down = true;
    const events = Array.from({ length: 20 }, (_, i) =>
      dm(i % 2 === 0 ? ROOM_A : ROOM_B, `q${i}`, clock.now()),
    );
    // Webex gives every event to every replica.
    for (const event of events) for (const replica of replicas) await replica.admit(event, replica.options);
    await clock.advance(10_000);
    expect(replicas.flatMap((r) => r.delivered)).toEqual([]);
    claims.down = false;
    await clock.advance(30_000);
    await settle();
    const all = replicas.flatMap((r) => r.delivered).sort();
    expect(all).toEqual(events.map((e) => e.text).sort());
    // And each replica kept its own order.
    for (const replica of replicas) {
      const order = replica.delivered.map((text) => Number(text.slice(1)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });
});
