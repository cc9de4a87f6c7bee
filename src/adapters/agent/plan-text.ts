/**
 * Plans that arrive as prose ("## Execution Plan\n\n1. Route to GitHub agent\n2. ..."), as older
 * supervisor builds send them, turned into steps so the renderer has one shape to draw.
 */
import type { PlanStep, PlanStepStatus } from './port.js';

const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+(.*\S)\s*$/;
const CHECKBOX = /^\[( |x|X|-|~)\]\s+(.*)$/;

/** Leading markers seen in plan prose and the status each one means. */
const STATUS_MARKERS: ReadonlyArray<readonly [string, PlanStepStatus]> = [
  ['✅', 'completed'],
  ['✔', 'completed'],
  ['☑', 'completed'],
  ['❌', 'failed'],
  ['⏳', 'in_progress'],
  ['🔄', 'in_progress'],
  ['▶', 'in_progress'],
  ['⏸', 'pending'],
  ['⬜', 'pending'],
  ['☐', 'pending'],
];

function readStatus(body: string): { title: string; status: PlanStepStatus } {
  const box = CHECKBOX.exec(body);
  if (box) {
    const mark = box[1];
    const status: PlanStepStatus =
      mark === 'x' || mark === 'X' ? 'completed' : mark === ' ' ? 'pending' : 'in_progress';
    return { title: (box[2] ?? '').trim(), status };
  }
  for (const [marker, status] of STATUS_MARKERS) {
    if (body.startsWith(marker)) {
      return {
        title: body
          .slice(marker.length)
          .replace(/^\uFE0F/, '')
          .trim(),
        status,
      };
    }
  }
  return { title: body, status: 'pending' };
}

/** Steps from the list items of a prose plan; headings and other lines are ignored. */
export function parsePlanText(text: string): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const line of text.split(/\r?\n/)) {
    const item = LIST_ITEM.exec(line);
    if (!item?.[1]) continue;
    const { title, status } = readStatus(item[1]);
    if (!title) continue;
    steps.push({ id: `text-step-${steps.length + 1}`, title, status });
  }
  return steps;
}
