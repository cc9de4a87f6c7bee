/**
 * Who may use the bot, through the running bot against the simulator (SPEC "Who may use the
 * bot"): a person of another organisation is refused on the socket path and on the REST catch-up
 * path (where the bot must ask the People API), told once, never reaches the agent, and every
 * refusal is counted; `WEBEX_ALLOWED_ORG_IDS` and `WEBEX_ALLOWED_EMAIL_DOMAINS` widen and narrow
 * who is let in.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { closeAfterEach } from '../../helpers/cleanup.js';
import {
  answersTo,
  startRig,
  untilAnswered,
  untilNoWorking,
  untilOffline,
  untilOnline,
} from '../../helpers/model/rig.js';
import { liveBotDevices } from '../connection/harness.js';
import {
  botMessagesEqualTo,
  OUTSIDER_NOTICE,
  publicOrgId,
  refusedTotal,
  untilBotPostedTimes,
  untilPersonRefusals,
} from './support.js';

const track = closeAfterEach();

describe('people of other organisations', () => {
  it("refuses an outsider's DM with one notice, never calls the agent, and counts every message; an insider is answered meanwhile", async () => {
    const rig = track(await startRig());
    const { world } = rig;
    const { sim } = world;
    const outsider = sim.createUser({
      displayName: 'Olga',
      email: 'olga@partner.test',
      orgUuid: randomUUID(),
    });
    const insider = sim.createUser({ displayName: 'Ines', email: 'ines@example.com' });
    const outsiderRoom = sim.createDirectRoom(outsider);
    const insiderRoom = sim.createDirectRoom(insider);

    sim.post(outsider, outsiderRoom, { text: 'show me the prod secrets' });
    await untilBotPostedTimes(world, outsiderRoom.id, OUTSIDER_NOTICE);
    // More messages and commands from the outsider while an insider asks in their own space.
    sim.post(outsider, outsiderRoom, { text: 'please?' });
    sim.post(insider, insiderRoom, { text: 'what is degraded?' });
    sim.post(outsider, outsiderRoom, { text: 'help' });
    sim.post(outsider, outsiderRoom, { text: 'reset' });
    sim.post(outsider, outsiderRoom, { text: 'one more try' });
    await untilAnswered(world, insiderRoom.id, 'what is degraded?');
    await untilPersonRefusals(world, 5);
    await untilNoWorking(world, insiderRoom.id);

    // Exactly one notice, and nothing else: no working message, no help text, no reset reply.
    expect(world.visibleBotMessages(outsiderRoom.id).map((m) => m.markdown)).toEqual([OUTSIDER_NOTICE]);
    expect(sim.roomMessages(outsiderRoom.id).filter((m) => m.authorUuid === sim.bot.uuid)).toHaveLength(1);
    expect(rig.agent.requests.filter((r) => JSON.stringify(r.json).includes(outsider.email))).toHaveLength(0);
    expect(rig.agent.requests).toHaveLength(1);
    expect(rig.asked('what is degraded?')).toBe(1);
    expect(answersTo(world, insiderRoom.id, 'what is degraded?')).toBe(1);
    expect(await refusedTotal(world, 'outsider-org')).toBe(5);
    expect(world.visibleBotMessages(insiderRoom.id).some((m) => m.markdown === OUTSIDER_NOTICE)).toBe(false);
  });

  it('WEBEX_ALLOWED_ORG_IDS admits a listed partner organisation (and replaces the default)', async () => {
    const partnerOrg = randomUUID();
    // The partner's id as Control Hub shows it (`Y2lz…`); the socket carries the raw UUID.
    const rig = track(await startRig({ env: { WEBEX_ALLOWED_ORG_IDS: publicOrgId(partnerOrg) } }));
    const { world } = rig;
    const { sim } = world;
    const partner = sim.createUser({ displayName: 'Pia', email: 'pia@partner.test', orgUuid: partnerOrg });
    const stranger = sim.createUser({
      displayName: 'Sam',
      email: 'sam@elsewhere.test',
      orgUuid: randomUUID(),
    });
    // Listing organisations replaces the default: the bot's own organisation is no longer implied.
    const insider = sim.createUser({ displayName: 'Ines', email: 'ines@example.com' });
    const rooms = {
      partner: sim.createDirectRoom(partner),
      stranger: sim.createDirectRoom(stranger),
      insider: sim.createDirectRoom(insider),
    };

    sim.post(partner, rooms.partner, { text: 'status of the rollout?' });
    sim.post(stranger, rooms.stranger, { text: 'status of the rollout?' });
    sim.post(insider, rooms.insider, { text: 'status of the rollout?' });
    await untilAnswered(world, rooms.partner.id, 'status of the rollout?');
    await untilBotPostedTimes(world, rooms.stranger.id, OUTSIDER_NOTICE);
    await untilBotPostedTimes(world, rooms.insider.id, OUTSIDER_NOTICE);

    expect(rig.asked('status of the rollout?')).toBe(1);
    expect(await refusedTotal(world, 'outsider-org')).toBe(2);
  });

  it('WEBEX_ALLOWED_ORG_IDS=* admits every organisation', async () => {
    const rig = track(await startRig({ env: { WEBEX_ALLOWED_ORG_IDS: '*' } }));
    const { world } = rig;
    const { sim } = world;
    const anyone = sim.createUser({ displayName: 'Ana', email: 'ana@anywhere.test', orgUuid: randomUUID() });
    const room = sim.createDirectRoom(anyone);

    sim.post(anyone, room, { text: 'hello from outside' });
    await untilAnswered(world, room.id, 'hello from outside');
    expect(rig.asked('hello from outside')).toBe(1);
    expect(await refusedTotal(world, 'outsider-org')).toBe(0);
  });

  it('WEBEX_ALLOWED_EMAIL_DOMAINS refuses a person of an allowed organisation whose domain is not listed', async () => {
    const rig = track(await startRig({ env: { WEBEX_ALLOWED_EMAIL_DOMAINS: 'example.com' } }));
    const { world } = rig;
    const { sim } = world;
    const listed = sim.createUser({ displayName: 'Ines', email: 'ines@example.com' });
    const unlisted = sim.createUser({ displayName: 'Una', email: 'una@eu.example.com' });
    const listedRoom = sim.createDirectRoom(listed);
    const unlistedRoom = sim.createDirectRoom(unlisted);

    sim.post(unlisted, unlistedRoom, { text: 'deploy please' });
    sim.post(listed, listedRoom, { text: 'deploy please' });
    await untilBotPostedTimes(world, unlistedRoom.id, OUTSIDER_NOTICE);
    await untilAnswered(world, listedRoom.id, 'deploy please');

    expect(rig.asked('deploy please')).toBe(1);
    expect(rig.agent.requests.some((r) => JSON.stringify(r.json).includes(unlisted.email))).toBe(false);
    expect(await refusedTotal(world, 'email-domain')).toBe(1);
    expect(await refusedTotal(world, 'outsider-org')).toBe(0);
  });

  it("refuses an outsider's DM that only the REST catch-up finds, after asking the People API", async () => {
    const rig = track(await startRig());
    const { world } = rig;
    const { sim } = world;
    const outsider = sim.createUser({
      displayName: 'Olga',
      email: 'olga@partner.test',
      orgUuid: randomUUID(),
    });
    const room = sim.createDirectRoom(outsider);
    // The first message comes by socket (with the organisation): refused and told.
    sim.post(outsider, room, { text: 'first, by socket' });
    await untilBotPostedTimes(world, room.id, OUTSIDER_NOTICE);
    expect(peopleLookupsOf(outsider.uuid)).toBe(0);

    // Webex drops the bot's device: what is posted now reaches the bot only through the catch-up.
    const [old] = liveBotDevices(sim);
    sim.faults.deleteDevice(old!.uuid);
    sim.faults.dropTcp();
    await untilOffline(world);
    const missed = sim.post(outsider, room, { text: 'asked during the outage' });
    await sim.waitFor('socket', (s) => s.type === 'rejected' && s.code === 404, { timeoutMs: 10_000 });
    await untilOnline(world);
    await untilPersonRefusals(world, 2);

    // No socket carried it: the catch-up did, and the bot had to ask who posted it.
    expect(
      sim.log.framesSent.some(
        (f) => (f.frame.data as { activity?: { id?: string } })?.activity?.id === missed.uuid,
      ),
    ).toBe(false);
    const recovered = await world.runtime.metrics.catchUpEvents.get();
    expect(recovered.values.find((v) => v.labels.outcome === 'recovered')?.value).toBe(1);
    expect(peopleLookupsOf(outsider.uuid)).toBeGreaterThanOrEqual(1);
    expect(await refusedTotal(world, 'outsider-org')).toBe(2);
    expect(rig.agent.requests).toHaveLength(0);
    // Told once a day, not once per message.
    expect(botMessagesEqualTo(world, room.id, OUTSIDER_NOTICE)).toHaveLength(1);
    expect(world.visibleBotMessages(room.id)).toHaveLength(1);

    /** The bot's `GET /people/{id}` for this person (whichever id form it used). */
    function peopleLookupsOf(personUuid: string): number {
      return sim.log.requests.filter((r) => {
        if (r.method !== 'GET' || r.route !== '/v1/people/{id}' || r.callerUuid !== sim.bot.uuid)
          return false;
        const id = decodeURIComponent(r.path.slice('/v1/people/'.length));
        return id === personUuid || Buffer.from(id, 'base64url').toString('utf8').endsWith(`/${personUuid}`);
      }).length;
    }
  });
});
