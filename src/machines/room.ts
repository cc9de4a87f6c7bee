/**
 * Room supervisor: one per active Webex space. Parses commands, and routes each message to the
 * conversation of its thread (spawned on demand, stopped when it finishes). A conversation that
 * fails is stopped and forgotten; the room and its other conversations carry on.
 */
import { assign, type EventObject, enqueueActions, setup, stopChild } from 'xstate';
import { parseCommand } from './commands.js';
import { conversationMachine } from './conversation.js';
import { conversationKeyOf, replyTargetOf, targetOfKey } from './conversation-key.js';
import type { CardAction, CardSubmission, Notice, ReplyTarget, RoomType, UserMessage } from './types.js';

export interface RoomInput {
  roomId: string;
  roomType: RoomType;
  maxQueuedPerConversation: number;
}

export interface RoomContext extends RoomInput {
  /** Keys (= child ids) of the live conversations. */
  conversations: string[];
}

export type RoomEvent =
  | { type: 'MESSAGE'; message: UserMessage }
  /** `action` is undefined when the card's data is not one of ours. */
  | { type: 'CARD'; submission: CardSubmission; action?: CardAction }
  | { type: 'BOT_ADDED' }
  /** Shutdown: cancel every running answer. */
  | { type: 'CANCEL_ALL' }
  /** Shutdown with a durable store: hand running answers over to the next process (or cancel them). */
  | { type: 'HANDOVER_ALL' }
  /** At start: the conversation `key` has an answer a previous process left running; restoring it takes it over. */
  | { type: 'RESUME_TURN'; key: string };

export const roomMachine = setup({
  types: {
    context: {} as RoomContext,
    events: {} as RoomEvent,
    input: {} as RoomInput,
  },
  actors: { conversation: conversationMachine },
  actions: {
    notify: (_, _params: { notice: Notice; target: ReplyTarget }) => {},
    /** Posts the "Connect to CAIPE" card or the operator instructions, and drops the cached decision. */
    replyAuthorize: (_, _params: { target: ReplyTarget; roomType: RoomType }) => {},
    /** Says hello when the bot joins a space. */
    greet: (_, _params: { roomId: string; roomType: RoomType }) => {},
    reportConversationFailure: (_, _params: { key: string; error: unknown }) => {},
  },
  guards: {
    noConversations: ({ context }) => context.conversations.length === 0,
  },
  delays: {
    /** A room with no live conversation stops; the next message spawns it again. */
    roomIdleTimeout: 60_000,
  },
}).createMachine({
  id: 'room',
  context: ({ input }) => ({ ...input, conversations: [] }),
  initial: 'idle',
  on: {
    MESSAGE: {
      // `settling` goes back to idle when the message spawned nothing (a command, an unknown card).
      target: '.settling',
      actions: enqueueActions(({ context, event, enqueue }) => {
        const { message } = event;
        const target = replyTargetOf(message);
        const key = conversationKeyOf(message);
        const command = parseCommand(message.text);
        const live = context.conversations.includes(key);

        // Files with no text: nothing to answer, and the person should know why. Files with text:
        // the answer says it was given from the text (see the turn), after the space check.
        if (message.hasFiles && message.text === '') {
          enqueue({ type: 'notify', params: { notice: { kind: 'filesOnly' }, target } });
          return;
        }
        if (command === 'help' || message.text === '') {
          enqueue({
            type: 'notify',
            params: { notice: { kind: 'help', group: context.roomType === 'group' }, target },
          });
          return;
        }
        if (command === 'authorize') {
          enqueue({ type: 'replyAuthorize', params: { target, roomType: context.roomType } });
          return;
        }
        if (command === 'cancel' && !live) {
          enqueue({ type: 'notify', params: { notice: { kind: 'nothingToCancel' }, target } });
          return;
        }
        if (!live) {
          enqueue.spawnChild('conversation', {
            id: key,
            systemId: `conversation:${key}`,
            input: {
              key,
              roomId: context.roomId,
              roomType: context.roomType,
              target,
              maxQueued: context.maxQueuedPerConversation,
            },
          });
          enqueue.assign({ conversations: [...context.conversations, key] });
        }
        if (command === 'cancel') enqueue.sendTo(key, { type: 'CANCEL', personId: message.personId });
        else if (command === 'reset') enqueue.sendTo(key, { type: 'RESET', personId: message.personId });
        else enqueue.sendTo(key, { type: 'USER_MESSAGE', message });
      }),
    },
    CANCEL_ALL: {
      actions: enqueueActions(({ context, enqueue }) => {
        for (const key of context.conversations) {
          enqueue.sendTo(key, { type: 'DRAIN' });
          enqueue.sendTo(key, { type: 'CANCEL', reason: 'shutdown' });
        }
      }),
    },
    RESUME_TURN: {
      target: '.settling',
      actions: enqueueActions(({ context, event, enqueue }) => {
        const target = targetOfKey(event.key);
        // A live conversation has restored its record already; a key of another room is not ours.
        if (!target || target.roomId !== context.roomId || context.conversations.includes(event.key)) return;
        enqueue.spawnChild('conversation', {
          id: event.key,
          systemId: `conversation:${event.key}`,
          input: {
            key: event.key,
            roomId: context.roomId,
            roomType: context.roomType,
            target,
            maxQueued: context.maxQueuedPerConversation,
          },
        });
        enqueue.assign({ conversations: [...context.conversations, event.key] });
      }),
    },
    HANDOVER_ALL: {
      actions: enqueueActions(({ context, enqueue }) => {
        for (const key of context.conversations) {
          enqueue.sendTo(key, { type: 'DRAIN', keepPending: true });
          enqueue.sendTo(key, { type: 'HANDOVER' });
        }
      }),
    },
    CARD: {
      target: '.settling',
      actions: enqueueActions(({ context, event, enqueue }) => {
        const { action, submission } = event;
        const target = action ? targetOfKey(action.key) : undefined;
        // Only the conversation a card belongs to can vouch for it, and never across rooms.
        if (!action || !target || target.roomId !== submission.roomId) {
          enqueue({
            type: 'notify',
            params: { notice: { kind: 'unknownCard' }, target: { roomId: submission.roomId } },
          });
          return;
        }
        if (!context.conversations.includes(action.key)) {
          enqueue.spawnChild('conversation', {
            id: action.key,
            systemId: `conversation:${action.key}`,
            input: {
              key: action.key,
              roomId: context.roomId,
              roomType: context.roomType,
              target,
              maxQueued: context.maxQueuedPerConversation,
            },
          });
          enqueue.assign({ conversations: [...context.conversations, action.key] });
        }
        enqueue.sendTo(action.key, { type: 'CARD_ACTION', action });
      }),
    },
    BOT_ADDED: {
      actions: {
        type: 'greet',
        params: ({ context }) => ({ roomId: context.roomId, roomType: context.roomType }),
      },
    },
    'xstate.done.actor.*': {
      target: '.settling',
      actions: [
        stopChild(({ event }) => childIdOf(event)),
        assign({ conversations: ({ context, event }) => withoutChild(context.conversations, event) }),
      ],
    },
    'xstate.error.actor.*': {
      target: '.settling',
      actions: [
        {
          type: 'reportConversationFailure',
          params: ({ event }: { event: EventObject }) => ({
            key: childIdOf(event),
            error: (event as { error?: unknown }).error,
          }),
        },
        stopChild(({ event }) => childIdOf(event)),
        assign({ conversations: ({ context, event }) => withoutChild(context.conversations, event) }),
      ],
    },
  },
  states: {
    idle: { after: { roomIdleTimeout: 'stopped' } },
    active: {},
    settling: { always: [{ guard: 'noConversations', target: 'idle' }, { target: 'active' }] },
    stopped: { type: 'final' },
  },
});

/** Wildcard done/error events are untyped; both carry the child's id as `actorId`. */
export function childIdOf(event: EventObject): string {
  return (event as { actorId?: string }).actorId ?? '';
}

function withoutChild(ids: readonly string[], event: EventObject): string[] {
  const id = childIdOf(event);
  return ids.filter((k) => k !== id);
}
