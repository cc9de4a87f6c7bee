/**
 * REST fault plan: queued 429s and arbitrary failures that match requests by method and route,
 * plus added latency. Each rule counts down and disappears when spent.
 */

export interface RouteMatcher {
  /** HTTP method; any when omitted. */
  method?: string;
  /**
   * A route template (`/v1/messages/{id}`), an exact path, or a RegExp tested against the path.
   * Any route when omitted.
   */
  route?: string | RegExp;
}

export interface RateLimitRule extends RouteMatcher {
  /** How many matching requests get 429 (default 1). */
  times?: number;
  /** Seconds for the `Retry-After` header; omitted means no header at all. */
  retryAfterS?: number;
  /** Send the 429 without a body, as Webex sometimes does. */
  emptyBody?: boolean;
}

export interface FailureRule extends RouteMatcher {
  status: number;
  times?: number;
  /** Error `message`; a generic one otherwise. */
  message?: string;
  headers?: Record<string, string>;
}

export interface LatencyRule extends RouteMatcher {
  ms: number;
}

export interface PlannedFault {
  status: number;
  message: string;
  headers: Record<string, string>;
  emptyBody: boolean;
}

interface Countdown<T> {
  rule: T;
  left: number;
}

export class RestFaultPlan {
  private readonly rateLimits: Array<Countdown<RateLimitRule>> = [];
  private readonly failures: Array<Countdown<FailureRule>> = [];
  private latencies: LatencyRule[] = [];

  addRateLimit(rule: RateLimitRule): void {
    this.rateLimits.push({ rule, left: rule.times ?? 1 });
  }

  addFailure(rule: FailureRule): void {
    this.failures.push({ rule, left: rule.times ?? 1 });
  }

  /** `ms` 0 removes the latency for that matcher. */
  setLatency(rule: LatencyRule): void {
    this.latencies = this.latencies.filter((l) => !sameMatcher(l, rule));
    if (rule.ms > 0) this.latencies.push(rule);
  }

  clear(): void {
    this.rateLimits.length = 0;
    this.failures.length = 0;
    this.latencies = [];
  }

  latencyFor(method: string, path: string, route: string | undefined): number {
    return this.latencies.filter((l) => matches(l, method, path, route)).reduce((sum, l) => sum + l.ms, 0);
  }

  /** Consumes and returns the first fault that applies to this request, if any. */
  take(method: string, path: string, route: string | undefined): PlannedFault | undefined {
    const limited = this.consume(this.rateLimits, method, path, route);
    if (limited) {
      const headers: Record<string, string> = {};
      if (limited.retryAfterS !== undefined) headers['Retry-After'] = String(limited.retryAfterS);
      return {
        status: 429,
        message:
          'The user has sent too many requests in a given amount of time. Please refer to the Retry-After response header for details.',
        headers,
        emptyBody: limited.emptyBody ?? false,
      };
    }
    const failure = this.consume(this.failures, method, path, route);
    if (failure) {
      return {
        status: failure.status,
        message: failure.message ?? `Simulated failure ${failure.status}.`,
        headers: failure.headers ?? {},
        emptyBody: false,
      };
    }
    return undefined;
  }

  private consume<T extends RouteMatcher>(
    list: Array<Countdown<T>>,
    method: string,
    path: string,
    route: string | undefined,
  ): T | undefined {
    const index = list.findIndex((entry) => matches(entry.rule, method, path, route));
    const entry = list[index];
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) list.splice(index, 1);
    return entry.rule;
  }
}

function matches(rule: RouteMatcher, method: string, path: string, route: string | undefined): boolean {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  if (rule.route === undefined) return true;
  if (rule.route instanceof RegExp) return rule.route.test(path);
  return rule.route === route || rule.route === path;
}

function sameMatcher(a: RouteMatcher, b: RouteMatcher): boolean {
  return a.method === b.method && String(a.route) === String(b.route);
}
