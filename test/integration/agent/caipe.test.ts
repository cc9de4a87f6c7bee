/**
 * The CAIPE ≥0.6 adapter against a fake CAIPE UI backend written from the reference sheet: the
 * conversation and stream calls as CAIPE's Webex bot makes them, every frame kind of DA's dialect
 * (§2.5), both interrupt kinds answered on `stream/resume`, RUN_ERROR without RUN_FINISHED, cancel
 * (the stream just ends), refusals (agent#use, another person's conversation), feedback.
 */
import { describe, expect, it } from 'vitest';
import {
  CaipeAgentClient,
  type CaipeAgentClientOptions,
  idempotencyKey,
} from '../../../src/adapters/agent/caipe/client.js';
import { createCaipeFeedback } from '../../../src/adapters/agent/caipe/feedback.js';
import type { AgentAuth } from '../../../src/adapters/agent/http.js';
import type { TurnEvent, TurnOrigin, TurnRequest } from '../../../src/adapters/agent/port.js';
import { finalText, reduceTurnEvents, type TurnState } from '../../../src/adapters/agent/turn-state.js';
import { encodeHydraId } from '../../../src/adapters/webex/ids.js';
import { silentLogger } from '../../../src/logger.js';
import { formAnswer } from '../../../src/render/cards.js';
import { collect, failure } from '../../helpers/agent-events.js';
import { FakeCaipe } from '../../helpers/caipe/fake-caipe.js';
import { closeAfterEach } from '../../helpers/cleanup.js';

const track = closeAfterEach();

const ROOM_UUID = '6e4f2a10-1c2b-11ef-9a6e-0b1c2d3e4f50';
const ROOM = encodeHydraId('ROOM', ROOM_UUID);
const origin: TurnOrigin = {
  roomId: ROOM,
  roomType: 'group',
  messageId: 'msg-root',
  threadRootId: 'msg-root',
  personId: 'person-alice',
};

const serviceAuth: AgentAuth = { getAuthHeader: async () => 'Bearer service-token' };
const tokens = { 'service-token': { sub: 'svc-webex-bot', email: 'webex-bot@service' } };

function client(caipe: FakeCaipe, options: Partial<CaipeAgentClientOptions> = {}): CaipeAgentClient {
  return track(
    new CaipeAgentClient({
      url: caipe.url,
      agentId: 'platform-agent',
      idleTimeoutMs: 10_000,
      closeGraceMs: 200,
      auth: serviceAuth,
      ...options,
    }),
  );
}

const ask = (text: string, extra: Partial<TurnRequest> = {}): TurnRequest => ({
  text,
  userEmail: 'alice@example.com',
  origin,
  ...extra,
});

async function turn(
  agent: CaipeAgentClient,
  request: TurnRequest,
): Promise<{ events: TurnEvent[]; state: TurnState }> {
  const events = await collect(agent.streamTurn(request));
  return { events, state: reduceTurnEvents(events) };
}

describe('a CAIPE ≥0.6 turn', () => {
  it('creates the conversation, starts the stream as CAIPE’s Webex bot does, and reads every frame kind', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    caipe.enqueue(async (s) => {
      await s.started();
      await s.frame('CUSTOM', {
        name: 'WARNING',
        value: { message: 'MCP server "jira" failed to load', namespace: [] },
      });
      await s.text('msg-1', "I'll check ", 'the deployments.');
      await s.tool('call-todos', 'write_todos', {
        todos: [
          { content: 'List deployments', status: 'in_progress' },
          { content: 'Summarise', status: 'pending' },
        ],
      });
      await s.frame('CUSTOM', { name: 'NAMESPACE_CONTEXT', value: { namespace: ['argocd-agent'] } });
      await s.tool('call-1', 'list_apps', { project: 'prod' }, '3 apps');
      await s.tool('call-2', 'get_app', { name: 'web' }, 'ERROR: app not found');
      await s.tool('call-3', 'noop', {});
      await s.frame('CUSTOM', { name: 'NAMESPACE_CONTEXT', value: { namespace: [] } });
      await s.text('msg-2', 'Prod runs ', '**3 apps**.');
      await s.finished('success');
      await s.end();
    });
    const { events, state } = await turn(client(caipe), ask('what runs in prod?'));

    const [create] = caipe.callsTo('/api/chat/conversations');
    expect(create!.body).toEqual({
      title: 'what runs in prod?',
      client_type: 'webex',
      agent_id: 'platform-agent',
      idempotency_key: `webex:${ROOM_UUID}:msg-root`,
      metadata: {
        surface: 'webex',
        webex_space_id: ROOM_UUID,
        webex_message_id: 'msg-root',
        webex_room_id: ROOM,
      },
    });
    expect(create!.headers).toMatchObject({
      authorization: 'Bearer service-token',
      accept: 'application/json',
      'x-client-source': 'webex-bot',
    });
    const conversationId = [...caipe.conversations.keys()][0]!;
    const [start] = caipe.callsTo('/api/v1/chat/stream/start');
    expect(start!.headers.accept).toBe('text/event-stream');
    expect(start!.body).toEqual({
      message: 'what runs in prod?',
      conversation_id: conversationId,
      agent_id: 'platform-agent',
      protocol: 'agui',
      trace_id: null,
      client_context: {
        source: 'webex',
        surface: 'webex',
        webex_space_id: ROOM_UUID,
        webex_message_id: 'msg-root',
        channel_id: ROOM_UUID,
        surface_kind: 'channel',
        user_email: 'alice@example.com',
      },
    });

    expect(state.status).toBe('completed');
    expect(state.contextId).toBe(conversationId);
    expect(state.traceId).toBe(conversationId);
    expect(finalText(state)?.text).toBe('Prod runs **3 apps**.');
    expect(state.plan.map((s) => [s.title, s.status])).toEqual([
      ['List deployments', 'in_progress'],
      ['Summarise', 'pending'],
    ]);
    expect(state.tools.map((t) => [t.name, t.agent, t.status])).toEqual([
      ['list_apps', 'argocd-agent', 'completed'],
      ['get_app', 'argocd-agent', 'failed'],
      ['noop', 'argocd-agent', 'completed'],
    ]);
    expect(events).toContainEqual({
      type: 'note',
      name: 'warning',
      text: 'MCP server "jira" failed to load',
    });
  });

  it('continues the conversation of the context without creating another', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    const agent = client(caipe);
    const first = await turn(agent, ask('one'));
    const second = await turn(agent, ask('two', { contextId: first.state.contextId! }));
    expect(caipe.callsTo('/api/chat/conversations')).toHaveLength(1);
    expect(second.state.contextId).toBe(first.state.contextId);
    expect(finalText(second.state)?.text).toBe('Echo: two');
  });

  it('starts a new conversation when CAIPE no longer has the thread’s one (deleted in its UI)', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    const agent = client(caipe);
    const first = (await turn(agent, ask('one'))).state;
    caipe.conversations.delete(first.contextId!);
    const second = (await turn(agent, ask('two', { contextId: first.contextId! }))).state;
    expect(second.status).toBe('completed');
    expect(second.contextId).not.toBe(first.contextId);
    expect(second.traceId).toBe(second.contextId);
    expect(caipe.callsTo('/api/v1/chat/stream/start').map((c) => c.body.conversation_id)).toEqual([
      first.contextId,
      first.contextId,
      second.contextId,
    ]);
  });

  it('finds the thread’s conversation again by its idempotency key; a reset generation gets a new one', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    const agent = client(caipe);
    const a = await turn(agent, ask('one', { origin: { ...origin, generation: 0 } }));
    const b = await turn(agent, ask('again', { origin: { ...origin, generation: 0 } }));
    const c = await turn(agent, ask('after reset', { origin: { ...origin, generation: 1 } }));
    expect(b.state.contextId).toBe(a.state.contextId);
    expect(c.state.contextId).not.toBe(a.state.contextId);
    expect(caipe.callsTo('/api/chat/conversations').map((call) => call.body.idempotency_key)).toEqual([
      `webex:${ROOM_UUID}:msg-root`,
      `webex:${ROOM_UUID}:msg-root`,
      `webex:${ROOM_UUID}:msg-root:1`,
    ]);
    // Without a known generation, a context that does not start at the root is keyed by its first message.
    expect(idempotencyKey({ ...origin, messageId: 'msg-7' }, () => 'x')).toBe(
      `webex:${ROOM_UUID}:msg-root:msg-7`,
    );
    expect(idempotencyKey(undefined, () => 'u-1')).toBe('webex:bot:u-1');
  });

  it('a RUN_ERROR with no RUN_FINISHED after it fails the turn with its message', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    caipe.enqueue(async (s) => {
      await s.started();
      await s.text('m', 'Working');
      await s.frame('RUN_ERROR', {
        message: 'This agent is at capacity right now. Please try again in a moment.',
      });
      await s.end();
    });
    const { state } = await turn(client(caipe), ask('hi'));
    expect(state.status).toBe('failed');
    expect(state.statusMessage).toBe('This agent is at capacity right now. Please try again in a moment.');
  });
});

describe('CAIPE interrupts', () => {
  it('human_input: fields become a form; the card’s answer resumes with form_input values', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    caipe.enqueue(
      async (s) => {
        await s.started();
        await s.tool('call-ask', 'request_user_input', { prompt: 'Ticket details?' });
        await s.finished('interrupt', {
          interrupt: {
            id: 'call-ask',
            reason: 'human_input',
            payload: {
              prompt: 'Ticket details?',
              agent: 'jira-agent',
              fields: [
                { field_name: 'summary', field_label: 'Summary', field_type: 'text', required: true },
                {
                  field_name: 'priority',
                  field_type: 'select',
                  field_values: ['low', 'high'],
                  default_value: 'low',
                },
                { field_name: 'notify', field_type: 'boolean', required: false },
              ],
            },
          },
        });
        await s.end();
      },
      async (s) => {
        await s.started();
        await s.text('m', 'Created JIRA-1.');
        await s.finished();
        await s.end();
      },
    );
    const agent = client(caipe);
    const paused = (await turn(agent, ask('open a ticket'))).state;
    expect(paused.status).toBe('input-required');
    expect(paused.statusMessage).toBe('Ticket details?');
    expect(paused.form?.fields.map((f) => [f.name, f.type, f.required])).toEqual([
      ['summary', 'text', true],
      ['priority', 'select', true],
      ['notify', 'boolean', false],
    ]);
    const answer = formAnswer(paused.form!, { summary: 'Disk full', priority: 'high', notify: true });
    const done = (
      await turn(
        agent,
        ask(answer.text, {
          contextId: paused.contextId!,
          taskId: paused.taskId!,
          parts: [{ kind: 'data', data: { resume: answer.resume } }],
        }),
      )
    ).state;
    expect(finalText(done)?.text).toBe('Created JIRA-1.');
    const [resume] = caipe.callsTo('/api/v1/chat/stream/resume');
    expect(resume!.body).toEqual({
      conversation_id: paused.contextId,
      agent_id: 'platform-agent',
      resume_data: JSON.stringify({
        type: 'form_input',
        values: { summary: 'Disk full', priority: 'high', notify: true },
      }),
      protocol: 'agui',
    });
    expect(caipe.callsTo('/api/v1/chat/stream/start')).toHaveLength(1);
  });

  it('a turn asks the agent it names (the space’s); a paused run resumes with the agent that paused it', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    caipe.enqueue(
      async (s) => {
        await s.started();
        await s.finished('interrupt', {
          interrupt: {
            id: 'call-ok',
            reason: 'tool_approval',
            payload: { tool_name: 'restart', tool_args: {}, allowed_decisions: ['approve', 'reject'] },
          },
        });
        await s.end();
      },
      async (s) => {
        await s.started();
        await s.text('m', 'Restarted.');
        await s.finished();
        await s.end();
      },
    );
    const agent = client(caipe);
    const paused = (await turn(agent, ask('restart it', { agentId: 'incident-agent' }))).state;
    expect(paused.status).toBe('input-required');
    expect(caipe.callsTo('/api/chat/conversations')[0]!.body.agent_id).toBe('incident-agent');
    expect(caipe.callsTo('/api/v1/chat/stream/start')[0]!.body.agent_id).toBe('incident-agent');
    // Meanwhile the space was pointed at another agent: the answer still goes to the one that asked.
    await turn(
      agent,
      ask('approve', { contextId: paused.contextId!, taskId: paused.taskId!, agentId: 'newer-agent' }),
    );
    expect(caipe.callsTo('/api/v1/chat/stream/resume')[0]!.body.agent_id).toBe('incident-agent');
    // A new question after that asks the space's agent of the moment.
    await turn(agent, ask('and now?', { contextId: paused.contextId!, agentId: 'newer-agent' }));
    expect(caipe.callsTo('/api/v1/chat/stream/start')[1]!.body.agent_id).toBe('newer-agent');
  });

  it('refuses an agent id CAIPE would refuse before any call', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    for (const agentId of ['../admin', 'a'.repeat(129), 'agent\nx', '']) {
      const error = await failure(client(caipe).streamTurn(ask('hi', { agentId })));
      expect(error.message).toMatch(/agent id/);
    }
    expect(caipe.calls).toHaveLength(0);
  });

  it('tool_approval: approve / reject; the card approves, a plain-text reply rejects', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    const approval = async (s: Parameters<Parameters<FakeCaipe['enqueue']>[0]>[0]) => {
      await s.started();
      await s.finished('interrupt', {
        interrupt: {
          id: 'call-del',
          reason: 'tool_approval',
          payload: {
            tool_name: 'delete_app',
            tool_args: { name: 'web' },
            allowed_decisions: ['approve', 'edit', 'reject'],
          },
        },
      });
      await s.end();
    };
    caipe.enqueue(
      approval,
      async (s) => {
        await s.started();
        await s.finished();
        await s.end();
      },
      approval,
    );
    const agent = client(caipe);
    const paused = (await turn(agent, ask('delete web'))).state;
    expect(paused.form?.title).toContain('delete_app');
    expect(paused.form?.description).toContain('"name": "web"');
    expect(paused.form?.fields).toEqual([
      expect.objectContaining({ name: 'decision', type: 'select', defaultValue: 'approve' }),
    ]);
    const card = formAnswer(paused.form!, { decision: 'approve' });
    await turn(
      agent,
      ask(card.text, {
        contextId: paused.contextId!,
        taskId: paused.taskId!,
        parts: [{ kind: 'data', data: { resume: card.resume } }],
      }),
    );
    const again = (await turn(agent, ask('delete web', { contextId: paused.contextId! }))).state;
    await turn(agent, ask('no, keep it', { contextId: again.contextId!, taskId: again.taskId! }));
    expect(caipe.callsTo('/api/v1/chat/stream/resume').map((c) => JSON.parse(c.body.resume_data))).toEqual([
      { type: 'tool_approval', decision: 'approve' },
      { type: 'tool_approval', decision: 'reject' },
    ]);
  });
});

describe('CAIPE cancel, refusals and feedback', () => {
  it('cancel calls stream/cancel; the stream then ends without RUN_FINISHED and the turn is canceled', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    caipe.enqueue(async (s) => {
      await s.started();
      await s.frame('TEXT_MESSAGE_START', { messageId: 'm', role: 'assistant' });
      await s.frame('TEXT_MESSAGE_CONTENT', { messageId: 'm', delta: 'Scanning' });
      await s.cancelled;
      await s.end();
    });
    const agent = client(caipe);
    const iterator = agent.streamTurn(ask('scan everything'))[Symbol.asyncIterator]();
    let taskId: string | undefined;
    for (;;) {
      const next = await iterator.next();
      if (next.done) throw new Error('ended early');
      if (next.value.type === 'ids') taskId = next.value.taskId;
      if (next.value.type === 'text') break;
    }
    await agent.cancel(taskId!);
    const rest: TurnEvent[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    expect(rest).toEqual([{ type: 'status', state: 'canceled' }]);
    expect(caipe.cancels[0]!.body).toEqual({
      conversation_id: [...caipe.conversations.keys()][0],
      agent_id: 'platform-agent',
    });
    expect((await failure(agent.resubscribe(taskId!))).kind).toBe('unsupported');
  });

  it('a stream that ends without RUN_FINISHED, with no cancel asked, is a cut', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    caipe.enqueue(async (s) => {
      await s.started();
      await s.text('m', 'Half an answer');
      await s.end();
    });
    expect((await failure(client(caipe).streamTurn(ask('hi')))).kind).toBe('stream-cut');
  });

  it('403 agent#use is forbidden; 403 on another person’s conversation is not-owner', async () => {
    const caipe = track(
      await FakeCaipe.start({
        tokens: { 'token-a': { sub: 'a', email: 'a@x' }, 'token-b': { sub: 'b', email: 'b@x' } },
        agentUse: (sub, agentId) => !(sub === 'b' && agentId === 'secret-agent'),
      }),
    );
    const asA: AgentAuth = { getAuthHeader: async () => 'Bearer token-a' };
    const asB: AgentAuth = { getAuthHeader: async () => 'Bearer token-b' };
    const forbidden = await failure(
      client(caipe, { auth: asB }).streamTurn(ask('hi', { agentId: 'secret-agent' })),
    );
    expect(forbidden).toMatchObject({ kind: 'forbidden', status: 403 });
    const owned = (await turn(client(caipe, { auth: asA }), ask('mine'))).state;
    const notOwner = await failure(
      client(caipe, { auth: asB }).streamTurn(ask('me too', { contextId: owned.contextId! })),
    );
    expect(notOwner).toMatchObject({ kind: 'not-owner', status: 403 });
  });

  it('feedback goes to /api/feedback as CAIPE’s bots send it, and never throws', async () => {
    const caipe = track(await FakeCaipe.start({ tokens }));
    const feedback = createCaipeFeedback({ url: caipe.url, log: silentLogger() });
    await feedback.score({
      traceId: 'conv-1',
      personId: 'person-alice',
      email: 'alice@example.com',
      positive: false,
      roomId: ROOM,
    });
    expect(caipe.feedback[0]!.body).toEqual({
      feedbackType: 'dislike',
      value: 'thumbs_down',
      conversationId: 'conv-1',
      source: 'webex',
      channelId: ROOM,
      userId: 'person-alice',
      userEmail: 'alice@example.com',
    });
    let failures = 0;
    const down = createCaipeFeedback({
      url: 'http://127.0.0.1:9',
      log: silentLogger(),
      onFailure: () => failures++,
    });
    await down.score({ traceId: 'conv-1', personId: 'p', positive: true });
    expect(failures).toBe(1);
  });
});
