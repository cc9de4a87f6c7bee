/**
 * The layers hold (docs/architecture.md): machines import no adapter, render imports no adapter,
 * the simulator imports nothing from the bot it tests, adapters know nothing of the actors above
 * them nor of the configuration, and there are no import cycles. Read from the source, so a new
 * import that breaks a rule fails here with its file named.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports and re-exports of a file, resolved to `src/`-relative paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g)].map(
    (m) => m[1]!,
  );
  return specifiers.map((spec) =>
    path.relative(SRC, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))),
  );
}

const graph = new Map(sourceFiles(SRC).map((file) => [path.relative(SRC, file), importsOf(file)]));

function violations(from: (file: string) => boolean, allowed: (target: string) => boolean): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    if (!from(file)) continue;
    for (const target of targets) if (!allowed(target)) found.push(`${file} → ${target}`);
  }
  return found;
}

const under = (folder: string) => (file: string) => file.startsWith(`${folder}/`);
/** Modules of shared types (and the pure close policy) next to the machines that adapters may use. */
const MACHINE_TYPE_MODULES = new Set([
  'machines/types.ts',
  'machines/webex-types.ts',
  'machines/inbound-event.ts',
  'machines/close-policy.ts',
]);

describe('layers', () => {
  it('machines import only machines (and the error types and the pure retry policy)', () => {
    expect(
      violations(under('machines'), (t) => under('machines')(t) || t === 'errors.ts' || t === 'backoff.ts'),
    ).toEqual([]);
  });

  it('render imports only render, the shared machine types and the error types', () => {
    expect(
      violations(
        under('render'),
        (t) => under('render')(t) || t === 'machines/types.ts' || t === 'errors.ts',
      ),
    ).toEqual([]);
  });

  it('the simulator imports nothing from the bot but the clock port', () => {
    expect(violations(under('simulator'), (t) => under('simulator')(t) || t === 'clock.ts')).toEqual([]);
  });

  it('adapters know nothing of the actors, the runtime or the machines beyond their shared types', () => {
    expect(
      violations(
        under('adapters'),
        (t) =>
          !under('actors')(t) &&
          !['runtime.ts', 'main.ts', 'facts.ts'].includes(t) &&
          (!under('machines')(t) || MACHINE_TYPE_MODULES.has(t)),
      ),
    ).toEqual([]);
  });

  it('adapters take their own options, never the configuration (types included)', () => {
    expect(violations(under('adapters'), (t) => t !== 'config.ts')).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) if (graph.has(target)) visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
