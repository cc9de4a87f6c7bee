/**
 * The working message: what the agent is doing while the answer is on its way.
 *
 *   🔄 Working… (1m 05s)
 *
 *   **Plan** · 2 of 9 done
 *   - ✅ Look up the incident (jira)
 *   - … 3 more steps
 *   - 🔄 Draft the fix (github)
 *   - ⏳ Open the pull request
 *
 *   🔧 **Get_Issue** (jira)…
 *
 *   > …the last words the agent streamed
 *
 * Plan lines are a bullet list, not a numbered one: Markdown renumbers ordered lists, which would
 * make the numbers lie once steps in the middle are elided. Pure: time comes in as arguments.
 */

import {
  fits,
  type TextLimits,
  type TextSize,
  tailToFit,
  truncateWithEllipsis,
  utf8ByteLength,
  WEBEX_MESSAGE_BYTE_LIMIT,
} from './bytes.js';
import { messages } from './messages.js';
import { neutralizeMentions } from './neutralize.js';

export type PlanStepStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'skipped';

export interface PlanStep {
  id: string;
  title: string;
  /** Unknown statuses from newer agents render as pending. */
  status: PlanStepStatus | (string & {});
  agent?: string;
}

/** `completed` is accepted as a synonym of `done`, as the agent adapter reports it. */
export type ToolStatus = 'running' | 'done' | 'completed' | 'failed';

export interface ToolActivity {
  name: string;
  agent?: string;
  status: ToolStatus;
}

export interface ProgressState {
  plan: readonly PlanStep[];
  /** Tool calls in start order. */
  tools: readonly ToolActivity[];
  /** Text streamed so far; its tail is shown as a preview when `previewChars` > 0. */
  streamedText?: string;
}

export interface ProgressLimits extends TextLimits {
  /** Length of the streamed-text preview tail; 0 or absent shows none. */
  previewChars?: number;
  /** At most this many running tools are listed (default 3). */
  maxTools?: number;
}

export const STEP_EMOJI: Record<PlanStepStatus, string> = {
  pending: '⏳',
  in_progress: '🔄',
  completed: '✅',
  failed: '❌',
  skipped: '⏭️',
};

/** Longest plan step title shown; longer ones end in "…" (one step must not eat the message). */
const MAX_TITLE_CHARS = 160;

/** `42s`, `3m 07s`, `1h 02m`. Negative or NaN durations read as `0s`. */
export function formatElapsed(ms: number): string {
  const totalSeconds = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 60) return `${totalMinutes}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(totalMinutes / 60)}h ${String(totalMinutes % 60).padStart(2, '0')}m`;
}

/**
 * One line of plain text: newlines and runs of whitespace collapse to a space. Everything drawn
 * through here is the agent's (step titles, agent and tool names), so its mentions are made inert.
 */
function oneLine(text: string): string {
  return neutralizeMentions(text.replace(/\s+/g, ' ').trim());
}

function stepEmoji(status: string): string {
  return STEP_EMOJI[status as PlanStepStatus] ?? STEP_EMOJI.pending;
}

export function renderStepLine(step: PlanStep): string {
  const title = truncateWithEllipsis(oneLine(step.title) || 'Step', { maxChars: MAX_TITLE_CHARS });
  const agent = step.agent ? ` (${oneLine(step.agent)})` : '';
  return `- ${stepEmoji(step.status)} ${title}${agent}`;
}

function elisionLine(count: number): string {
  return `- … ${count} more ${count === 1 ? 'step' : 'steps'}`;
}

function toolLine(tool: ToolActivity): string {
  const name = oneLine(tool.name) || 'tool';
  const agent = tool.agent && oneLine(tool.agent) !== name ? ` (${oneLine(tool.agent)})` : '';
  switch (tool.status) {
    case 'running':
      return `🔧 **${name}**${agent}…`;
    case 'failed':
      return `❌ **${name}**${agent} failed`;
    default:
      return `✅ **${name}**${agent} done`;
  }
}

/** Running tools (the newest `maxTools`), or else the last one that finished. */
export function renderToolLines(tools: readonly ToolActivity[], maxTools = 3): string[] {
  const running = tools.filter((t) => t.status === 'running');
  if (running.length === 0) {
    const last = tools[tools.length - 1];
    return last ? [toolLine(last)] : [];
  }
  const shown = running.slice(-Math.max(1, maxTools));
  const lines = shown.map(toolLine);
  const hidden = running.length - shown.length;
  if (hidden > 0) lines.push(`🔧 …and ${hidden} more running`);
  return lines;
}

/** The step the agent is on: the first in progress, else the first not finished, else the last. */
function currentStepIndex(plan: readonly PlanStep[]): number {
  const active = plan.findIndex((s) => s.status === 'in_progress');
  if (active >= 0) return active;
  const open = plan.findIndex((s) => s.status === 'pending' || !(s.status in STEP_EMOJI));
  return open >= 0 ? open : plan.length - 1;
}

/**
 * Plan lines with some steps elided, fitting `budget` if at all possible. Steps far from the
 * current one go first, the first and last steps late, the current step never; each run of elided
 * steps becomes one "… N more steps" line.
 */
export function renderPlanLines(plan: readonly PlanStep[], budget: TextSize): string[] {
  const lines = plan.map(renderStepLine);
  const sizes = lines.map((l) => ({ chars: l.length + 1, bytes: utf8ByteLength(l) + 1 }));
  const current = currentStepIndex(plan);
  const last = plan.length - 1;
  const priority = (i: number): number => {
    if (i === current) return Number.POSITIVE_INFINITY;
    const distance = Math.abs(i - current);
    // Steps just after the current one matter a little more than those just before it.
    const bias = i > current ? 0.5 : 0;
    return (i === 0 || i === last ? 1_000_000 : 0) - distance + bias;
  };
  const order = plan
    .map((_, i) => i)
    .filter((i) => i !== current)
    .sort((a, b) => priority(a) - priority(b));

  // Elide one step at a time, keeping the total size up to date in O(1) per step: each run of
  // elided steps is tracked by its two ends (gapStart at its end, gapEnd at its start).
  const elided = new Array<boolean>(plan.length).fill(false);
  const gapStart = new Array<number>(plan.length).fill(-1);
  const gapEnd = new Array<number>(plan.length).fill(-1);
  const elisionSize = (count: number): TextSize => {
    const line = elisionLine(count);
    return { chars: line.length + 1, bytes: utf8ByteLength(line) + 1 };
  };
  const total = sizes.reduce((acc, s) => ({ chars: acc.chars + s.chars, bytes: acc.bytes + s.bytes }), {
    chars: 0,
    bytes: 0,
  });
  const add = (size: TextSize, sign: 1 | -1): void => {
    total.chars += sign * size.chars;
    total.bytes += sign * size.bytes;
  };
  const fitsBudget = (): boolean => total.chars <= budget.chars && total.bytes <= budget.bytes;

  for (const index of order) {
    if (fitsBudget()) break;
    let from = index;
    let to = index;
    add(sizes[index]!, -1);
    if (index > 0 && elided[index - 1]) {
      from = gapStart[index - 1]!;
      add(elisionSize(index - from), -1);
    }
    if (index < plan.length - 1 && elided[index + 1]) {
      to = gapEnd[index + 1]!;
      add(elisionSize(to - index), -1);
    }
    elided[index] = true;
    gapEnd[from] = to;
    gapStart[to] = from;
    add(elisionSize(to - from + 1), 1);
  }

  const out: string[] = [];
  let i = 0;
  while (i < plan.length) {
    if (!elided[i]) {
      out.push(lines[i]!);
      i++;
      continue;
    }
    let j = i;
    while (j < plan.length && elided[j]) j++;
    out.push(elisionLine(j - i));
    i = j;
  }
  return out;
}

function planHeading(plan: readonly PlanStep[]): string {
  const done = plan.filter((s) => s.status === 'completed' || s.status === 'skipped').length;
  return `**Plan** · ${done} of ${plan.length} done`;
}

/** The preview: the tail of the streamed text as one quoted line, so its Markdown cannot leak out. */
function previewLine(text: string, chars: number): string | undefined {
  // Fences removed first: dropping them could bring a `<` and an `@` together.
  const flat = oneLine(text.replace(/`{3,}|~{3,}/g, ''));
  if (flat.length === 0) return undefined;
  const tail = tailToFit(flat, { maxChars: chars, maxBytes: chars * 4 });
  return `> ${tail.length < flat.length ? '…' : ''}${tail.trimStart()}`;
}

/** True for a working message as `renderProgress` draws it (its header is always first). */
export function isWorkingMarkdown(markdown: string): boolean {
  const header = messages.workingHeader('');
  return markdown.startsWith(messages.working) || markdown.startsWith(header.slice(0, header.indexOf('(')));
}

/**
 * The working message for `state`, `nowMs - startedAtMs` after the request started. Always within
 * `limits` (chars as UTF-16 code units, and UTF-8 bytes), shedding in this order: plan steps away
 * from the current one, the preview, then everything but the header and the current step.
 */
export function renderProgress(
  state: ProgressState,
  nowMs: number,
  startedAtMs: number,
  limits: ProgressLimits,
): string {
  const maxBytes = limits.maxBytes ?? WEBEX_MESSAGE_BYTE_LIMIT;
  const elapsedMs = nowMs - startedAtMs;
  // The first second reads like the message first posted; afterwards the clock shows.
  const header = elapsedMs < 1000 ? messages.working : messages.workingHeader(formatElapsed(elapsedMs));
  const tools = renderToolLines(state.tools, limits.maxTools);
  const preview =
    limits.previewChars && limits.previewChars > 0 && state.streamedText
      ? previewLine(state.streamedText, limits.previewChars)
      : undefined;

  const compose = (withPreview: boolean): string => {
    const sections: string[] = [header];
    const tail: string[] = [];
    if (tools.length > 0) tail.push(tools.join('\n'));
    if (withPreview && preview) tail.push(preview);
    const fixed = [header, ...tail].join('\n\n');
    if (state.plan.length > 0) {
      const heading = planHeading(state.plan);
      // Room left for the step lines: the whole budget minus the other sections and separators.
      const overhead = `${fixed}\n\n${heading}\n`;
      const budget = { chars: limits.maxChars - overhead.length, bytes: maxBytes - utf8ByteLength(overhead) };
      sections.push(`${heading}\n${renderPlanLines(state.plan, budget).join('\n')}`);
    }
    return [...sections, ...tail].join('\n\n');
  };

  const full = compose(true);
  if (fits(full, limits)) return full;
  const withoutPreview = compose(false);
  if (fits(withoutPreview, limits)) return withoutPreview;
  // Tiny limits: keep what fits, cut at a character boundary.
  return truncateWithEllipsis(withoutPreview, { maxChars: limits.maxChars, maxBytes });
}
