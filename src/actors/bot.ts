/**
 * The bot machine (the room router) with its effects (`createBotLogic`): what happens to an event
 * that arrives while shutting down, and the report of a room supervisor that failed.
 */
import { asCodedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { botMachine } from '../machines/bot.js';
import { replyTargetOf } from '../machines/conversation-key.js';
import type { roomMachine } from '../machines/room.js';
import type { Notify } from './conversation.js';

export interface BotEffectsDeps {
  room: typeof roomMachine;
  notify: Notify;
  log: Logger;
  /** Settles messages that were owed an answer (they are told to send again instead). */
  settle?: (activityIds: readonly string[]) => void;
}

export function createBotLogic(deps: BotEffectsDeps) {
  const { log } = deps;
  return botMachine.provide({
    actors: { room: deps.room },
    actions: {
      refuseDuringShutdown: (_, { event }) => {
        log.info({ type: event.type }, 'shutting down: event not taken');
        // The person would otherwise wait for an answer that never comes: ask them to resend.
        if (event.type === 'MESSAGE') {
          deps.notify({ kind: 'shuttingDown' }, replyTargetOf(event.message));
          deps.settle?.([event.message.activityId]);
        }
      },
      reportRoomFailure: (_, { roomId, error }) => {
        log.error({ err: asCodedError(error), roomId }, 'room supervisor failed; it was stopped');
      },
    },
  });
}
