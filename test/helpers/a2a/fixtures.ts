/**
 * The recorded CAIPE supervisor streams, read from ../shared/fixtures/caipe-a2a next to the repo
 * (never copied into it). Two shapes exist: the Slack bot's exports (`events[].raw`) and the UI's
 * captures (`events[].event`); both give the A2A `result` objects in stream order.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Next to the main checkout (`../shared`), or next to the folder of a worktree (`../../shared`). */
export const CAIPE_FIXTURES_DIR =
  [
    path.resolve(repoRoot, '../shared/fixtures/caipe-a2a'),
    path.resolve(repoRoot, '../../shared/fixtures/caipe-a2a'),
  ].find((dir) => existsSync(dir)) ?? path.resolve(repoRoot, '../shared/fixtures/caipe-a2a');

export const CAIPE_FIXTURE_NAMES = [
  'a2a_heavy_search',
  'a2a_jira_ticket_creation',
  'argocd-version',
  'caipe-capabilities',
  'github-profile',
] as const;

export type CaipeFixtureName = (typeof CAIPE_FIXTURE_NAMES)[number];

export const FIXTURES_SKIP_MESSAGE = 'skipped: recorded CAIPE streams not present';

export function caipeFixturesPresent(): boolean {
  return CAIPE_FIXTURE_NAMES.every((name) => existsSync(path.join(CAIPE_FIXTURES_DIR, `${name}.json`)));
}

/** The A2A results of one recorded stream, in order. */
export function loadCaipeStream(name: CaipeFixtureName): Record<string, unknown>[] {
  const file = JSON.parse(readFileSync(path.join(CAIPE_FIXTURES_DIR, `${name}.json`), 'utf8')) as {
    events: Array<{ raw?: Record<string, unknown>; event?: Record<string, unknown> }>;
  };
  return file.events.map((entry, index) => {
    const result = entry.raw ?? entry.event;
    if (!result) throw new Error(`${name}: event ${index} has neither raw nor event`);
    return result;
  });
}
