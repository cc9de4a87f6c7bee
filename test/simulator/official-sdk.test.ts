/**
 * The official Webex JS SDK (webex-core with its device and Mercury plugins, as published on npm)
 * against the simulator: a client that was not written against the simulator, so every rule it
 * trips over is a place where the simulator differs from Webex. Nothing of the SDK is stubbed; it
 * runs under Node with its own HTTP and `ws` clients.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { startWebexSimulator, type WebexSimulator } from '../../src/simulator/webex/index.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { connectOnline } from './sim-client.js';

const require = createRequire(import.meta.url);

/** The parts of the SDK this test drives (the packages ship no types). */
interface MercuryEnvelope {
  id?: string;
  data: { eventType: string; activity: { id: string; verb: string } };
}
interface SdkMercury {
  connected: boolean;
  connecting: boolean;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  on(event: string, listener: (payload: unknown) => void): void;
  off(event: string, listener: (payload: unknown) => void): void;
  _reconnect(...args: unknown[]): unknown;
}
interface SdkDevice {
  url: string | undefined;
  userId: string | undefined;
  registered: boolean;
  register(): Promise<unknown>;
  unregister(): Promise<unknown>;
}
interface SdkWebex {
  internal: { device: SdkDevice; mercury: SdkMercury };
  once(event: 'ready', listener: () => void): void;
  ready: boolean;
}
type WebexCoreConstructor = new (attrs: Record<string, unknown>) => SdkWebex;

function loadSdk(): WebexCoreConstructor {
  const core = require('@webex/webex-core') as { default: WebexCoreConstructor };
  // Plugins register themselves with webex-core when loaded.
  require('@webex/internal-plugin-device');
  require('@webex/internal-plugin-mercury');
  require('@webex/plugin-logger');
  return core.default;
}

/** A bot token as Webex issues them: `<secret>_<cluster>_<orgId>`; the SDK reads the org id from it. */
const BOT_TOKEN = `${randomUUID().replaceAll('-', '')}_PF84_${randomUUID()}`;

function once<T>(mercury: SdkMercury, event: string, accept: (payload: T) => boolean = () => true) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      mercury.off(event, listener);
      reject(new Error(`the SDK emitted no matching '${event}' within 10 s`));
    }, 10_000);
    const listener = (payload: unknown) => {
      if (!accept(payload as T)) return;
      clearTimeout(timer);
      mercury.off(event, listener);
      resolve(payload as T);
    };
    mercury.on(event, listener);
  });
}

describe('the official Webex JS SDK against the simulator', () => {
  const track = closeAfterEach();

  async function start(): Promise<{ sim: WebexSimulator; webex: SdkWebex }> {
    const sim = track(await startWebexSimulator({ botToken: BOT_TOKEN }));
    const WebexCore = loadSdk();
    const webex = new WebexCore({
      credentials: { access_token: BOT_TOKEN },
      config: {
        logger: { level: 'error' },
        services: { discovery: { u2c: sim.urls.u2c, hydra: sim.urls.hydra } },
        // The SDK's own backoff, shortened so a reconnect does not take a second.
        mercury: { backoffTimeReset: 20, backoffTimeMax: 100 },
      },
    });
    if (!webex.ready) await new Promise<void>((resolve) => webex.once('ready', resolve));
    track({
      close: async () => {
        await webex.internal.mercury.disconnect().catch(() => undefined);
        if (webex.internal.device.registered) await webex.internal.device.unregister().catch(() => undefined);
      },
    });
    return { sim, webex };
  }

  it('registers, connects, receives and acks, reconnects, stays down when replaced, and unregisters', async () => {
    const { sim, webex } = await start();
    const { device, mercury } = webex.internal;

    // Register: the limited (pre-auth) catalog first, then the full one, then WDM.
    await device.register();
    const calls = sim.log.requests.map((r) => `${r.method} ${r.route ?? r.path} ${r.status}`);
    expect(calls.slice(0, 3)).toEqual([
      'GET /u2c/api/v1/limited/catalog 200',
      'GET /u2c/api/v1/catalog 200',
      'POST /wdm/api/v1/devices 200',
    ]);
    const [registered] = sim.devices();
    expect(device.url).toBe(registered!.url);
    expect(device.userId).toBe(sim.bot.uuid);

    // Connect: authorized and online at buffer_state.
    await mercury.connect();
    expect(mercury.connected).toBe(true);
    const [first] = sim.sockets();
    expect(first).toMatchObject({ deviceUuid: registered!.uuid, state: 'open' });
    expect(first!.query).toMatchObject({
      outboundWireFormat: 'text',
      bufferStates: 'true',
      aliasHttpStatus: 'true',
    });

    // Receive an activity and ack its frame id.
    const ada = sim.createUser({ displayName: 'Ada' });
    const room = sim.createDirectRoom(ada);
    const hello = sim.post(ada, room, { text: 'hello' });
    const envelope = await once<MercuryEnvelope>(
      mercury,
      'event:conversation.activity',
      (e) => e.data.activity.id === hello.uuid,
    );
    expect(envelope.data.activity.verb).toBe('post');
    const frame = sim.log.framesSent.find(
      (f) => (f.frame.data as { activity?: { id?: string } } | undefined)?.activity?.id === hello.uuid,
    );
    await sim.waitFor('ack', (a) => a.messageId === frame?.frame.id && a.known);
    expect(sim.unackedFrames(registered!.uuid)).toEqual([]);

    // A dropped connection: the SDK reconnects to the same device, and what was posted while it
    // was down is delivered from the device's buffer.
    const backOnline = once(mercury, 'online');
    sim.faults.dropTcp();
    const whileDown = sim.post(ada, room, { text: 'while the socket was down' });
    const buffered = once<MercuryEnvelope>(
      mercury,
      'event:conversation.activity',
      (e) => e.data.activity.id === whileDown.uuid,
    );
    await backOnline;
    await buffered;
    expect(sim.sockets().map((s) => s.deviceUuid)).toEqual([registered!.uuid]);
    expect(
      sim.log.requests.filter((r) => r.route === '/wdm/api/v1/devices' && r.method === 'POST'),
    ).toHaveLength(1);

    // Another process opens a socket on the same device: Webex closes ours 4000 "Replaced", and
    // the SDK stays down.
    const reconnects = vi.spyOn(mercury, '_reconnect');
    const replaced = once<{ code: number; reason: string }>(mercury, 'offline.replaced');
    const other = track(
      await connectOnline({ ...registered!, userId: sim.bot.uuid }, BOT_TOKEN, {
        query: 'outboundWireFormat=text&bufferStates=true&aliasHttpStatus=true',
      }),
    );
    expect(await replaced).toMatchObject({ code: 4000, reason: 'Replaced' });
    const afterReplaced = sim.post(ada, room, { text: 'for the other process' });
    await other.activity((a) => a.id === afterReplaced.uuid);
    expect(reconnects).not.toHaveBeenCalled();
    expect(mercury.connected).toBe(false);
    expect(mercury.connecting).toBe(false);
    expect(sim.sockets()).toHaveLength(1);
    await other.close();

    // Unregister: the device is deleted.
    await mercury.disconnect();
    await device.unregister();
    expect(sim.devices()[0]).toMatchObject({ uuid: registered!.uuid, deleted: true });
    const deleted = sim.log.requests.filter((r) => r.method === 'DELETE');
    expect(deleted.map((r) => [r.path, r.status])).toEqual([[new URL(registered!.url).pathname, 204]]);
    // The SDK's own client metrics went to the catalog's metrics service and were accepted.
    expect(
      sim.log.requests.filter((r) => r.path.startsWith('/metrics/')).every((r) => r.status === 204),
    ).toBe(true);
  });
});
