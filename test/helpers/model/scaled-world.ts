/**
 * `startWorld` with an injected clock, for cases whose real-time cost is only waiting: a 500-message
 * flood (hundreds of "busy" notices paced by the sender's 5/s budget) and the load test (thousands
 * of writes, then the 10-minute conversation idle timeout). The bot runs unchanged; its clock —
 * the sender's token bucket and retry pauses, the agent idle timer, every XState delay — runs
 * `factor` times faster than the wall clock. The simulator and the network stay real, and so do the
 * Webex socket's ping and pong timers (scaled back up), as a socket lives in wall-clock time.
 */
import type { Clock } from '../../../src/clock.js';
import { startWorld, type World, type WorldOptions } from '../world.js';

/** A clock that knows how much faster than the wall clock it runs. */
export interface ScaledClock extends Clock {
  factor: number;
}

/** Time that passes `factor` times faster than the wall clock (timers unref'd like the system clock). */
export function scaledClock(factor: number): ScaledClock {
  const origin = Date.now();
  return {
    factor,
    now: () => origin + (Date.now() - origin) * factor,
    setTimeout: (fn, ms) => {
      const handle = setTimeout(fn, Math.max(0, ms / factor));
      handle.unref?.();
      return handle;
    },
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

export interface ScaledWorldOptions extends WorldOptions {
  clock: Clock;
}

/** The progress interval stays at its production default: scaled, it is short in real time. */
export function startScaledWorld(options: ScaledWorldOptions): Promise<World> {
  return startWorld({ ...options, env: { WEBEX_UPDATE_INTERVAL_MS: '3000', ...options.env } });
}
