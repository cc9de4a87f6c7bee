/**
 * The whole conversation on every backend, through the running bot: `npm run demo` with
 * `DEMO_AGENT_PROTOCOL` set to each backend the demo agent plays (A2A v0.3, A2A v1.0, AG-UI 1.0,
 * CAIPE ≥0.6), a person in the simulated Webex: a streamed answer, a plan with tools, a form card
 * answered and resumed, a failure message, a cancel, and feedback where the backend has an id.
 */
import { describe, expect, it, vi } from 'vitest';
import { demoProtocolOf, startDemo } from '../../src/demo/demo.js';
import { ConfigError } from '../../src/errors.js';
import { messages } from '../../src/render/messages.js';
import type { StoredMessage } from '../../src/simulator/webex/index.js';
import { closeAfterEach } from '../helpers/cleanup.js';
import { isProgressMarkdown, untilNoWorkingMessage, waitForBotPost } from './conversations/support.js';

const track = closeAfterEach();

interface CardAction {
  type: string;
  title?: string;
  data?: Record<string, unknown>;
}

function actionsOf(message: StoredMessage): CardAction[] {
  return (
    (message.attachments?.[0] as { content?: { actions?: CardAction[] } } | undefined)?.content?.actions ?? []
  );
}

describe.each([
  { protocol: 'a2a', label: 'A2A v0.3', feedback: 'langfuse' },
  { protocol: 'a2a-1.0', label: 'A2A v1.0', feedback: 'langfuse' },
  { protocol: 'agui', label: 'AG-UI 1.0', feedback: 'none' },
  { protocol: 'caipe', label: 'CAIPE ≥0.6', feedback: 'caipe' },
])('the demo on $label', ({ protocol, label, feedback }) => {
  it('answers, shows a plan, takes a form, reports a failure and a cancel', { timeout: 60_000 }, async () => {
    const demo = track(
      await startDemo({
        port: 0,
        env: { DEMO_AGENT_PROTOCOL: protocol, WEBEX_UPDATE_INTERVAL_MS: '100' },
        agentPaceMs: 20,
      }),
    );
    expect(demo.agentProtocol.startsWith(label)).toBe(true);
    const { sim } = demo;
    const dm = demo.spaces.find((s) => s.type === 'direct')!;
    const room = demo.rooms.get(dm.id)!;
    const person = demo.user;
    const ask = async (text: string, expected: string) => {
      sim.post(person, room, { text });
      await waitForBotPost(sim, (markdown) => markdown.includes(expected));
      await untilNoWorkingMessage(sim, dm.id);
    };

    await ask('hello there', 'Hello from the demo agent');
    await ask('plan a deployment', 'Rollout plan for');
    // The plan was shown while it ran: the working message was edited with its steps.
    const progress = sim
      .roomMessages(dm.id)
      .filter((m) => isProgressMarkdown(m.markdown ?? '') && m.editCount > 0);
    expect(progress.length).toBeGreaterThan(0);

    sim.post(person, room, { text: 'show me a form' });
    const isForm = (a: CardAction) => a.type === 'Action.Submit' && JSON.stringify(a.data).includes('"form"');
    await waitForBotPost(sim, (_markdown, record) => JSON.stringify(record.body).includes('"Service"'));
    const card = sim.roomMessages(dm.id).find((m) => !m.deleted && actionsOf(m).some(isForm))!;
    // The form's fields, whatever the backend called its form.
    expect(JSON.stringify(card.attachments)).toContain('Region');
    const submit = actionsOf(card).find(isForm)!;
    sim.submitCard(person, card.id, {
      ...submit.data,
      'field:service': 'checkout',
      'field:region': 'us-east-2',
    });
    await waitForBotPost(
      sim,
      (markdown) => markdown.includes('Preview environment requested') && markdown.includes('checkout'),
    );
    await untilNoWorkingMessage(sim, dm.id);

    await ask('fail please', 'PagerDuty agent could not be reached');

    sim.post(person, room, { text: 'something slow' });
    await waitForBotPost(sim, (markdown) => markdown.includes('Working'));
    sim.post(person, room, { text: 'cancel' });
    await waitForBotPost(sim, (markdown) => markdown === messages.cancelled);
    await untilNoWorkingMessage(sim, dm.id);

    const said = sim
      .roomMessages(dm.id)
      .filter((m) => m.authorUuid === sim.bot.uuid && !m.deleted)
      .map((m) => m.markdown ?? '');
    expect(said.some((m) => m.includes('could not finish'))).toBe(true);
    expect(said.filter((m) => m.includes('Rollout plan for'))).toHaveLength(1);

    const feedbackCards = sim
      .roomMessages(dm.id)
      .filter((m) => !m.deleted && JSON.stringify(m.attachments ?? []).includes(messages.feedbackPrompt));
    if (feedback === 'none') {
      expect(feedbackCards).toHaveLength(0);
      return;
    }
    expect(feedbackCards.length).toBeGreaterThan(0);
    // A 👍 reaches the backend's feedback route (CAIPE's /api/feedback, else Langfuse) and is thanked.
    const up = actionsOf(feedbackCards[0]!).find((a) => JSON.stringify(a.data).includes('"positive"'))!;
    sim.submitCard(person, feedbackCards[0]!.id, { ...up.data });
    await waitForBotPost(sim, (markdown) => markdown === messages.feedbackThanks(true));
    if (feedback === 'caipe') {
      await vi.waitFor(() => expect(demo.scores.map((score) => score.name)).toContain('caipe /api/feedback'));
      expect(demo.scores.find((score) => score.name === 'caipe /api/feedback')).toMatchObject({
        value: 'thumbs_up',
        userEmail: person.email,
      });
    }
  });
});

describe('DEMO_AGENT_PROTOCOL', () => {
  it('is a2a by default and refuses an unknown backend with a configuration error', () => {
    expect(demoProtocolOf(undefined)).toBe('a2a');
    expect(demoProtocolOf(' AGUI ')).toBe('agui');
    expect(() => demoProtocolOf('soap')).toThrow(ConfigError);
  });
});
