/**
 * Cards through the whole runtime: a form the agent asks for is posted as an Adaptive Card, its
 * submission resumes the task (same context, open task id, values and a `resume` part), a second
 * submission gets a notice; a feedback click scores the answer in Langfuse with the clicker's email.
 */
import { describe, expect, it } from 'vitest';
import { messages } from '../../../src/render/messages.js';
import type { StoredMessage } from '../../../src/simulator/webex/index.js';
import type { SseEmulator } from '../../helpers/a2a/sse-emulator.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { startEmulator, startWorld, type World } from '../../helpers/world.js';
import { CaipeTurn, DEPLOY_FORM_PART, sentMessage, waitForBotPost } from '../conversations/support.js';
import { type FakeLangfuse, startFakeLangfuse } from '../langfuse/fake-langfuse.js';

let world: World | undefined;
let emulator: SseEmulator | undefined;
let langfuse: FakeLangfuse | undefined;

const track = closeAfterEach();

interface CardAction {
  type: string;
  data?: Record<string, unknown>;
}

/** The card's actions, as a Webex client would show them. */
function actionsOf(message: StoredMessage): CardAction[] {
  const card =
    (message.attachments?.[0] as { content: { actions?: CardAction[] } } | undefined)?.content ?? {};
  return (card as { actions?: CardAction[] }).actions ?? [];
}

async function cardPost(w: World, roomId: string): Promise<StoredMessage> {
  await w.sim.waitFor(
    'request',
    (r) => r.method === 'POST' && JSON.stringify(r.body).includes('"attachments"'),
    {
      timeoutMs: 10_000,
    },
  );
  return w.sim.roomMessages(roomId).find((m) => (m.attachments?.length ?? 0) > 0 && !m.deleted)!;
}

describe('forms and feedback end to end', () => {
  it('posts the form as a card; a submission resumes the open task; a second one is refused', async () => {
    emulator = track(await startEmulator());
    let firstTurn: CaipeTurn | undefined;
    emulator.enqueue(
      async (exchange) => {
        firstTurn = new CaipeTurn(exchange);
        await firstTurn.open();
        await firstTurn.artifact('UserInputMetaData', [DEPLOY_FORM_PART]);
        await firstTurn.status('input-required', 'Which environment?', undefined, true);
        await exchange.end();
      },
      async (exchange) => {
        const turn = new CaipeTurn(exchange);
        await turn.open();
        await turn.answer(`Deployed. You said: ${turn.userText}`);
      },
    );
    world = track(await startWorld({ agentUrl: emulator.url }));
    const { sim } = world;
    const user = sim.createUser({ displayName: 'Fay', email: 'fay@example.com' });
    const room = sim.createDirectRoom(user);
    sim.post(user, room, { text: 'deploy the api' });

    const card = await cardPost(world, room.id);
    const submit = actionsOf(card).find(
      (a) => a.type === 'Action.Submit' && JSON.stringify(a.data).includes('"form"'),
    )!;
    // Webex merges the Action.Submit data into the inputs it reports.
    sim.submitCard(user, card.id, { ...submit.data, 'field:env': 'prod', 'field:reason': 'hotfix' });
    await waitForBotPost(sim, (markdown) => markdown.includes('Deployed. You said:'));

    const resumed = emulator.requests.filter((r) => r.json?.method === 'message/stream')[1]!;
    const message = sentMessage(resumed.json);
    expect(message.taskId).toBe(firstTurn!.taskId);
    expect(message.contextId).toBe(firstTurn!.contextId);
    expect(message.prompt).toContain('env: prod');
    expect(message.prompt).toContain('reason: hotfix');
    const parts = resumed.json.params.message.parts as Array<{ kind: string; data?: { resume?: unknown } }>;
    expect(parts.some((p) => p.kind === 'data' && p.data?.resume !== undefined)).toBe(true);
    expect(resumed.json.params.message.metadata.user_email).toBe('fay@example.com');

    sim.submitCard(user, card.id, { ...submit.data, 'field:env': 'staging' });
    await waitForBotPost(sim, (markdown) => markdown === messages.formAlreadySubmitted);
    expect(emulator.requests.filter((r) => r.json?.method === 'message/stream')).toHaveLength(2);
  });

  it("posts a feedback card under an answer with a trace id; a click scores it with the clicker's email", async () => {
    langfuse = track(await startFakeLangfuse({ publicKey: 'pk-lf-test', secretKey: 'sk-lf-test' }));
    emulator = track(await startEmulator());
    emulator.enqueue(async (exchange) => {
      const turn = new CaipeTurn(exchange);
      await turn.open();
      await turn.answer('Here you go.');
    });
    world = track(
      await startWorld({
        agentUrl: emulator.url,
        env: {
          LANGFUSE_SCORING_ENABLED: 'true',
          LANGFUSE_PUBLIC_KEY: 'pk-lf-test',
          LANGFUSE_SECRET_KEY: 'sk-lf-test',
          LANGFUSE_HOST: langfuse.baseUrl,
        },
      }),
    );
    const { sim } = world;
    const asker = sim.createUser({ displayName: 'Gil', email: 'gil@example.com' });
    const room = sim.createDirectRoom(asker);
    sim.post(asker, room, { text: 'question' });

    const card = await cardPost(world, room.id);
    const down = actionsOf(card).find((a) => JSON.stringify(a.data).includes('"negative"'))!;
    sim.submitCard(asker, card.id, { ...down.data });
    await waitForBotPost(sim, (markdown) => markdown === messages.feedbackThanks(false));
    const scored = await langfuse.waitForRequest((r) => r.method === 'POST' && r.status < 300);
    const body = scored.body as {
      name: string;
      value: string;
      dataType: string;
      metadata: { user_email: string };
    };
    expect(body).toMatchObject({ name: 'user_feedback', value: 'negative', dataType: 'CATEGORICAL' });
    expect(body.metadata.user_email).toBe('gil@example.com');

    const up = actionsOf(card).find((a) => JSON.stringify(a.data).includes('"positive"'))!;
    sim.submitCard(asker, card.id, { ...up.data });
    await waitForBotPost(sim, (markdown) => markdown === messages.feedbackThanks(true));
    await langfuse.waitForRequest(
      (r) => r.status < 300 && (r.body as { value?: string }).value === 'positive',
    );
    expect(langfuse.scores.size).toBe(1);
    expect([...langfuse.scores.values()][0]).toMatchObject({ value: 'positive', writes: 2 });
  });
});
