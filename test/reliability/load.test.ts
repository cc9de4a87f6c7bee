/**
 * Load: 1,000 concurrent conversations across 100 group spaces (10 threads each) against a
 * streaming agent that sends its chunks milliseconds apart. Every question is answered exactly once
 * (counted in what Webex stores) and reaches the agent once; afterwards every conversation and room
 * actor has stopped (idle timeouts) and the heap is back near its baseline.
 *
 * The bot runs on a clock 100× faster than the wall clock (`scaledClock`): the sender's 5 writes/s
 * budget (≈3,000 writes here) and the 10-minute conversation idle timeout would otherwise take
 * many minutes of pure waiting. The figures printed are wall-clock.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import type { SseExchange } from '../helpers/a2a/sse-emulator.js';
import { answersTo, type Rig, startRig } from '../helpers/model/rig.js';
import { scaledClock } from '../helpers/model/scaled-world.js';
import { CaipeTurn } from '../integration/conversations/support.js';

const ROOMS = 100;
const THREADS_PER_ROOM = 10;
const CLOCK_FACTOR = 100;

let rig: Rig | undefined;

afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  gc?.();
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Streams the answer in three chunks a few milliseconds apart, then completes. */
async function streamingAnswer(exchange: SseExchange): Promise<void> {
  const turn = new CaipeTurn(exchange);
  await turn.open();
  const text = `Echo: ${turn.userText}`;
  const third = Math.ceil(text.length / 3);
  for (let i = 0; i < 3; i++) {
    await turn.artifact(
      'streaming_result',
      [{ kind: 'text', text: text.slice(i * third, (i + 1) * third) }],
      {
        artifactId: `stream-${turn.taskId}`,
        append: i > 0,
        metadata: { sourceAgent: 'supervisor', agentType: 'streaming' },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 1 + (i % 3)));
  }
  await turn.answer(text);
}

describe('load', () => {
  it(`${ROOMS * THREADS_PER_ROOM} concurrent conversations across ${ROOMS} spaces: each answered once, nothing left running`, async () => {
    rig = await startRig({
      clock: scaledClock(CLOCK_FACTOR),
      logLevel: 'warn',
      env: {
        A2A_IDLE_TIMEOUT_S: '6000',
        WEBEX_UPDATE_INTERVAL_MS: '3000',
        MAX_QUEUED_PER_CONVERSATION: '5',
        // Ten people ask a thousand questions at once: the turn limits are not what this measures.
        MAX_CONCURRENT_TURNS: '2000',
        MAX_TURNS_PER_PERSON: '200',
      },
    });
    rig.when(() => true, streamingAnswer, Number.POSITIVE_INFINITY);
    const { world } = rig;
    const { sim } = world;
    const users = Array.from({ length: 10 }, (_, i) =>
      sim.createUser({ displayName: `Load ${i}`, email: `load${i}@example.com` }),
    );
    const rooms = Array.from({ length: ROOMS }, (_, r) =>
      sim.createRoom({ type: 'group', title: `Load ${r}`, members: [...users, sim.bot], creator: users[0]! }),
    );
    for (const room of rooms)
      await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });

    collectGarbage();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 250);

    const total = ROOMS * THREADS_PER_ROOM;
    let answered = 0;
    const allAnswered = new Promise<void>((resolve) => {
      const off = sim.on('request', (r) => {
        const markdown = (r.body as { markdown?: unknown } | undefined)?.markdown;
        if (
          r.method === 'POST' &&
          r.status === 200 &&
          typeof markdown === 'string' &&
          markdown.startsWith('Echo: load ')
        ) {
          answered++;
          if (answered >= total) {
            off();
            resolve();
          }
        }
      });
    });

    const started = Date.now();
    const questions: Array<{ roomId: string; text: string }> = [];
    for (let t = 0; t < THREADS_PER_ROOM; t++) {
      for (const [r, room] of rooms.entries()) {
        const text = `load ${r}-${t}.`;
        sim.post(users[t]!, room, { text, mentionBot: true });
        questions.push({ roomId: room.id, text });
      }
    }
    await allAnswered;
    const answeredAfterMs = Date.now() - started;

    // Every conversation goes idle, stops at its idle timeout, then its room does.
    await waitFor(world.runtime.bot, (s) => Object.keys(s.children).length === 0, { timeout: 30_000 });
    const drainedAfterMs = Date.now() - started;
    clearInterval(sampler);

    for (const q of questions) {
      expect(answersTo(world, q.roomId, q.text), q.text).toBe(1);
    }
    const asked = new Map<string, number>();
    for (const r of rig.agent.requests) {
      if (r.json?.method !== 'message/stream') continue;
      // The question, without the `by user:` line the bot puts first (A2A_USER_PREFIX).
      const text = String(r.json.params?.message?.parts?.[0]?.text ?? '').replace(/^by user: [^\n]*\n\n/, '');
      asked.set(text, (asked.get(text) ?? 0) + 1);
    }
    for (const q of questions) expect(asked.get(q.text), q.text).toBe(1);
    expect(world.runtime.bot.getSnapshot().context.rooms).toEqual([]);

    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    const writes = sim.log.requests.filter((r) => r.method !== 'GET').length;
    console.log(
      `load: ${total} conversations in ${ROOMS} spaces answered once each in ${answeredAfterMs} ms ` +
        `(${Math.round((total / answeredAfterMs) * 1000)} answers/s wall clock, bot clock ×${CLOCK_FACTOR}); ` +
        `all actors stopped after ${drainedAfterMs} ms; ≥${writes} Webex writes; ` +
        `heap baseline ${mb(baseline)} MB, peak ${mb(peak)} MB, after ${mb(after)} MB`,
    );
    // Generous: the simulator keeps every message and its logs; the bot must not keep conversations.
    expect(after - baseline).toBeLessThan(150 * 1024 * 1024);
  }, 90_000);
});
