/**
 * The A2A client against a real agent built with the official `@a2a-js/sdk` server speaking v0.3:
 * multi-turn context reuse, HITL answers with the task id, headers and metadata, cancel, abort.
 */
import { TaskState } from '@a2a-js/sdk';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { A2aAgentClient } from '../../../src/adapters/agent/a2a/client.js';
import type { TurnEvent, TurnRequest } from '../../../src/adapters/agent/port.js';
import {
  finalText,
  initialTurnState,
  reduceTurn,
  reduceTurnEvents,
  type TurnState,
} from '../../../src/adapters/agent/turn-state.js';
import { AgentError } from '../../../src/errors.js';
import { type PeerTurn, SdkPeer } from '../../helpers/a2a/sdk-peer.js';

describe('A2A client against an @a2a-js/sdk peer (v0.3 JSON-RPC)', () => {
  let peer: SdkPeer;
  let client: A2aAgentClient;

  beforeEach(async () => {
    peer = await SdkPeer.start();
    client = new A2aAgentClient({ url: peer.url, idleTimeoutMs: 15_000, closeGraceMs: 2_000 });
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await client.close();
    await peer.close();
  });

  async function run(request: TurnRequest): Promise<TurnState> {
    const events: TurnEvent[] = [];
    for await (const event of client.streamTurn(request)) events.push(event);
    return reduceTurnEvents(events);
  }

  it('reuses the contextId across turns; each turn is a new task; no taskId is sent', async () => {
    const first = await run({ text: 'first question', userEmail: 'alice@example.com' });
    expect(first.status).toBe('completed');
    expect(finalText(first)).toEqual({ text: 'You said: first question', source: 'final_result' });
    expect(first.contextId).toBe(peer.turns[0]?.contextId);
    expect(first.taskId).toBe(peer.turns[0]?.taskId);
    expect(first.traceId).toBe(`trace-${first.taskId?.replace(/-/g, '')}`);

    const second = await run({
      text: 'follow-up',
      userEmail: 'alice@example.com',
      contextId: first.contextId!,
    });
    expect(second.contextId).toBe(first.contextId);
    expect(second.taskId).not.toBe(first.taskId);
    expect(peer.turns[1]?.contextId).toBe(first.contextId);

    const [sentFirst, sentSecond] = peer.requests.map((r) => r.json.params.message);
    expect(sentFirst).not.toHaveProperty('contextId');
    expect(sentSecond.contextId).toBe(first.contextId);
    expect(sentFirst).not.toHaveProperty('taskId');
    expect(sentSecond).not.toHaveProperty('taskId');
  });

  it('sends the headers and user_email the supervisor reads', async () => {
    await run({ text: 'hi', userEmail: 'bob@example.com', metadata: { trace_id: 'abc' } });
    const [request] = peer.requests;
    expect(request?.headers['x-client-source']).toBe('webex-bot');
    expect(request?.headers.accept).toBe('text/event-stream');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.json.method).toBe('message/stream');
    // The peer's executor saw the metadata after its own v0.3 → v1 conversion.
    expect(peer.turns[0]?.userMessage.metadata).toEqual({ trace_id: 'abc', user_email: 'bob@example.com' });
  });

  it('answers input-required with contextId, taskId and a resume data part; the same task completes', async () => {
    const askForInput = (turn: PeerTurn) => {
      turn.task();
      turn.status(TaskState.TASK_STATE_WORKING, 'I need the ticket details.');
      turn.artifact('UserInputMetaData', [
        {
          data: {
            user_input: true,
            input_title: 'Ticket details',
            input_fields: [
              { field_name: 'summary', field_label: 'Summary', field_type: 'text' },
              { field_name: 'priority', field_values: ['P1', 'P2'], default_value: 'P2' },
            ],
          },
        },
      ]);
      turn.status(TaskState.TASK_STATE_INPUT_REQUIRED, 'Please fill in the form.');
      turn.finish();
    };
    let resumeSeen: unknown[] = [];
    const resume = (turn: PeerTurn) => {
      resumeSeen = turn.userData;
      turn.task(TaskState.TASK_STATE_WORKING);
      turn.artifact('final_result', [`Created ticket: ${turn.userText}`], { lastChunk: true });
      turn.status(TaskState.TASK_STATE_COMPLETED);
      turn.finish();
    };
    peer.enqueue(askForInput, resume);

    const paused = await run({ text: 'open a ticket', userEmail: 'carol@example.com' });
    expect(paused.status).toBe('input-required');
    expect(paused.form?.fields.map((f) => [f.name, f.type])).toEqual([
      ['summary', 'text'],
      ['priority', 'select'],
    ]);
    expect(paused.statusMessage).toBe('Please fill in the form.');

    const decision = {
      resume: { decisions: [{ type: 'edit', args: { args: { user_inputs: { summary: 'Disk full' } } } }] },
    };
    const done = await run({
      text: 'summary: Disk full',
      parts: [{ kind: 'data', data: decision }],
      userEmail: 'carol@example.com',
      contextId: paused.contextId!,
      taskId: paused.taskId!,
    });
    expect(done.status).toBe('completed');
    expect(done.taskId).toBe(paused.taskId);
    expect(finalText(done)?.text).toBe('Created ticket: summary: Disk full');
    expect(peer.turns[1]?.task?.id).toBe(paused.taskId);
    expect(resumeSeen).toEqual([decision]);
    expect(peer.requests[1]?.json.params.message).toMatchObject({
      contextId: paused.contextId,
      taskId: paused.taskId,
    });
  });

  it('folded as the conversation actor folds it, the stream shows every intermediate state', async () => {
    // The agentStream actor seeds the state with the request's ids and reduces each event in turn.
    const request = { text: 'ping', userEmail: 'a@example.com', contextId: 'ctx-known' };
    let state = initialTurnState({ contextId: request.contextId });
    const seen: string[] = [];
    for await (const event of client.streamTurn(request)) {
      state = reduceTurn(state, event);
      seen.push(`${state.status}:${state.streams[0]?.text ?? ''}`);
    }
    expect(state.contextId).toBe('ctx-known');
    expect(finalText(state)?.text).toBe('You said: ping');
    expect(seen).toEqual([
      'submitted:',
      'submitted:',
      'working:',
      'working:You said: ',
      'working:You said: ping',
      'working:You said: ping',
      'completed:You said: ping',
      'completed:You said: ping',
    ]);
  });

  it('a failed task ends the turn with its message', async () => {
    peer.enqueue((turn) => {
      turn.task();
      turn.status(TaskState.TASK_STATE_FAILED, 'The jira agent is down.');
      turn.finish();
    });
    const state = await run({ text: 'x', userEmail: 'a@example.com' });
    expect(state).toMatchObject({ status: 'failed', statusMessage: 'The jira agent is down.' });
  });

  it('a message to a finished task is refused with the peer JSON-RPC error code', async () => {
    // The SDK server prints every refused request to the console; the refusal is what is under test.
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const first = await run({ text: 'x', userEmail: 'a@example.com' });
    const attempt = run({
      text: 'y',
      userEmail: 'a@example.com',
      contextId: first.contextId!,
      taskId: first.taskId!,
    });
    await expect(attempt).rejects.toBeInstanceOf(AgentError);
    await expect(attempt).rejects.toMatchObject({ kind: 'jsonrpc', status: -32004 });
    expect(printed).toHaveBeenCalled();
  });

  it('tasks/cancel reaches the peer and the stream ends canceled', async () => {
    peer.enqueue(async (turn) => {
      turn.task();
      turn.status(TaskState.TASK_STATE_WORKING);
      await turn.untilCancelled();
      turn.status(TaskState.TASK_STATE_CANCELED);
      turn.finish();
    });
    const events: TurnEvent[] = [];
    for await (const event of client.streamTurn({ text: 'long job', userEmail: 'a@example.com' })) {
      events.push(event);
      if (event.type === 'status' && event.state === 'working') {
        const taskId = reduceTurnEvents(events).taskId!;
        await client.cancel(taskId);
        expect(peer.cancelRequests).toEqual([taskId]);
      }
    }
    expect(reduceTurnEvents(events).status).toBe('canceled');
    expect(peer.requests.map((r) => r.json.method)).toEqual(['message/stream', 'tasks/cancel']);
  });

  it('aborting mid-stream closes the connection the peer holds', async () => {
    peer.enqueue(async (turn) => {
      turn.task();
      turn.status(TaskState.TASK_STATE_WORKING);
      await turn.untilCancelled();
      turn.finish();
    });
    const controller = new AbortController();
    const reading = (async () => {
      for await (const event of client.streamTurn(
        { text: 'x', userEmail: 'a@example.com' },
        { signal: controller.signal },
      )) {
        if (event.type === 'status' && event.state === 'working')
          controller.abort(new Error('conversation stopped'));
      }
    })();
    await expect(reading).rejects.toThrow('conversation stopped');
    await peer.closed[0];
  });
});
