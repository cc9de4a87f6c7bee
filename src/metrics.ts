/**
 * The bot's Prometheus metrics (SPEC §3), prefix `webex_bot_`. Labels are low-cardinality only:
 * never room, person or message ids, never emails.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type EventOutcome = 'handled' | 'duplicate' | 'own' | 'ignored' | 'unauthorized';

export interface BotMetrics {
  events: Counter<'kind' | 'outcome'>;
  conversationsActive: Gauge;
  agentStreams: Counter<'outcome'>;
  webexRequests: Counter<'method' | 'route' | 'status'>;
  webexRateLimited: Counter;
  /** The sender's current adaptive write rate, writes per second. */
  webexWriteRate: Gauge;
  socketReconnects: Counter<'reason'>;
  editBudgetExhausted: Counter;
  firstReplySeconds: Histogram;
  answerSeconds: Histogram;
  storeErrors: Counter<'store'>;
  sequenceGaps: Counter;
  catchUpEvents: Counter<'outcome'>;
  feedbackFailures: Counter;
}

export function createBotMetrics(registry: Registry): BotMetrics {
  const registers = [registry];
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
    agentStreams: new Counter({
      name: 'webex_bot_agent_streams_total',
      help: 'Agent turns by how they ended.',
      labelNames: ['outcome'],
      registers,
    }),
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
    feedbackFailures: new Counter({
      name: 'webex_bot_feedback_failures_total',
      help: 'Feedback scores Langfuse did not take.',
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
