import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeHydraId } from '../../src/adapters/webex/ids.js';
import {
  AUTH_TIMEOUT_REASON,
  startWebexSimulator,
  type WebexSimulator,
} from '../../src/simulator/webex/index.js';
import { ManualClock, SIM_EPOCH } from '../helpers/manual-clock.js';
import {
  connectOnline,
  MERCURY_QUERY,
  type RegisteredDevice,
  registerDevice,
  rest,
  TestSocket,
} from './sim-client.js';

const BOT_TOKEN = 'bot-token-mercury';

describe('webex simulator: Mercury socket', () => {
  let sim: WebexSimulator;
  let clock: ManualClock;
  let device: RegisteredDevice;
  const sockets: TestSocket[] = [];
  const track = (socket: TestSocket) => {
    sockets.push(socket);
    return socket;
  };

  beforeEach(async () => {
    clock = new ManualClock(SIM_EPOCH);
    sim = await startWebexSimulator({ botToken: BOT_TOKEN, clock, retentionMs: 15 * 60_000 });
    device = await registerDevice(sim);
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
    await sim.close();
  });

  it('When a socket is closed without a status before buffer_state, Then the client sees 1005', async () => {
    sim.faults.withholdBufferState(true);
    const socket = track(await TestSocket.open(`${device.webSocketUrl}?${MERCURY_QUERY}`));
    socket.authorize(BOT_TOKEN);
    await sim.waitFor('socket', (s) => s.type === 'authorized');
    sim.faults.closeWithoutStatus();
    expect(await socket.closed).toEqual({ code: 1005, reason: '' });
    expect(socket.frames).toEqual([]);
  });

  it('When the authorization frame carries a bad token, Then the socket closes 4401', async () => {
    const socket = track(await TestSocket.open(`${device.webSocketUrl}?${MERCURY_QUERY}`));
    socket.authorize('wrong-token');
    expect(await socket.closed).toEqual({ code: 4401, reason: 'authentication failed' });
    expect(socket.frames).toEqual([]);
  });

  it('When no authorization arrives within the timeout, Then the socket closes with the auth-timeout reason', async () => {
    const socket = track(await TestSocket.open(`${device.webSocketUrl}?${MERCURY_QUERY}`));
    await sim.waitFor('socket', (s) => s.type === 'connected');
    await clock.advance(29_999);
    expect(sim.sockets()[0]?.state).toBe('authorizing');
    await clock.advance(1);
    expect(await socket.closed).toEqual({ code: 1008, reason: AUTH_TIMEOUT_REASON });
  });

  it('When authorized, Then buffer_state comes first and pings get pongs with the same id', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    expect(socket.frames[0]).toMatchObject({
      data: { eventType: 'mercury.buffer_state' },
      sequenceNumber: 1,
    });
    expect(socket.frames[0]?.id).toEqual(expect.any(String));
    socket.send({ id: 'ping-1', type: 'ping' });
    expect(await socket.next((f) => f.type === 'pong')).toMatchObject({
      id: 'ping-1',
      type: 'pong',
      sequenceNumber: 2,
    });
    sim.faults.pongMismatch(true);
    socket.send({ id: 'ping-2', type: 'ping' });
    const mismatched = await socket.next((f) => f.type === 'pong' && f.sequenceNumber === 3);
    expect(mismatched.id).not.toBe('ping-2');
    sim.faults.pongMismatch(false);
    sim.faults.swallowPongs(true);
    socket.send({ id: 'ping-3', type: 'ping' });
    // Frames are handled in order: once this ack is recorded, ping-3 has been swallowed.
    socket.ack('marker');
    await sim.waitFor('ack', (a) => a.messageId === 'marker');
    sim.faults.swallowPongs(false);
    socket.send({ id: 'ping-4', type: 'ping' });
    await socket.next((f) => f.id === 'ping-4');
    expect(socket.frames.some((f) => f.id === 'ping-3')).toBe(false);
  });

  it('When a frame is not acked and the device reconnects, Then it is re-delivered; an acked one is not', async () => {
    const user = sim.createUser();
    const room = sim.createRoom({ type: 'direct', members: [user, sim.bot], announce: false });
    const first = track(await connectOnline(device, BOT_TOKEN, { autoAck: false }));
    const acked = sim.post(user, room, { text: 'acked' });
    const unacked = sim.post(user, room, { text: 'not acked' });
    const ackedFrame = await first.activity((a) => a.id === acked.uuid);
    const unackedFrame = await first.activity((a) => a.id === unacked.uuid);
    first.ack(ackedFrame.id ?? '');
    await sim.waitFor('ack', (a) => a.messageId === ackedFrame.id && a.known);
    await first.close();

    const second = track(await connectOnline(device, BOT_TOKEN));
    const again = await second.activity((a) => a.id === unacked.uuid);
    expect(again.id).toBe(unackedFrame.id);
    expect(second.frames.filter((f) => f.data?.activity?.id === acked.uuid)).toEqual([]);
    await sim.waitFor('ack', (a) => a.messageId === unackedFrame.id && a.known);
    expect(sim.unackedFrames(device.uuid)).toEqual([]);
  });

  it('When unacked frames are older than the retention, Then they are not re-delivered', async () => {
    const user = sim.createUser();
    const room = sim.createRoom({ type: 'direct', members: [user, sim.bot], announce: false });
    const stale = sim.post(user, room, { text: 'while offline' });
    await clock.advance(15 * 60_000 + 1);
    const fresh = sim.post(user, room, { text: 'just now' });
    const socket = track(await connectOnline(device, BOT_TOKEN));
    await socket.activity((a) => a.id === fresh.uuid);
    expect(socket.frames.some((f) => f.data?.activity?.id === stale.uuid)).toBe(false);
  });

  it('When a second socket authorizes on the same device, Then the first closes 4000 "Replaced"', async () => {
    const first = track(await connectOnline(device, BOT_TOKEN));
    const second = track(await connectOnline(device, BOT_TOKEN));
    expect(await first.closed).toEqual({ code: 4000, reason: 'Replaced' });
    const user = sim.createUser();
    const room = sim.createDirectRoom(user);
    const posted = sim.post(user, room, { text: 'to the new socket' });
    await second.activity((a) => a.id === posted.uuid);
  });

  it('When a shutdown frame is sent, Then the old socket closes 4001 once a new socket authorizes', async () => {
    const old = track(await connectOnline(device, BOT_TOKEN));
    const oldInfo = sim.sockets()[0];
    sim.faults.shutdown();
    const shutdown = await old.next((f) => f.type === 'shutdown');
    expect(shutdown.sequenceNumber).toBe(2);
    // Make before break: the old socket still gets events until the new one is up.
    const user = sim.createUser();
    const room = sim.createDirectRoom(user);
    const during = sim.post(user, room, { text: 'during switchover' });
    await old.activity((a) => a.id === during.uuid);
    const replacement = track(await connectOnline(device, BOT_TOKEN));
    expect(await old.closed).toEqual({ code: 4001, reason: 'Shutdown' });
    const closed = await sim.waitFor('socket', (s) => s.type === 'closed' && s.socketId === oldInfo?.id);
    expect(closed).toMatchObject({ code: 4001, closedBy: 'server' });
    const after = sim.post(user, room, { text: 'after switchover' });
    await replacement.activity((a) => a.id === after.uuid);
  });

  it('When the device was deleted server-side, Then the handshake answers HTTP 404 and PUT 404', async () => {
    sim.faults.deleteDevice(device.uuid);
    await expect(TestSocket.open(`${device.webSocketUrl}?${MERCURY_QUERY}`)).rejects.toThrow(
      'handshake HTTP 404',
    );
    expect((await rest(device.url, BOT_TOKEN, { method: 'PUT', body: {} })).status).toBe(404);
    expect((await rest(`${device.webSocketUrl.replace('ws://', 'http://')}`, BOT_TOKEN)).status).toBe(404);
  });

  it('When the bot posts over REST, Then its own post is echoed on its socket with its userId as actor', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    const room = sim.createDirectRoom(sim.createUser());
    const posted = await rest<{ id: string }>(`${sim.urls.hydra}/messages`, BOT_TOKEN, {
      method: 'POST',
      body: { roomId: room.id, text: 'from the bot' },
    });
    const uuid = decodeHydraId(posted.body.id)?.uuid;
    const echo = await socket.activity((a) => a.id === uuid);
    expect(echo.data?.activity).toMatchObject({ verb: 'post', actor: { id: device.userId } });
  });

  it('When redeliver is asked for, Then the same activity comes in a new frame id', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    const user = sim.createUser();
    const posted = sim.post(user, sim.createDirectRoom(user), { text: 'twice' });
    const original = await socket.activity((a) => a.id === posted.uuid);
    expect(sim.faults.redeliver(posted.uuid)).toBe(1);
    const duplicate = await socket.next((f) => f.data?.activity?.id === posted.uuid && f.id !== original.id);
    expect(duplicate.sequenceNumber).toBe((original.sequenceNumber ?? 0) + 1);
  });

  it('When a sequence gap is injected, Then the next frame skips numbers', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    sim.faults.sequenceGap(3);
    const user = sim.createUser();
    sim.createRoom({ type: 'direct', members: [user, sim.bot] });
    const created = await socket.activity((a) => a.verb === 'create');
    expect(created.sequenceNumber).toBe(1 + 3 + 1);
  });

  it('When a negative gap is injected, Then the next frame goes back and the count goes on from it', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    const user = sim.createUser();
    const room = sim.createDirectRoom(user);
    await socket.activity((a) => a.verb === 'create');
    const first = sim.post(user, room, { text: 'one' });
    const one = await socket.activity((a) => a.id === first.uuid);
    sim.faults.sequenceGap(-2);
    const second = sim.post(user, room, { text: 'two' });
    const two = await socket.activity((a) => a.id === second.uuid);
    const third = sim.post(user, room, { text: 'three' });
    const three = await socket.activity((a) => a.id === third.uuid);
    expect(two.sequenceNumber).toBe((one.sequenceNumber ?? 0) - 1);
    expect(three.sequenceNumber).toBe((two.sequenceNumber ?? 0) + 1);
  });

  it('When the TCP connection is dropped, Then the client sees 1006', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    sim.faults.dropTcp();
    expect((await socket.closed).code).toBe(1006);
  });

  it('When the server closes with a code, Then the client gets that code and reason', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    sim.faults.close(1011, 'unexpected error');
    expect(await socket.closed).toEqual({ code: 1011, reason: 'unexpected error' });
    expect((await sim.waitFor('socket', (s) => s.type === 'closed')).closedBy).toBe('server');
  });

  it('When a client sends garbage, Then the socket stays up; sendRaw reaches the client verbatim', async () => {
    const socket = track(await connectOnline(device, BOT_TOKEN));
    socket.ws.send('{not json');
    socket.send({ type: 'mystery' });
    socket.send({ id: 'after-garbage', type: 'ping' });
    await socket.next((f) => f.id === 'after-garbage');
    const raw = new Promise<string>((resolve) =>
      socket.ws.once('message', (data) => resolve(data.toString())),
    );
    sim.faults.sendRaw({ id: 'raw-1', data: { eventType: 'status.start_typing' } });
    expect(JSON.parse(await raw)).toEqual({ id: 'raw-1', data: { eventType: 'status.start_typing' } });
    sim.faults.sendRaw('definitely not json');
    expect(await socket.next((f) => f.type === 'unparseable')).toMatchObject({
      data: { raw: 'definitely not json' },
    });
  });

  it('When buffer_state is withheld, Then the socket is authorized but gets no frames', async () => {
    sim.faults.withholdBufferState(true);
    const socket = track(await TestSocket.open(`${device.webSocketUrl}?${MERCURY_QUERY}`));
    socket.authorize(BOT_TOKEN);
    await sim.waitFor('socket', (s) => s.type === 'authorized');
    const user = sim.createUser();
    sim.post(user, sim.createDirectRoom(user), { text: 'held back' });
    socket.send({ id: 'p', type: 'ping' });
    await socket.next((f) => f.type === 'pong');
    expect(socket.frames.map((f) => f.type)).toEqual(['pong']);
  });
});

describe('webex simulator: WDM', () => {
  let sim: WebexSimulator;

  beforeEach(async () => {
    sim = await startWebexSimulator({ botToken: BOT_TOKEN, maxDevicesPerUser: 2 });
  });

  afterEach(async () => {
    await sim.close();
  });

  it('When the per-user cap is reached, Then WDM refuses with "User has excessive device registrations"', async () => {
    const a = await registerDevice(sim);
    await registerDevice(sim);
    await expect(registerDevice(sim)).rejects.toThrow('400');
    const refused = await rest<{ message: string }>(`${sim.urls.wdm}/devices`, BOT_TOKEN, {
      method: 'POST',
      body: {},
    });
    expect(refused.body.message).toBe('User has excessive device registrations');
    const listed = await rest<{ devices: Array<{ url: string; name: string }> }>(
      `${sim.urls.wdm}/devices`,
      BOT_TOKEN,
    );
    expect(listed.body.devices).toHaveLength(2);
    expect(listed.body.devices[0]?.name).toBe('sim-test-client');
    expect((await rest(a.url, BOT_TOKEN, { method: 'DELETE' })).status).toBe(204);
    await registerDevice(sim);
    expect((await rest(`${sim.urls.wdm}/devices`, BOT_TOKEN, { method: 'DELETE' })).status).toBe(204);
    expect((await rest<{ devices: unknown[] }>(`${sim.urls.wdm}/devices`, BOT_TOKEN)).body.devices).toEqual(
      [],
    );
  });

  it('When a device is refreshed with PUT, Then modificationTime and ETag move on', async () => {
    const device = await registerDevice(sim);
    const refreshed = await rest<{ url: string; modificationTime: string }>(device.url, BOT_TOKEN, {
      method: 'PUT',
      body: { name: 'renamed' },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.url).toBe(device.url);
    expect(refreshed.headers.get('etag')).toBe('"2"');
    expect(sim.devices()[0]?.name).toBe('renamed');
  });

  it('When the catalog is read, Then both regions are in the host catalog', async () => {
    const catalog = await rest<{
      serviceLinks: Record<string, string>;
      hostCatalog: Record<string, Array<{ id: string }>>;
    }>(`${sim.urls.u2c}/catalog?format=hostmap`, BOT_TOKEN);
    expect(catalog.body.serviceLinks).toEqual({
      wdm: sim.urls.wdm,
      hydra: sim.urls.hydra,
      conversation: sim.urls.conversation,
      metrics: sim.urls.metrics,
    });
    const ids = Object.values(catalog.body.hostCatalog).flatMap((entries) => entries.map((e) => e.id));
    expect(ids).toContain('urn:TEAM:us-east-2_a:conversation');
    expect(ids).toContain('urn:TEAM:eu-central-1_k:conversation');
    expect((await rest(`${sim.urls.u2c}/catalog?format=hostmap`, 'bad')).status).toBe(401);
  });

  it('When the eu region is listed, Then its conversation host is an entry under another key, with no port', async () => {
    const catalog = await rest<{
      hostCatalog: Record<string, Array<{ id: string; host: string }>>;
    }>(`${sim.urls.u2c}/catalog?format=hostmap`, BOT_TOKEN);
    const port = new URL(sim.urls.base).port;
    // Keys are `URL.host` of the service links; entry hosts are host names (the SDK adds the port).
    expect(Object.keys(catalog.body.hostCatalog).sort()).toEqual([`127.0.0.1:${port}`, 'conv-k.wbx2.com']);
    const eu = catalog.body.hostCatalog['conv-k.wbx2.com'] ?? [];
    expect(eu.map((e) => e.host)).toEqual(['conv-k.wbx2.com', 'localhost']);
    expect(new Set(eu.map((e) => e.id))).toEqual(new Set(['urn:TEAM:eu-central-1_k:conversation']));
    expect(catalog.body.hostCatalog.localhost).toBeUndefined();
  });

  it('When the limited catalog is asked for, Then it answers with a query key, without a token, and 400 without a key', async () => {
    const limited = await rest<{ serviceLinks: Record<string, string> }>(
      `${sim.urls.u2c}/limited/catalog?orgId=some-org&format=hostmap`,
      undefined,
    );
    expect(limited.status).toBe(200);
    expect(limited.body.serviceLinks.wdm).toBe(sim.urls.wdm);
    const withToken = await rest(
      `${sim.urls.u2c}/limited/catalog?mode=DEFAULT_BY_PROXIMITY&format=hostmap`,
      BOT_TOKEN,
    );
    expect(withToken.status).toBe(200);
    expect((await rest(`${sim.urls.u2c}/limited/catalog?format=hostmap`, undefined)).status).toBe(400);
  });
});
