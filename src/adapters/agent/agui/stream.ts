/**
 * Reading one AG-UI run's SSE reply (AG-UI 1.0 and CAIPE's dialect): frames through the shared
 * bounded reader into the translator, the idle timeout re-armed by every frame (pings are not
 * frames), a short grace after the terminal frame so trailing frames are drained and ignored, and
 * the ending turned into the turn's last events. A reply that stops before its terminal frame is a
 * cut — unless the bot itself asked to cancel (CAIPE's cancel ends the stream exactly that way).
 */
import { AgentError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import { redactText } from '../a2a/redact.js';
import type { InterruptRef } from '../handle.js';
import type { AgentHttp, ResponseBody, Stopper } from '../http.js';
import type { TurnEvent } from '../port.js';
import { readSse, type SseReaderOptions } from '../sse.js';
import type { AguiRunTranslator } from './translate.js';

export interface RunStreamOptions {
  http: AgentHttp;
  body: ResponseBody;
  stop: Stopper;
  translator: AguiRunTranslator;
  logger: Logger;
  idleTimeoutMs: number;
  closeGraceMs: number;
  sse?: SseReaderOptions;
}

/** Frames of the run as turn events; returns once the stream ended (after the terminal frame, or not). */
export async function* runEvents(options: RunStreamOptions): AsyncGenerator<TurnEvent> {
  const { stop, translator, logger } = options;
  let lastWasBad = false;
  try {
    for await (const sse of readSse(options.body as AsyncIterable<Uint8Array>, {
      ...options.sse,
      stop,
    })) {
      let frame: unknown;
      try {
        frame = JSON.parse(sse.data) as unknown;
        lastWasBad = false;
      } catch {
        lastWasBad = true;
        logger.warn(
          { event: 'agent.bad_event', reason: 'not JSON', bytes: sse.data.length },
          'agent stream event skipped',
        );
        logger.debug({
          event: 'agent.bad_event_data',
          data: redactText(sse.data, options.http.secrets(), 500),
        });
      }
      const events = frame === undefined ? [] : translator.feed(frame, sse.event);
      // Any data, even malformed, is activity; comments and pings are not.
      if (translator.ending) stop.arm(options.closeGraceMs, 'grace');
      else stop.arm(options.idleTimeoutMs, 'idle');
      yield* events;
    }
  } catch (error) {
    // After the terminal frame the run has said everything: a server that holds the stream open
    // past the grace period, or drops it, changes nothing.
    if (translator.ending && stop.reason?.kind !== 'caller') return;
    throw error;
  }
  if (!translator.ending && lastWasBad) {
    throw new AgentError('bad-event', 'Agent stream ended with an event we could not read');
  }
}

/** The run's last events from its ending: the answer and `completed`, the form, or the failure. */
export function endingEvents(
  translator: AguiRunTranslator,
  /** The ids event naming the paused run (the handle the answer comes back with). */
  interruptIds: (ref: InterruptRef) => TurnEvent[],
): TurnEvent[] {
  const ending = translator.ending;
  if (!ending) return [];
  switch (ending.kind) {
    case 'success': {
      const answer = translator.finalAnswer();
      return [
        ...translator.closeTools(),
        ...(answer ? [{ type: 'answer', source: 'final_result', text: answer, append: false } as const] : []),
        { type: 'status', state: 'completed' },
      ];
    }
    case 'interrupt': {
      const { form, message, ref } = ending.interrupt;
      return [
        ...translator.closeTools(),
        ...interruptIds(ref),
        { type: 'form', form },
        { type: 'status', state: 'input-required', ...(message ? { message } : {}) },
      ];
    }
    case 'cancelled':
      return [...translator.closeTools(), { type: 'status', state: 'canceled' }];
    case 'error':
      return [
        ...translator.closeTools(),
        { type: 'status', state: 'failed', ...(ending.message ? { message: ending.message } : {}) },
      ];
  }
}
