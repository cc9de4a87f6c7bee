/**
 * Shared pieces of the access tests (SPEC "Who may use the bot", "Agent output"): reading
 * `refused_total` from the bot's `/metrics`, waiting for refusals that post nothing, a clock a
 * test can move forward, a space registry whose store can fail, and an agent form.
 */
import type { SpaceRecord } from '../../../src/adapters/store/ports.js';
import type { Clock } from '../../../src/clock.js';
import { messages } from '../../../src/render/messages.js';
import type { StoredMessage } from '../../../src/simulator/webex/index.js';
import type { SseExchange } from '../../helpers/a2a/sse-emulator.js';
import type { World } from '../../helpers/world.js';
import { CaipeTurn, DEPLOY_FORM_PART, WrappedSpaceRegistry } from '../conversations/support.js';

/** The bot's display name in `startWorld`. */
export const BOT_NAME = 'CAIPE Bot';

/** The notice an outsider (organisation or email domain) gets. */
export const OUTSIDER_NOTICE = messages.outsiderRefused(BOT_NAME);

/** `webex_bot_refused_total{reason}` as the bot's `/metrics` shows it (0 when absent). */
export async function refusedTotal(world: World, reason: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${world.runtime.http.port}/metrics`);
  const text = await response.text();
  const line = text.split('\n').find((l) => l.startsWith(`webex_bot_refused_total{reason="${reason}"} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Resolves once the intake has refused `count` events of people (it logs each one). */
export function untilPersonRefusals(world: World, count: number): Promise<void> {
  return world.log.until((record) => record.msg === 'person refused', count);
}

/** The bot's visible messages in a room whose markdown is exactly `markdown`. */
export function botMessagesEqualTo(world: World, roomId: string, markdown: string): StoredMessage[] {
  return world.visibleBotMessages(roomId).filter((m) => m.markdown === markdown);
}

/** Resolves once the bot has posted `count` messages in the room whose markdown is `markdown`. */
export async function untilBotPostedTimes(
  world: World,
  roomId: string,
  markdown: string,
  count = 1,
): Promise<void> {
  const { sim } = world;
  const seen = () => botMessagesEqualTo(world, roomId, markdown).length >= count;
  while (!seen()) {
    await sim.waitFor('request', (r) => r.method === 'POST' && r.path === '/v1/messages' && seen(), {
      futureOnly: true,
      timeoutMs: 10_000,
    });
  }
}

/** Base64url of `ciscospark://us/ORGANIZATION/<uuid>`: an organisation id as Control Hub shows it. */
export function publicOrgId(uuid: string): string {
  return Buffer.from(`ciscospark://us/ORGANIZATION/${uuid}`).toString('base64url');
}

// ── Time a test moves ───────────────────────────────────────────────────────────────────────────

/**
 * The wall clock plus an offset the test jumps forward: `now()` moves at once, timers keep their
 * real length. For a cache expiry a test must cross without waiting (nothing here sleeps).
 */
export class JumpClock implements Clock {
  #offset = 0;

  now(): number {
    return Date.now() + this.#offset;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  }

  clearTimeout(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }

  jump(ms: number): void {
    this.#offset += ms;
  }
}

// ── A registry whose store can fail ─────────────────────────────────────────────────────────────

/** The in-memory registry, failing every lookup while `failing` is set (MongoDB down). */
export class FailingSpaceRegistry extends WrappedSpaceRegistry {
  failing = false;
  /** Lookups that failed. */
  failures = 0;

  async find(roomIds: readonly string[]): Promise<SpaceRecord | undefined> {
    if (this.failing) {
      this.failures++;
      throw new Error('connection to the space registry refused');
    }
    return this.inner.find(roomIds);
  }
}

// ── An agent that asks for a form ───────────────────────────────────────────────────────────────

/** Opens a task that asks for the deploy form (input-required); `onTask` learns its id. */
export function formScript(onTask: (turn: CaipeTurn) => void) {
  return async (exchange: SseExchange): Promise<void> => {
    const turn = new CaipeTurn(exchange);
    onTask(turn);
    await turn.open();
    await turn.artifact('UserInputMetaData', [DEPLOY_FORM_PART]);
    await turn.status('input-required', 'Which environment?', undefined, true);
    await exchange.end();
  };
}

interface CardAction {
  type: string;
  data?: Record<string, unknown>;
}

/** The form card the bot posted in a room, and the inputs its Submit button would report. */
export function formCardIn(
  world: World,
  roomId: string,
): { card: StoredMessage; submit: Record<string, unknown> } {
  const card = world
    .visibleBotMessages(roomId)
    .find((m) => (m.attachments?.length ?? 0) > 0 && JSON.stringify(m.attachments).includes('"form"'));
  if (!card) throw new Error('no form card in the room');
  const content = (card.attachments?.[0] as { content?: { actions?: CardAction[] } } | undefined)?.content;
  const submit = (content?.actions ?? []).find(
    (a) => a.type === 'Action.Submit' && JSON.stringify(a.data).includes('"form"'),
  );
  if (!submit?.data) throw new Error('the form card has no submit action');
  // Webex merges the Action.Submit data into the inputs it reports.
  return { card, submit: { ...submit.data } };
}
