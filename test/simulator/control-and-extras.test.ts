import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeHydraId } from '../../src/adapters/webex/ids.js';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { ManualClock, SIM_EPOCH } from '../helpers/manual-clock.js';
import { connectOnline, registerDevice, rest } from './sim-client.js';

const BOT_TOKEN = 'bot-token-extras';

interface ControlAnswer {
  uuid: string;
  id: string;
  sockets: unknown[];
}

describe('webex simulator: control plane and extras', () => {
  let sim: WebexSimulator;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(SIM_EPOCH);
    sim = await startWebexSimulator({ botToken: BOT_TOKEN, controlPlane: true, clock });
  });

  afterEach(async () => {
    await sim.close();
  });

  it('When the control plane plays a user, Then the bot socket gets the activity and REST the text', async () => {
    const socket = await connectOnline(await registerDevice(sim), BOT_TOKEN);
    try {
      const control = (path: string, body?: unknown) =>
        rest<ControlAnswer>(`${sim.urls.base}/_sim${path}`, undefined, {
          method: body ? 'POST' : 'GET',
          body,
        });
      const user = (await control('/users', { displayName: 'Ada' })).body;
      const room = (await control('/rooms', { type: 'group', title: 'Ops', members: [user.uuid, 'bot'] }))
        .body;
      const posted = await control('/messages', {
        user: user.uuid,
        room: room.id,
        text: 'hello',
        mentionBot: true,
      });
      expect(posted.status).toBe(200);
      await socket.activity((a) => a.id === posted.body.uuid);
      expect((await rest(`${sim.urls.hydra}/messages/${posted.body.id}`, BOT_TOKEN)).body).toMatchObject({
        text: 'CAIPE hello',
      });
      expect((await control('/faults/rateLimit', { route: '/v1/people/me', retryAfterS: 2 })).status).toBe(
        200,
      );
      expect((await rest(`${sim.urls.hydra}/people/me`, BOT_TOKEN)).status).toBe(429);
      const state = (await control('/state')).body;
      expect(state.sockets).toHaveLength(1);
      expect(JSON.stringify(state)).not.toContain('sim-token-');
      expect((await control('/log/nonsense')).status).toBe(404);
      expect((await control('/faults/unknown', {})).status).toBe(404);
    } finally {
      await socket.close();
    }
  });

  it('When latency is injected, Then the response waits for the simulator clock', async () => {
    sim.faults.latency(5000, { route: '/v1/people/me' });
    let settled = false;
    const pending = rest(`${sim.urls.hydra}/people/me`, BOT_TOKEN).then((r) => {
      settled = true;
      return r;
    });
    // The request is parked on the clock until it moves; nothing is sent back before that.
    await new Promise<void>((resolve) => {
      const poll = () => (clock.pendingTimers > 0 ? resolve() : setImmediate(poll));
      poll();
    });
    expect(settled).toBe(false);
    await clock.advance(5000);
    expect((await pending).status).toBe(200);
  });

  it('When the bot writes to a person by email, Then a direct room is created and reused', async () => {
    const ada = sim.createUser({ email: 'ada@example.com' });
    const first = await rest<{ roomId: string; roomType: string }>(`${sim.urls.hydra}/messages`, BOT_TOKEN, {
      method: 'POST',
      body: { toPersonEmail: 'ada@example.com', text: 'hi' },
    });
    expect(first.body.roomType).toBe('direct');
    const second = await rest<{ roomId: string }>(`${sim.urls.hydra}/messages`, BOT_TOKEN, {
      method: 'POST',
      body: { toPersonId: ada.id, text: 'again' },
    });
    expect(second.body.roomId).toBe(first.body.roomId);
    const both = await rest(`${sim.urls.hydra}/messages`, BOT_TOKEN, {
      method: 'POST',
      body: { roomId: first.body.roomId, toPersonId: ada.id, text: 'x' },
    });
    expect(both.status).toBe(400);
    const direct = await rest<{ items: unknown[] }>(
      `${sim.urls.hydra}/messages/direct?personEmail=ada@example.com`,
      BOT_TOKEN,
    );
    expect(direct.body.items).toHaveLength(2);
  });

  it('When the conversation service is asked for an activity UUID, Then it answers the Hydra id', async () => {
    const ada = sim.createUser();
    const posted = sim.post(ada, sim.createDirectRoom(ada), { text: 'x' });
    const answer = await rest<{ id: string }>(`${sim.urls.conversation}/messages/${posted.uuid}`, BOT_TOKEN);
    expect(answer.body.id).toBe(posted.id);
    expect(decodeHydraId(answer.body.id)?.uuid).toBe(posted.uuid);
  });

  it('When a request body is not JSON, Then 400 and the simulator keeps serving', async () => {
    const response = await fetch(`${sim.urls.hydra}/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${BOT_TOKEN}`, 'Content-Type': 'application/json' },
      body: '{not json',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('trackingid')).toBeTruthy();
    expect((await rest(`${sim.urls.hydra}/people/me`, BOT_TOKEN)).status).toBe(200);
    const logged = await sim.waitFor('request', (r) => r.path === '/v1/messages');
    expect(logged.status).toBe(400);
  });
});
