/**
 * The Helm chart without Helm (it is not packaged for Debian, so CI has no binary): values.yaml
 * and Chart.yaml are read with a strict parser for the block-YAML subset they use (no YAML
 * library is installed), values.yaml is validated against values.schema.json, and the templates
 * are checked as text: balanced actions, known functions only, every `.Values` reference
 * resolvable, every values key used. Then the product rules: every configuration variable of
 * src/config.ts reaches the pod (ConfigMap, Secret, or set by the chart) with the bot's own
 * defaults, one replica with Recreate, probes on /healthz and /readyz, a locked-down security
 * context, a grace period longer than SHUTDOWN_GRACE_S. When a `helm` binary is present, the
 * chart is also linted and rendered with it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { settings } from '../../../src/config.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const chartDir = join(repoRoot, 'charts/caipe-webex-bot');

// ── A strict parser for the block-YAML subset of the chart's own files ─────────────────────────

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };
type YamlMap = { [key: string]: Yaml };

interface Line {
  no: number;
  indent: number;
  text: string;
}

/** Removes a comment: `#` at the start or after a space, outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || line[i - 1] === ' ')) return line.slice(0, i);
  }
  return line;
}

function scalar(raw: string, no: number): Yaml {
  const text = raw.trim();
  if (text.startsWith('"')) return JSON.parse(text) as string;
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new Error(`line ${no}: unterminated string`);
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (text === '{}') return {};
  if (text === '[]') return [];
  if (/^[[{|>&*!%@`]/.test(text)) throw new Error(`line ${no}: unsupported YAML construct "${text}"`);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null' || text === '~' || text === '') return null;
  if (/^-?\d+$/.test(text)) return Number(text);
  if (/^-?\d+\.\d+$/.test(text)) return Number(text);
  if (/:\s|\s#/.test(text)) throw new Error(`line ${no}: ambiguous plain scalar "${text}"`);
  return text;
}

function parseYaml(source: string): Yaml {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, index) => {
    if (raw.includes('\t')) throw new Error(`line ${index + 1}: tab character`);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '' || text === '---') return;
    lines.push({ no: index + 1, indent: text.length - text.trimStart().length, text: text.trim() });
  });
  let at = 0;

  const KEY = /^("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_./-][^:]*?):(?:\s+(.*))?$/;

  function block(indent: number): Yaml {
    const first = lines[at];
    if (!first) return null;
    if (first.indent !== indent) throw new Error(`line ${first.no}: expected indentation ${indent}`);
    return first.text === '-' || first.text.startsWith('- ') ? sequence(indent) : mapping(indent);
  }

  function nested(parentIndent: number, allowSameIndentSequence: boolean): Yaml {
    const next = lines[at];
    if (next && next.indent > parentIndent) return block(next.indent);
    if (next && allowSameIndentSequence && next.indent === parentIndent && next.text.startsWith('- ')) {
      return sequence(parentIndent);
    }
    return null;
  }

  function mapping(indent: number): YamlMap {
    const out: YamlMap = {};
    for (;;) {
      const line = lines[at];
      if (!line || line.indent < indent) return out;
      if (line.indent > indent) throw new Error(`line ${line.no}: unexpected indentation`);
      if (line.text.startsWith('- ')) return out;
      const match = KEY.exec(line.text);
      if (!match) throw new Error(`line ${line.no}: expected "key: value", got "${line.text}"`);
      const key = scalar(match[1] ?? '', line.no);
      if (typeof key !== 'string') throw new Error(`line ${line.no}: non-string key`);
      if (key in out) throw new Error(`line ${line.no}: duplicate key "${key}"`);
      at++;
      out[key] = match[2] === undefined || match[2] === '' ? nested(indent, true) : scalar(match[2], line.no);
    }
  }

  function sequence(indent: number): Yaml[] {
    const out: Yaml[] = [];
    for (;;) {
      const line = lines[at];
      if (!line || line.indent < indent || !(line.text === '-' || line.text.startsWith('- '))) return out;
      if (line.indent > indent) throw new Error(`line ${line.no}: unexpected indentation`);
      const rest = line.text.slice(1).trim();
      if (rest === '') {
        at++;
        out.push(nested(indent, false));
      } else if (KEY.test(rest) && !rest.startsWith('"')) {
        // "- key: value" opens a mapping whose keys sit two columns in.
        lines[at] = { no: line.no, indent: indent + 2, text: rest };
        out.push(mapping(indent + 2));
      } else {
        at++;
        out.push(scalar(rest, line.no));
      }
    }
  }

  const value = block(lines[0]?.indent ?? 0);
  const left = lines[at];
  if (left) throw new Error(`line ${left.no}: unexpected "${left.text}"`);
  return value;
}

// ── A validator for the JSON-schema keywords values.schema.json uses ───────────────────────────

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  pattern?: string;
}

const SUPPORTED_KEYWORDS = new Set([
  '$schema',
  'title',
  'description',
  'type',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'minItems',
  'pattern',
]);

function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  for (const keyword of Object.keys(schema)) {
    if (!SUPPORTED_KEYWORDS.has(keyword))
      errors.push(`${path}: schema keyword "${keyword}" not checked here`);
  }
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (schema.type) {
    const ok =
      schema.type === type ||
      (schema.type === 'integer' && typeof value === 'number' && Number.isInteger(value));
    if (!ok) return [...errors, `${path}: expected ${schema.type}, got ${type}`];
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${String(value)} not in enum`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      errors.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      errors.push(`${path}: above ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${path}: too short`);
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: does not match`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errors.push(`${path}: too few items`);
    if (schema.items) {
      for (const [i, item] of value.entries()) errors.push(...validate(schema.items, item, `${path}[${i}]`));
    }
  }
  if (type === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) errors.push(`${path}.${key}: required`);
    for (const [key, item] of Object.entries(object)) {
      const sub = schema.properties?.[key];
      if (sub) errors.push(...validate(sub, item, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}.${key}: not allowed`);
    }
  }
  return errors;
}

// ── The chart ──────────────────────────────────────────────────────────────────────────────────

const read = (path: string) => readFileSync(join(chartDir, path), 'utf8');
const chart = parseYaml(read('Chart.yaml')) as YamlMap;
const values = parseYaml(read('values.yaml')) as YamlMap;
const schema = JSON.parse(read('values.schema.json')) as Schema;
const templateFiles = readdirSync(join(chartDir, 'templates')).sort();
const templates = Object.fromEntries(templateFiles.map((f) => [f, read(`templates/${f}`)]));
const allTemplates = Object.values(templates).join('\n');
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

function at(root: Yaml, path: string): Yaml | undefined {
  let current: Yaml | undefined = root;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as YamlMap)[key];
  }
  return current;
}

/** The text inside every `{{ … }}` of a template. */
function actions(text: string): string[] {
  return [...text.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)].map((m) => m[1] ?? '');
}

const TEMPLATE_FUNCTIONS = new Set([
  // control and the subset every template sticks to
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'include',
  'default',
  'quote',
  'toYaml',
  'nindent',
  // comparisons and guards
  'and',
  'or',
  'not',
  'eq',
  'gt',
  'le',
  'int',
  'fail',
  // the conventional name helpers and the config checksum
  'trunc',
  'trimSuffix',
  'contains',
  'printf',
  'print',
  'replace',
  'sha256sum',
]);

const envValues = (values.env ?? {}) as YamlMap;
const secretValuesMap = (at(values, 'secrets.values') ?? {}) as YamlMap;
/** Set by the deployment from other values, not through the ConfigMap. */
const CHART_MANAGED: Record<string, string> = { HTTP_PORT: 'httpPort', DATA_DIR: 'persistence.mountPath' };

describe('chart files', () => {
  it('Chart.yaml is a v2 application chart whose appVersion is the package version', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'caipe-webex-bot', type: 'application' });
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).toBe(packageJson.version);
  });

  it('has the templates an operator expects, NOTES.txt, a README, and no PodDisruptionBudget', () => {
    for (const file of [
      '_helpers.tpl',
      'configmap.yaml',
      'deployment.yaml',
      'service.yaml',
      'servicemonitor.yaml',
      'secret.yaml',
      'externalsecret.yaml',
      'pvc.yaml',
      'serviceaccount.yaml',
      'NOTES.txt',
    ]) {
      expect(templateFiles).toContain(file);
    }
    expect(existsSync(join(chartDir, 'README.md'))).toBe(true);
    expect(allTemplates).not.toMatch(/PodDisruptionBudget/);
  });

  it('the parser used here refuses what it does not understand', () => {
    expect(() => parseYaml('a: 1\na: 2')).toThrow(/duplicate key/);
    expect(() => parseYaml('a:\n\tb: 1')).toThrow(/tab/);
    expect(() => parseYaml('a: [1, 2]')).toThrow(/unsupported/);
    expect(() => parseYaml('a: 1\n   b: 2')).toThrow();
    expect(parseYaml('a:\n  - x: 1\n    y: "2"\n  - z\nb: {}')).toEqual({
      a: [{ x: 1, y: '2' }, 'z'],
      b: {},
    });
  });
});

describe('values and schema', () => {
  it('values.yaml satisfies values.schema.json', () => {
    expect(validate(schema, values)).toEqual([]);
  });

  it('the schema refuses a second replica, a rolling update, an unknown setting and a secret in env', () => {
    const variants: Array<[string, YamlMap]> = [
      ['replicaCount', { ...values, replicaCount: 2 }],
      ['strategy', { ...values, strategy: { type: 'RollingUpdate' } }],
      ['env.WEBEX_BOT_TOKEN', { ...values, env: { ...envValues, WEBEX_BOT_TOKEN: 'x' } }],
      [
        'env.WEBEX_INTEGRATION_BOT_ACCESS_TOKEN',
        { ...values, env: { ...envValues, WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'x' } },
      ],
      ['env.WEBEX_LISTEN_MODE', { ...values, env: { ...envValues, WEBEX_LISTEN_MODE: 'everything' } }],
      ['env.SHUTDOWN_GRACE_S', { ...values, env: { ...envValues, SHUTDOWN_GRACE_S: 20 } }],
    ];
    for (const [path, variant] of variants) {
      expect(validate(schema, variant).join('\n'), path).toContain(`$.${path}`);
    }
  });

  it('commits no secret value', () => {
    expect(Object.values(secretValuesMap).every((v) => v === '')).toBe(true);
    expect(at(values, 'secrets.create')).toBe(false);
    expect(at(values, 'secrets.existingSecret')).toBe('');
  });
});

describe('every configuration variable reaches the pod', () => {
  const specs = Object.values(settings) as Array<{ env: string; default?: string; secret?: boolean }>;

  it.each(specs.map((s) => [s.env, s] as const))('%s', (name, spec) => {
    if (spec.secret) {
      expect(secretValuesMap, 'a secret belongs in the Secret').toHaveProperty([name]);
      expect(envValues).not.toHaveProperty([name]);
      expect(read('values.yaml')).toMatch(new RegExp(`^#\\s+${name}\\s`, 'm'));
    } else if (CHART_MANAGED[name]) {
      expect(envValues).not.toHaveProperty([name]);
      expect(templates['deployment.yaml']).toMatch(
        new RegExp(`- name: ${name}\\n\\s+value: \\{\\{ \\.Values\\.${CHART_MANAGED[name]} \\| quote \\}\\}`),
      );
    } else {
      // Same default as the bot, so an empty values file behaves like the bot with no env.
      expect(envValues).toHaveProperty([name], spec.default ?? '');
    }
  });

  it('values.env holds only variables the bot reads', () => {
    const known = new Set(specs.map((s) => s.env));
    expect(Object.keys(envValues).filter((k) => !known.has(k))).toEqual([]);
    expect(Object.values(envValues).every((v) => typeof v === 'string')).toBe(true);
  });

  it('the ConfigMap ranges over values.env and both sources are loaded, the Secret last', () => {
    expect(templates['configmap.yaml']).toMatch(/range \$name, \$value := \.Values\.env/);
    expect(templates['configmap.yaml']).toContain('{{ $name }}: {{ $value | quote }}');
    const deployment = templates['deployment.yaml'] ?? '';
    const configRef = deployment.indexOf('configMapRef');
    const secretRef = deployment.indexOf('secretRef');
    expect(configRef).toBeGreaterThan(0);
    expect(secretRef).toBeGreaterThan(configRef);
    expect(templates['secret.yaml']).toMatch(/range \$name, \$value := \.Values\.secrets\.values/);
  });

  it('the chart-managed values agree with the bot and the image', () => {
    expect(values.httpPort).toBe(Number(settings.httpPort.default));
    expect(at(values, 'service.port')).toBe(values.httpPort);
    expect(dockerfile).toMatch(new RegExp(`DATA_DIR=${at(values, 'persistence.mountPath')}\\b`));
    const uid = /^USER (\d+)/m.exec(dockerfile)?.[1];
    expect(at(values, 'podSecurityContext.runAsUser')).toBe(Number(uid));
  });
});

describe('deployment rules', () => {
  const deployment = templates['deployment.yaml'] ?? '';

  it('one replica with Recreate, refusing more at render time', () => {
    expect(values.replicaCount).toBe(1);
    expect(at(values, 'strategy.type')).toBe('Recreate');
    expect(deployment).toContain('replicas: {{ .Values.replicaCount }}');
    expect(deployment).toMatch(/toYaml \.Values\.strategy/);
    expect(deployment).toMatch(/if gt \(int \.Values\.replicaCount\) 1 \}\}\s*\{\{- fail /);
  });

  it('a grace period longer than SHUTDOWN_GRACE_S, enforced at render time', () => {
    expect(Number(values.terminationGracePeriodSeconds)).toBeGreaterThan(
      Number(envValues.SHUTDOWN_GRACE_S) + 10,
    );
    expect(deployment).toContain(
      'terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}',
    );
    expect(deployment).toMatch(
      /if le \(int \.Values\.terminationGracePeriodSeconds\) \(int \.Values\.env\.SHUTDOWN_GRACE_S\) \}\}\s*\{\{- fail /,
    );
  });

  it('probes: liveness on /healthz, readiness on /readyz, on the named http port', () => {
    expect(at(values, 'livenessProbe.httpGet')).toEqual({ path: '/healthz', port: 'http' });
    expect(at(values, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'http' });
    expect(deployment).toMatch(/toYaml \.Values\.livenessProbe/);
    expect(deployment).toMatch(/toYaml \.Values\.readinessProbe/);
    expect(deployment).toMatch(/- name: http\n\s+containerPort: \{\{ \.Values\.httpPort \}\}/);
    expect(templates['service.yaml']).toMatch(/targetPort: http/);
  });

  it('a locked-down security context and a writable DATA_DIR on a read-only root', () => {
    expect(at(values, 'podSecurityContext')).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(at(values, 'securityContext')).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(deployment).toMatch(/toYaml \.Values\.podSecurityContext/);
    expect(deployment).toMatch(/toYaml \.Values\.securityContext/);
    expect(deployment).toMatch(/mountPath: \{\{ \.Values\.persistence\.mountPath \}\}/);
    expect(deployment).toMatch(/persistentVolumeClaim:[\s\S]*\{\{- else \}\}\s*emptyDir: \{\}/);
  });

  it('metrics: a ServiceMonitor on /metrics only when enabled', () => {
    expect(at(values, 'serviceMonitor.enabled')).toBe(false);
    const monitor = templates['servicemonitor.yaml'] ?? '';
    expect(monitor.trimStart().startsWith('{{- if .Values.serviceMonitor.enabled }}')).toBe(true);
    expect(monitor).toMatch(/path: \/metrics/);
  });
});

describe('templates as text', () => {
  it.each(Object.entries(templates))('%s has balanced actions and blocks', (_file, text) => {
    expect((text.match(/\{\{/g) ?? []).length).toBe((text.match(/\}\}/g) ?? []).length);
    let depth = 0;
    for (const action of actions(text)) {
      if (/^(if|range|with|define)\b/.test(action)) depth++;
      if (/^end\b/.test(action)) depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
  });

  it('uses only known template functions', () => {
    const used = new Set<string>();
    for (const action of actions(allTemplates)) {
      if (action.startsWith('/*')) continue;
      const code = action.replace(/"(?:[^"\\]|\\.)*"/g, '""');
      for (const match of code.matchAll(/(?<![.$\w])([a-z][A-Za-z0-9]*)\b/g)) used.add(match[1] ?? '');
    }
    expect([...used].filter((name) => !TEMPLATE_FUNCTIONS.has(name)).sort()).toEqual([]);
  });

  it('every .Values reference exists in values.yaml, and every values key is used', () => {
    const references = [...allTemplates.matchAll(/\.Values((?:\.[A-Za-z_]\w*)+)/g)].map((m) =>
      (m[1] ?? '').slice(1),
    );
    expect(references.length).toBeGreaterThan(30);
    expect(references.filter((path) => at(values, path) === undefined)).toEqual([]);
    const topLevel = new Set(references.map((path) => path.split('.')[0]));
    expect(Object.keys(values).filter((key) => !topLevel.has(key))).toEqual([]);
  });

  it('includes only helpers that _helpers.tpl defines', () => {
    const defined = new Set(
      [...(templates['_helpers.tpl'] ?? '').matchAll(/define "([^"]+)"/g)].map((m) => m[1]),
    );
    const included = [...allTemplates.matchAll(/include "([^"]+)"/g)].map((m) => m[1]);
    expect(included.filter((name) => !defined.has(name))).toEqual([]);
  });
});

// ── With the real binary, when there is one ───────────────────────────────────────────────────

const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
const hasHelm = helm.status === 0;

describe(hasHelm ? `with helm ${helm.stdout.trim()}` : 'with helm (skipped: no helm binary on PATH)', () => {
  const template = (...args: string[]) =>
    spawnSync('helm', ['template', 'bot', chartDir, ...args], { encoding: 'utf8' });

  it.skipIf(!hasHelm)('lints and renders the default and the fully enabled values', () => {
    execFileSync('helm', ['lint', chartDir, '--strict'], { encoding: 'utf8' });
    const plain = template();
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/kind: Deployment/);
    expect(plain.stdout).toMatch(/type: Recreate/);
    const full = template(
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'secrets.create=true',
      '--set',
      'secrets.values.WEBEX_INTEGRATION_BOT_ACCESS_TOKEN=t',
      '--set',
      'persistence.enabled=false',
    );
    expect(full.status, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/kind: ServiceMonitor/);
    expect(full.stdout).toMatch(/kind: Secret/);
    expect(full.stdout).toMatch(/emptyDir: \{\}/);
  });

  it.skipIf(!hasHelm)('refuses two replicas and a grace period shorter than SHUTDOWN_GRACE_S', () => {
    expect(template('--set', 'replicaCount=2').status).not.toBe(0);
    expect(template('--set', 'terminationGracePeriodSeconds=10').stderr).toMatch(/SHUTDOWN_GRACE_S/);
  });
});
