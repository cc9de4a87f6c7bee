import type { Person, SimWorld } from './model.js';

/**
 * Webex's handling of mention markup in `markdown`: `<@personId:ID|Name>`, `<@personEmail:addr|Name>`
 * and `<@all>` become `mentionedPeople` / `mentionedGroups`, the plain `text` shows the name, and
 * `html` carries `<spark-mention>` tags.
 */

const MENTION = /<@(?:(personId|personEmail):([^|>]+)(?:\|([^>]*))?|(all))>/g;

export interface RenderedMarkup {
  text: string;
  html: string;
  mentionedPeople: string[];
  mentionedGroups: string[];
}

export function renderMarkdown(
  world: SimWorld,
  markdown: string,
  resolvePersonId: (id: string) => Person | undefined,
): RenderedMarkup {
  const mentionedPeople: string[] = [];
  const mentionedGroups: string[] = [];
  let text = '';
  let html = '';
  let last = 0;
  for (const match of markdown.matchAll(MENTION)) {
    const before = markdown.slice(last, match.index);
    text += stripMarkdown(before);
    html += escapeHtml(before);
    last = match.index + match[0].length;
    if (match[4] === 'all') {
      if (!mentionedGroups.includes('all')) mentionedGroups.push('all');
      text += 'All';
      html += '<spark-mention data-object-type="groupMention" data-group-type="all">All</spark-mention>';
      continue;
    }
    const person =
      match[1] === 'personId' ? resolvePersonId(match[2] ?? '') : world.personByEmail(match[2] ?? '');
    const name = match[3] ?? person?.displayName ?? match[2] ?? '';
    text += name;
    if (person) {
      if (!mentionedPeople.includes(person.uuid)) mentionedPeople.push(person.uuid);
      html += `<spark-mention data-object-type="person" data-object-id="${world.personId(person)}">${escapeHtml(name)}</spark-mention>`;
    } else {
      html += escapeHtml(name);
    }
  }
  const rest = markdown.slice(last);
  text += stripMarkdown(rest);
  html += escapeHtml(rest);
  return { text: text.trim(), html: `<p>${html}</p>`, mentionedPeople, mentionedGroups };
}

/** A rough plain-text rendering: emphasis markers and link syntax go, the words stay. */
function stripMarkdown(value: string): string {
  return value
    .replace(/\[([^\]]*)\]\(([^)]*)\)/g, '$1 ($2)')
    .replace(/(\*\*|__|~~)/g, '')
    .replace(/(^|\s)[*_](\S[^*_]*\S|\S)[*_](?=\s|$)/g, '$1$2');
}

export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}
