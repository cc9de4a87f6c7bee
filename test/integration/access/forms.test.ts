/**
 * Who may answer the agent's form, through the running bot (SPEC "Who may use the bot", "Cards"):
 * with `HITL_ANSWERED_BY=requester` only the person who asked answers, cancels or resets the open
 * task, by card or by text; anyone else gets one reply naming whom the form waits for and nothing
 * of theirs reaches the agent. A person of another organisation is stopped earlier, by the person
 * check. With `space`, anyone allowed in the space answers.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import type { SimPerson, SimRoom } from '../../../src/simulator/webex/index.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { type Rig, startRig, untilNoWorking } from '../../helpers/model/rig.js';
import { type CaipeTurn, sentMessage } from '../conversations/support.js';
import {
  botMessagesEqualTo,
  formCardIn,
  formScript,
  OUTSIDER_NOTICE,
  refusedTotal,
  untilBotPostedTimes,
  untilPersonRefusals,
} from './support.js';

const track = closeAfterEach();

interface Thread {
  rig: Rig;
  ada: SimPerson;
  ben: SimPerson;
  olga: SimPerson;
  room: SimRoom;
  root: { id: string };
  /** The task that waits for Ada's answer. */
  formTask: () => CaipeTurn;
}

/** A group space where Ada asks, and the agent answers with a form in her thread. */
async function formInThread(env: Record<string, string> = {}): Promise<Thread> {
  const rig = track(await startRig({ env }));
  const { world } = rig;
  const { sim } = world;
  const ada = sim.createUser({ displayName: 'Ada', email: 'ada@example.com' });
  const ben = sim.createUser({ displayName: 'Ben', email: 'ben@example.com' });
  const olga = sim.createUser({ displayName: 'Olga', email: 'olga@partner.test', orgUuid: randomUUID() });
  const room = sim.createRoom({
    type: 'group',
    title: 'Deployments',
    members: [ada, ben, olga, sim.bot],
    creator: ada,
  });
  await world.runtime.stores.spaces.authorize({ roomId: room.id, authorizedBy: 'test' });
  let task: CaipeTurn | undefined;
  rig.when(
    'deploy the api',
    formScript((turn) => (task = turn)),
  );

  const root = sim.post(ada, room, { text: 'deploy the api', mentionBot: true });
  await sim.waitFor(
    'request',
    (r) =>
      r.method === 'POST' && r.path === '/v1/messages' && JSON.stringify(r.body).includes('"attachments"'),
    { timeoutMs: 10_000 },
  );
  await untilNoWorking(world, room.id);
  return { rig, ada, ben, olga, room, root, formTask: () => task! };
}

/** `message/stream` requests that answer the open task (they carry its id). */
function resumes(rig: Rig, taskId: string) {
  return rig.agent.requests.filter(
    (r) => r.json?.method === 'message/stream' && sentMessage(r.json).taskId === taskId,
  );
}

describe('form ownership (HITL_ANSWERED_BY=requester)', () => {
  it("refuses another person's card, text answer and cancel, stops an outsider at the person check, and resumes once for the requester", async () => {
    const { rig, ada, ben, olga, room, root, formTask } = await formInThread();
    const { world } = rig;
    const { sim } = world;
    const owned = messages.formOwned('Ada');
    const taskId = formTask().taskId;
    const { card, submit } = formCardIn(world, room.id);

    // (a) Ben submits Ada's card.
    sim.submitCard(ben, card.id, { ...submit, 'field:env': 'prod', 'field:reason': 'ben wants it' });
    await untilBotPostedTimes(world, room.id, owned, 1);
    // (b) Ben answers in the thread, mentioning the bot.
    sim.post(ben, room, { text: 'prod, go ahead', mentionBot: true, parentId: root });
    await untilBotPostedTimes(world, room.id, owned, 2);
    // (c) Ben tries to cancel it …
    sim.post(ben, room, { text: 'cancel', mentionBot: true, parentId: root });
    await untilBotPostedTimes(world, room.id, owned, 3);
    // … or to reset the thread.
    sim.post(ben, room, { text: 'reset', mentionBot: true, parentId: root });
    await untilBotPostedTimes(world, room.id, owned, 4);

    expect(resumes(rig, taskId)).toHaveLength(0);
    expect(rig.agent.requests).toHaveLength(1);
    expect(rig.cancels).toHaveLength(0);
    expect(botMessagesEqualTo(world, room.id, owned).every((m) => m.parentId === root.id)).toBe(true);
    for (const refused of [messages.cancelled, messages.formCancelled, messages.resetDone])
      expect(botMessagesEqualTo(world, room.id, refused)).toHaveLength(0);
    expect(await refusedTotal(world, 'form-owner')).toBe(4);

    // (d) Olga, of another organisation, submits Ada's card twice and answers in the thread: the
    // person check refuses her before the form is looked at, and tells her once.
    sim.submitCard(olga, card.id, { ...submit, 'field:env': 'prod' });
    await untilBotPostedTimes(world, room.id, OUTSIDER_NOTICE, 1);
    sim.submitCard(olga, card.id, { ...submit, 'field:env': 'staging' });
    sim.post(olga, room, { text: 'staging, and cancel the rest', mentionBot: true, parentId: root });
    await untilPersonRefusals(world, 3);
    expect(botMessagesEqualTo(world, room.id, owned)).toHaveLength(4);
    expect(botMessagesEqualTo(world, room.id, OUTSIDER_NOTICE)).toHaveLength(1);
    expect(await refusedTotal(world, 'outsider-org')).toBe(3);
    expect(await refusedTotal(world, 'form-owner')).toBe(4);
    expect(rig.agent.requests).toHaveLength(1);

    // (e) Ada submits her form: the task resumes, once, with her values; the form still waited.
    sim.submitCard(ada, card.id, { ...submit, 'field:env': 'staging', 'field:reason': 'ada decides' });
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && r.path === '/v1/messages' && JSON.stringify(r.body).includes('Echo:'),
      { timeoutMs: 10_000 },
    );
    await untilNoWorking(world, room.id);
    const resumed = resumes(rig, taskId);
    expect(resumed).toHaveLength(1);
    const prompt = sentMessage(resumed[0]!.json).prompt;
    expect(prompt).toContain('env: staging');
    expect(prompt).toContain('reason: ada decides');
    expect(prompt).not.toContain('ben wants it');
    expect(resumed[0]!.json.params.message.metadata.user_email).toBe('ada@example.com');
    expect(rig.agent.requests).toHaveLength(2);
    expect(botMessagesEqualTo(world, room.id, owned)).toHaveLength(4);
    // Olga's later refusals were decided before Ada's card was looked at: had she been told again,
    // that notice would be out by now.
    expect(botMessagesEqualTo(world, room.id, OUTSIDER_NOTICE)).toHaveLength(1);
  });

  it("with HITL_ANSWERED_BY=space, another person's submission resumes the task", async () => {
    const { rig, ben, room, formTask } = await formInThread({ HITL_ANSWERED_BY: 'space' });
    const { world } = rig;
    const { sim } = world;
    const taskId = formTask().taskId;
    const { card, submit } = formCardIn(world, room.id);

    sim.submitCard(ben, card.id, { ...submit, 'field:env': 'prod', 'field:reason': 'ben decides' });
    await sim.waitFor(
      'request',
      (r) => r.method === 'POST' && r.path === '/v1/messages' && JSON.stringify(r.body).includes('Echo:'),
      { timeoutMs: 10_000 },
    );
    await untilNoWorking(world, room.id);

    const resumed = resumes(rig, taskId);
    expect(resumed).toHaveLength(1);
    expect(sentMessage(resumed[0]!.json).prompt).toContain('reason: ben decides');
    expect(botMessagesEqualTo(world, room.id, messages.formOwned('Ada'))).toHaveLength(0);
    expect(await refusedTotal(world, 'form-owner')).toBe(0);
  });
});
