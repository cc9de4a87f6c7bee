import { describe, expect, it } from 'vitest';
import { echoScript, type SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';

let world: World | undefined;
let peer: SdkPeer | undefined;

const track = closeAfterEach();

describe('a 1:1 conversation end to end', () => {
  it('answers top-level with a working message first, then the answer, and removes the working message', async () => {
    peer = track(await startSdkPeer());
    peer.enqueue(echoScript);
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const alice = sim.createUser({ displayName: 'Alice', email: 'alice@example.com' });
    const room = sim.createDirectRoom(alice);

    const question = sim.post(alice, room, { text: 'what is the capital of France?' });
    const answer = await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && /You said/.test(JSON.stringify(r.body)),
      {
        timeoutMs: 10_000,
      },
    );
    expect(answer.status).toBe(200);
    await sim.waitFor('request', (r) => r.method === 'DELETE', { timeoutMs: 5_000 });

    const botPosts = sim.log.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));
    expect((botPosts[0]!.body as { markdown: string }).markdown).toBe('⏳ Working on it...');
    const visible = world.visibleBotMessages(room.id);
    expect(visible).toHaveLength(1);
    expect(visible[0]!.markdown).toContain('You said: what is the capital of France?');
    expect(visible[0]!.markdown).toContain('Answered by');
    expect(visible[0]!.parentId).toBeUndefined();
    expect(question.id).toBeTruthy();

    const sent = peer.requests[0]!;
    expect(sent.headers['x-client-source']).toBe('webex-bot');
    const params = (JSON.parse(sent.body) as { params: { message: { metadata: Record<string, unknown> } } })
      .params;
    expect(params.message.metadata.user_email).toBe('alice@example.com');
  });

  it('keeps the agent context across turns of the same space', async () => {
    peer = track(await startSdkPeer());
    peer.enqueue(echoScript, echoScript);
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const bob = sim.createUser({ displayName: 'Bob', email: 'bob@example.com' });
    const room = sim.createDirectRoom(bob);

    sim.post(bob, room, { text: 'first' });
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && /You said: first/.test(JSON.stringify(r.body)),
      {
        timeoutMs: 10_000,
      },
    );
    sim.post(bob, room, { text: 'second' });
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && /You said: second/.test(JSON.stringify(r.body)),
      {
        timeoutMs: 10_000,
      },
    );
    expect(peer.turns).toHaveLength(2);
    expect(peer.turns[1]!.contextId).toBe(peer.turns[0]!.contextId);
    const ids = peer.requests.map(
      (r) => (JSON.parse(r.body) as { params: { message: { contextId?: string } } }).params.message.contextId,
    );
    expect(ids[0]).toBeUndefined();
    expect(ids[1]).toBe(peer.turns[0]!.contextId);
  });
});
