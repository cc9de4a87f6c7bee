import type { WebexWriteMethod } from './transport.js';

/**
 * What the sender reports for `/metrics`. Labels are low-cardinality by construction: a method, a
 * route template and a status (an HTTP status, or `transport` when no answer arrived); never
 * room, person or message ids. The prom-client wiring lives with the HTTP layer.
 */
export interface SenderMetrics {
  /** One finished attempt (also each retry and each 429): `webex_requests_total{method,route,status}`. */
  request(labels: { method: WebexWriteMethod; route: string; status: string }): void;
  /** A 429 (or 423 with Retry-After) that paused an endpoint: `webex_rate_limited_total`. */
  rateLimited(labels: { method: WebexWriteMethod; route: string }): void;
  /** An edit refused because its message had used its 10 edits: `edit_budget_exhausted_total`. */
  editBudgetExhausted(): void;
  /** The write rate changed (and once at start): the `webex_write_rate` gauge, writes per second. */
  writeRate(perSecond: number): void;
}

export const noopSenderMetrics: SenderMetrics = {
  request: () => {},
  rateLimited: () => {},
  editBudgetExhausted: () => {},
  writeRate: () => {},
};
