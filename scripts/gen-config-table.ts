/** Rewrites the configuration table in README.md from the schema in src/config.ts. */
import { readFile, writeFile } from 'node:fs/promises';
import { configTableMarkdown } from '../src/config.js';

const path = new URL('../README.md', import.meta.url);
const readme = await readFile(path, 'utf8');
const next = readme.replace(
  /<!-- config-table:start -->[\s\S]*?<!-- config-table:end -->/,
  `<!-- config-table:start -->\n${configTableMarkdown()}\n<!-- config-table:end -->`,
);
await writeFile(path, next);
process.stdout.write(next === readme ? 'README.md already up to date\n' : 'README.md table rewritten\n');
