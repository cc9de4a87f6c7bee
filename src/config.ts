/**
 * The bot's whole configuration: one entry per environment variable, each with its name, default,
 * documentation and value grammar. Validated once at start-up; a bad value stops the process with
 * one message naming every problem (exit code 78, EX_CONFIG).
 *
 * The README's configuration table is generated from `settings` (see `configTableMarkdown`) and a
 * test keeps the two in step.
 */
import { z } from 'zod';
import { isOrgId } from './adapters/webex/org-ids.js';
import { ConfigError } from './errors.js';

const BOOLEAN_WORDS: Record<string, boolean> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

/** `true/false/1/0/yes/no/on/off` in any case; never JavaScript truthiness. */
const booleanValue = z.string().transform((raw, ctx) => {
  const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected true/false/1/0/yes/no/on/off, got "${raw}"` });
    return z.NEVER;
  }
  return value;
});

function integerValue(min: number, max: number) {
  return z.string().transform((raw, ctx) => {
    const trimmed = raw.trim();
    if (!/^-?\d+$/.test(trimmed)) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number, got "${raw}"` });
      return z.NEVER;
    }
    const value = Number(trimmed);
    if (value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `expected a number from ${min} to ${max}, got ${value}` });
      return z.NEVER;
    }
    return value;
  });
}

/** An absolute http(s) URL; a trailing slash is removed so paths can be appended. */
const urlValue = z.string().transform((raw, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got "${raw}"` });
    return z.NEVER;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got "${raw}"` });
    return z.NEVER;
  }
  return raw.trim().replace(/\/+$/, '');
});

const textValue = z.string().transform((raw) => raw.trim());

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().transform((raw, ctx) => {
    const value = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(value)) {
      ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(' / ')}, got "${raw}"` });
      return z.NEVER;
    }
    return value as T[number];
  });
}

/** Org ids and domains are compared as lists; a generous bound keeps a typo from becoming a DoS. */
const MAX_LIST_ITEMS = 100;

function listOf(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * `*`, or organisation ids: raw UUIDs or Hydra `ORGANIZATION` ids (`Y2lz…`), kept as written; the
 * person policy compares them by UUID.
 */
const orgIdsValue = z.string().transform((raw, ctx) => {
  const items = listOf(raw);
  if (items.length === 1 && items[0] === '*') return ['*'];
  const bad = items.filter((item) => !isOrgId(item));
  if (items.includes('*')) {
    ctx.addIssue({ code: 'custom', message: '`*` must stand alone (it already allows every organisation)' });
    return z.NEVER;
  }
  if (items.length === 0 || items.length > MAX_LIST_ITEMS || bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        bad.length > 0
          ? `expected organisation ids (UUID or Y2lz… ORGANIZATION id), got "${bad[0]!.slice(0, 80)}"`
          : `expected 1 to ${MAX_LIST_ITEMS} organisation ids, or *`,
    });
    return z.NEVER;
  }
  return items;
});

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Email domains, lower-cased, without a leading `@`. */
const emailDomainsValue = z.string().transform((raw, ctx) => {
  const items = listOf(raw).map((item) => item.replace(/^@/, '').toLowerCase());
  const bad = items.filter((item) => !DOMAIN.test(item));
  if (items.length === 0 || items.length > MAX_LIST_ITEMS || bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        bad.length > 0
          ? `expected email domains like example.com, got "${bad[0]!.slice(0, 80)}"`
          : `expected 1 to ${MAX_LIST_ITEMS} email domains`,
    });
    return z.NEVER;
  }
  return items;
});

interface SettingSpec<S extends z.ZodType<unknown, string>> {
  /** Environment variable name, exactly as the SPEC writes it. */
  env: string;
  /** Default as it would be written in the environment; undefined = no default. */
  default?: string;
  doc: string;
  /** Secrets are never logged and are shown as `***` by `describeConfig`. */
  secret?: boolean;
  /** Shown in the README's default column when there is no default (e.g. "required for `npm start`"). */
  requirement?: string;
  schema: S;
}

// `const T` keeps whether a default exists in the type, so `Config` knows which keys are optional.
function setting<S extends z.ZodType<unknown, string>, const T extends SettingSpec<S>>(
  spec: T & SettingSpec<S>,
): T {
  return spec;
}

/** Every variable of SPEC §2, in the order the README lists them. */
export const settings = {
  webexToken: setting({
    env: 'WEBEX_INTEGRATION_BOT_ACCESS_TOKEN',
    requirement: 'required for `npm start`',
    doc: 'Bot access token from developer.webex.com. Never logged.',
    secret: true,
    schema: textValue,
  }),
  caipeUrl: setting({
    env: 'CAIPE_URL',
    default: 'http://caipe-supervisor:8000',
    doc: 'The agent endpoint: A2A JSON-RPC URL (POST to the URL itself), AG-UI run URL, or the CAIPE UI base URL (`AGENT_PROTOCOL`; `CAIPE_API_URL` is accepted as an alias).',
    schema: urlValue,
  }),
  a2aAuthEnabled: setting({
    env: 'WEBEX_INTEGRATION_ENABLE_AUTH',
    default: 'false',
    doc: 'Use OAuth2 client credentials for A2A calls.',
    schema: booleanValue,
  }),
  a2aAuthTokenUrl: setting({
    env: 'WEBEX_INTEGRATION_AUTH_TOKEN_URL',
    requirement: 'required if auth enabled',
    doc: 'OAuth2 token endpoint (fallback `OAUTH2_TOKEN_URL`).',
    schema: urlValue,
  }),
  a2aAuthClientId: setting({
    env: 'WEBEX_INTEGRATION_AUTH_CLIENT_ID',
    requirement: 'required if auth enabled',
    doc: 'OAuth2 client id (fallback `OAUTH2_CLIENT_ID`).',
    schema: textValue,
  }),
  a2aAuthClientSecret: setting({
    env: 'WEBEX_INTEGRATION_AUTH_CLIENT_SECRET',
    requirement: 'required if auth enabled',
    doc: 'OAuth2 client secret (fallback `OAUTH2_CLIENT_SECRET`). Never logged.',
    secret: true,
    schema: textValue,
  }),
  a2aAuthScope: setting({
    env: 'WEBEX_INTEGRATION_AUTH_SCOPE',
    doc: 'OAuth2 `scope` form field, sent when set (fallback `OAUTH2_SCOPE`).',
    schema: textValue,
  }),
  a2aAuthAudience: setting({
    env: 'WEBEX_INTEGRATION_AUTH_AUDIENCE',
    doc: 'OAuth2 `audience` form field, sent when set (fallback `OAUTH2_AUDIENCE`).',
    schema: textValue,
  }),
  mongodbUri: setting({
    env: 'MONGODB_URI',
    doc: 'MongoDB connection string; unset: the embedded store under `DATA_DIR`. Never logged.',
    secret: true,
    schema: textValue,
  }),
  mongodbDatabase: setting({
    env: 'MONGODB_DATABASE',
    default: 'caipe',
    doc: 'MongoDB database shared with the CAIPE UI.',
    schema: textValue,
  }),
  caipeUiBaseUrl: setting({
    env: 'CAIPE_UI_BASE_URL',
    default: 'http://localhost:3000',
    doc: 'CAIPE UI base URL used by the "Connect to CAIPE" card.',
    schema: urlValue,
  }),
  threadContextEnabled: setting({
    env: 'WEBEX_THREAD_CONTEXT_ENABLED',
    default: 'true',
    doc: 'Send earlier thread messages to the agent with a thread reply.',
    schema: booleanValue,
  }),
  threadContextMaxMessages: setting({
    env: 'WEBEX_THREAD_CONTEXT_MAX_MESSAGES',
    default: '10',
    doc: 'Most thread messages sent as context, the root included.',
    schema: integerValue(1, 100),
  }),
  threadContextMaxChars: setting({
    env: 'WEBEX_THREAD_CONTEXT_MAX_CHARS',
    default: '4000',
    doc: 'Most characters of thread context sent to the agent.',
    schema: integerValue(100, 100_000),
  }),
  langfuseScoringEnabled: setting({
    env: 'LANGFUSE_SCORING_ENABLED',
    default: 'false',
    doc: 'Post feedback cards and score clicks in Langfuse.',
    schema: booleanValue,
  }),
  langfusePublicKey: setting({
    env: 'LANGFUSE_PUBLIC_KEY',
    requirement: 'required if scoring enabled',
    doc: 'Langfuse public key.',
    schema: textValue,
  }),
  langfuseSecretKey: setting({
    env: 'LANGFUSE_SECRET_KEY',
    requirement: 'required if scoring enabled',
    doc: 'Langfuse secret key. Never logged.',
    secret: true,
    schema: textValue,
  }),
  langfuseHost: setting({
    env: 'LANGFUSE_HOST',
    requirement: 'required if scoring enabled',
    doc: 'Langfuse base URL (`LANGFUSE_BASE_URL` is accepted as an alias).',
    schema: urlValue,
  }),
  spaceAuthCacheTtlS: setting({
    env: 'WEBEX_SPACE_AUTH_CACHE_TTL',
    default: '300',
    doc: 'Seconds an `active` space lookup is cached (denials at most 30 s).',
    schema: integerValue(0, 86_400),
  }),
  webexApiBaseUrl: setting({
    env: 'WEBEX_API_BASE_URL',
    default: 'https://webexapis.com/v1',
    doc: 'Webex REST ("Hydra") base URL.',
    schema: urlValue,
  }),
  webexU2cUrl: setting({
    env: 'WEBEX_U2C_URL',
    default: 'https://u2c.wbx2.com/u2c/api/v1',
    doc: 'Webex service catalog; the WDM base comes from `serviceLinks.wdm`.',
    schema: urlValue,
  }),
  webexWdmUrl: setting({
    env: 'WEBEX_WDM_URL',
    doc: 'Optional override of the catalog’s WDM base URL.',
    schema: urlValue,
  }),
  webexDeviceName: setting({
    env: 'WEBEX_DEVICE_NAME',
    default: 'caipe-webex-bot',
    doc: 'Name of the bot’s WDM device; own devices are reused by this name.',
    schema: textValue.pipe(z.string().min(1, 'must not be empty')),
  }),
  instanceId: setting({
    env: 'INSTANCE_ID',
    doc: 'Set only when several processes share one token (e.g. a StatefulSet’s stable pod name): the device is named `WEBEX_DEVICE_NAME-INSTANCE_ID`. Unset: no suffix, and the host name identifies the process in claims.',
    // A pod name fits: it becomes part of the device name and of log lines, so nothing else does.
    schema: textValue.pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$/,
          'expected letters, digits, ".", "_" or "-" (at most 100, starting and ending with a letter or digit)',
        ),
    ),
  }),
  listenMode: setting({
    env: 'WEBEX_LISTEN_MODE',
    default: 'mention',
    doc: '`mention` / `message` / `all`; a space’s registry entry may override it.',
    schema: oneOf(['mention', 'message', 'all']),
  }),
  updateIntervalMs: setting({
    env: 'WEBEX_UPDATE_INTERVAL_MS',
    default: '3000',
    doc: 'Minimum gap between edits of one progress message.',
    schema: integerValue(100, 600_000),
  }),
  maxMessageChars: setting({
    env: 'WEBEX_MAX_MESSAGE_CHARS',
    default: '7000',
    doc: 'Split size of answers; every message also stays under 7439 bytes.',
    schema: integerValue(200, 7439),
  }),
  hitlTimeoutS: setting({
    env: 'HITL_TIMEOUT_S',
    default: '86400',
    doc: 'An unanswered form expires after this many seconds (at most 24 days); the user is told.',
    // The expiry is a timer: Node's timers hold at most 2^31-1 ms (24.8 days).
    schema: integerValue(1, 24 * 86_400),
  }),
  a2aIdleTimeoutS: setting({
    env: 'A2A_IDLE_TIMEOUT_S',
    default: '300',
    doc: 'A stream silent this long (pings excluded) is treated as cut, on every backend.',
    schema: integerValue(1, 86_400),
  }),
  agentProtocol: setting({
    env: 'AGENT_PROTOCOL',
    default: 'a2a',
    doc: '`a2a` / `agui` / `caipe` (CAIPE ≥0.6 through its UI backend; `CAIPE_URL` is then the UI’s base URL). See docs/agents.md.',
    schema: oneOf(['a2a', 'agui', 'caipe']),
  }),
  a2aVersion: setting({
    env: 'A2A_VERSION',
    default: 'auto',
    doc: '`auto` (the agent card, else 0.3) / `0.3` / `1.0`.',
    schema: oneOf(['auto', '0.3', '1.0']),
  }),
  a2aUserPrefix: setting({
    env: 'A2A_USER_PREFIX',
    default: 'true',
    doc: 'Start the A2A text with `by user: <email>` and a blank line (how the CAIPE supervisor learns the user).',
    schema: booleanValue,
  }),
  caipeAgentId: setting({
    env: 'CAIPE_AGENT_ID',
    requirement: 'required with `AGENT_PROTOCOL=caipe`',
    doc: 'The default CAIPE agent; a space’s registry entry may name another.',
    schema: textValue.pipe(z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, `.`, `_` and `-` only')),
  }),
  caipeAuthMode: setting({
    env: 'CAIPE_AUTH_MODE',
    default: 'service',
    doc: '`service` (OAuth2 client credentials, the `WEBEX_INTEGRATION_AUTH_*` settings; every Webex user shares that account’s rights) / `obo` (a per-user token by Keycloak token exchange).',
    schema: oneOf(['service', 'obo']),
  }),
  keycloakUrl: setting({
    env: 'KEYCLOAK_URL',
    requirement: 'required with `CAIPE_AUTH_MODE=obo`',
    doc: '`obo` mode: the Keycloak that mints per-user tokens.',
    schema: urlValue,
  }),
  keycloakRealm: setting({
    env: 'KEYCLOAK_REALM',
    default: 'caipe',
    doc: '`obo` mode: the Keycloak realm.',
    schema: textValue.pipe(z.string().min(1, 'must not be empty')),
  }),
  keycloakBotClientId: setting({
    env: 'KEYCLOAK_WEBEX_BOT_CLIENT_ID',
    default: 'caipe-webex-bot',
    doc: '`obo` mode: the token-exchange client.',
    schema: textValue.pipe(z.string().min(1, 'must not be empty')),
  }),
  keycloakBotClientSecret: setting({
    env: 'KEYCLOAK_WEBEX_BOT_CLIENT_SECRET',
    requirement: 'required with `CAIPE_AUTH_MODE=obo`',
    doc: '`obo` mode: the token-exchange client’s secret. Never logged.',
    secret: true,
    schema: textValue,
  }),
  keycloakBotAudience: setting({
    env: 'KEYCLOAK_WEBEX_BOT_AUDIENCE',
    default: 'caipe-platform',
    doc: '`obo` mode: audience of the minted token (`CAIPE_PLATFORM_AUDIENCE` is accepted as a fallback).',
    schema: textValue.pipe(z.string().min(1, 'must not be empty')),
  }),
  keycloakAdminClientId: setting({
    env: 'KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_ID',
    default: 'caipe-platform',
    doc: '`obo` mode: the client that looks up the Keycloak user linked to a Webex person (attribute `webex_user_id`).',
    schema: textValue.pipe(z.string().min(1, 'must not be empty')),
  }),
  keycloakAdminClientSecret: setting({
    env: 'KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_SECRET',
    requirement: 'required with `CAIPE_AUTH_MODE=obo`',
    doc: '`obo` mode: that client’s secret. Never logged.',
    secret: true,
    schema: textValue,
  }),
  webexLinkingBaseUrl: setting({
    env: 'WEBEX_LINKING_BASE_URL',
    requirement: '`CAIPE_UI_BASE_URL`',
    doc: '`obo` mode: base of the signed account-link URL sent (privately) to unlinked people.',
    schema: urlValue,
  }),
  webexLinkHmacSecret: setting({
    env: 'WEBEX_LINK_HMAC_SECRET',
    requirement: 'required with `CAIPE_AUTH_MODE=obo`',
    doc: '`obo` mode: key of the link’s HMAC-SHA256 signature (`WEBEX_SIGNING_SECRET` is accepted as a fallback). Never logged.',
    secret: true,
    schema: textValue,
  }),
  retryAfterDefaultS: setting({
    env: 'WEBEX_RETRY_AFTER_DEFAULT_S',
    default: '10',
    doc: 'Wait after a 429 that carries no `Retry-After`.',
    schema: integerValue(1, 3_600),
  }),
  webexWriteRateMax: setting({
    env: 'WEBEX_WRITE_RATE_MAX',
    default: '100',
    doc: 'Ceiling of the adaptive write rate (writes/s); the rate starts at 5 and adapts to the 429s Webex sends (docs/sender.md).',
    schema: integerValue(1, 1_000),
  }),
  dedupeTtlS: setting({
    env: 'WEBEX_DEDUPE_TTL_S',
    default: '3600',
    doc: 'How long a handled activity id is remembered.',
    schema: integerValue(60, 7 * 86_400),
  }),
  maxQueuedPerConversation: setting({
    env: 'MAX_QUEUED_PER_CONVERSATION',
    default: '5',
    doc: 'Messages waiting behind a running answer; more get a "busy" notice.',
    schema: integerValue(0, 100),
  }),
  shutdownGraceS: setting({
    env: 'SHUTDOWN_GRACE_S',
    default: '20',
    doc: 'In-flight answers get this long to finish on SIGTERM.',
    schema: integerValue(0, 600),
  }),
  leasePeriodS: setting({
    env: 'LEASE_PERIOD_S',
    default: '15',
    doc: "How long a lease (a running answer, a form wait, a live process) lasts without renewal; renewed every third of it. A dead process's leases lapse after this long (replicas).",
    schema: integerValue(1, 300),
  }),
  takeoverIntervalS: setting({
    env: 'TAKEOVER_INTERVAL_S',
    default: '10',
    doc: 'How often each process looks for running answers and form waits whose lease lapsed, and takes them over (replicas).',
    schema: integerValue(1, 300),
  }),
  httpPort: setting({
    env: 'HTTP_PORT',
    default: '8080',
    doc: 'Port of `/healthz`, `/readyz`, `/metrics`, `/admin/*` (0 = any free port).',
    schema: integerValue(0, 65_535),
  }),
  adminApiToken: setting({
    env: 'ADMIN_API_TOKEN',
    doc: 'Bearer token of the admin API; unset: admin API disabled. Never logged.',
    secret: true,
    schema: textValue.pipe(z.string().min(16, 'must be at least 16 characters')),
  }),
  dataDir: setting({
    env: 'DATA_DIR',
    default: './data',
    doc: 'Folder of the embedded store (and inspection logs).',
    schema: textValue.pipe(z.string().min(1, 'must not be empty')),
  }),
  logLevel: setting({
    env: 'LOG_LEVEL',
    default: 'info',
    doc: '`trace` / `debug` / `info` / `warn` / `error` / `fatal` / `silent`; JSON lines on stdout.',
    schema: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  }),
  xstateInspect: setting({
    env: 'XSTATE_INSPECT',
    default: 'false',
    doc: '`false` / `stately` (relay for the Stately inspector) / `jsonl` (allow-listed events under `DATA_DIR`).',
    schema: oneOf(['false', 'stately', 'jsonl']),
  }),
  xstateInspectPort: setting({
    env: 'XSTATE_INSPECT_PORT',
    default: '8081',
    doc: 'Port of the Stately relay (never the same as `HTTP_PORT`; 0 = any free port).',
    schema: integerValue(0, 65_535),
  }),
  xstateInspectHost: setting({
    env: 'XSTATE_INSPECT_HOST',
    default: '127.0.0.1',
    doc: 'Interface of the Stately relay (loopback unless an operator opens it on purpose).',
    schema: textValue,
  }),
  allowedOrgIds: setting({
    env: 'WEBEX_ALLOWED_ORG_IDS',
    requirement: 'the bot’s own organisation',
    doc: 'Comma-separated organisation ids (raw UUID or `Y2lz…`) whose people may use the bot; `*` allows every organisation. Unset: only the bot’s own organisation (from `GET /people/me`).',
    schema: orgIdsValue,
  }),
  allowedEmailDomains: setting({
    env: 'WEBEX_ALLOWED_EMAIL_DOMAINS',
    doc: 'When set, a person’s email domain must also be in this comma-separated list (e.g. `example.com,partner.example`).',
    schema: emailDomainsValue,
  }),
  hitlAnsweredBy: setting({
    env: 'HITL_ANSWERED_BY',
    default: 'requester',
    doc: '`requester` (only the person who asked answers, cancels or resets the agent’s open form) / `space` (anyone allowed in the space).',
    schema: oneOf(['requester', 'space']),
  }),
  agentTurnTimeoutS: setting({
    env: 'AGENT_TURN_TIMEOUT_S',
    default: '1800',
    doc: 'A turn still running after this is cancelled with a notice; time waiting for a form answer does not count.',
    schema: integerValue(10, 86_400),
  }),
  maxConcurrentTurns: setting({
    env: 'MAX_CONCURRENT_TURNS',
    default: '100',
    doc: 'Agent turns running at once in this process; more get a busy notice.',
    schema: integerValue(1, 100_000),
  }),
  maxTurnsPerPerson: setting({
    env: 'MAX_TURNS_PER_PERSON',
    default: '3',
    doc: 'Agent turns one person may have running at once (per process); more get a busy notice.',
    schema: integerValue(1, 1_000),
  }),
  agentMaxAnswerChars: setting({
    env: 'AGENT_MAX_ANSWER_CHARS',
    default: '30000',
    doc: 'Longer answers are cut at a paragraph or fence boundary, with a note saying how much was left out.',
    schema: integerValue(1_000, 1_000_000),
  }),
} as const;

type Settings = typeof settings;
type Parsed<K extends keyof Settings> = z.output<Settings[K]['schema']>;

/** The validated configuration; optional settings without a default are `undefined`. */
export type Config = {
  [K in keyof Settings]: Settings[K] extends { default: string } ? Parsed<K> : Parsed<K> | undefined;
};

/** Fallback names accepted for a setting; the primary name wins when both are set. */
const ALIASES: Partial<Record<keyof Settings, string[]>> = {
  a2aAuthTokenUrl: ['OAUTH2_TOKEN_URL'],
  a2aAuthClientId: ['OAUTH2_CLIENT_ID'],
  a2aAuthClientSecret: ['OAUTH2_CLIENT_SECRET'],
  a2aAuthScope: ['OAUTH2_SCOPE'],
  a2aAuthAudience: ['OAUTH2_AUDIENCE'],
  langfuseHost: ['LANGFUSE_BASE_URL'],
  caipeUrl: ['CAIPE_API_URL'],
  keycloakBotAudience: ['CAIPE_PLATFORM_AUDIENCE'],
  webexLinkHmacSecret: ['WEBEX_SIGNING_SECRET'],
};

export interface LoadConfigOptions {
  /** `npm start` needs a Webex token; tools that only read the config (docs generators) do not. */
  requireToken?: boolean;
}

type Env = Record<string, string | undefined>;

function rawValue(env: Env, key: keyof Settings): { name: string; value: string } | undefined {
  for (const name of [settings[key].env, ...(ALIASES[key] ?? [])]) {
    const value = env[name];
    // An empty variable counts as unset, as it does in Kubernetes manifests and .env files.
    if (value !== undefined && value.trim() !== '') return { name, value };
  }
  return undefined;
}

/**
 * Validates `env` against every setting and the cross-field rules. Throws one `ConfigError`
 * listing every problem, so an operator fixes them all in one round.
 */
export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  /** Settings already reported as bad (under their own name or a fallback): never also "missing". */
  const invalid = new Set<keyof Settings>();

  for (const key of Object.keys(settings) as (keyof Settings)[]) {
    const spec: SettingSpec<z.ZodType<unknown, string>> = settings[key];
    const raw =
      rawValue(env, key) ??
      (spec.default === undefined ? undefined : { name: spec.env, value: spec.default });
    if (raw === undefined) {
      out[key] = undefined;
      continue;
    }
    const result = spec.schema.safeParse(raw.value);
    if (result.success) out[key] = result.data;
    else {
      invalid.add(key);
      problems.push(`${raw.name}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
    }
  }

  const config = out as Config;
  const missing = (key: keyof Settings, because: string) => {
    if (config[key] === undefined && !invalid.has(key)) {
      problems.push(`${settings[key].env}: required ${because}`);
    }
  };

  if (options.requireToken !== false) missing('webexToken', 'to connect to Webex');
  if (config.a2aAuthEnabled) {
    missing('a2aAuthTokenUrl', 'when WEBEX_INTEGRATION_ENABLE_AUTH is on');
    missing('a2aAuthClientId', 'when WEBEX_INTEGRATION_ENABLE_AUTH is on');
    missing('a2aAuthClientSecret', 'when WEBEX_INTEGRATION_ENABLE_AUTH is on');
  }
  if (config.langfuseScoringEnabled) {
    missing('langfusePublicKey', 'when LANGFUSE_SCORING_ENABLED is on');
    missing('langfuseSecretKey', 'when LANGFUSE_SCORING_ENABLED is on');
    missing('langfuseHost', 'when LANGFUSE_SCORING_ENABLED is on (or LANGFUSE_BASE_URL)');
  }
  if (config.agentProtocol === 'caipe') missing('caipeAgentId', 'when AGENT_PROTOCOL is caipe');
  if (config.caipeAuthMode === 'obo') {
    if (config.agentProtocol !== 'caipe') problems.push('CAIPE_AUTH_MODE: obo needs AGENT_PROTOCOL=caipe');
    missing('keycloakUrl', 'when CAIPE_AUTH_MODE is obo');
    missing('keycloakBotClientSecret', 'when CAIPE_AUTH_MODE is obo');
    missing('keycloakAdminClientSecret', 'when CAIPE_AUTH_MODE is obo');
    missing('webexLinkHmacSecret', 'when CAIPE_AUTH_MODE is obo (or WEBEX_SIGNING_SECRET)');
  }
  if (
    config.xstateInspect === 'stately' &&
    config.xstateInspectPort === config.httpPort &&
    config.httpPort !== 0
  ) {
    problems.push('XSTATE_INSPECT_PORT: must differ from HTTP_PORT');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The values of every secret setting, for log redaction and leak tests. */
export function secretValues(config: Config): string[] {
  return (Object.keys(settings) as (keyof Settings)[])
    .filter((key) => (settings[key] as SettingSpec<z.ZodType<unknown, string>>).secret)
    .map((key) => config[key])
    .filter((value): value is string => typeof value === 'string' && value.length > 0);
}

/** The README's configuration table, generated from `settings`. */
export function configTableMarkdown(): string {
  const rows = Object.values(settings).map((spec: SettingSpec<z.ZodType<unknown, string>>) => {
    const fallback = spec.requirement ?? '—';
    const def = spec.default === undefined ? fallback : `\`${spec.default}\``;
    return `| \`${spec.env}\` | ${def} | ${spec.doc} |`;
  });
  return ['| variable | default | notes |', '|---|---|---|', ...rows].join('\n');
}
