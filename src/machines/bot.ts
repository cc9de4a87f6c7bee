/**
 * The root actor (systemId `bot`): routes each inbound event to the supervisor of its room,
 * spawning supervisors on demand and stopping them when they finish. While shutting down it takes
 * no new conversations (SPEC §4 "Connection": SIGTERM stops intake).
 */
import {
  assign,
  type DoneActorEvent,
  type ErrorActorEvent,
  type EventObject,
  enqueueActions,
  setup,
  stopChild,
} from 'xstate';
import { roomMachine } from './room.js';
import type { CardAction, CardSubmission, RoomType, UserMessage } from './types.js';

export interface BotInput {
  maxQueuedPerConversation: number;
}

export interface BotContext extends BotInput {
  /** Room ids (= child ids) of the live room supervisors. */
  rooms: string[];
}

export type BotEvent =
  | { type: 'MESSAGE'; message: UserMessage }
  | { type: 'CARD'; submission: CardSubmission; action?: CardAction }
  | { type: 'BOT_ADDED'; roomId: string; roomType: RoomType }
  /** At start: a conversation whose answer a previous process left running takes it over. */
  | { type: 'RESUME_TURN'; key: string; roomId: string; roomType: RoomType }
  | { type: 'SHUTDOWN' }
  /** After the grace period: cancel the answers still running. */
  | { type: 'CANCEL_ALL' }
  /** After the grace period, with a durable store: hand the running answers over to the next process. */
  | { type: 'HANDOVER_ALL' };

type RoutedEvent = Exclude<BotEvent, { type: 'SHUTDOWN' | 'CANCEL_ALL' | 'HANDOVER_ALL' }>;

function roomOf(event: RoutedEvent): { roomId: string; roomType: RoomType } {
  switch (event.type) {
    case 'MESSAGE':
      return event.message;
    case 'CARD':
      return event.submission;
    case 'BOT_ADDED':
    case 'RESUME_TURN':
      return event;
  }
}

const refuse = {
  actions: {
    type: 'refuseDuringShutdown',
    params: ({ event }: { event: BotEvent | DoneActorEvent }) => ({ event: event as BotEvent }),
  },
} as const;

export const botMachine = setup({
  types: {
    context: {} as BotContext,
    events: {} as BotEvent | DoneActorEvent | ErrorActorEvent,
    input: {} as BotInput,
  },
  actors: { room: roomMachine },
  actions: {
    /** Counted and logged by the composition root: an event that arrived while shutting down. */
    refuseDuringShutdown: (_, _params: { event: BotEvent }) => {},
    reportRoomFailure: (_, _params: { roomId: string; error: unknown }) => {},
    route: enqueueActions(({ context, event, enqueue }) => {
      if (
        event.type !== 'MESSAGE' &&
        event.type !== 'CARD' &&
        event.type !== 'BOT_ADDED' &&
        event.type !== 'RESUME_TURN'
      )
        return;
      const { roomId, roomType } = roomOf(event);
      if (!context.rooms.includes(roomId)) {
        enqueue.spawnChild('room', {
          id: roomId,
          systemId: `room:${roomId}`,
          input: { roomId, roomType, maxQueuedPerConversation: context.maxQueuedPerConversation },
        });
        enqueue.assign({ rooms: [...context.rooms, roomId] });
      }
      enqueue.sendTo(roomId, event);
    }),
  },
}).createMachine({
  id: 'bot',
  context: ({ input }) => ({ ...input, rooms: [] }),
  initial: 'running',
  on: {
    'xstate.done.actor.*': {
      actions: [
        stopChild(({ event }) => childIdOf(event)),
        assign({ rooms: ({ context, event }) => context.rooms.filter((id) => id !== childIdOf(event)) }),
      ],
    },
    // A room supervisor that failed is forgotten: the next event for that room spawns a fresh one.
    'xstate.error.actor.*': {
      actions: [
        {
          type: 'reportRoomFailure',
          params: ({ event }) => ({ roomId: childIdOf(event), error: (event as { error?: unknown }).error }),
        },
        stopChild(({ event }) => childIdOf(event)),
        assign({ rooms: ({ context, event }) => context.rooms.filter((id) => id !== childIdOf(event)) }),
      ],
    },
  },
  states: {
    running: {
      on: {
        SHUTDOWN: 'draining',
        MESSAGE: { actions: 'route' },
        CARD: { actions: 'route' },
        BOT_ADDED: { actions: 'route' },
        RESUME_TURN: { actions: 'route' },
      },
    },
    /** In-flight answers finish (or are cancelled by the shutdown sequence); nothing new starts. */
    draining: {
      on: {
        CANCEL_ALL: {
          actions: enqueueActions(({ context, enqueue }) => {
            for (const roomId of context.rooms) enqueue.sendTo(roomId, { type: 'CANCEL_ALL' });
          }),
        },
        HANDOVER_ALL: {
          actions: enqueueActions(({ context, enqueue }) => {
            for (const roomId of context.rooms) enqueue.sendTo(roomId, { type: 'HANDOVER_ALL' });
          }),
        },
        MESSAGE: refuse,
        CARD: refuse,
        BOT_ADDED: refuse,
      },
    },
  },
});

function childIdOf(event: EventObject): string {
  return (event as { actorId?: string }).actorId ?? '';
}
