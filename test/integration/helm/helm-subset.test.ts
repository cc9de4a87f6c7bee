/**
 * The chart renderer (test/helpers/helm-subset.ts) against small templates: Helm's semantics for
 * the constructs the chart uses, and a clear refusal of everything else.
 */
import { describe, expect, it } from 'vitest';
import {
  mergeValues,
  type RenderContext,
  TemplateError,
  TemplateFailError,
  TemplateSet,
  UnsupportedConstructError,
} from '../../helpers/helm-subset.js';

const context = (values: Record<string, unknown> = {}): RenderContext => ({
  Values: values,
  Release: { Name: 'rel', Namespace: 'ns', Service: 'Helm' },
  Chart: { Name: 'chart', Version: '1.2.3', AppVersion: '4.5.6' },
});

function run(source: string, values: Record<string, unknown> = {}, helpers = ''): string {
  return new TemplateSet({ '_helpers.tpl': helpers, 't.yaml': source }).render('t.yaml', context(values));
}

describe('helm-subset renderer', () => {
  it('trims whitespace on the marked side only and drops comments', () => {
    expect(run('a  {{- "b" }}  c')).toBe('ab  c');
    expect(run('a  {{ "b" -}}  \n c')).toBe('a  bc');
    expect(run('x\n{{- /* note */ -}}\ny')).toBe('xy');
    expect(run('x {{/* note */}} y')).toBe('x  y');
    // A trim marker needs a space after it: "{{-3}}" is the number -3, as in Go.
    expect(run('a {{-3}}')).toBe('a -3');
  });

  it('reads .Values, .Release and .Chart; a missing value is an error', () => {
    expect(run('{{ .Values.a.b }}/{{ .Release.Name }}/{{ .Release.Namespace }}', { a: { b: 'v' } })).toBe(
      'v/rel/ns',
    );
    expect(run('{{ .Chart.Name }}-{{ .Chart.Version }}-{{ .Chart.AppVersion }}-{{ .Release.Service }}')).toBe(
      'chart-1.2.3-4.5.6-Helm',
    );
    expect(() => run('{{ .Values.a.c }}', { a: { b: 1 } })).toThrow(
      /missing value \.Values\.a\.c \(t\.yaml:1\)/,
    );
    expect(() => run('{{ .Values.a.b.c }}', { a: { b: 'x' } })).toThrow(/can't evaluate field c in string/);
  });

  it('if / else if / else with Go truth', () => {
    const t = '{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}';
    expect(run(t, { a: 1, b: 1 })).toBe('A');
    expect(run(t, { a: 0, b: 'x' })).toBe('B');
    expect(run(t, { a: {}, b: [] })).toBe('C');
    expect(run(t, { a: '', b: false })).toBe('C');
    expect(run(t, { a: [0], b: false })).toBe('A');
  });

  it('range over maps in key order and over lists, with variables, . and $', () => {
    const values = { m: { b: 2, a: 1 }, l: ['x', 'y'], top: 'T' };
    expect(run('{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}', values)).toBe('a=1;b=2;');
    expect(run('{{ range $i, $v := .Values.l }}{{ $i }}{{ . }}{{ $.Values.top }},{{ end }}', values)).toBe(
      '0xT,1yT,',
    );
    expect(run('{{ range $v := .Values.l }}{{ $v }}{{ end }}', values)).toBe('xy');
    expect(() => run('{{ range .Values.top }}{{ end }}', values)).toThrow(/range over string/);
    expect(() => run('{{ range $k, $v := .Values.m }}{{ end }}{{ $k }}', values)).toThrow(
      /undefined variable/,
    );
  });

  it('define / include with nindent, and $ inside a define is the data passed', () => {
    const helpers = '{{- define "labels" -}}\na: {{ .Values.x }}\nb: {{ $.Release.Name }}\n{{- end }}';
    expect(run('labels:\n  {{- include "labels" . | nindent 2 }}', { x: 1 }, helpers)).toBe(
      'labels:\n  a: 1\n  b: rel',
    );
    expect(() => run('{{ include "nope" . }}')).toThrow(/undefined template "nope"/);
    expect(() => run('', {}, '{{ define "a" }}{{ end }}{{ define "a" }}{{ end }}')).toThrow(/defined twice/);
  });

  it('default, quote, printf, trunc, trimSuffix, sha256sum as Sprig does them', () => {
    expect(run('{{ .Values.t | default "dflt" }}|{{ default "dflt" .Values.u }}', { t: '', u: 'set' })).toBe(
      'dflt|set',
    );
    expect(run('{{ .Values.s | quote }}', { s: 'a "b" \\ c\n\u0001é' })).toBe('"a \\"b\\" \\\\ c\\n\\x01é"');
    expect(run('{{ .Values.n | quote }} {{ .Values.b | quote }}', { n: 8080, b: true })).toBe(
      '"8080" "true"',
    );
    expect(run('{{ printf "%s-%d-%%" .Values.s (int .Values.n) }}', { s: 'x', n: 7 })).toBe('x-7-%');
    expect(run('{{ "abcdef-" | trunc 7 | trimSuffix "-" }}|{{ "abc" | trunc 5 }}')).toBe('abcdef|abc');
    expect(run('{{ "abc" | sha256sum }}')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('toYaml as Helm emits it: sorted keys, flush lists, YAML 1.1 quoting', () => {
    // "n" and "yes" are booleans in YAML 1.1, so they are quoted, keys included (as go-yaml v2 does).
    const values = { o: { z: ['ALL'], a: 'yes', n: '8080', e: {} } };
    expect(run('{{ toYaml .Values.o }}', values)).toBe('a: "yes"\ne: {}\n"n": "8080"\nz:\n- ALL');
    expect(run('x:\n  {{- toYaml .Values.o.z | nindent 2 }}', values)).toBe('x:\n  - ALL');
  });

  it('comparisons keep Go kinds: values-file numbers are float64, literals and int are int', () => {
    expect(run('{{ if gt (int .Values.n) 1 }}big{{ end }}', { n: 2 })).toBe('big');
    expect(run('{{ if gt (int .Values.s) 1 }}big{{ else }}small{{ end }}', { s: '1' })).toBe('small');
    expect(() => run('{{ if gt .Values.n 1 }}{{ end }}', { n: 2 })).toThrow(
      /incompatible types.*float64, int/,
    );
    expect(() => run('{{ if eq .Values.s 1 }}{{ end }}', { s: '1' })).toThrow(/incompatible types/);
    expect(run('{{ if eq .Values.s "x" }}y{{ end }}', { s: 'x' })).toBe('y');
  });

  it('and / or / not return Go values and stop at the deciding argument', () => {
    expect(run('{{ and .Values.a (fail "evaluated") }}', { a: '' })).toBe('');
    expect(run('{{ or .Values.a (fail "evaluated") }}', { a: 'first' })).toBe('first');
    expect(run('{{ or .Values.a .Values.b }}', { a: '', b: 'second' })).toBe('second');
    expect(run('{{ not .Values.a }}', { a: [] })).toBe('true');
  });

  it('fail aborts with its message', () => {
    expect(() => run('{{ if .Values.bad }}{{ fail "no good" }}{{ end }}', { bad: true })).toThrow(
      TemplateFailError,
    );
    expect(() => run('{{ fail "no good" }}')).toThrow('no good');
  });

  it('refuses output Helm would garble: maps printed raw, floats in exponent form', () => {
    expect(() => run('{{ .Values.m }}', { m: { a: 1 } })).toThrow(/printing a map \(use toYaml\)/);
    expect(run('{{ .Values.n }}', { n: 999999 })).toBe('999999');
    expect(() => run('{{ .Values.n }}', { n: 1000000 })).toThrow(/exponent form/);
    expect(run('{{ int .Values.n }}', { n: 1000000 })).toBe('1000000');
  });

  it.each([
    ['with', '{{ with .Values.a }}{{ . }}{{ end }}'],
    ['template', '{{ template "x" . }}'],
    ['a function outside the subset', '{{ .Values.a | upper }}'],
    ['lookup', '{{ lookup "v1" "Secret" "ns" "n" }}'],
    ['a variable declaration', '{{ $x := 1 }}'],
    ['range … else', '{{ range .Values.l }}{{ else }}none{{ end }}'],
    ['a raw string', '{{ `raw` }}'],
    ['a field of a parenthesised value', '{{ (.Values).a }}'],
    ['arithmetic', '{{ 1 + 2 }}'],
    ['else with', '{{ if .Values.a }}{{ else with .Values.b }}{{ end }}'],
  ])('refuses %s', (_what, source) => {
    expect(() => run(source, { a: 'x', b: 'y', l: [] })).toThrow(UnsupportedConstructError);
    expect(() => run(source, { a: 'x', b: 'y', l: [] })).toThrow(/unsupported template construct/);
  });

  it('reports malformed templates', () => {
    expect(() => run('{{ if .Values.a }}x')).toThrow(/unclosed \{\{ if \}\}/);
    expect(() => run('{{ end }}')).toThrow(/unexpected \{\{ end \}\}/);
    expect(() => run('{{ "a" ')).toThrow(/unclosed action/);
    expect(() => run('{{ .Values.a }}', {})).toThrow(TemplateError);
  });

  it('merges values as Helm does: maps deep, lists and scalars replaced, null deletes', () => {
    const base = { a: { b: 1, c: [1, 2], d: 'x' }, e: 1 };
    expect(mergeValues(base, { a: { b: 2, c: [3], d: null } })).toEqual({ a: { b: 2, c: [3] }, e: 1 });
    expect(base.a.d).toBe('x');
  });
});
