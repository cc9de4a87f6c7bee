/**
 * A Go-template renderer for exactly the subset of Helm the caipe-webex-bot chart uses, so the
 * chart can be rendered and validated where no `helm` binary exists. Anything outside the
 * subset throws `unsupported template construct …`: the chart cannot drift into constructs this
 * renderer would silently get wrong.
 *
 * Supported, with Helm's semantics:
 * - text with `{{ … }}` actions, `{{-` / `-}}` whitespace trimming, `{{/* comments *\/}}`;
 * - `if` / `else if` / `else` / `end`; `range` over maps (sorted keys, as Go does) and lists, with
 *   `$k, $v :=` or `$v :=` and `.` bound to the element; `define` + `include`; `$` (the data a
 *   template was called with) and `$name` variables declared by `range`;
 * - fields `.Values.a.b`, `.Release.Name/Namespace/Service`, `.Chart.Name/Version/AppVersion`;
 * - literals: "strings", integers, `true` / `false`; parenthesised pipelines; `|` pipelines;
 * - functions: include, default, quote, toYaml, nindent, fail, trunc, trimSuffix, printf (%s %d
 *   %v), eq, gt, and, or, not, int, sha256sum.
 *
 * Fidelity details that matter for a chart: numbers from values files are float64 in Helm and
 * template literals are int, and Go refuses to compare the two (`gt .Values.n 1` fails), so the
 * renderer tracks both kinds; a float printed directly that Go would print in exponent form
 * (1e+06) is refused; a missing `.Values` key is an error (what `helm lint --strict` reports)
 * instead of an empty string.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

// ── Errors ────────────────────────────────────────────────────────────────────────────────────

/** A template that is malformed or that fails to evaluate. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A construct outside the chart's subset. */
export class UnsupportedConstructError extends TemplateError {
  override name = 'UnsupportedConstructError';
  constructor(construct: string, where: string) {
    super(`unsupported template construct ${construct} (${where})`);
  }
}

/** The template called `fail`: Helm aborts the install with this message. */
export class TemplateFailError extends Error {
  override name = 'TemplateFailError';
}

// ── Values ────────────────────────────────────────────────────────────────────────────────────

/** A Go `int` (template literals, `int`): kept apart from values-file numbers, which are float64. */
class GoInt {
  constructor(readonly value: number) {}
}

type Value = unknown;
type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go template truth: false, 0, nil and empty strings, lists and maps are false. */
function truthy(v: Value): boolean {
  if (v === undefined || v === null) return false;
  if (v instanceof GoInt) return v.value !== 0;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's `%v` for the kinds a chart prints. */
function printValue(v: Value, where: string): string {
  if (v === undefined || v === null) return ''; // Helm replaces "<no value>" with nothing
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof GoInt) return String(v.value);
  if (typeof v === 'number') {
    // fmt prints float64 with %g and precision 6 for the exponent decision: 1000000 is "1e+06".
    const magnitude = Math.abs(v);
    if (v !== 0 && (magnitude >= 1e6 || magnitude < 1e-4)) {
      throw new UnsupportedConstructError(`printing ${v} (Go prints it in exponent form; use int)`, where);
    }
    return String(v);
  }
  throw new UnsupportedConstructError(`printing a ${Array.isArray(v) ? 'list' : 'map'} (use toYaml)`, where);
}

/** Go's strconv.Quote for the characters a chart may meet. */
function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Sprig's `int` (cast.ToInt): numbers truncate, numeric strings parse, anything else is 0. */
function toGoInt(v: Value): GoInt {
  if (v instanceof GoInt) return v;
  if (typeof v === 'number') return new GoInt(Math.trunc(v));
  if (typeof v === 'boolean') return new GoInt(v ? 1 : 0);
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return new GoInt(Number.parseInt(v, 10));
  return new GoInt(0);
}

/**
 * Helm's toYaml (sigs.k8s.io/yaml): sorted keys, lists not indented under their key, no final
 * newline, and YAML 1.1 quoting (Kubernetes reads `on`/`yes` unquoted as booleans).
 */
function toYaml(v: Value): string {
  if (v === undefined) return 'null';
  const options = { version: '1.1', sortMapEntries: true, indentSeq: false, lineWidth: 0 } as const;
  return stringifyYaml(v, options).replace(/\n$/, '');
}

/** Go's comparison kinds: comparing an int with a float64 or a string is an error. */
function kindOf(v: Value): string {
  if (v instanceof GoInt) return 'int';
  if (typeof v === 'number') return 'float64';
  if (v === undefined || v === null) return 'nil';
  if (Array.isArray(v)) return 'slice';
  return typeof v === 'object' ? 'map' : typeof v;
}

function comparable(a: Value, b: Value, fn: string, where: string): [number | string, number | string] {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb)
    throw new TemplateError(`${fn}: incompatible types for comparison (${ka}, ${kb}) in ${where}`);
  if (ka === 'slice' || ka === 'map' || ka === 'nil') {
    throw new UnsupportedConstructError(`${fn} on ${ka}`, where);
  }
  const plain = (v: Value) => (v instanceof GoInt ? v.value : (v as number | string));
  return [plain(a), plain(b)];
}

// ── Lexing and parsing ────────────────────────────────────────────────────────────────────────

type Token =
  | { t: 'string'; v: string }
  | { t: 'number'; v: number; int: boolean }
  | { t: 'bool'; v: boolean }
  | { t: 'field'; path: string[] }
  | { t: 'var'; name: string; path: string[] }
  | { t: 'ident'; v: string }
  | { t: '(' | ')' | '|' | ':=' | ',' };

type Expr =
  | { e: 'literal'; v: Value }
  | { e: 'field'; path: string[] }
  | { e: 'var'; name: string; path: string[] }
  | { e: 'pipe'; cmds: Command[] }
  | { e: 'ident'; name: string };
type Command = Expr[];

type Node =
  | { n: 'text'; text: string }
  | { n: 'action'; pipe: Expr; where: string }
  | { n: 'if'; branches: Array<{ cond: Expr; body: Node[] }>; otherwise: Node[]; where: string }
  | { n: 'range'; vars: string[]; pipe: Expr; body: Node[]; where: string };

interface RawAction {
  code: string;
  where: string;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'define']);
const UNSUPPORTED_KEYWORDS = new Set(['with', 'template', 'block', 'break', 'continue', 'nil']);

function lexAction(code: string, where: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < code.length && code[j] !== '"') j += code[j] === '\\' ? 2 : 1;
      if (j >= code.length) throw new TemplateError(`unterminated string in ${where}`);
      tokens.push({ t: 'string', v: JSON.parse(code.slice(i, j + 1)) as string });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      if (c === ')' && code[i + 1] === '.') throw new UnsupportedConstructError('field of "(…)"', where);
      tokens.push({ t: c });
      i++;
    } else if (code.startsWith(':=', i)) {
      tokens.push({ t: ':=' });
      i += 2;
    } else if (/[-\d]/.test(c) && /^-?\d/.test(code.slice(i))) {
      const m = /^-?\d+(\.\d+)?/.exec(code.slice(i))!;
      if (/^[\w.]/.test(code.slice(i + m[0].length))) {
        throw new UnsupportedConstructError(`number "${code.slice(i).split(/\s/)[0]}"`, where);
      }
      tokens.push({ t: 'number', v: Number(m[0]), int: m[1] === undefined });
      i += m[0].length;
    } else if (c === '.' || c === '$') {
      const m = /^(\$\w*)?((?:\.[A-Za-z_]\w*)*)(\.?)/.exec(code.slice(i))!;
      const path = (m[2] ?? '').split('.').filter(Boolean);
      if (m[1] === undefined && path.length === 0 && m[3] === '') {
        throw new TemplateError(`unexpected "${c}" in ${where}`);
      }
      if (m[1] !== undefined) tokens.push({ t: 'var', name: m[1], path });
      else tokens.push({ t: 'field', path });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^\w+/.exec(code.slice(i))![0];
      if (word === 'true' || word === 'false') tokens.push({ t: 'bool', v: word === 'true' });
      else if (UNSUPPORTED_KEYWORDS.has(word)) throw new UnsupportedConstructError(`"${word}"`, where);
      else tokens.push({ t: 'ident', v: word });
      i += word.length;
      if (code[i] === '.') throw new UnsupportedConstructError(`field of "${word}"`, where);
    } else {
      throw new UnsupportedConstructError(`"${code.slice(i, i + 12)}"`, where);
    }
  }
  return tokens;
}

/** pipeline := command ('|' command)*; command := operand+; operand := literal | field | var | ident | '(' pipeline ')'. */
function parsePipeline(tokens: Token[], where: string): Expr {
  let at = 0;
  function pipeline(): Expr {
    const cmds: Command[] = [];
    for (;;) {
      const cmd: Command = [];
      for (;;) {
        const tok = tokens[at];
        if (!tok || tok.t === '|' || tok.t === ')') break;
        at++;
        if (tok.t === '(') {
          cmd.push(pipeline());
          if (tokens[at]?.t !== ')') throw new TemplateError(`unclosed "(" in ${where}`);
          at++;
        } else if (tok.t === 'string' || tok.t === 'bool') cmd.push({ e: 'literal', v: tok.v });
        else if (tok.t === 'number') cmd.push({ e: 'literal', v: tok.int ? new GoInt(tok.v) : tok.v });
        else if (tok.t === 'field') cmd.push({ e: 'field', path: tok.path });
        else if (tok.t === 'var') cmd.push({ e: 'var', name: tok.name, path: tok.path });
        else if (tok.t === 'ident') cmd.push({ e: 'ident', name: tok.v });
        else throw new UnsupportedConstructError(`"${tok.t}"`, where);
      }
      if (cmd.length === 0) throw new TemplateError(`empty command in ${where}`);
      cmds.push(cmd);
      if (tokens[at]?.t !== '|') return { e: 'pipe', cmds };
      at++;
    }
  }
  const expr = pipeline();
  if (at !== tokens.length) throw new TemplateError(`unexpected ")" in ${where}`);
  return expr;
}

/** Splits a template into text and actions, applying the trim markers. */
function scan(source: string, file: string): Array<string | RawAction> {
  const out: Array<string | RawAction> = [];
  let i = 0;
  let trimNextText = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = source.slice(i, open === -1 ? source.length : open);
    if (trimNextText) text = text.replace(/^\s+/, '');
    trimNextText = false;
    if (open === -1) {
      out.push(text);
      break;
    }
    const line = source.slice(0, open).split('\n').length;
    const where = `${file}:${line}`;
    let start = open + 2;
    if (/^-[ \t\r\n]/.test(source.slice(start))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    out.push(text);
    // Find the closing braces outside string literals.
    let j = start;
    while (j < source.length && !source.startsWith('}}', j)) {
      if (source[j] === '"') {
        j++;
        while (j < source.length && source[j] !== '"') j += source[j] === '\\' ? 2 : 1;
      } else if (source[j] === '`') {
        throw new UnsupportedConstructError('raw string', where);
      }
      j++;
    }
    if (j >= source.length) throw new TemplateError(`unclosed action at ${where}`);
    let code = source.slice(start, j);
    if (/[ \t\r\n]-$/.test(code)) {
      code = code.slice(0, -1);
      trimNextText = true;
    }
    code = code.trim();
    if (code.startsWith('/*')) {
      if (!code.endsWith('*/')) throw new TemplateError(`malformed comment at ${where}`);
    } else {
      out.push({ code, where });
    }
    i = j + 2;
  }
  return out;
}

interface Parsed {
  body: Node[];
  defines: Map<string, Node[]>;
}

function parseTemplate(source: string, file: string): Parsed {
  const items = scan(source, file);
  const defines = new Map<string, Node[]>();
  let at = 0;

  /** Parses nodes until an `else`/`end` at this level; returns the nodes and the stopping action. */
  function block(depth: number): { nodes: Node[]; stop?: { word: string; rest: Token[]; where: string } } {
    const nodes: Node[] = [];
    while (at < items.length) {
      const item = items[at++]!;
      if (typeof item === 'string') {
        if (item) nodes.push({ n: 'text', text: item });
        continue;
      }
      const tokens = lexAction(item.code, item.where);
      const head = tokens[0];
      const word = head?.t === 'ident' && KEYWORDS.has(head.v) ? head.v : undefined;
      if (word === 'end' || word === 'else') {
        if (depth === 0) throw new TemplateError(`unexpected {{ ${word} }} at ${item.where}`);
        return { nodes, stop: { word, rest: tokens.slice(1), where: item.where } };
      }
      if (word === 'if') {
        const branches: Array<{ cond: Expr; body: Node[] }> = [];
        let cond = parsePipeline(tokens.slice(1), item.where);
        let otherwise: Node[] = [];
        for (;;) {
          const inner = block(depth + 1);
          branches.push({ cond, body: inner.nodes });
          if (!inner.stop) throw new TemplateError(`unclosed {{ if }} at ${item.where}`);
          if (inner.stop.word === 'end') break;
          const elseIf = inner.stop.rest[0];
          if (elseIf?.t === 'ident' && elseIf.v === 'if') {
            cond = parsePipeline(inner.stop.rest.slice(1), inner.stop.where);
            continue;
          }
          if (inner.stop.rest.length > 0)
            throw new UnsupportedConstructError('else with a pipeline', item.where);
          const last = block(depth + 1);
          if (last.stop?.word !== 'end')
            throw new TemplateError(`{{ else }} without {{ end }} at ${item.where}`);
          otherwise = last.nodes;
          break;
        }
        nodes.push({ n: 'if', branches, otherwise, where: item.where });
      } else if (word === 'range') {
        let rest = tokens.slice(1);
        const vars: string[] = [];
        const declare = rest.findIndex((t) => t.t === ':=');
        if (declare !== -1) {
          for (const t of rest.slice(0, declare)) {
            if (t.t === 'var' && t.path.length === 0 && t.name !== '$') vars.push(t.name);
            else if (t.t !== ',') throw new TemplateError(`bad range variables at ${item.where}`);
          }
          if (vars.length === 0 || vars.length > 2)
            throw new TemplateError(`bad range variables at ${item.where}`);
          rest = rest.slice(declare + 1);
        }
        const inner = block(depth + 1);
        if (inner.stop?.word !== 'end') throw new UnsupportedConstructError('range … else', item.where);
        nodes.push({
          n: 'range',
          vars,
          pipe: parsePipeline(rest, item.where),
          body: inner.nodes,
          where: item.where,
        });
      } else if (word === 'define') {
        const name = tokens[1];
        if (depth !== 0 || name?.t !== 'string' || tokens.length !== 2) {
          throw new TemplateError(`define needs one name, at top level, at ${item.where}`);
        }
        const inner = block(depth + 1);
        if (inner.stop?.word !== 'end') throw new TemplateError(`unclosed define at ${item.where}`);
        if (defines.has(name.v)) throw new TemplateError(`"${name.v}" defined twice (${item.where})`);
        defines.set(name.v, inner.nodes);
      } else {
        if (tokens.some((t) => t.t === ':='))
          throw new UnsupportedConstructError('variable declaration', item.where);
        nodes.push({ n: 'action', pipe: parsePipeline(tokens, item.where), where: item.where });
      }
    }
    return { nodes };
  }

  const { nodes } = block(0);
  return { body: nodes, defines };
}

// ── Evaluation ────────────────────────────────────────────────────────────────────────────────

interface Scope {
  dot: Value;
  vars: Map<string, Value>;
}

type Fn = (args: Value[], where: string) => Value;

function arity(name: string, args: Value[], n: number, where: string): void {
  if (args.length !== n)
    throw new TemplateError(`${name} wants ${n} arguments, got ${args.length} (${where})`);
}

function str(name: string, v: Value, where: string): string {
  if (typeof v !== 'string') throw new TemplateError(`${name} wants a string, got ${kindOf(v)} (${where})`);
  return v;
}

/** Go fmt for the verbs a chart's names need. */
function printf(args: Value[], where: string): string {
  const [format, ...rest] = args;
  let next = 0;
  return str('printf', format, where).replace(/%([%sdv])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    if (next >= rest.length) throw new TemplateError(`printf: missing argument (${where})`);
    const arg = rest[next++];
    if (verb === 'd' && !(arg instanceof GoInt) && !Number.isInteger(arg)) {
      throw new TemplateError(`printf %d of ${kindOf(arg)} (${where})`);
    }
    return printValue(arg, where);
  });
}

export interface ReleaseInfo {
  Name: string;
  Namespace: string;
  Service: string;
}

export interface ChartInfo {
  Name: string;
  Version: string;
  AppVersion: string;
}

export interface RenderContext {
  Values: Dict;
  Release: ReleaseInfo;
  Chart: ChartInfo;
}

/** A set of templates sharing their `define`s, as Helm loads a chart's templates/ folder. */
export class TemplateSet {
  private readonly files = new Map<string, Node[]>();
  private readonly defines = new Map<string, Node[]>();
  private includeDepth = 0;
  /** file:line of the action being evaluated, for error messages. */
  private location = '';

  constructor(sources: Record<string, string>) {
    for (const [file, source] of Object.entries(sources)) {
      const parsed = parseTemplate(source, file);
      this.files.set(file, parsed.body);
      for (const [name, body] of parsed.defines) {
        if (this.defines.has(name)) throw new TemplateError(`"${name}" defined twice (${file})`);
        this.defines.set(name, body);
      }
    }
  }

  /** Renders one file with `.` = `context`. Throws TemplateFailError when the template calls `fail`. */
  render(file: string, context: RenderContext): string {
    const body = this.files.get(file);
    if (!body) throw new TemplateError(`no template ${file}`);
    return this.exec(body, { dot: context, vars: new Map([['$', context]]) });
  }

  /** The names the renderer implements (and/or are evaluated lazily, outside this table). */
  static get functionNames(): string[] {
    return [...Object.keys(new TemplateSet({}).functions), 'and', 'or'].sort();
  }

  private readonly functions: Record<string, Fn> = {
    include: (args, where) => {
      arity('include', args, 2, where);
      const name = str('include', args[0], where);
      const body = this.defines.get(name);
      if (!body) throw new TemplateError(`include of undefined template "${name}" (${where})`);
      if (++this.includeDepth > 100) throw new TemplateError(`include recursion in "${name}" (${where})`);
      const caller = this.location;
      try {
        return this.exec(body, { dot: args[1], vars: new Map([['$', args[1]]]) });
      } finally {
        this.includeDepth--;
        this.location = caller;
      }
    },
    default: (args, where) => {
      if (args.length < 1 || args.length > 2)
        throw new TemplateError(`default wants 1 or 2 arguments (${where})`);
      return args.length === 2 && truthy(args[1]) ? args[1] : args[0];
    },
    quote: (args, where) =>
      args
        .filter((a) => a !== undefined && a !== null)
        .map((a) => goQuote(printValue(a, where)))
        .join(' '),
    toYaml: (args, where) => {
      arity('toYaml', args, 1, where);
      return toYaml(args[0] instanceof GoInt ? args[0].value : args[0]);
    },
    nindent: (args, where) => {
      arity('nindent', args, 2, where);
      const width = toGoInt(args[0]).value;
      const pad = ' '.repeat(width);
      return `\n${pad}${printValue(args[1], where).replaceAll('\n', `\n${pad}`)}`;
    },
    fail: (args, where) => {
      arity('fail', args, 1, where);
      throw new TemplateFailError(str('fail', args[0], where));
    },
    trunc: (args, where) => {
      arity('trunc', args, 2, where);
      const n = toGoInt(args[0]).value;
      const text = printValue(args[1], where);
      return n >= 0 ? text.slice(0, n) : text.slice(Math.max(0, text.length + n));
    },
    trimSuffix: (args, where) => {
      arity('trimSuffix', args, 2, where);
      const suffix = str('trimSuffix', args[0], where);
      const text = printValue(args[1], where);
      return suffix && text.endsWith(suffix) ? text.slice(0, -suffix.length) : text;
    },
    printf,
    eq: (args, where) => {
      arity('eq', args, 2, where);
      const [a, b] = comparable(args[0], args[1], 'eq', where);
      return a === b;
    },
    gt: (args, where) => {
      arity('gt', args, 2, where);
      const [a, b] = comparable(args[0], args[1], 'gt', where);
      return a > b;
    },
    not: (args, where) => {
      arity('not', args, 1, where);
      return !truthy(args[0]);
    },
    int: (args, where) => {
      arity('int', args, 1, where);
      return toGoInt(args[0]);
    },
    sha256sum: (args, where) => {
      arity('sha256sum', args, 1, where);
      return createHash('sha256')
        .update(str('sha256sum', args[0], where))
        .digest('hex');
    },
  };

  private exec(nodes: Node[], scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      if (node.n === 'text') {
        out += node.text;
        continue;
      }
      this.location = node.where;
      if (node.n === 'action') out += printValue(this.evalPipe(node.pipe, scope), node.where);
      else if (node.n === 'if') {
        const branch = node.branches.find((b) => truthy(this.evalPipe(b.cond, scope)));
        out += this.exec(branch ? branch.body : node.otherwise, scope);
      } else {
        const over = this.evalPipe(node.pipe, scope);
        const entries: Array<[Value, Value]> = Array.isArray(over)
          ? over.map((v, i) => [new GoInt(i), v])
          : isDict(over)
            ? Object.keys(over)
                .sort()
                .map((k) => [k, over[k]])
            : over === undefined || over === null
              ? []
              : (() => {
                  throw new UnsupportedConstructError(`range over ${kindOf(over)}`, node.where);
                })();
        for (const [key, value] of entries) {
          const vars = new Map(scope.vars);
          if (node.vars.length === 1) vars.set(node.vars[0]!, value);
          if (node.vars.length === 2) {
            vars.set(node.vars[0]!, key);
            vars.set(node.vars[1]!, value);
          }
          out += this.exec(node.body, { dot: value, vars });
        }
      }
    }
    return out;
  }

  private evalPipe(expr: Expr, scope: Scope): Value {
    if (expr.e !== 'pipe') return this.evalOperand(expr, scope);
    let piped: { v: Value } | undefined;
    for (const cmd of expr.cmds) piped = { v: this.evalCommand(cmd, scope, piped) };
    return piped?.v;
  }

  private evalCommand(cmd: Command, scope: Scope, piped: { v: Value } | undefined): Value {
    const [head, ...rest] = cmd;
    if (head?.e === 'ident') {
      const where = `${head.name} at ${this.location}`;
      // and/or stop at the deciding argument, as Go ≥ 1.18 does.
      if (head.name === 'and' || head.name === 'or') {
        const operands: Array<() => Value> = rest.map((e) => () => this.evalOperand(e, scope));
        if (piped) operands.push(() => piped.v);
        if (operands.length < 2)
          throw new TemplateError(`${head.name} wants at least 2 arguments (${where})`);
        let last: Value;
        for (const operand of operands) {
          last = operand();
          if (truthy(last) === (head.name === 'or')) return last;
        }
        return last;
      }
      const fn = this.functions[head.name];
      if (!fn) throw new UnsupportedConstructError(`function "${head.name}"`, where);
      const args = rest.map((e) => this.evalOperand(e, scope));
      if (piped) args.push(piped.v);
      return fn(args, where);
    }
    if (rest.length > 0 || piped)
      throw new TemplateError(`only a function takes arguments (${this.location})`);
    return this.evalOperand(head!, scope);
  }

  private evalOperand(expr: Expr, scope: Scope): Value {
    switch (expr.e) {
      case 'literal':
        return expr.v;
      case 'pipe':
        return this.evalPipe(expr, scope);
      case 'ident':
        return this.evalCommand([expr], scope, undefined);
      case 'field':
        return walk(scope.dot, expr.path, '.', this.location);
      case 'var': {
        if (!scope.vars.has(expr.name)) {
          throw new TemplateError(`undefined variable ${expr.name} (${this.location})`);
        }
        return walk(scope.vars.get(expr.name), expr.path, expr.name, this.location);
      }
    }
  }
}

/** Field access: maps by key; a missing key is an error rather than Helm's silent empty value. */
function walk(start: Value, path: string[], origin: string, where: string): Value {
  let current = start;
  let at = origin === '.' ? '' : origin;
  for (const key of path) {
    at += `.${key}`;
    if (!isDict(current)) {
      throw new TemplateError(`can't evaluate field ${key} in ${kindOf(current)}: ${at} (${where})`);
    }
    if (!(key in current)) throw new TemplateError(`missing value ${at} (${where})`);
    current = current[key];
  }
  return current;
}

// ── Charts ────────────────────────────────────────────────────────────────────────────────────

/** Helm's coalescing of user values over the chart's: maps merge, anything else replaces, null deletes. */
export function mergeValues(base: Dict, overrides: Dict): Dict {
  const out: Dict = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete out[key];
    else if (isDict(value) && isDict(out[key])) out[key] = mergeValues(out[key] as Dict, value);
    else out[key] = value;
  }
  return out;
}

export interface RenderOptions {
  /** User values (as with `-f`), merged over values.yaml. */
  values?: Dict;
  release?: Partial<ReleaseInfo>;
}

export interface RenderedChart {
  /** Rendered text of every manifest template (files under templates/ not starting with "_"), by file name. */
  manifests: Record<string, string>;
  notes: string;
  /** The merged values the templates saw. */
  values: Dict;
}

/** Reads a chart folder and renders it as `helm template` would (within the subset). */
export function renderChart(chartDir: string, options: RenderOptions = {}): RenderedChart {
  const read = (file: string) => parseYaml(readFileSync(join(chartDir, file), 'utf8'), { version: '1.1' });
  const chartYaml = read('Chart.yaml') as Dict;
  const defaults = (read('values.yaml') ?? {}) as Dict;
  const values = mergeValues(defaults, options.values ?? {});
  const templateDir = join(chartDir, 'templates');
  const files = readdirSync(templateDir).sort();
  const sources = Object.fromEntries(files.map((f) => [f, readFileSync(join(templateDir, f), 'utf8')]));
  const set = new TemplateSet(sources);
  const context: RenderContext = {
    Values: values,
    Release: { Name: 'release', Namespace: 'default', Service: 'Helm', ...options.release },
    Chart: {
      Name: String(chartYaml.name),
      Version: String(chartYaml.version),
      AppVersion: String(chartYaml.appVersion),
    },
  };
  const manifests: Record<string, string> = {};
  let notes = '';
  for (const file of files) {
    if (file.startsWith('_')) continue;
    if (file === 'NOTES.txt') notes = set.render(file, context);
    else manifests[file] = set.render(file, context);
  }
  return { manifests, notes, values };
}
