/**
 * Bot processes for the replica tests: the real bot, started as `npm start` does, with its JSON log
 * lines readable, killed at the end of the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SimPerson, SimRoom, WebexSimulator } from '../../src/simulator/webex/index.js';
import type { closeAfterEach } from '../helpers/cleanup.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface BotProcess {
  instance: string;
  child: ChildProcess;
  /** Every JSON log line so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line (past or future) that passes `match`. */
  logged(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

/** Starts the bot as `npm start` does, with only the given environment; killed at the test's end. */
export function startBotProcess(
  track: ReturnType<typeof closeAfterEach>,
  instance: string,
  env: Record<string, string>,
): BotProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', INSTANCE_ID: instance, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const listeners = new Set<(line: Record<string, unknown>) => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const listener of listeners) listener(line);
    } catch {
      // not a log line
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const proc: BotProcess = {
    instance,
    child,
    lines,
    logged: (match, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const found = lines.find(match);
        if (found) return resolve(found);
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`${instance}: no matching log line within ${timeoutMs} ms. stderr: ${stderr}`));
        }, timeoutMs);
        const listener = (line: Record<string, unknown>) => {
          if (!match(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
      }),
  };
  track({
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    },
  });
  return proc;
}

export const online = (bot: BotProcess) => bot.logged((line) => line.msg === 'webex connection online');

export interface Question {
  text: string;
  user: SimPerson;
  room: SimRoom;
  parentId?: string;
}

/** The bot's visible answers to a question (the agent echoes `Echo: <question>`). */
export function answersTo(sim: WebexSimulator, question: Question): number {
  return sim
    .roomMessages(question.room)
    .filter(
      (m) =>
        m.authorUuid === sim.bot.uuid &&
        !m.deleted &&
        (m.markdown ?? '').startsWith(`Echo: ${question.text}`),
    ).length;
}

/** Resolves once every question shows an answer; rechecked on each request Webex answers. */
export async function untilAllAnswered(
  sim: WebexSimulator,
  questions: Question[],
  timeoutMs: number,
): Promise<void> {
  const missing = () => questions.filter((q) => answersTo(sim, q) === 0);
  if (missing().length === 0) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(
          `not answered within ${timeoutMs} ms: ${missing()
            .map((q) => q.text)
            .join(', ')}`,
        ),
      );
    }, timeoutMs);
    const off = sim.on('request', () => {
      if (missing().length > 0) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
