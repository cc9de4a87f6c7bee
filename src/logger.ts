/**
 * Structured logging: pino JSON lines on stdout. The logger is created once in the composition
 * root and passed down; modules bind their context with `child({ roomId, threadKey, activityId })`.
 *
 * Redaction is two-fold: pino's path redaction removes `authorization` headers and known secret
 * fields wherever they appear, and a final string filter replaces the exact values of configured
 * secrets (the bot token above all) in case one slips into a message or an error text.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

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

const MASK = '[redacted]';

/** A destination that replaces secret values and `Bearer …` credentials before writing. */
function scrubbingDestination(target: DestinationStream, secrets: readonly string[]): DestinationStream {
  const needles = secrets.filter((s) => s.length >= 4);
  return {
    write(line: string) {
      let out = line.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${MASK}`);
      for (const needle of needles) out = out.split(needle).join(MASK);
      target.write(out);
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
