/**
 * A start-up that failed after the configuration was read (a damaged embedded store, a port in
 * use, …): one scrubbed message on stderr and exit code 78, as for a bad configuration (SPEC §2):
 * the operator reads what is wrong, never a raw stack, never a secret.
 */
import { scrubText, secretForms } from './scrub.js';

/** EX_CONFIG from sysexits.h: the process cannot run as configured. */
export const EXIT_CONFIG = 78;

/** How deep the chain of causes is followed, and how long the message may get. */
const MAX_CAUSES = 3;
const MAX_MESSAGE_CHARS = 2_000;

function describeOne(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === 'string' || typeof code === 'number' ? ` [${code}]` : '';
  return `${error.name}${codeText}: ${error.message}`;
}

/** The message for a failed start-up: the error and its causes, secrets masked, no stack. */
export function startupFailureMessage(error: unknown, secrets: readonly string[]): string {
  const parts = [describeOne(error)];
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < MAX_CAUSES; depth++) {
    parts.push(`caused by ${describeOne(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const text = scrubText(parts.join('\n  '), secretForms(secrets));
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

/** Writes the message to stderr and ends the process with {@link EXIT_CONFIG}. */
export function exitOnStartupFailure(error: unknown, secrets: readonly string[]): never {
  process.stderr.write(`caipe-webex-bot: could not start: ${startupFailureMessage(error, secrets)}\n`);
  process.exit(EXIT_CONFIG);
}
