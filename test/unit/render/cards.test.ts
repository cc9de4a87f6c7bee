import { describe, expect, it } from 'vitest';
import type { AgentForm, FormField, FormFieldType } from '../../../src/adapters/agent/port.js';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  buildAuthorizeCard,
  buildFeedbackCard,
  buildFormCard,
  type CardMessage,
  formAnswer,
  MAX_CARD_ACTIONS,
  MAX_CARD_BYTES,
  parseCardSubmission,
} from '../../../src/render/cards.js';
import { messages } from '../../../src/render/messages.js';
import { checkCard, type RenderedElement, submitCard } from '../../helpers/adaptive-cards.js';

const FIELDS: Record<FormFieldType, FormField> = {
  text: { name: 'reason', label: 'Reason', type: 'text', required: true, placeholder: 'Why?' },
  select: {
    name: 'env',
    label: 'Environment',
    type: 'select',
    required: true,
    options: [
      { value: 'prod', label: 'Production' },
      { value: 'dev', label: 'Development' },
    ],
    defaultValue: 'dev',
  },
  multiselect: {
    name: 'regions',
    label: 'Regions',
    type: 'multiselect',
    required: false,
    options: [
      { value: 'us-east-1', label: 'US East' },
      { value: 'eu-west-1', label: 'EU West' },
      { value: 'ap-south-1', label: 'Asia Pacific' },
    ],
  },
  boolean: {
    name: 'confirm',
    label: 'Restart the pods',
    type: 'boolean',
    required: true,
    defaultValue: false,
  },
  number: { name: 'replicas', label: 'Replicas', type: 'number', required: true, defaultValue: 3 },
  url: { name: 'runbook', label: 'Runbook', type: 'url', required: false, placeholder: 'https://…' },
  email: { name: 'owner', label: 'Owner', type: 'email', required: true, description: 'Who gets paged' },
};

function formOf(fields: FormField[], extra: Partial<AgentForm> = {}): AgentForm {
  return {
    title: 'Deploy request',
    description: 'Tell me where to deploy.',
    fields,
    source: 'UserInputMetaData',
    raw: null,
    ...extra,
  };
}

function contentOf(message: CardMessage): Record<string, unknown> {
  expect(message.attachments).toHaveLength(1);
  expect(message.attachments[0].contentType).toBe(ADAPTIVE_CARD_CONTENT_TYPE);
  return message.attachments[0].content;
}

function buttons(element: RenderedElement | undefined): string[] {
  return Array.from(element?.querySelectorAll('button') ?? []).map((b) => b.textContent?.trim() ?? '');
}

function byId(element: RenderedElement | undefined, id: string): RenderedElement | undefined {
  return Array.from(element?.querySelectorAll('[id]') ?? []).find((el) => el.getAttribute('id') === id);
}

/** The HTML controls a field type must render to. */
const CONTROL_SELECTOR: Record<FormFieldType, string> = {
  text: 'input[type="text"]',
  url: 'input[type="url"]',
  email: 'input[type="email"]',
  number: 'input[type="number"]',
  boolean: 'input[type="checkbox"]',
  select: 'select',
  multiselect: 'input[type="checkbox"]',
};

/** Every card shape the bot can send, for the renderer checks. */
function everyCard(): [string, CardMessage][] {
  const key = 'Y2lzY29zcGFyazovL3VzL01FU1NBR0UvYWJj';
  const perType = (Object.keys(FIELDS) as FormFieldType[]).map((type): [string, CardMessage] => [
    `form with a ${type} field`,
    buildFormCard({ form: formOf([FIELDS[type]]), conversationKey: key, cardId: `card-${type}` }),
  ]);
  return [
    ...perType,
    [
      'form with every field type',
      buildFormCard({
        form: formOf(Object.values(FIELDS)),
        conversationKey: key,
        cardId: 'card-all',
        question: 'Which environment should I deploy to?',
      }),
    ],
    [
      'form without fields or title',
      buildFormCard({
        form: { fields: [], source: 'input-required', raw: null },
        conversationKey: key,
        cardId: 'c0',
      }),
    ],
    ['feedback', buildFeedbackCard({ traceId: 'trace-1', conversationKey: key, cardId: 'fb-1' })],
    [
      'authorize',
      buildAuthorizeCard({
        url: 'https://caipe.example.com/api/admin/integrations/webex/authorize?roomId=Y2lz',
      }),
    ],
  ];
}

describe('cards under the adaptivecards 1.3 renderer', () => {
  it('the check itself reports cards a 1.3 client cannot show', () => {
    const result = checkCard({
      type: 'AdaptiveCard',
      version: '1.3',
      body: [{ type: 'Input.Text', id: 'a', style: 'password' }, { type: 'Table' }],
      actions: [{ type: 'Action.Execute', title: 'Go' }],
    });
    expect(result.events.length).toBeGreaterThanOrEqual(3);
    expect(result.events.join('\n')).toMatch(/Action\.Execute/);
  });

  for (const [name, message] of everyCard()) {
    it(`${name}: parses with zero events, validates, renders its buttons`, () => {
      const content = contentOf(message);
      expect(content.version).toBe('1.3');
      expect((content.actions as unknown[] | undefined)?.length ?? 0).toBeLessThanOrEqual(MAX_CARD_ACTIONS);
      expect(Buffer.byteLength(JSON.stringify(content))).toBeLessThanOrEqual(MAX_CARD_BYTES);
      expect(message.markdown.trim()).not.toBe('');
      const result = checkCard(content);
      expect(result.events).toEqual([]);
      expect(result.failures).toEqual([]);
      expect(result.element).toBeDefined();
      const titles = ((content.actions as { title: string }[] | undefined) ?? []).map((a) => a.title);
      expect(titles.length).toBeGreaterThan(0);
      expect(buttons(result.element)).toEqual(titles);
    });
  }

  for (const type of Object.keys(FIELDS) as FormFieldType[]) {
    it(`renders a ${type} field as its input, labelled, with Submit and Cancel`, () => {
      const field = FIELDS[type];
      const { element, html } = checkCard(
        contentOf(buildFormCard({ form: formOf([field]), conversationKey: 'k', cardId: 'c' })),
      );
      const wrapper = byId(element, `field:${field.name}`);
      expect(wrapper).toBeDefined();
      const controls = Array.from(wrapper?.querySelectorAll(CONTROL_SELECTOR[type]) ?? []);
      expect(controls.length).toBe(type === 'multiselect' ? 3 : 1);
      expect(wrapper?.textContent).toContain(field.label);
      expect(html).toContain('Deploy request');
      expect(html).toContain('Tell me where to deploy.');
      expect(buttons(element)).toEqual([messages.formSubmitButton, messages.formCancelButton]);
      if (field.description) expect(html).toContain(field.description);
    });
  }

  it('shows defaults and choices', () => {
    const { element } = checkCard(
      contentOf(buildFormCard({ form: formOf(Object.values(FIELDS)), conversationKey: 'k', cardId: 'c' })),
    );
    const select = byId(element, 'field:env')?.querySelectorAll('select')[0];
    expect(select?.value).toBe('dev');
    const options = Array.from(byId(element, 'field:env')?.querySelectorAll('option') ?? []).map((o) =>
      o.textContent?.trim(),
    );
    expect(options).toEqual(expect.arrayContaining(['Production', 'Development']));
    expect(byId(element, 'field:replicas')?.querySelectorAll('input')[0]?.value).toBe('3');
    expect(byId(element, 'field:confirm')?.querySelectorAll('input')[0]?.checked).toBe(false);
  });
});

describe('buildFormCard', () => {
  it('names inputs field:<name>, carries _caipe data, cancels without validation', () => {
    const content = contentOf(
      buildFormCard({ form: formOf(Object.values(FIELDS)), conversationKey: 'root-1', cardId: 'card-9' }),
    );
    const inputs = (content.body as { type: string; id?: string }[]).filter((e) =>
      e.type.startsWith('Input.'),
    );
    expect(inputs.map((i) => i.id)).toEqual(Object.values(FIELDS).map((f) => `field:${f.name}`));
    const [submit, cancel] = content.actions as Record<string, unknown>[];
    expect(submit?.data).toEqual({ _caipe: { kind: 'form', key: 'root-1', cardId: 'card-9' } });
    expect(cancel?.data).toEqual({ _caipe: { kind: 'formCancel', key: 'root-1', cardId: 'card-9' } });
    expect(cancel?.associatedInputs).toBe('none');
  });

  it('marks required inputs with a label and an error message, but never a toggle', () => {
    const content = contentOf(
      buildFormCard({ form: formOf(Object.values(FIELDS)), conversationKey: 'k', cardId: 'c' }),
    );
    const byName = new Map(
      (content.body as Record<string, unknown>[]).filter((e) => e.id).map((e) => [e.id as string, e]),
    );
    expect(byName.get('field:reason')).toMatchObject({
      isRequired: true,
      label: 'Reason',
      errorMessage: messages.formFieldRequired('Reason'),
      placeholder: 'Why?',
    });
    expect(byName.get('field:owner')).toMatchObject({ type: 'Input.Text', style: 'email', isRequired: true });
    expect(byName.get('field:runbook')).toMatchObject({ type: 'Input.Text', style: 'url' });
    expect(byName.get('field:runbook')?.isRequired).toBeUndefined();
    expect(byName.get('field:confirm')).toMatchObject({ type: 'Input.Toggle', title: 'Restart the pods' });
    expect(byName.get('field:confirm')?.isRequired).toBeUndefined();
    expect(byName.get('field:regions')).toMatchObject({ isMultiSelect: true, style: 'expanded' });
    expect(byName.get('field:env')).toMatchObject({ style: 'compact', value: 'dev' });
  });

  it('falls back to the question in markdown', () => {
    const message = buildFormCard({
      form: formOf([FIELDS.text]),
      conversationKey: 'k',
      cardId: 'c',
      question: 'Why restart?',
    });
    expect(message.markdown).toBe(`${messages.formFallback}\n\nWhy restart?`);
    expect(JSON.stringify(message.attachments[0].content)).toContain('Why restart?');
  });

  it('a select without options becomes a text input', () => {
    const content = contentOf(
      buildFormCard({
        form: formOf([{ name: 'x', label: 'X', type: 'select', required: false, options: [] }]),
        conversationKey: 'k',
        cardId: 'c',
      }),
    );
    expect((content.body as { id?: string; type: string }[]).find((e) => e.id === 'field:x')?.type).toBe(
      'Input.Text',
    );
  });

  it('keeps a huge form under the card size limit and still renders it', () => {
    const fields: FormField[] = Array.from({ length: 80 }, (_, i) => ({
      name: `f${i}`,
      label: `Label ${i} ${'é'.repeat(300)}`,
      type: 'select',
      required: true,
      description: 'd'.repeat(2000),
      options: Array.from({ length: 150 }, (_, j) => ({
        value: `v${j}`,
        label: `choice ${j} ${'x'.repeat(200)}`,
      })),
    }));
    const message = buildFormCard({
      form: formOf(fields, { description: 'q'.repeat(50_000) }),
      conversationKey: 'k',
      cardId: 'c',
      question: 'z'.repeat(50_000),
    });
    const content = contentOf(message);
    expect(Buffer.byteLength(JSON.stringify(content))).toBeLessThanOrEqual(MAX_CARD_BYTES);
    expect(Buffer.byteLength(message.markdown)).toBeLessThanOrEqual(7439);
    expect(JSON.stringify(content)).toContain(messages.formShortened);
    const result = checkCard(content);
    expect(result.events).toEqual([]);
    expect(byId(result.element, 'field:f0')).toBeDefined();
    expect(buttons(result.element)).toEqual([messages.formSubmitButton, messages.formCancelButton]);
  });
});

describe('buildFeedbackCard and buildAuthorizeCard', () => {
  it('feedback buttons carry the trace id and the vote', () => {
    const message = buildFeedbackCard({ traceId: 'tr-7', conversationKey: 'root', cardId: 'fb' });
    expect(message.markdown).toBe(messages.feedbackFallback);
    const actions = contentOf(message).actions as Record<string, unknown>[];
    expect(actions.map((a) => a.title)).toEqual([messages.feedbackUpButton, messages.feedbackDownButton]);
    expect(actions.map((a) => a.data)).toEqual([
      { _caipe: { kind: 'feedback', key: 'root', cardId: 'fb', traceId: 'tr-7', value: 'positive' } },
      { _caipe: { kind: 'feedback', key: 'root', cardId: 'fb', traceId: 'tr-7', value: 'negative' } },
    ]);
    expect(checkCard(contentOf(message)).html).toContain(messages.feedbackPrompt);
  });

  it('authorize opens the given URL', () => {
    const url = 'https://caipe.example.com/api/admin/integrations/webex/authorize?roomId=Y2lzY28';
    const message = buildAuthorizeCard({ url });
    expect(contentOf(message).actions).toEqual([
      { type: 'Action.OpenUrl', title: messages.authorizeCardButton, url, style: 'positive' },
    ]);
    expect(message.markdown).toBe(messages.authorizeCardFallback(url));
    expect(checkCard(contentOf(message)).html).toContain(messages.authorizeCardTitle);
  });
});

describe('parseCardSubmission', () => {
  const allFields = formOf(Object.values(FIELDS));
  const formCard = () =>
    contentOf(buildFormCard({ form: allFields, conversationKey: 'root-1', cardId: 'card-1' }));

  it('round trips a form the renderer submits, in the shape Webex reports', () => {
    const inputs = submitCard(formCard(), messages.formSubmitButton, {
      'field:reason': 'rollout stuck',
      'field:env': 'prod',
      'field:regions': ['us-east-1', 'ap-south-1'],
      'field:confirm': true,
      'field:replicas': '5',
      'field:owner': 'ops@example.com',
    });
    expect(inputs).toBeDefined();
    const parsed = parseCardSubmission(inputs ?? {});
    expect(parsed?.data).toEqual({ kind: 'form', key: 'root-1', cardId: 'card-1' });
    expect(parsed?.fields).toEqual({
      reason: 'rollout stuck',
      env: 'prod',
      regions: 'us-east-1,ap-south-1',
      confirm: 'true',
      replicas: '5',
      owner: 'ops@example.com',
    });
  });

  it('the renderer refuses a submit with required inputs empty or a bad email; Cancel always works', () => {
    expect(submitCard(formCard(), messages.formSubmitButton, {})).toBeUndefined();
    expect(
      submitCard(formCard(), messages.formSubmitButton, {
        'field:reason': 'r',
        'field:confirm': true,
        'field:replicas': '1',
        'field:owner': 'not-an-email',
      }),
    ).toBeUndefined();
    const cancel = parseCardSubmission(submitCard(formCard(), messages.formCancelButton) ?? {});
    expect(cancel).toEqual({ data: { kind: 'formCancel', key: 'root-1', cardId: 'card-1' }, fields: {} });
  });

  it('round trips feedback clicks', () => {
    const content = contentOf(
      buildFeedbackCard({ traceId: 'tr-1', conversationKey: 'root-2', cardId: 'fb-2' }),
    );
    expect(parseCardSubmission(submitCard(content, messages.feedbackDownButton) ?? {})).toEqual({
      data: { kind: 'feedback', key: 'root-2', cardId: 'fb-2', traceId: 'tr-1', value: 'negative' },
      fields: {},
    });
    expect(parseCardSubmission(submitCard(content, messages.feedbackUpButton) ?? {})?.data.value).toBe(
      'positive',
    );
  });

  it('accepts the routing data as a JSON string', () => {
    const parsed = parseCardSubmission({
      _caipe: JSON.stringify({ kind: 'form', key: 'k', cardId: 'c' }),
      'field:a': 'x',
    });
    expect(parsed).toEqual({ data: { kind: 'form', key: 'k', cardId: 'c' }, fields: { a: 'x' } });
  });

  const forged: [string, Record<string, unknown>][] = [
    ['no routing data (another bot’s card)', { action: 'feedback', value: 'positive' }],
    ['routing data not an object', { _caipe: 42 }],
    ['unparsable JSON string', { _caipe: '{kind:' }],
    ['unknown kind', { _caipe: { kind: 'admin', key: 'k', cardId: 'c' } }],
    ['missing key', { _caipe: { kind: 'form', cardId: 'c' } }],
    ['empty card id', { _caipe: { kind: 'form', key: 'k', cardId: '' } }],
    ['non-string key', { _caipe: { kind: 'form', key: { $ne: null }, cardId: 'c' } }],
    ['oversized key', { _caipe: { kind: 'form', key: 'k'.repeat(5000), cardId: 'c' } }],
    ['feedback without a vote', { _caipe: { kind: 'feedback', key: 'k', cardId: 'c', traceId: 't' } }],
    [
      'feedback with a made-up vote',
      { _caipe: { kind: 'feedback', key: 'k', cardId: 'c', traceId: 't', value: 'meh' } },
    ],
    ['feedback without a trace', { _caipe: { kind: 'feedback', key: 'k', cardId: 'c', value: 'positive' } }],
    [
      'non-string trace id',
      { _caipe: { kind: 'feedback', key: 'k', cardId: 'c', traceId: 1, value: 'positive' } },
    ],
  ];
  for (const [name, inputs] of forged) {
    it(`rejects ${name}`, () => {
      expect(parseCardSubmission(inputs)).toBeUndefined();
    });
  }

  it('keeps only field: inputs with plain values, and cannot be steered through __proto__', () => {
    const parsed = parseCardSubmission({
      _caipe: { kind: 'form', key: 'k', cardId: 'c' },
      'field:ok': 'yes',
      'field:count': 3,
      'field:list': ['a', 'b'],
      'field:obj': { nested: true },
      'field:mixed': ['a', 1],
      'field:__proto__': ['polluted'],
      'field:': 'no name',
      other: 'ignored',
    });
    expect(parsed?.fields.ok).toBe('yes');
    expect(parsed?.fields.count).toBe(3);
    expect(parsed?.fields.list).toEqual(['a', 'b']);
    expect(Object.keys(parsed?.fields ?? {}).sort()).toEqual(['__proto__', 'count', 'list', 'ok']);
    expect(Object.getPrototypeOf(parsed?.fields)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a feedback or cancel submission carries no fields even if inputs hold some', () => {
    const parsed = parseCardSubmission({
      _caipe: { kind: 'formCancel', key: 'k', cardId: 'c' },
      'field:a': 'x',
    });
    expect(parsed?.fields).toEqual({});
  });
});

describe('formAnswer', () => {
  it('types the values, writes field: value lines and an edit decision with user_inputs', () => {
    const form = formOf(Object.values(FIELDS));
    const answer = formAnswer(form, {
      reason: 'rollout\nstuck ',
      env: 'prod',
      regions: 'us-east-1,ap-south-1',
      confirm: 'true',
      replicas: '5',
      owner: 'ops@example.com',
      runbook: '',
      stray: 'not a field',
    });
    expect(answer.text).toBe(
      [
        'reason: rollout stuck',
        'env: prod',
        'regions: us-east-1, ap-south-1',
        'confirm: true',
        'replicas: 5',
        'owner: ops@example.com',
      ].join('\n'),
    );
    const decisions = answer.resume.decisions as {
      type: string;
      args: { args: { user_inputs: unknown; metadata: { input_fields: unknown[] } } };
    }[];
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ type: 'edit', action_name: 'CAIPEAgentResponse' });
    const args = decisions[0]?.args.args ?? { user_inputs: undefined, metadata: { input_fields: [] } };
    expect(args.user_inputs).toEqual({
      reason: 'rollout\nstuck',
      env: 'prod',
      regions: ['us-east-1', 'ap-south-1'],
      confirm: true,
      replicas: 5,
      owner: 'ops@example.com',
    });
    expect(args.metadata.input_fields).toHaveLength(7);
    expect(args.metadata.input_fields[0]).toMatchObject({ field_name: 'reason', value: 'rollout\nstuck' });
    expect(args.metadata.input_fields[5]).toMatchObject({ field_name: 'runbook' });
    expect(args.metadata.input_fields[5]).not.toHaveProperty('value');
  });

  it('echoes the agent’s own input_fields with the values added', () => {
    const raw = {
      input_title: 'Approve',
      input_fields: [
        { field_name: 'approve', field_type: 'boolean', field_description: 'Go ahead?', required: true },
        { field_name: 'note', field_type: 'text', required: false, custom: 'kept' },
      ],
    };
    const form: AgentForm = {
      title: 'Approve',
      fields: [
        { name: 'approve', label: 'approve', type: 'boolean', required: true },
        { name: 'note', label: 'note', type: 'text', required: false },
      ],
      source: 'UserInputMetaData',
      raw,
    };
    const answer = formAnswer(form, { approve: 'false' });
    expect(answer.text).toBe('approve: false');
    const decision = (
      answer.resume.decisions as { args: { args: { metadata: { input_fields: unknown } } } }[]
    )[0];
    expect(decision?.args.args.metadata.input_fields).toEqual([
      {
        field_name: 'approve',
        field_type: 'boolean',
        field_description: 'Go ahead?',
        required: true,
        value: false,
      },
      { field_name: 'note', field_type: 'text', required: false, custom: 'kept' },
    ]);
    // The agent's payload itself is not modified.
    expect(raw.input_fields[0]).not.toHaveProperty('value');
  });

  it('keeps an unparsable number as typed and drops empty multiselects', () => {
    const answer = formAnswer(formOf([FIELDS.number, FIELDS.multiselect]), {
      replicas: 'three',
      regions: ' , ',
    });
    expect(answer.text).toBe('replicas: three');
  });

  it('a form without fields resumes with approve', () => {
    const answer = formAnswer({ fields: [], source: 'input-required', raw: null }, {});
    expect(answer.resume).toEqual({ decisions: [{ type: 'approve', action_name: 'CAIPEAgentResponse' }] });
    expect(answer.text).toBe('approve');
  });
});
