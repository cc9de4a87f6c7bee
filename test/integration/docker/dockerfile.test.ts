/**
 * The image recipe without a Docker engine: the Dockerfile's structure (two stages on a Node LTS,
 * production-only runtime, non-root user, DATA_DIR volume, healthcheck, exec-form command, no
 * secrets, labels), the build context the .dockerignore lets through, and then the runtime stage
 * for real: its files (dist/ compiled fresh, package.json, only the production dependencies, as
 * `npm prune --omit=dev` leaves them) in a temporary folder outside the repo, its ENV, its CMD.
 * That process must answer /healthz, pass the image's own HEALTHCHECK command, write nothing
 * outside DATA_DIR, and exit 0 on SIGTERM.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settings } from '../../../src/config.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions; continuation lines joined, comments and directives dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    if (line === '') continue;
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const keyword = (match[1] ?? '').toUpperCase();
    const args = match[2] ?? '';
    if (keyword === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage) stage.instructions.push({ keyword, args });
    else stages.push({ image: '(global)', name: '(global)', instructions: [{ keyword, args }] });
  }
  return stages;
}

/** `KEY=value KEY2="v 2"` → record (ENV, LABEL). */
function keyValues(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = match[2] ?? '';
    out[match[1] ?? ''] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return out;
}

function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  expect(Array.isArray(parsed) && parsed.every((part) => typeof part === 'string')).toBe(true);
  return parsed as string[];
}

/** Which top-level paths of the repo the allow-list .dockerignore lets into the build context. */
function contextAllows(dockerignore: string, path: string): boolean {
  let allowed = true;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/\/$/, '');
    const regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/\*/g, '[^/]*')}(?:/.*)?$`,
    );
    if (regex.test(path)) allowed = negated;
  }
  return allowed;
}

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8');
const stages = parseDockerfile(dockerfile);
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1);
const args = Object.fromEntries(
  stages
    .filter((s) => s.name === '(global)')
    .flatMap((s) => all(s, 'ARG'))
    .map((a) => a.split('=') as [string, string]),
);
const resolveImage = (image: string) => image.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
const secretNames = Object.values(settings)
  .filter((s) => 'secret' in s && s.secret)
  .map((s): string => s.env)
  .concat(['OAUTH2_CLIENT_SECRET']);

describe('Dockerfile structure', () => {
  it('has a build stage and a final runtime stage on the same slim Node LTS image', () => {
    expect(build).toBeDefined();
    expect(runtime).toBeDefined();
    expect(runtime).not.toBe(build);
    const images = [build, runtime].map((s) => resolveImage(s?.image ?? ''));
    for (const image of images) expect(image).toMatch(/^node:(22|24)(\.\d+)*-(bookworm|trixie)-slim$/);
    expect(images[0]).toBe(images[1]);
  });

  it('takes its base image as a build argument for both stages, so an operator can pin a digest', () => {
    const reference = ['$', '{NODE_IMAGE}'].join('');
    expect(build?.image).toBe(reference);
    expect(runtime?.image).toBe(reference);
    // What `--build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest>` gives both stages.
    const pinned = `node:22-bookworm-slim@sha256:${'0'.repeat(64)}`;
    for (const stage of [build, runtime]) expect(stage?.image.replace(reference, pinned)).toBe(pinned);
  });

  it('the build stage installs from the lockfile, compiles, and prunes to production dependencies', () => {
    const runs = all(build as Stage, 'RUN').join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm (run build|rebuild)/);
    expect(runs).toMatch(/npm prune --omit=dev|npm ci --omit=dev/);
    expect(runs).toMatch(/npm rebuild better-sqlite3|npm ci(?![^\n]*--ignore-scripts)/);
    expect(all(build as Stage, 'COPY').join('\n')).toMatch(/package-lock\.json/);
  });

  it('the build context holds exactly what the build stage copies, and never .env or host builds', () => {
    const sources = all(build as Stage, 'COPY').flatMap((a) => a.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
      expect(contextAllows(dockerignore, source), source).toBe(true);
    }
    for (const excluded of ['.env', 'node_modules', 'dist', 'data', '.git', 'test', 'src/.env']) {
      expect(contextAllows(dockerignore, excluded), excluded).toBe(false);
    }
  });

  it('the runtime stage copies only dist/, the pruned node_modules and package.json from the build', () => {
    const copies = all(runtime as Stage, 'COPY');
    expect(copies.every((c) => c.startsWith('--from=build '))).toBe(true);
    const sources = copies.map((c) => c.split(/\s+/)[1]).sort();
    expect(sources).toEqual(['/app/dist', '/app/node_modules', '/app/package.json']);
    expect(all(runtime as Stage, 'RUN').join('\n')).not.toMatch(/npm (ci|install)/);
    expect(all(runtime as Stage, 'WORKDIR')).toEqual(['/app']);
  });

  it('runs as a non-root numeric user with DATA_DIR=/data as its only writable volume', () => {
    const users = all(runtime as Stage, 'USER');
    expect(users).toHaveLength(1);
    const [uid] = (users[0] ?? '').split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    const env = Object.assign({}, ...all(runtime as Stage, 'ENV').map(keyValues));
    expect(env).toMatchObject({ NODE_ENV: 'production', DATA_DIR: '/data', HTTP_PORT: '8080' });
    expect(all(runtime as Stage, 'VOLUME').map((v) => execForm(v))).toEqual([['/data']]);
    expect(all(runtime as Stage, 'RUN').join('\n')).toMatch(/chown 1000:1000 \/data/);
    expect(all(runtime as Stage, 'EXPOSE')).toEqual(['8080']);
  });

  it('the healthcheck calls /healthz with node, and node is PID 1 through an exec-form CMD', () => {
    const [healthcheck] = all(runtime as Stage, 'HEALTHCHECK');
    expect(healthcheck).toMatch(/--interval=\d+s/);
    const command = execForm((healthcheck ?? '').replace(/^(--\S+\s+)*CMD\s+/, ''));
    expect(command[0]).toBe('node');
    expect(command.join(' ')).toContain('/healthz');
    expect(all(runtime as Stage, 'ENTRYPOINT')).toEqual([]);
    expect(execForm(all(runtime as Stage, 'CMD')[0] ?? '')).toEqual(['node', 'dist/src/main.js']);
    expect(all(runtime as Stage, 'STOPSIGNAL')).toEqual(['SIGTERM']);
  });

  it('carries OCI labels', () => {
    const labels = Object.assign({}, ...all(runtime as Stage, 'LABEL').map(keyValues));
    for (const key of ['title', 'description', 'licenses', 'version', 'revision', 'source']) {
      expect(labels).toHaveProperty(`org.opencontainers.image.${key}`);
    }
    expect(labels['org.opencontainers.image.licenses']).toBe('Apache-2.0');
  });

  it('bakes in no secret: no secret variable in ENV or ARG, no .env copied', () => {
    for (const stage of stages) {
      const declared = [...all(stage, 'ENV'), ...all(stage, 'ARG')].join('\n');
      for (const name of secretNames) expect(declared).not.toContain(name);
      expect(all(stage, 'COPY').join('\n')).not.toMatch(/\.env\b/);
    }
    expect(dockerfile).not.toMatch(/--mount=type=secret/);
  });
});

// ── The runtime stage, run from a production-only copy ─────────────────────────────────────────

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function healthz(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('error', () => resolve(undefined));
  });
}

/** Every file path under `dir`, relative to it, skipping `skip` folders. */
function listFiles(dir: string, skip: readonly string[] = []): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .filter((path) => !skip.some((s) => path === s || path.startsWith(`${s}${sep}`)))
    .sort();
}

describe('the runtime stage from a production-only install', () => {
  let temp: string;
  let app: string;
  let dataDir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    // Outside the repo, so no parent node_modules can lend the bot a dev dependency.
    temp = mkdtempSync(join(tmpdir(), 'caipe-webex-bot-image-'));
    app = join(temp, 'app');
    dataDir = join(temp, 'data');
    mkdirSync(app);
    mkdirSync(dataDir);

    // `npm run build` of the build stage, into the copy (tsc also emits on type errors elsewhere;
    // the type check proper is `npm test`'s job).
    await run(
      process.execPath,
      [
        join(repoRoot, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        join(app, 'dist'),
      ],
      { cwd: repoRoot },
    ).catch((error: { stdout?: string }) => {
      if (!existsSync(join(app, 'dist/src/main.js')))
        throw new Error(`tsc failed:\n${error.stdout ?? error}`);
    });

    // What `npm prune --omit=dev` leaves: the production dependency tree, nothing else.
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--parseable', '--all'], {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const packages = stdout
      .split('\n')
      .map((line) => relative(repoRoot, line.trim()))
      .filter((path) => path.startsWith(`node_modules${sep}`));
    expect(packages.length).toBeGreaterThan(10);
    for (const path of packages) {
      cpSync(join(repoRoot, path), join(app, path), {
        recursive: true,
        // Nested node_modules are listed (and copied) on their own when they are production ones.
        filter: (source) => !relative(join(repoRoot, path), source).split(sep).includes('node_modules'),
      });
    }
    cpSync(join(repoRoot, 'package.json'), join(app, 'package.json'));
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    rmSync(temp, { recursive: true, force: true });
  });

  it('installs no dev dependency', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    for (const dev of ['typescript', 'vitest', 'tsx', '@biomejs', 'express', '@a2a-js']) {
      expect(installed).not.toContain(dev);
    }
    expect(installed).toContain('better-sqlite3');
  });

  it('answers /healthz, passes its HEALTHCHECK, writes only under DATA_DIR and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const nowhere = await freePort();
    const imageEnv = Object.assign({}, ...all(runtime as Stage, 'ENV').map(keyValues)) as Record<
      string,
      string
    >;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...imageEnv,
      DATA_DIR: dataDir,
      HTTP_PORT: String(port),
      SHUTDOWN_GRACE_S: '2',
      WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'image-test-token-not-real',
      // Nothing listens there: the bot keeps trying, and stays alive and healthy meanwhile.
      WEBEX_API_BASE_URL: `http://127.0.0.1:${nowhere}/v1`,
      WEBEX_U2C_URL: `http://127.0.0.1:${nowhere}/u2c/api/v1`,
      CAIPE_URL: `http://127.0.0.1:${nowhere}`,
    };
    const before = listFiles(app, ['node_modules']);
    const [command = '', ...commandArgs] = execForm(all(runtime as Stage, 'CMD')[0] ?? '');
    expect(command).toBe('node');
    const started = spawn(process.execPath, commandArgs, {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let output = '';

    // Each line the bot prints is a moment to ask; the "listening" line comes after the bind.
    const healthy = new Promise<void>((resolve, reject) => {
      let asking = false;
      const ask = () => {
        if (asking) return;
        asking = true;
        void healthz(port).then((status) => {
          asking = false;
          if (status === 200) resolve();
        });
      };
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        ask();
      };
      started.stdout?.on('data', onData);
      started.stderr?.on('data', onData);
      started.once('exit', (code) =>
        reject(new Error(`bot exited with ${code} before /healthz answered:\n${output}`)),
      );
    });
    await healthy;
    expect(await healthz(port)).toBe(200);

    const [healthcheck] = all(runtime as Stage, 'HEALTHCHECK');
    const [, ...probeArgs] = execForm((healthcheck ?? '').replace(/^(--\S+\s+)*CMD\s+/, ''));
    await expect(run(process.execPath, probeArgs, { cwd: app, env })).resolves.toBeDefined();

    const exited = once(started, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    started.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });

    // The same probe now fails: it really tests the endpoint.
    await expect(run(process.execPath, probeArgs, { cwd: app, env })).rejects.toMatchObject({ code: 1 });
    expect(listFiles(app, ['node_modules'])).toEqual(before);
    expect(output).not.toContain('image-test-token-not-real');
  }, 60_000);
});
