import { describe, expect, it } from 'vitest';
import { classifyA2AResult, normaliseState } from '../../../src/adapters/agent/a2a/classify.js';
import type { TurnEvent } from '../../../src/adapters/agent/port.js';

function events(result: unknown): TurnEvent[] {
  const classified = classifyA2AResult(result);
  if (!classified.ok) throw new Error(classified.reason);
  return classified.events.filter((e) => e.type !== 'ids');
}

function artifact(
  name: string,
  parts: unknown[],
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
) {
  return {
    kind: 'artifact-update',
    taskId: 't1',
    contextId: 'c1',
    artifact: { artifactId: 'a1', name, parts, ...extra },
    append: false,
    lastChunk: false,
    ...top,
  };
}

const text = (t: string) => ({ kind: 'text', text: t });
const data = (d: unknown) => ({ kind: 'data', data: d });

describe('classifyA2AResult', () => {
  it('gives ids, status and trace from a task', () => {
    const classified = classifyA2AResult({
      kind: 'task',
      id: 't1',
      contextId: 'c1',
      status: { state: 'submitted' },
      metadata: { trace_id: 'abc' },
    });
    expect(classified).toEqual({
      ok: true,
      events: [
        { type: 'ids', contextId: 'c1', taskId: 't1' },
        { type: 'status', state: 'submitted' },
        { type: 'trace', traceId: 'abc' },
      ],
    });
  });

  it('reads a failed status message from a Message object and a bare string', () => {
    expect(
      events({
        kind: 'status-update',
        taskId: 't1',
        contextId: 'c1',
        final: true,
        status: { state: 'failed', message: { role: 'agent', parts: [text('LLM quota exceeded')] } },
      }),
    ).toEqual([{ type: 'status', state: 'failed', message: 'LLM quota exceeded' }]);
    expect(
      events({ kind: 'status-update', taskId: 't1', status: { state: 'completed', message: 'done' } }),
    ).toEqual([{ type: 'status', state: 'completed', message: 'done' }]);
  });

  it('takes the trace id of a completed status-update from its metadata', () => {
    expect(
      events({
        kind: 'status-update',
        taskId: 't1',
        status: { state: 'completed' },
        final: true,
        metadata: { trace_id: 'f00' },
      }),
    ).toEqual([
      { type: 'status', state: 'completed' },
      { type: 'trace', traceId: 'f00' },
    ]);
  });

  it('maps v1 and odd state spellings onto the v0.3 names', () => {
    expect(normaliseState('input-required')).toBe('input-required');
    expect(normaliseState('TASK_STATE_INPUT_REQUIRED')).toBe('input-required');
    expect(normaliseState('TASK_STATE_AUTH_REQUIRED')).toBe('auth-required');
    expect(normaliseState('cancelled')).toBe('canceled');
    expect(normaliseState('rejected')).toBe('rejected');
    expect(normaliseState('sleeping')).toBe('unknown');
    expect(normaliseState(undefined)).toBe('unknown');
  });

  it('streams text keyed by artifactId, with append and the source agent', () => {
    expect(
      events(
        artifact(
          'streaming_result',
          [text('Hel')],
          { metadata: { sourceAgent: 'jira', plan_step_id: 'step-1' } },
          { append: true },
        ),
      ),
    ).toEqual([
      { type: 'text', streamId: 'a1', text: 'Hel', append: true, agent: 'jira', planStepId: 'step-1' },
    ]);
  });

  it('turns final, complete and partial results into answer candidates; final_result carries the trace id', () => {
    expect(events(artifact('final_result', [text('Answer')], { metadata: { trace_id: 'tr1' } }))).toEqual([
      { type: 'answer', source: 'final_result', text: 'Answer', append: false },
      { type: 'trace', traceId: 'tr1' },
    ]);
    expect(
      events(artifact('complete_result', [text('Jira says')], { metadata: { sourceAgent: 'jira' } })),
    ).toEqual([
      { type: 'answer', source: 'complete_result', text: 'Jira says', append: false, agent: 'jira' },
    ]);
    expect(events(artifact('partial_result', [text('Partly')]))).toEqual([
      { type: 'answer', source: 'partial_result', text: 'Partly', append: false },
    ]);
  });

  it('shows a structured final_result data part as JSON rather than nothing', () => {
    const [answer] = events(artifact('final_result', [data({ version: '2.12.3' })]));
    expect(answer).toMatchObject({ type: 'answer', source: 'final_result' });
    expect(JSON.parse((answer as { text: string }).text)).toEqual({ version: '2.12.3' });
  });

  it('names tools from metadata keys, the "Tool call started" description, then sourceAgent', () => {
    expect(
      events(artifact('tool_notification_start', [text('x')], { metadata: { tool_name: 'list_pods' } })),
    ).toEqual([{ type: 'tool', phase: 'start', name: 'list_pods', text: 'x' }]);
    expect(
      events(
        artifact('tool_notification_start', [text('🔧 Jira: Calling tool: Get_Issue\n')], {
          description: 'Tool call started: get_issue',
          metadata: { sourceAgent: 'jira', agentType: 'sub-agent' },
        }),
      ),
    ).toEqual([
      {
        type: 'tool',
        phase: 'start',
        name: 'get_issue',
        agent: 'jira',
        text: '🔧 Jira: Calling tool: Get_Issue',
      },
    ]);
    expect(
      events(
        artifact('tool_notification_end', [text('done')], {
          description: 'ArgoCD tool completed',
          metadata: { sourceAgent: 'argocd' },
        }),
      ),
    ).toEqual([{ type: 'tool', phase: 'end', name: 'argocd', agent: 'argocd', text: 'done' }]);
    expect(events(artifact('tool_notification_start', [], { description: 'Doing a thing' }))).toEqual([
      { type: 'tool', phase: 'start', name: 'Doing a thing' },
    ]);
  });

  it('marks a tool end failed only on an explicit failure, not on the word "error" in its topic', () => {
    const failed = events(
      artifact('tool_notification_end', [text('❌ Splunk: Tool search failed')], {
        metadata: { sourceAgent: 'splunk' },
      }),
    );
    expect(failed[0]).toMatchObject({ phase: 'end', failed: true });
    const topical = events(
      artifact('tool_notification_end', [text('✅ Splunk: Tool search_errors completed')], {
        metadata: { sourceAgent: 'splunk' },
      }),
    );
    expect(topical[0]).not.toHaveProperty('failed');
    const byStatus = events(
      artifact('tool_notification_end', [text('x')], { metadata: { sourceAgent: 'a', status: 'error' } }),
    );
    expect(byStatus[0]).toMatchObject({ failed: true });
  });

  it('reads the structured plan with every step, ordered by `order`, keyed by step_id', () => {
    const steps = [
      { step_id: 'step-bbb', title: 'Summarise', agent: 'supervisor', status: 'pending', order: 2 },
      { step_id: 'step-aaa', title: 'Query ArgoCD', agent: 'argocd', status: 'in_progress', order: 1 },
      { step_id: 'step-ccc', title: 'Odd', status: 'weird', order: 3 },
    ];
    expect(events(artifact('execution_plan_status_update', [data({ steps })]))).toEqual([
      {
        type: 'plan',
        steps: [
          { id: 'step-aaa', title: 'Query ArgoCD', status: 'in_progress', agent: 'argocd' },
          { id: 'step-bbb', title: 'Summarise', status: 'pending', agent: 'supervisor' },
          { id: 'step-ccc', title: 'Odd', status: 'pending' },
        ],
      },
    ]);
  });

  it('passes a prose plan on as text, appended when the artifact says so', () => {
    expect(events(artifact('execution_plan_update', [text('## Plan\n1. A')]))).toEqual([
      { type: 'plan', text: '## Plan\n1. A', append: false },
    ]);
    expect(events(artifact('execution_plan_streaming', [text('\n2. B')], {}, { append: true }))).toEqual([
      { type: 'plan', text: '\n2. B', append: true },
    ]);
  });

  it('recognises forms only by the names UserInputMetaData and caipe_form', () => {
    const form = data({
      input_title: 'Confirm',
      input_fields: [{ field_name: 'ok', field_type: 'boolean' }],
    });
    expect(events(artifact('UserInputMetaData', [form]))[0]).toMatchObject({
      type: 'form',
      form: { title: 'Confirm' },
    });
    expect(events(artifact('caipe_form', [form]))[0]).toMatchObject({ type: 'form' });
    for (const name of ['information', 'platform_status', 'form_letter', 'transform_output']) {
      expect(events(artifact(name, [text('some text')]))).toEqual([
        { type: 'note', name, text: 'some text' },
      ]);
    }
  });

  it('keeps a forwarded agent message and ignores the echo of the user message', () => {
    expect(events({ kind: 'message', role: 'agent', messageId: 'm', parts: [text('Hi there')] })).toEqual([
      { type: 'message', text: 'Hi there' },
    ]);
    expect(events({ kind: 'message', role: 'user', messageId: 'm', parts: [text('question')] })).toEqual([]);
  });

  it('refuses results it does not understand, with a reason', () => {
    expect(classifyA2AResult('nope')).toEqual({ ok: false, reason: 'result is not an object' });
    expect(classifyA2AResult({ kind: 'telemetry' })).toEqual({
      ok: false,
      reason: 'unknown result kind "telemetry"',
    });
  });
});
