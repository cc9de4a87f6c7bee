import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeHydraId } from '../../src/adapters/webex/ids.js';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { connectOnline, registerDevice, rest, type TestSocket } from './sim-client.js';

const BOT_TOKEN = 'bot-token-core';

describe('webex simulator core flow', () => {
  let sim: WebexSimulator;
  const sockets: TestSocket[] = [];

  beforeEach(async () => {
    sim = await startWebexSimulator({
      botToken: BOT_TOKEN,
      botDisplayName: 'CAIPE',
      botEmail: 'caipe@webex.bot',
    });
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
    await sim.close();
  });

  it('When a bot starts up and a user writes 1:1, Then the activity arrives and REST gives the plaintext', async () => {
    // Arrange: people/me, U2C → WDM → Mercury, as a bot does.
    const me = await rest<{ id: string; type: string; emails: string[]; displayName: string }>(
      `${sim.urls.hydra}/people/me`,
      BOT_TOKEN,
    );
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      id: sim.bot.id,
      type: 'bot',
      emails: ['caipe@webex.bot'],
      displayName: 'CAIPE',
    });
    expect(me.headers.get('trackingid')).toMatch(/^ROUTER_/);
    const device = await registerDevice(sim);
    expect(device.userId).toBe(decodeHydraId(me.body.id)?.uuid);
    const socket = await connectOnline(device, BOT_TOKEN);
    sockets.push(socket);
    const user = sim.createUser({ displayName: 'Ada Lovelace', email: 'ada@example.com' });
    const room = sim.createDirectRoom(user);

    // Act
    const posted = sim.post(user, room, { text: 'hello bot' });

    // Assert: the activity carries UUIDs and opaque text; REST has the plaintext.
    const frame = await socket.activity((a) => a.id === posted.uuid);
    const activity = frame.data?.activity as { object: { displayName: string } };
    expect(activity).toMatchObject({
      verb: 'post',
      actor: { id: user.uuid, type: 'PERSON', emailAddress: 'ada@example.com' },
      object: { objectType: 'comment' },
      target: { id: room.uuid, tags: ['ONE_ON_ONE'] },
    });
    expect(activity.object.displayName).toMatch(/^eyJ/);
    expect(JSON.stringify(frame)).not.toContain('hello bot');
    // buffer_state, the room's `create`, then the post: one sequence per socket, no gaps.
    expect(socket.frames.map((f) => f.sequenceNumber)).toEqual([1, 2, 3]);
    expect(socket.frames[1]?.data?.activity).toMatchObject({ verb: 'create' });
    const fetched = await rest(`${sim.urls.hydra}/messages/${posted.id}`, BOT_TOKEN);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({
      id: posted.id,
      text: 'hello bot',
      roomType: 'direct',
      personEmail: 'ada@example.com',
    });

    // And the bot's reply goes through REST and is echoed on its own socket.
    const reply = await rest<{ id: string }>(`${sim.urls.hydra}/messages`, BOT_TOKEN, {
      method: 'POST',
      body: { roomId: room.id, markdown: 'hi **Ada**' },
    });
    expect(reply.status).toBe(200);
    const echo = await socket.activity((a) => a.id === decodeHydraId(reply.body.id)?.uuid);
    expect(echo.data?.activity).toMatchObject({ verb: 'post', actor: { id: device.userId, type: 'BOT' } });
    await sim.waitFor('ack', (a) => a.messageId === echo.id);
  });
});
