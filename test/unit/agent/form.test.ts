import { describe, expect, it } from 'vitest';
import { isFormArtifactName, parseForm, parseFormField } from '../../../src/adapters/agent/a2a/form.js';

describe('HITL form parsing', () => {
  it('reads the supervisor UserInputMetaData payload with every field type', () => {
    const payload = {
      user_input: true,
      input_title: 'Create Jira ticket',
      input_description: 'I need a few details.',
      input_fields: [
        {
          field_name: 'summary',
          field_label: 'Summary',
          field_type: 'text',
          placeholder: 'One line',
          required: true,
        },
        {
          field_name: 'project',
          field_description: 'Jira project',
          field_values: ['OPS', 'DEV'],
          default_value: 'OPS',
        },
        {
          field_name: 'labels',
          field_type: 'multiselect',
          field_values: ['a', 'b', 'c'],
          default_value: 'a, c',
          required: false,
        },
        { field_name: 'urgent', field_type: 'boolean', default_value: 'true' },
        { field_name: 'points', field_type: 'number', default_value: '3' },
        { field_name: 'link', field_type: 'url' },
        { field_name: 'watcher', field_type: 'email', default_value: 'a@example.com' },
      ],
      response: 'Please fill in',
    };
    const form = parseForm({ name: 'UserInputMetaData', data: [payload], text: '' });
    expect(form.title).toBe('Create Jira ticket');
    expect(form.description).toBe('I need a few details.');
    expect(form.source).toBe('UserInputMetaData');
    expect(form.raw).toBe(payload);
    expect(form.fields).toEqual([
      { name: 'summary', label: 'Summary', type: 'text', required: true, placeholder: 'One line' },
      {
        name: 'project',
        label: 'project',
        type: 'select',
        required: true,
        description: 'Jira project',
        options: [
          { value: 'OPS', label: 'OPS' },
          { value: 'DEV', label: 'DEV' },
        ],
        defaultValue: 'OPS',
      },
      {
        name: 'labels',
        label: 'labels',
        type: 'multiselect',
        required: false,
        options: [
          { value: 'a', label: 'a' },
          { value: 'b', label: 'b' },
          { value: 'c', label: 'c' },
        ],
        defaultValue: ['a', 'c'],
      },
      { name: 'urgent', label: 'urgent', type: 'boolean', required: true, defaultValue: true },
      { name: 'points', label: 'points', type: 'number', required: true, defaultValue: 3 },
      { name: 'link', label: 'link', type: 'url', required: true },
      { name: 'watcher', label: 'watcher', type: 'email', required: true, defaultValue: 'a@example.com' },
    ]);
  });

  it('reads a caipe_form in camel case with option objects, title from metadata', () => {
    const form = parseForm({
      name: 'caipe_form',
      metadata: { title: 'Approve deploy' },
      data: [
        {
          fields: [
            {
              name: 'env',
              label: 'Environment',
              type: 'dropdown',
              options: [{ value: 'prod', label: 'Production' }],
            },
            { name: 'note', type: 'textarea', defaultValue: 'n/a' },
          ],
        },
      ],
      text: 'Deploy v2 to prod?',
    });
    expect(form).toMatchObject({
      title: 'Approve deploy',
      description: 'Deploy v2 to prod?',
      fields: [
        {
          name: 'env',
          label: 'Environment',
          type: 'select',
          options: [{ value: 'prod', label: 'Production' }],
        },
        { name: 'note', type: 'text', defaultValue: 'n/a' },
      ],
    });
  });

  it('turns an unreadable payload into a field-less form that still carries the question', () => {
    const form = parseForm({
      name: 'UserInputMetaData',
      data: [{ type: 'ai', content: 'Which cluster?' }],
      text: '',
    });
    expect(form).toMatchObject({ fields: [], description: 'Which cluster?' });
  });

  it('drops fields without a name and falls back to text for a select without options', () => {
    expect(parseFormField({ field_label: 'no name' })).toBeUndefined();
    expect(parseFormField('x')).toBeUndefined();
    expect(parseFormField({ field_name: 'x', field_type: 'select' })).toMatchObject({ type: 'text' });
    expect(
      parseFormField({ field_name: 'x', field_type: 'number', default_value: 'many' }),
    ).not.toHaveProperty('defaultValue');
  });

  it('matches only the two form artifact names', () => {
    expect(isFormArtifactName('UserInputMetaData')).toBe(true);
    expect(isFormArtifactName('userinputmetadata')).toBe(true);
    expect(isFormArtifactName('caipe_form')).toBe(true);
    expect(isFormArtifactName('information')).toBe(false);
    expect(isFormArtifactName('platform')).toBe(false);
    expect(isFormArtifactName('form')).toBe(false);
    expect(isFormArtifactName(undefined)).toBe(false);
  });
});
