/**
 * The bot's Prometheus metrics (SPEC §3), prefix `webex_bot_`. Labels are low-cardinality only:
 * never room, person or message ids, never emails.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * `unclaimed`: dropped without being claimed in the store — it waited past the dedupe window, or
 * too many events were waiting (the store was failing; see `claims_waiting`).
 */
export type EventOutcome = 'handled' | 'duplicate' | 'own' | 'ignored' | 'unauthorized' | 'unclaimed';

/**
 * Why the bot refused a person's request (`refused_total{reason}`, SPEC §3):
 * - `outsider-org`: the person's organisation is not in WEBEX_ALLOWED_ORG_IDS;
 * - `email-domain`: their email domain is not in WEBEX_ALLOWED_EMAIL_DOMAINS;
 * - `person-unverified`: who they are could not be established (People API failed or answered
 *   without the fields needed), so the check failed closed;
 * - `form-owner`: someone else answered (or cancelled) a form that waits for its requester;
 * - `busy`: a concurrency limit was reached;
 * - `bounds`: the agent's output broke a bound (event size, turn deadline);
 * - `space-unavailable`: the space registry could not be read and no recent answer was cached.
 */
export type RefusalReason =
  | 'outsider-org'
  | 'email-domain'
  | 'person-unverified'
  | 'form-owner'
  | 'busy'
  | 'bounds'
  | 'space-unavailable';

export interface BotMetrics {
  events: Counter<'kind' | 'outcome'>;
  conversationsActive: Gauge;
  /** `agent_streams_total{backend,outcome}`: the backend label is fixed per process (AGENT_PROTOCOL). */
  agentStreams: { inc(labels: { outcome: string }): void };
  webexRequests: Counter<'method' | 'route' | 'status'>;
  webexRateLimited: Counter;
  /** The sender's current adaptive write rate, writes per second. */
  webexWriteRate: Gauge;
  socketReconnects: Counter<'reason'>;
  editBudgetExhausted: Counter;
  firstReplySeconds: Histogram;
  answerSeconds: Histogram;
  storeErrors: Counter<'store'>;
  /** Inbound events waiting for their store claim (the store is failing). */
  claimsWaiting: Gauge;
  /** Leases this process holds (its own, its conversations'). */
  leasesHeld: Gauge;
  /** Running answers and form waits taken over from a process whose leases lapsed. */
  takeovers: Counter<'kind'>;
  sequenceGaps: Counter;
  catchUpEvents: Counter<'outcome'>;
  feedbackFailures: Counter;
  refused: Counter<'reason'>;
  adminAuthFailures: Counter;
  /**
   * Running answers at a stop and after it: `handed-over` (left for the next process), `cancelled`
   * (memory store, or a backend that cannot re-attach), `resumed` (re-attached to a running task),
   * `recovered` (read from a finished task), `interrupted` (could not be recovered: the person was told).
   */
  handovers: Counter<'outcome'>;
}

export interface BotMetricsOptions {
  /** `AGENT_PROTOCOL` (a2a, agui or caipe): the `backend` label of `agent_streams_total`. */
  agentBackend?: string;
}

export function createBotMetrics(registry: Registry, options: BotMetricsOptions = {}): BotMetrics {
  const registers = [registry];
  const agentStreams = new Counter({
    name: 'webex_bot_agent_streams_total',
    help: 'Agent turns by backend and how they ended.',
    labelNames: ['backend', 'outcome'],
    registers,
  });
  const backend = options.agentBackend ?? 'a2a';
  return {
    events: new Counter({
      name: 'webex_bot_events_total',
      help: 'Inbound Webex events by kind and what became of them.',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    conversationsActive: new Gauge({
      name: 'webex_bot_conversations_active',
      help: 'Conversations with an answer running or a form waiting.',
      registers,
    }),
    agentStreams: { inc: ({ outcome }) => agentStreams.inc({ backend, outcome }) },
    webexRequests: new Counter({
      name: 'webex_bot_webex_requests_total',
      help: 'Webex REST requests by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    webexRateLimited: new Counter({
      name: 'webex_bot_webex_rate_limited_total',
      help: 'Webex answers of 429 Too Many Requests.',
      registers,
    }),
    webexWriteRate: new Gauge({
      name: 'webex_bot_webex_write_rate',
      help: "The Webex sender's current write rate (writes per second), learned from the 429s Webex sends.",
      registers,
    }),
    socketReconnects: new Counter({
      name: 'webex_bot_socket_reconnects_total',
      help: 'Mercury socket reconnects by reason.',
      labelNames: ['reason'],
      registers,
    }),
    editBudgetExhausted: new Counter({
      name: 'webex_bot_edit_budget_exhausted_total',
      help: 'Edits refused because a message used its 10 edits.',
      registers,
    }),
    firstReplySeconds: new Histogram({
      name: 'webex_bot_first_reply_seconds',
      help: 'Time from the inbound event to the working message.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    answerSeconds: new Histogram({
      name: 'webex_bot_answer_seconds',
      help: 'Time from the inbound event to the final answer.',
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    storeErrors: new Counter({
      name: 'webex_bot_store_errors_total',
      help: 'Store operations that failed.',
      labelNames: ['store'],
      registers,
    }),
    claimsWaiting: new Gauge({
      name: 'webex_bot_claims_waiting',
      help: 'Inbound events waiting for their store claim while the store fails (nothing unclaimed is handled).',
      registers,
    }),
    leasesHeld: new Gauge({
      name: 'webex_bot_leases_held',
      help: "Leases this process holds: its own and its conversations' (running answers, form waits).",
      registers,
    }),
    takeovers: new Counter({
      name: 'webex_bot_takeovers_total',
      help: 'Conversations taken over from a process whose leases lapsed, by what they had (running, waiting, owed).',
      labelNames: ['kind'] as const,
      registers,
    }),
    feedbackFailures: new Counter({
      name: 'webex_bot_feedback_failures_total',
      help: 'Feedback scores Langfuse did not take.',
      registers,
    }),
    refused: new Counter({
      name: 'webex_bot_refused_total',
      help: 'Requests the bot refused, by reason (outsider-org, email-domain, person-unverified, form-owner, busy, bounds, space-unavailable).',
      labelNames: ['reason'],
      registers,
    }),
    handovers: new Counter({
      name: 'webex_bot_handovers_total',
      help: 'Running answers handed over at a stop, and what the next process made of them.',
      labelNames: ['outcome'],
      registers,
    }),
    adminAuthFailures: new Counter({
      name: 'webex_bot_admin_auth_failures_total',
      help: 'Admin API calls refused for a missing or wrong token.',
      registers,
    }),
    sequenceGaps: new Counter({
      name: 'webex_bot_socket_sequence_gaps_total',
      help: 'Gaps in Mercury sequence numbers.',
      registers,
    }),
    catchUpEvents: new Counter({
      name: 'webex_bot_catchup_events_total',
      help: 'Messages the REST catch-up listed after a reconnect or a sequence gap, by outcome (recovered = the socket had not delivered it).',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
