/**
 * A small Markdown renderer for the demo page, safe by construction: every piece of the source is
 * HTML-escaped before any tag of ours is added, links are kept only for http(s) and mailto, and
 * nothing is ever passed through as raw HTML. It covers what the bot and agents send: headings,
 * paragraphs, emphasis, inline code, fenced code, lists, quotes, tables, links, rules and Webex
 * mentions (`<@personId:…|Name>`, `<@personEmail:…|Name>`, `<@all>`).
 */

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function safeUrl(href) {
  try {
    const url = new URL(href);
    return ['http:', 'https:', 'mailto:'].includes(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Inline Markdown of one line or paragraph; the result is HTML. */
export function renderInline(source) {
  const slots = [];
  // Placeholders are made of NUL characters, which were removed from the source beforehand.
  const hold = (html) => `\u0000${slots.push(html) - 1}\u0000`;
  let text = String(source).replace(/\u0000/g, '');
  text = text.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${escapeHtml(code)}</code>`));
  text = text.replace(/<@(?:personId|personEmail):[^|>]+\|([^>]+)>/g, (_, name) =>
    hold(`<span class="mention">${escapeHtml(name)}</span>`),
  );
  text = text.replace(/<@all>/g, () => hold('<span class="mention">All</span>'));
  text = text.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (whole, label, href) => {
    const url = safeUrl(href);
    if (!url) return whole;
    return hold(
      `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(label)}</a>`,
    );
  });
  text = text.replace(/\bhttps?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/g, (href) => {
    const url = safeUrl(href);
    return url
      ? hold(`<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(href)}</a>`)
      : href;
  });
  text = escapeHtml(text);
  text = text
    .replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>')
    .replace(/__([^_\n]+)__/g, '<strong>$1</strong>')
    .replace(/(^|[^*\w])\*([^*\s][^*\n]*?)\*(?!\w)/g, '$1<em>$2</em>')
    .replace(/(^|[^_\w])_([^_\s][^_\n]*?)_(?!\w)/g, '$1<em>$2</em>')
    .replace(/~~([^~\n]+)~~/g, '<del>$1</del>');
  return text.replace(/\u0000(\d+)\u0000/g, (_, index) => slots[Number(index)]);
}

const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^\s{0,3}>\s?/;
const LIST_ITEM = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

function tableCells(line) {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function startsBlock(line, next) {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    LIST_ITEM.test(line) ||
    (line.includes('|') && next !== undefined && TABLE_DIVIDER.test(next))
  );
}

/** Block Markdown; the result is HTML. */
export function renderMarkdown(source) {
  const lines = String(source ?? '')
    .replace(/\u0000/g, '')
    .replace(/\r\n?/g, '\n')
    .split('\n');
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const code = [];
      i++;
      while (
        i < lines.length &&
        !(lines[i].trim().startsWith(marker) && lines[i].trim().replace(/[`~]/g, '') === '')
      ) {
        code.push(lines[i]);
        i++;
      }
      i++;
      const lang = fence[2] ? ` data-lang="${escapeHtml(fence[2])}"` : '';
      out.push(`<pre${lang}><code>${escapeHtml(code.join('\n'))}</code></pre>`);
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1].length;
      out.push(`<h${level}>${renderInline(heading[2])}</h${level}>`);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push('<hr>');
      i++;
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1])) {
      const head = tableCells(line);
      i += 2;
      const rows = [];
      while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
        rows.push(tableCells(lines[i]));
        i++;
      }
      const th = head.map((cell) => `<th>${renderInline(cell)}</th>`).join('');
      const body = rows
        .map((row) => `<tr>${head.map((_, c) => `<td>${renderInline(row[c] ?? '')}</td>`).join('')}</tr>`)
        .join('');
      out.push(`<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`);
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        quoted.push(lines[i].replace(QUOTE, ''));
        i++;
      }
      out.push(`<blockquote>${renderMarkdown(quoted.join('\n'))}</blockquote>`);
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      const ordered = /\d/.test(item[1]);
      const start = ordered ? Number.parseInt(item[1], 10) : 1;
      const items = [];
      while (i < lines.length) {
        const current = LIST_ITEM.exec(lines[i]);
        if (current && /\d/.test(current[1]) === ordered) {
          items.push([current[2]]);
          i++;
        } else if (items.length > 0 && /^\s{2,}\S/.test(lines[i]) && !LIST_ITEM.test(lines[i])) {
          items[items.length - 1].push(lines[i].trim());
          i++;
        } else {
          break;
        }
      }
      const tag = ordered ? 'ol' : 'ul';
      const startAttr = ordered && start !== 1 ? ` start="${start}"` : '';
      out.push(
        `<${tag}${startAttr}>${items.map((parts) => `<li>${parts.map(renderInline).join('<br>')}</li>`).join('')}</${tag}>`,
      );
      continue;
    }
    const paragraph = [];
    while (
      i < lines.length &&
      lines[i].trim() !== '' &&
      (paragraph.length === 0 || !startsBlock(lines[i], lines[i + 1]))
    ) {
      paragraph.push(lines[i]);
      i++;
    }
    out.push(`<p>${paragraph.map(renderInline).join('<br>')}</p>`);
  }
  return out.join('\n');
}
