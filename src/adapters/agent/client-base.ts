/**
 * What an agent client is built on, whatever its protocol: the shared HTTP side, the timers of its
 * idle timeout and close grace, the logger and the SSE reader's bounds, with their defaults applied
 * once. A client takes `AgentClientBaseOptions` among its own and keeps the `AgentClientBase`.
 */
import type { Dispatcher } from 'undici';
import { systemClock } from '../../clock.js';
import { type Logger, silentLogger } from '../../logger.js';
import { type AgentAuth, AgentHttp, type AgentTimers } from './http.js';
import type { SseReaderOptions } from './sse.js';

export interface AgentClientBaseOptions {
  /** A stream silent this long (comments and pings excluded) is treated as cut: `A2A_IDLE_TIMEOUT_S` × 1000. */
  idleTimeoutMs: number;
  /** How long to keep reading after the run ended, waiting for the server to close. Default 1 s. */
  closeGraceMs?: number;
  connectTimeoutMs?: number;
  /** The `X-Client-Source` header. Default `webex-bot`. */
  clientSource?: string;
  auth?: AgentAuth;
  logger?: Logger;
  /** Runs the idle timeout, close grace and stream bounds; tests pass a clock they drive by hand. */
  clock?: AgentTimers;
  /** A custom undici dispatcher; by default the client owns one (closed by `close()`). */
  dispatcher?: Dispatcher;
  /** The SSE reader's bounds (SPEC: 4 MB, 10 s of wall time) and an observer of what it holds. */
  sse?: SseReaderOptions;
}

export interface AgentClientBase {
  http: AgentHttp;
  logger: Logger;
  timers: AgentTimers;
  idleTimeoutMs: number;
  closeGraceMs: number;
  sse: SseReaderOptions;
}

export function agentClientBase(options: AgentClientBaseOptions): AgentClientBase {
  const logger = options.logger ?? silentLogger();
  return {
    http: new AgentHttp({
      idleTimeoutMs: options.idleTimeoutMs,
      logger,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.clientSource ? { clientSource: options.clientSource } : {}),
    }),
    logger,
    timers: options.clock ?? systemClock,
    idleTimeoutMs: options.idleTimeoutMs,
    closeGraceMs: options.closeGraceMs ?? 1_000,
    sse: options.sse ?? {},
  };
}
