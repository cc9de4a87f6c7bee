/**
 * The sender against the Webex simulator over real HTTP (undici on 127.0.0.1): a 429 storm on
 * posts and edits loses nothing, duplicates nothing and keeps each room's order — counted from
 * the simulator's own request log and message store, not from the sender's view of itself.
 *
 * Time: the sender and the simulator share a manual clock. Real HTTP runs in real time; Webex's
 * Retry-After pauses pass on the manual clock only when nothing is in flight, so the test never
 * sleeps and still proves that no request reached the simulator during a pause.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebexRestClient } from '../../../src/adapters/webex/rest.js';
import { restWriteTransport } from '../../../src/adapters/webex/sender/rest-transport.js';
import { createWebexSender, type WebexSender } from '../../../src/adapters/webex/sender/sender.js';
import type { WebexWriteTransport } from '../../../src/adapters/webex/sender/transport.js';
import { silentLogger } from '../../../src/logger.js';
import {
  type RequestRecord,
  type SimRoom,
  startWebexSimulator,
  type WebexSimulator,
} from '../../../src/simulator/webex/index.js';
import { ManualClock, settle } from '../../unit/sender/fakes.js';

const BOT_TOKEN = 'bot-token-sender-storm';
const DEFAULT_RETRY_AFTER_S = 3;

interface WireEvent {
  kind: 'send' | 'answer';
  endpoint: string;
  at: number;
  status?: number;
  retryAfterS?: number;
}

/**
 * Records each request as it leaves and as its answer comes back (in real event order), and
 * counts requests in flight so the test knows when only the clock can move things on.
 */
function trackWire(inner: WebexWriteTransport, clock: ManualClock) {
  let inFlight = 0;
  const waiters: Array<() => void> = [];
  const events: WireEvent[] = [];
  const transport: WebexWriteTransport = {
    async request<T>(req: Parameters<WebexWriteTransport['request']>[0], opts: { signal?: AbortSignal }) {
      const endpoint = `${req.method} ${req.route}`;
      inFlight += 1;
      events.push({ kind: 'send', endpoint, at: clock.now() });
      try {
        const result = await inner.request<T>(req, opts);
        events.push({ kind: 'answer', endpoint, at: clock.now(), status: 200 });
        return result;
      } catch (error) {
        const { status, retryAfterS } = error as { status?: number; retryAfterS?: number };
        events.push({ kind: 'answer', endpoint, at: clock.now(), status: status ?? 0, retryAfterS });
        throw error;
      } finally {
        inFlight -= 1;
        if (inFlight === 0) for (const wake of waiters.splice(0)) wake();
      }
    },
  };
  return {
    transport,
    events,
    get inFlight() {
      return inFlight;
    },
    quiet: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}

describe('webexSender against the Webex simulator', () => {
  let sim: WebexSimulator;
  let sender: WebexSender;
  let clock: ManualClock;
  let tracker: ReturnType<typeof trackWire>;

  beforeEach(async () => {
    clock = new ManualClock(1_700_000_000_000);
    sim = await startWebexSimulator({ botToken: BOT_TOKEN, clock });
    const rest = new WebexRestClient({ token: BOT_TOKEN, baseUrl: sim.urls.hydra, timeoutMs: 10_000 });
    tracker = trackWire(restWriteTransport(rest), clock);
    sender = createWebexSender({
      transport: tracker.transport,
      clock,
      retryAfterDefaultS: DEFAULT_RETRY_AFTER_S,
      logger: silentLogger(),
    });
  });

  afterEach(async () => {
    sender.stop();
    await sim.close();
  });

  /** Lets real I/O finish, then moves the clock to the next timer, until `work` settles. */
  async function drive(work: Promise<unknown>): Promise<void> {
    let done = false;
    work.then(
      () => (done = true),
      () => (done = true),
    );
    for (let step = 0; step < 1000; step++) {
      await tracker.quiet();
      await settle();
      if (done) return;
      if (tracker.inFlight > 0) continue;
      const next = clock.nextTimerAt();
      if (next === undefined) throw new Error('the sender is stuck: nothing in flight and no timer pending');
      await clock.advance(Math.max(0, next - clock.now()));
    }
    throw new Error('drive() did not finish in 1000 steps');
  }

  it('loses, duplicates and reorders nothing through a 429 storm, and honours every pause', async () => {
    const rooms: SimRoom[] = Array.from({ length: 4 }, (_, i) =>
      sim.createDirectRoom(sim.createUser({ displayName: `User ${i}` })),
    );
    // Posts: 3 refusals with Retry-After 2 s, then 2 without the header (the default applies).
    sim.faults.rateLimit({ method: 'POST', route: '/v1/messages', times: 3, retryAfterS: 2 });
    sim.faults.rateLimit({ method: 'POST', route: '/v1/messages', times: 2 });
    // Edits: 2 refusals with an empty body and Retry-After 1 s.
    sim.faults.rateLimit({
      method: 'PUT',
      route: '/v1/messages/{id}',
      times: 2,
      retryAfterS: 1,
      emptyBody: true,
    });

    const wanted = new Map<string, string[]>();
    const work: Array<Promise<unknown>> = [];
    for (let i = 0; i < 10; i++) {
      for (const [r, room] of rooms.entries()) {
        const markdown = `room ${r} message ${i}`;
        wanted.set(room.id, [...(wanted.get(room.id) ?? []), markdown]);
        const posted = sender.post({ roomId: room.id, markdown });
        work.push(posted);
        if (i === 0) {
          // The working-message pattern: edit the first message twice (coalesced or not, the last text wins).
          work.push(
            posted.then(async ({ id }) => {
              await sender.edit({ messageId: id, roomId: room.id, markdown: `${markdown} (edited once)` });
              return sender.edit({ messageId: id, roomId: room.id, markdown: `${markdown} (edited)` });
            }),
          );
        }
      }
    }
    const all = Promise.all(work);
    await drive(all);
    await all;

    const requests: RequestRecord[] = sim.log.requests;
    const posts = requests.filter((r) => r.method === 'POST' && r.route === '/v1/messages');
    const limitedPosts = posts.filter((r) => r.status === 429);
    expect(limitedPosts).toHaveLength(5);
    const delivered = posts
      .filter((r) => r.status === 200)
      .map((r) => r.body as { roomId: string; markdown: string });
    expect(delivered).toHaveLength(40); // nothing lost, nothing sent twice

    for (const room of rooms) {
      // Order as Webex stored it, per room: exactly what was asked, in order.
      const stored = sim.roomMessages(room).filter((m) => m.personId === sim.bot.id);
      const expected = wanted.get(room.id)!;
      expect(stored.map((m) => m.markdown?.replace(/ \(edited\)$/, ''))).toEqual(expected);
      expect(stored[0]?.markdown).toBe(`${expected[0]} (edited)`);
      expect(stored[0]?.editCount).toBeLessThanOrEqual(2);
    }

    expect(requests.filter((r) => r.method === 'PUT' && r.status === 429)).toHaveLength(2);

    // Every pause was honoured for the whole endpoint: once a 429 came back at t, no request to
    // that endpoint left before t + Retry-After (or the default when the header was missing).
    const refusals = tracker.events.flatMap((e, index) => (e.status === 429 ? [{ ...e, index }] : []));
    expect(refusals).toHaveLength(7);
    expect(refusals.map((r) => r.retryAfterS)).toEqual(expect.arrayContaining([2, 1, undefined]));
    for (const refusal of refusals) {
      const pauseEnd = refusal.at + (refusal.retryAfterS ?? DEFAULT_RETRY_AFTER_S) * 1000;
      const early = tracker.events
        .slice(refusal.index + 1)
        .filter((e) => e.kind === 'send' && e.endpoint === refusal.endpoint && e.at < pauseEnd);
      expect(early).toEqual([]);
    }
    // The waits happened on the clock (refusals that arrive together share one pause).
    expect(clock.now()).toBeGreaterThanOrEqual(refusals[0]!.at + 2000);
  });
});
