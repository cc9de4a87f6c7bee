/**
 * Messages with files (`share`): answered from their text with a note that files are not read; a
 * message with only files gets a short explanation and no agent call.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import { echoScript, type SdkPeer } from '../../helpers/a2a/sdk-peer.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startSdkPeer, startWorld, type World } from '../../helpers/world.js';
import { botPostsIn, markdownOf, waitForBotPost, waitForBotPostContaining } from './support.js';

let world: World | undefined;
let peer: SdkPeer | undefined;

const track = closeAfterEach();

describe('messages with files', () => {
  it('answers the text and says the files were not read; files alone get an explanation only', async () => {
    peer = track(await startSdkPeer());
    peer.enqueue(echoScript);
    world = track(await startWorld({ agentUrl: peer.url }));
    const { sim } = world;
    const user = sim.createUser({ displayName: 'Ivy', email: 'ivy@example.com' });
    const room = sim.createDirectRoom(user);

    sim.post(user, room, { text: 'what does this log say?', files: ['https://files.example.com/app.log'] });
    await waitForBotPostContaining(sim, 'You said: what does this log say?');
    const posts = botPostsIn(sim, room.id).map(markdownOf);
    expect(posts.indexOf(messages.filesNotRead)).toBeGreaterThan(posts.indexOf(messages.working));

    sim.post(user, room, { files: ['https://files.example.com/screenshot.png'] });
    await waitForBotPost(sim, (markdown) => markdown === messages.filesOnly);
    expect(peer.requests).toHaveLength(1);
  });
});
