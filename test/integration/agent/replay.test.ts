/**
 * The five recorded CAIPE supervisor streams, served as sse-starlette would (CRLF, pings, events
 * split across writes) and read through the real client: the answer, plan, tools and ids come out
 * as the recordings say.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { A2aAgentClient } from '../../../src/adapters/agent/a2a/client.js';
import type { TurnEvent } from '../../../src/adapters/agent/port.js';
import {
  finalText,
  reduceTurnEvents,
  streamedText,
  type TurnState,
} from '../../../src/adapters/agent/turn-state.js';
import {
  type CaipeFixtureName,
  caipeFixturesPresent,
  FIXTURES_SKIP_MESSAGE,
  loadCaipeStream,
} from '../../helpers/a2a/fixtures.js';
import { replayScript, SseEmulator } from '../../helpers/a2a/sse-emulator.js';

const present = caipeFixturesPresent();
if (!present) console.warn(FIXTURES_SKIP_MESSAGE);

type Result = Record<string, unknown>;
type Artifact = {
  name?: string;
  parts?: Array<{ kind: string; text?: string }>;
  metadata?: Record<string, unknown>;
};

/** Texts of the recorded artifacts with this name, in order (read straight from the recording). */
function artifactTexts(results: Result[], name: string): string[] {
  return results
    .filter((r) => r.kind === 'artifact-update' && (r.artifact as Artifact).name === name)
    .map((r) =>
      ((r.artifact as Artifact).parts ?? [])
        .filter((p) => p.kind === 'text')
        .map((p) => p.text)
        .join(''),
    );
}

describe.skipIf(!present)('replaying recorded CAIPE streams through the A2A client', () => {
  let emulator: SseEmulator;
  let client: A2aAgentClient;

  beforeEach(async () => {
    emulator = await SseEmulator.start({ eol: '\r\n' });
    client = new A2aAgentClient({ url: emulator.url, idleTimeoutMs: 30_000 });
  });

  afterEach(async () => {
    await client.close();
    await emulator.close();
  });

  async function replay(
    name: CaipeFixtureName,
  ): Promise<{ results: Result[]; events: TurnEvent[]; state: TurnState }> {
    const results = loadCaipeStream(name);
    emulator.enqueue(replayScript(results, { pingEvery: 3, pieces: 3 }));
    const events: TurnEvent[] = [];
    for await (const event of client.streamTurn({ text: 'question', userEmail: 'user@example.com' })) {
      events.push(event);
    }
    return { results, events, state: reduceTurnEvents(events) };
  }

  it('a2a_heavy_search: the final_result is the answer; seven search/fetch tools all complete', async () => {
    const { results, state } = await replay('a2a_heavy_search');

    const recordedFinal = artifactTexts(results, 'final_result');
    expect(recordedFinal).toHaveLength(1);
    expect(finalText(state)).toEqual({ text: recordedFinal[0], source: 'final_result' });
    expect(finalText(state)?.text).toMatch(/^Yes, there are mechanisms to sync AWS Secrets/);
    expect(state.status).toBe('completed');
    expect(state.contextId).toBe('01e23701-2fbb-4d38-a967-b0682ecfa2c5');
    expect(state.taskId).toBe('66e4769d-8fff-4215-b065-9d335f8c4faa');
    expect(state.tools.map((t) => t.name)).toEqual([
      'search',
      'search',
      'fetch_document',
      'search',
      'search',
      'fetch_document',
      'search',
    ]);
    expect(state.tools.every((t) => t.status === 'completed')).toBe(true);
    // All 251 streamed chunks share one artifact id; the buffer is their concatenation.
    expect(state.streams).toHaveLength(1);
    expect(streamedText(state)).toBe(artifactTexts(results, 'streaming_result').join(''));
    expect(state.plan).toEqual([]);
    expect(state.traceId).toBeUndefined();
  });

  it('a2a_jira_ticket_creation: no final_result, so the Jira complete_result is the answer', async () => {
    const { results, state } = await replay('a2a_jira_ticket_creation');

    const recordedComplete = artifactTexts(results, 'complete_result');
    expect(artifactTexts(results, 'final_result')).toEqual([]);
    expect(finalText(state)).toEqual({ text: recordedComplete[0], source: 'complete_result', agent: 'jira' });
    expect(finalText(state)?.text).toContain('TEST-1234');
    expect(state.status).toBe('completed');
    expect(state.taskId).toBe('790785f1-14aa-4db8-9a98-1cbce7f39df8');
    // Ten starts and nine ends: the sub-agent's own tools are named from the description, not "jira".
    expect(state.tools).toHaveLength(10);
    expect(state.tools.filter((t) => t.agent === 'jira').map((t) => t.name)).toEqual([
      'jira',
      'get_issue',
      'get_comments',
      'ResponseFormat',
    ]);
    expect(state.tools.filter((t) => t.status === 'running').map((t) => t.name)).toEqual(['ResponseFormat']);
    expect(state.streams.map((s) => s.id)).toEqual([
      'aabe6c8c-7e44-4a7b-861f-8afcc8fa581a',
      '4889d5ee-20ff-4efd-a9be-2a8eee9d727f',
    ]);
  });

  it('argocd-version: final_result wins over the identical streamed text; one argocd tool', async () => {
    const { results, state } = await replay('argocd-version');

    expect(finalText(state)).toEqual({
      text: artifactTexts(results, 'final_result')[0],
      source: 'final_result',
      agent: 'supervisor',
    });
    // Chunks without an artifactId still stream (keyed by name) and add up to the answer.
    expect(streamedText(state)).toBe(
      'The ArgoCD version is **v2.12.3**.\n\nThis is a stable release running in your cluster.',
    );
    expect(state.tools).toEqual([
      { name: 'argocd', agent: 'argocd', status: 'completed', text: '✅ ArgoCD version retrieved' },
    ]);
    expect(state.status).toBe('completed');
    expect(state.contextId).toBe('test-context-argocd');
    expect(state.taskId).toBe('task-argocd-001');
  });

  it('caipe-capabilities: the prose plan becomes four steps; the answer is the final_result', async () => {
    const { results, events, state } = await replay('caipe-capabilities');

    expect(state.plan.map((s) => s.title)).toEqual([
      'List all available agents',
      'Describe integration capabilities',
      'Provide example use cases',
      'Explain multi-agent orchestration',
    ]);
    expect(finalText(state)?.text).toBe(artifactTexts(results, 'final_result')[0]);
    expect(finalText(state)?.text.startsWith('# CAIPE - Community AI Platform Engineering')).toBe(true);
    // Both recorded `completed` updates arrive: the first (final:false) does not end the read early.
    expect(events.filter((e) => e.type === 'status' && e.state === 'completed')).toHaveLength(2);
    expect(state.statusMessage).toBe('Provided CAIPE capabilities overview');
  });

  it('github-profile: three plan steps, routing and API tools, answer from the github agent', async () => {
    const { results, state } = await replay('github-profile');

    expect(state.plan.map((s) => [s.title, s.status])).toEqual([
      ['Route to GitHub agent', 'pending'],
      ['Fetch user profile for sriaradhyula', 'pending'],
      ['Format and return profile information', 'pending'],
    ]);
    expect(state.tools.map((t) => [t.name, t.status])).toEqual([
      ['supervisor', 'running'],
      ['github', 'completed'],
    ]);
    expect(finalText(state)).toEqual({
      text: artifactTexts(results, 'final_result')[0],
      source: 'final_result',
      agent: 'github',
    });
  });

  it('sends the request CAIPE expects: POST to the URL itself, SSE accept, client source, user email', async () => {
    await replay('argocd-version');

    const [received] = emulator.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe('/');
    expect(received?.headers.accept).toBe('text/event-stream');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['x-client-source']).toBe('webex-bot');
    expect(received?.json).toMatchObject({
      jsonrpc: '2.0',
      id: 1,
      method: 'message/stream',
      params: {
        message: {
          role: 'user',
          kind: 'message',
          parts: [{ kind: 'text', text: 'question' }],
          metadata: { user_email: 'user@example.com' },
        },
      },
    });
    expect(received?.json.params.message.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(received?.json.params.message).not.toHaveProperty('contextId');
    expect(received?.json.params.message).not.toHaveProperty('taskId');
  });
});
