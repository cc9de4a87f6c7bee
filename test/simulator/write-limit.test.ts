import { afterEach, describe, expect, it } from 'vitest';
import {
  startWebexSimulator,
  type WebexSimulator,
  type WriteLimitOptions,
} from '../../src/simulator/webex/index.js';
import { ManualClock, SIM_EPOCH } from '../helpers/manual-clock.js';
import { rest } from './sim-client.js';

const BOT_TOKEN = 'bot-token-write-limit';

type ErrorBody = { message: string; errors: Array<{ description: string }>; trackingId: string };

describe('webex simulator: server-side write limit', () => {
  let sim: WebexSimulator | undefined;
  const clock = new ManualClock(SIM_EPOCH);

  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  async function start(writeLimit?: WriteLimitOptions) {
    sim = await startWebexSimulator({ botToken: BOT_TOKEN, clock, ...(writeLimit ? { writeLimit } : {}) });
    const room = sim.createDirectRoom(sim.createUser());
    const post = (token = BOT_TOKEN, roomId = room.id) =>
      rest<ErrorBody & { id: string }>(`${sim!.urls.hydra}/messages`, token, {
        method: 'POST',
        body: { roomId, markdown: 'hello' },
      });
    return { sim, room, post };
  }

  it('is off by default: 100 writes at once all go through', async () => {
    const { post } = await start();
    const answers = await Promise.all(Array.from({ length: 100 }, () => post()));
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });

  it('lets the burst through, then answers 429 the Webex way with the whole seconds until a token', async () => {
    const { sim, post } = await start({ ratePerSecond: 0.5, burst: 3 });
    for (let i = 0; i < 3; i++) expect((await post()).status).toBe(200);
    const refused = await post();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2'); // a token every 2 s
    expect(refused.body.message).toMatch(/too many requests/);
    expect(refused.body.errors[0]?.description).toBe(refused.body.message);
    expect(refused.headers.get('trackingid')).toBe(refused.body.trackingId);
    // A refused write costs nothing: after 1.5 s the bucket holds 0.75 tokens, Retry-After rounds up.
    await clock.advance(1500);
    const early = await post();
    expect(early.status).toBe(429);
    expect(early.headers.get('retry-after')).toBe('1');
    await clock.advance(500);
    expect((await post()).status).toBe(200);
    expect(sim.log.requests.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('refills at the rate, never above the burst', async () => {
    const { post } = await start({ ratePerSecond: 10, burst: 5 });
    await clock.advance(60_000); // a long quiet spell still leaves only the burst
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await post()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    await clock.advance(300); // 3 tokens
    const after = [];
    for (let i = 0; i < 4; i++) after.push((await post()).status);
    expect(after).toEqual([200, 200, 200, 429]);
  });

  it('counts POST, PUT and DELETE under /v1 only; reads and device calls are free', async () => {
    const { sim, room, post } = await start({ ratePerSecond: 1, burst: 2 });
    const sent = await post();
    const path = `${sim.urls.hydra}/messages/${sent.body.id}`;
    expect(
      (await rest(path, BOT_TOKEN, { method: 'PUT', body: { roomId: room.id, markdown: 'v2' } })).status,
    ).toBe(200);
    expect((await rest(path, BOT_TOKEN, { method: 'DELETE' })).status).toBe(429);
    for (let i = 0; i < 20; i++)
      expect((await rest(`${sim.urls.hydra}/people/me`, BOT_TOKEN)).status).toBe(200);
    const device = await rest(`${sim.urls.wdm}/devices`, BOT_TOKEN, {
      method: 'POST',
      body: { name: 'write-limit-test', deviceType: 'UNKNOWN' },
    });
    expect(device.status).toBe(200);
  });

  it('keeps one bucket per caller: a user writing does not spend the bot’s budget', async () => {
    const { sim, room, post } = await start({ ratePerSecond: 1, burst: 1 });
    const user = sim.createUser();
    const userRoom = sim.createDirectRoom(user);
    expect((await post(user.token, userRoom.id)).status).toBe(200);
    expect((await post(user.token, userRoom.id)).status).toBe(429);
    expect((await post(BOT_TOKEN, room.id)).status).toBe(200);
  });

  it('can answer with a fixed Retry-After, or with none at all', async () => {
    const fixed = await start({ ratePerSecond: 30, burst: 1, retryAfter: 10 });
    expect((await fixed.post()).status).toBe(200);
    const refused = await fixed.post();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('10');
    await fixed.sim.close();

    const bare = await start({ ratePerSecond: 30, burst: 1, retryAfter: 'none' });
    expect((await bare.post()).status).toBe(200);
    const noHint = await bare.post();
    expect(noHint.status).toBe(429);
    expect(noHint.headers.get('retry-after')).toBeNull();
  });

  it('refuses nonsense options', async () => {
    await expect(start({ ratePerSecond: 0, burst: 5 })).rejects.toThrow(RangeError);
    await expect(start({ ratePerSecond: 5, burst: 0 })).rejects.toThrow(RangeError);
    await expect(start({ ratePerSecond: 5, burst: 5, retryAfter: -1 })).rejects.toThrow(RangeError);
  });
});
