/**
 * The agent's text is shown, never acted on: mention markup in every agent-sourced string the
 * render layer produces stays readable and notifies no one.
 *
 * The oracle is Webex's own mention syntax (reference/webex-protocol.md §7: `<@personEmail:addr|Name>`,
 * `<@personId:ID|Name>`, `<@all>`, and `<spark-mention>` tags in HTML), applied after the two
 * things a renderer might do first and we cannot rule out: decode HTML character references and
 * drop invisible characters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentForm } from '../../../src/adapters/agent/port.js';
import { renderAnswer } from '../../../src/render/answer.js';
import { buildFormCard } from '../../../src/render/cards.js';
import { agentFailureMessage, messages, quoteAgentText } from '../../../src/render/messages.js';
import { neutralizeMentions } from '../../../src/render/neutralize.js';
import { renderProgress } from '../../../src/render/progress.js';
import { checkCard } from '../../helpers/adaptive-cards.js';

const WEBEX_MENTION = /<@(?:(?:personId|personEmail|groupMention)\s*:[^>]*|all)>/i;
const SPARK_MENTION = /<\/?spark-mention\b/i;

function decodeReferences(text: string): string {
  return text.replace(/&(?:lt;?|#0*60;?|#x0*3c;?)/gi, '<').replace(/&(?:gt;?|#0*62;?|#x0*3e;?)/gi, '>');
}

/** Whether Webex could read a mention in `text`, however generously it pre-processes it. */
function notifies(text: string): boolean {
  const variants = [text, decodeReferences(text)].flatMap((t) => [t, t.replace(/[\p{Cf}\p{M}]/gu, '')]);
  return variants.some((t) => WEBEX_MENTION.test(t) || SPARK_MENTION.test(t));
}

const HOSTILE = [
  'Done. <@all> please review',
  'cc <@personEmail:ceo@example.com|The CEO> and <@personId:Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x|Ana>',
  '<@personEmail:ops@example.com>',
  '<@groupMention:Y2lzY29zcGFyazovL3VzL1RFQU0vMQ|On-call>',
  '<spark-mention data-object-type="groupMention" data-group-type="all">All</spark-mention>',
  'zero width: <\u200B@all> and <\u2060@\u200Ball>',
  'escaped: &lt;@all&gt; &#60;@all&#62; &#x3C;@all&#x3E;',
  'nested <@personEmail:x@example.com|<@all>>',
];

describe('neutralizeMentions', () => {
  it.each(HOSTILE)('leaves no mention Webex could parse in %j', (text) => {
    expect(notifies(text)).toBe(true);
    expect(notifies(neutralizeMentions(text))).toBe(false);
  });

  it('defuses an unterminated mention, so text appended later cannot complete it', () => {
    expect(notifies(`${neutralizeMentions('cut here <@all')}>`)).toBe(false);
    expect(notifies(`${neutralizeMentions('cut <@personEmail:a@b.co|Ana')}>`)).toBe(false);
  });

  it('keeps what a reader would see', () => {
    expect(neutralizeMentions('Done. <@all> please review')).toBe('Done. @all please review');
    expect(neutralizeMentions('ask <@personEmail:bo@example.com|Bo Lee> now')).toBe('ask @Bo Lee now');
    expect(neutralizeMentions('ask <@personEmail:bo@example.com>')).toBe('ask @bo@example.com');
    expect(neutralizeMentions('<@personId:Y2lz|Ana>, hi')).toBe('@Ana, hi');
    expect(
      neutralizeMentions('<spark-mention data-object-type="person" data-object-id="x">Ana</spark-mention>'),
    ).toBe('@Ana');
    // Not mention syntax: the words stay, only the opener is defused.
    expect(neutralizeMentions('List<@NonNull String> items')).toBe('List‹@NonNull String> items');
  });

  it('changes nothing else', () => {
    for (const text of ['plain text', 'a < b && c > d', 'mail <bo@example.com>', 'x@y <b>bold</b>', '']) {
      expect(neutralizeMentions(text)).toBe(text);
    }
  });

  it('never lets a mention through, for any mix of markup fragments, and is idempotent', () => {
    const fragment = fc.constantFrom(
      '<',
      '>',
      '@',
      'all',
      'personEmail:',
      'personId:',
      'groupMention:',
      'a@b.co',
      '|',
      'Name',
      '&lt;',
      '&gt;',
      '&#60;',
      '&#x3c;',
      '\u200B',
      '\u0301',
      'spark-mention',
      '/',
      ' ',
      '\n',
      '"',
      '=',
      'x',
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => {
        const out = neutralizeMentions(parts.join(''));
        expect(notifies(out)).toBe(false);
        expect(neutralizeMentions(out)).toBe(out);
      }),
      { numRuns: 2_000 },
    );
  });

  it('stays linear on hostile input', () => {
    const text = `${'<@'.repeat(50_000)}${'&lt;@personEmail:'.repeat(10_000)}`;
    const started = performance.now();
    const out = neutralizeMentions(text);
    // A correctness bound, not a timing assertion: the run must finish and defuse everything.
    expect(notifies(out)).toBe(false);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('every agent-sourced string the render layer produces', () => {
  it('answers (also split into several messages, and the agent question)', () => {
    const long = `${'word '.repeat(3000)}\n\n<@all> look\n\n| who | what |\n|---|---|\n| <@personEmail:a@b.co> | x |`;
    const parts = renderAnswer(long, { maxChars: 1000, footer: messages.footer('<@all>', true) });
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(notifies(part)).toBe(false);
    expect(parts.join('\n')).toContain('@all look');
  });

  it('plan steps, agent and tool names, and the streamed preview of the working message', () => {
    const text = renderProgress(
      {
        plan: [
          { id: '1', title: 'Ping <@all>', status: 'completed', agent: '<@personId:Y2lz|Ana>' },
          {
            id: '2',
            title: '<spark-mention data-object-type="person">Bo</spark-mention>',
            status: 'in_progress',
          },
        ],
        tools: [{ name: '<@all>', agent: '<@personEmail:a@b.co>', status: 'running' }],
        streamedText: 'tail <``` ```@all> and <@all>',
      },
      5_000,
      0,
      { maxChars: 2000, previewChars: 200 },
    );
    expect(notifies(text)).toBe(false);
    expect(text).toContain('Ping @all');
  });

  it('form titles, descriptions, labels, placeholders, choices and the fallback; the card says it is the agent’s', () => {
    const form: AgentForm = {
      title: 'Approve <@all>',
      description: 'Tell <@personEmail:boss@example.com|Boss> why',
      source: 'test',
      raw: null,
      fields: [
        {
          name: 'who',
          label: 'Page <@all>',
          type: 'select',
          required: true,
          options: [{ value: 'keep-<@all>', label: '<@personId:Y2lz|Ana>' }],
          placeholder: '<@all>',
        },
        { name: 'why', label: 'Why', type: 'text', required: false, description: '&lt;@all&gt;' },
      ],
    };
    const card = buildFormCard({ form, conversationKey: 'k', cardId: 'c', question: 'Sure, <@all>?' });
    const content = card.attachments[0].content;
    const json = JSON.stringify(content);
    expect(notifies(card.markdown)).toBe(false);
    // The option's value is what the agent gets back: it is data, not display text.
    expect(notifies(json.replaceAll('keep-<@all>', ''))).toBe(false);
    const checked = checkCard(content);
    expect(checked.events).toEqual([]);
    expect(checked.failures).toEqual([]);
    expect(checked.html).toContain(messages.formFromAgent);
    expect(checked.html).toContain('Approve @all');
  });

  it('agent error texts', () => {
    expect(notifies(quoteAgentText('failed: <@all> <@personEmail:a@b.co|A>'))).toBe(false);
    const failure = agentFailureMessage('CAIPE', { kind: 'task-failed', detail: 'boom <@all>' });
    expect(notifies(failure)).toBe(false);
    expect(failure).toContain('boom @all');
  });
});
