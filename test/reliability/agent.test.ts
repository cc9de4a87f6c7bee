/**
 * Agent faults under the running bot: each failed question gets exactly one specific message and
 * no answer, the agent is asked once (a stream is never silently re-sent), no working message is
 * left, and a follow-up question is answered once with `/readyz` still 200.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { messages } from '../../src/render/messages.js';
import type { Script } from '../helpers/a2a/sse-emulator.js';
import {
  answersTo,
  botMessagesStartingWith,
  expectHealthy,
  type Rig,
  SwitchableAgentPort,
  startRig,
  untilBotMessage,
  untilNoWorking,
} from '../helpers/model/rig.js';
import {
  CaipeTurn,
  cutMidAnswerScript,
  silentWithPingsScript,
} from '../integration/conversations/support.js';

let rig: Rig | undefined;
let port: SwitchableAgentPort | undefined;

afterEach(async () => {
  await rig?.close();
  await port?.down();
  rig = undefined;
  port = undefined;
});

const cases: Array<{ name: string; env?: Record<string, string>; script: Script; notice: string }> = [
  {
    name: 'HTTP 500',
    script: (exchange) => exchange.json(500, { error: 'internal' }),
    notice: messages.agentHttpError('CAIPE', 500),
  },
  {
    name: 'JSON-RPC error',
    script: async (exchange) => {
      exchange.start();
      await exchange.sendError(-32603, 'supervisor exploded');
      await exchange.end();
    },
    notice: messages.agentFailed('CAIPE', 'supervisor exploded').slice(0, 30),
  },
  {
    name: 'stream cut mid-answer',
    script: cutMidAnswerScript('half of the answer and then'),
    notice: messages.streamCut('CAIPE'),
  },
  {
    name: 'idle past the timeout (pings only)',
    env: { A2A_IDLE_TIMEOUT_S: '1' },
    script: silentWithPingsScript(),
    notice: messages.idleTimeout('CAIPE', '1s'),
  },
  {
    name: 'malformed SSE data',
    script: async (exchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await exchange.sendData('{"jsonrpc":"2.0","result":{not json at all');
      await exchange.end();
    },
    notice: messages.streamCut('CAIPE'),
  },
];

describe('agent faults under the running bot', () => {
  it.each(cases)('$name: one specific message, no answer, asked once, healthy after', async (c) => {
    rig = await startRig(c.env ? { env: c.env } : {});
    const { sim } = rig.world;
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    rig.when('the failing question.', c.script);
    sim.post(ada, room, { text: 'the failing question.' });
    await untilBotMessage(rig.world, room.id, c.notice);
    await untilNoWorking(rig.world, room.id);
    expect(botMessagesStartingWith(rig.world, room.id, c.notice)).toHaveLength(1);
    expect(answersTo(rig.world, room.id, 'the failing question.')).toBe(0);
    expect(rig.asked('the failing question.')).toBe(1);
    await expectHealthy(rig, ada, room);
    // Only the failure and the follow-up's answer show: no stray notices.
    expect(rig.world.visibleBotMessages(room.id)).toHaveLength(2);
  });

  it('connection refused: one "could not reach" message, then answers once the agent is back', async () => {
    port = await SwitchableAgentPort.reserve();
    const switchable = port;
    rig = await startRig({ agentUrl: () => switchable.url });
    const { sim } = rig.world;
    const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
    const room = sim.createDirectRoom(ada);
    sim.post(ada, room, { text: 'anyone there?' });
    const notice = messages.agentUnreachable('CAIPE');
    await untilBotMessage(rig.world, room.id, notice);
    await untilNoWorking(rig.world, room.id);
    expect(botMessagesStartingWith(rig.world, room.id, notice)).toHaveLength(1);
    expect(rig.asked('anyone there?')).toBe(0);
    await switchable.up(rig.agent.url);
    await expectHealthy(rig, ada, room);
  });
});
