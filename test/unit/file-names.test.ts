/**
 * File names in one style: kebab-case under src/, test/, bench/ and scripts/ (conventional names
 * such as README.md excepted). Read from the tree, so a new camelCase file fails here, named.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FOLDERS = ['src', 'test', 'bench', 'scripts'];
const CONVENTIONAL = new Set(['README.md', 'SPEC.md', 'Dockerfile']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? [full, ...files(full)] : [full];
  });
}

describe('file names', () => {
  it('are kebab-case: no capital letter in a file or folder name', () => {
    const offending = FOLDERS.flatMap((folder) => files(path.join(ROOT, folder)))
      .filter((file) => !CONVENTIONAL.has(path.basename(file)) && /[A-Z]/.test(path.basename(file)))
      .map((file) => path.relative(ROOT, file));
    expect(offending).toEqual([]);
  });
});
