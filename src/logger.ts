/**
 * Structured logging: pino JSON lines on stdout. The logger is created once in the composition
 * root and passed down; modules bind their context with `child({ roomId, threadKey, activityId })`.
 *
 * Redaction is two-fold: pino's path redaction removes `authorization` headers and known secret
 * fields wherever they appear, and a final string filter (`scrub.ts`) replaces the values of
 * configured secrets in every form a log line can hold them (as written, JSON-escaped, URL-encoded,
 * the password of a URI alone), URI credentials and `Bearer` tokens, in case one slips into a
 * message or an error text.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { MASK, scrubText, secretForms } from './scrub.js';

export type { Logger } from 'pino';

/** Field paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'authorization',
  'Authorization',
  'clientSecret',
  'client_secret',
  'secret',
  'password',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.authorization',
  '*.Authorization',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.password',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'credentials',
  '*.credentials',
];

export interface LoggerOptions {
  level?: string;
  /** Exact secret values to scrub from every line (tokens, client secrets). */
  secrets?: readonly string[];
  /** Where lines go; stdout by default. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

/** A destination that masks secrets and credentials (see `scrub.ts`) before writing. */
function scrubbingDestination(target: DestinationStream, secrets: readonly string[]): DestinationStream {
  const forms = secretForms(secrets);
  return {
    write(line: string) {
      target.write(scrubText(line, forms));
    },
  };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const target = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'caipe-webex-bot' },
      redact: { paths: REDACTED_PATHS, censor: MASK },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    scrubbingDestination(target, options.secrets ?? []),
  );
}

/** A logger that drops everything, for tests and tools that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
