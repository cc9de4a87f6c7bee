/**
 * One conversation: a Webex thread, or the main conversation of a 1:1 space.
 *
 * Serial inside: a message that arrives while an answer runs waits in `queue` (up to
 * `maxQueued`; more get a "busy" notice). Commands (`cancel`, `reset`) act at once.
 *
 *   restoring → idle → authorizing → answering → saving → idle
 *                          │             │ └──────→ waitingForInput (agent asked) → answering
 *                          └→ denied     └ cancel → idle
 *
 * Pure: effects are named here and provided by `src/actors/conversation.ts`. Durable state is ids
 * only (`contextId`, `taskId`, `traceId`), saved at quiescent points through the store.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { ConversationRecord } from '../adapters/store/ports.js';
import type { Notice, ReplyTarget, RoomType, TurnOutcome, UserMessage } from './types.js';

export interface ConversationInput {
  key: string;
  roomId: string;
  roomType: RoomType;
  target: ReplyTarget;
  maxQueued: number;
}

export interface ConversationContext extends ConversationInput {
  contextId?: string;
  taskId?: string;
  traceId?: string;
  lastAnswerMessageId?: string;
  /** The message being answered (or checked). */
  current?: UserMessage;
  queue: UserMessage[];
  /** An unauthorized thread is told once, not on every message. */
  deniedNoticeSent: boolean;
}

export type ConversationEvent =
  | { type: 'USER_MESSAGE'; message: UserMessage }
  /** `shutdown`: the process is stopping; a running answer is cancelled, a waiting form is kept. */
  | { type: 'CANCEL'; reason?: 'user' | 'shutdown' }
  | { type: 'RESET' };

export interface TurnInput {
  key: string;
  target: ReplyTarget;
  roomType: RoomType;
  message: UserMessage;
  contextId?: string;
  /** Set only when the message answers a task that asked for input. */
  taskId?: string;
  lastAnswerMessageId?: string;
}

export interface SpaceCheckInput {
  roomId: string;
  roomType: RoomType;
}

const conversationSetup = setup({
  types: {
    context: {} as ConversationContext,
    events: {} as ConversationEvent,
    input: {} as ConversationInput,
  },
  actors: {
    // Placeholders so the machine is complete on its own; `provideConversationEffects` replaces them.
    loadConversation: fromPromise<ConversationRecord | undefined, { key: string }>(async () => undefined),
    checkSpace: fromPromise<{ allowed: boolean }, SpaceCheckInput>(async () => ({ allowed: false })),
    runTurn: fromPromise<TurnOutcome, TurnInput>(async () => ({ status: 'failed' })),
    saveConversation: fromPromise<void, ConversationRecord>(async () => undefined),
  },
  actions: {
    notify: (_, _params: { notice: Notice; target: ReplyTarget }) => {},
    forgetConversation: (_, _params: { key: string }) => {},
    enqueueMessage: assign({
      queue: ({ context, event }) =>
        event.type === 'USER_MESSAGE' ? [...context.queue, event.message] : context.queue,
    }),
    takeCurrent: assign({
      current: ({ event }) => (event.type === 'USER_MESSAGE' ? event.message : undefined),
    }),
    takeNextFromQueue: assign({
      current: ({ context }) => context.queue[0],
      queue: ({ context }) => context.queue.slice(1),
    }),
    clearAgentIds: assign({ contextId: undefined, taskId: undefined, traceId: undefined }),
    recordOutcome: assign(({ context, event }) => {
      const outcome = (event as unknown as { output: TurnOutcome }).output;
      return {
        contextId: outcome.contextId ?? context.contextId,
        // Only a task that waits for input stays open; any other ending closes it.
        taskId: outcome.status === 'input-required' ? outcome.taskId : undefined,
        traceId: outcome.traceId ?? context.traceId,
        lastAnswerMessageId: outcome.answerMessageId ?? context.lastAnswerMessageId,
      };
    }),
  },
  guards: {
    allowed: (_, params: { allowed: boolean }) => params.allowed,
    hasQueued: ({ context }) => context.queue.length > 0,
    queueFull: ({ context }) => context.queue.length >= context.maxQueued,
    deniedNoticeSent: ({ context }) => context.deniedNoticeSent,
    hasOpenTask: ({ context }) => context.taskId !== undefined,
    cancelledByUser: ({ event }) => event.type === 'CANCEL' && event.reason !== 'shutdown',
    waitingForInput: (_, params: { status: TurnOutcome['status'] }) => params.status === 'input-required',
  },
  delays: {
    /** An idle conversation stops; its ids live on in the store. */
    idleTimeout: 10 * 60_000,
  },
});

/** A message that arrives while the conversation is busy waits its turn, or is turned away. */
const waitInQueue = [
  {
    guard: 'queueFull',
    actions: {
      type: 'notify',
      params: ({ context }: { context: ConversationContext }) => ({
        notice: { kind: 'busy' } as Notice,
        target: context.target,
      }),
    },
  },
  { actions: 'enqueueMessage' },
] as const;

export const conversationMachine = conversationSetup.createMachine({
  id: 'conversation',
  context: ({ input }) => ({ ...input, queue: [], deniedNoticeSent: false }),
  initial: 'restoring',
  on: {
    RESET: {
      target: '.idle',
      actions: [
        'clearAgentIds',
        assign({ queue: [] }),
        { type: 'forgetConversation', params: ({ context }) => ({ key: context.key }) },
        { type: 'notify', params: ({ context }) => ({ notice: { kind: 'reset' }, target: context.target }) },
      ],
    },
  },
  states: {
    restoring: {
      on: { USER_MESSAGE: waitInQueue },
      invoke: {
        src: 'loadConversation',
        input: ({ context }) => ({ key: context.key }),
        onDone: {
          target: 'restored',
          actions: assign(({ event }) => ({
            contextId: event.output?.contextId,
            taskId: event.output?.taskId,
            traceId: event.output?.traceId,
            lastAnswerMessageId: event.output?.lastAnswerMessageId,
          })),
        },
        // A store that cannot be read must not keep the user waiting: start a fresh context.
        onError: { target: 'next' },
      },
    },
    /** A task that asked for input before a restart still waits for it. */
    restored: {
      always: [{ guard: 'hasOpenTask', target: 'waitingForInput' }, { target: 'next' }],
    },
    idle: {
      on: {
        USER_MESSAGE: { target: 'authorizing', actions: 'takeCurrent' },
        CANCEL: {
          guard: 'cancelledByUser',
          actions: {
            type: 'notify',
            params: ({ context }) => ({ notice: { kind: 'nothingToCancel' }, target: context.target }),
          },
        },
      },
      after: { idleTimeout: 'stopped' },
    },
    authorizing: {
      on: { USER_MESSAGE: waitInQueue, CANCEL: { target: 'next' } },
      invoke: {
        src: 'checkSpace',
        input: ({ context }) => ({ roomId: context.roomId, roomType: context.roomType }),
        onDone: [
          { guard: { type: 'allowed', params: ({ event }) => event.output }, target: 'answering' },
          { target: 'denied' },
        ],
        // Fail closed: an error in the check is a denial.
        onError: { target: 'denied' },
      },
    },
    denied: {
      always: [
        { guard: 'deniedNoticeSent', target: 'next' },
        {
          target: 'next',
          actions: [
            {
              type: 'notify',
              params: ({ context }) => ({ notice: { kind: 'unauthorized' }, target: context.target }),
            },
            assign({ deniedNoticeSent: true }),
          ],
        },
      ],
    },
    answering: {
      on: {
        USER_MESSAGE: waitInQueue,
        // Leaving the state stops the turn: its signal aborts the stream, and the turn runner
        // cancels the agent task and removes its working message.
        CANCEL: {
          target: 'next',
          actions: [
            assign({ taskId: undefined }),
            {
              type: 'notify',
              params: ({ context }) => ({ notice: { kind: 'cancelled' }, target: context.target }),
            },
          ],
        },
      },
      invoke: {
        src: 'runTurn',
        input: ({ context }) => ({
          key: context.key,
          target: context.target,
          roomType: context.roomType,
          message: context.current!,
          contextId: context.contextId,
          taskId: context.taskId,
          lastAnswerMessageId: context.lastAnswerMessageId,
        }),
        onDone: [
          {
            guard: { type: 'waitingForInput', params: ({ event }) => ({ status: event.output.status }) },
            target: 'savingWaiting',
            actions: 'recordOutcome',
          },
          { target: 'saving', actions: 'recordOutcome' },
        ],
        // The turn runner reports agent failures to the user itself; reaching here is a bug in
        // our code, so say something generic and keep the conversation usable.
        onError: {
          target: 'next',
          actions: {
            type: 'notify',
            params: ({ context }) => ({ notice: { kind: 'internalError' }, target: context.target }),
          },
        },
      },
    },
    saving: {
      on: { USER_MESSAGE: waitInQueue },
      invoke: {
        src: 'saveConversation',
        input: ({ context }) => recordOf(context),
        onDone: 'next',
        onError: 'next',
      },
    },
    savingWaiting: {
      on: { USER_MESSAGE: waitInQueue },
      invoke: {
        src: 'saveConversation',
        input: ({ context }) => recordOf(context),
        onDone: 'waitingForInput',
        onError: 'waitingForInput',
      },
    },
    /** The agent asked for input: the next message in the thread answers the open task. */
    waitingForInput: {
      always: { guard: 'hasQueued', target: 'answering', actions: 'takeNextFromQueue' },
      on: {
        USER_MESSAGE: { target: 'answering', actions: 'takeCurrent' },
        CANCEL: {
          guard: 'cancelledByUser',
          target: 'saving',
          actions: [
            assign({ taskId: undefined }),
            {
              type: 'notify',
              params: ({ context }) => ({ notice: { kind: 'cancelled' }, target: context.target }),
            },
          ],
        },
      },
    },
    next: {
      always: [
        { guard: 'hasQueued', target: 'authorizing', actions: 'takeNextFromQueue' },
        { target: 'idle', actions: assign({ current: undefined }) },
      ],
    },
    stopped: { type: 'final' },
  },
});

function recordOf(context: ConversationContext): ConversationRecord {
  return {
    key: context.key,
    roomId: context.roomId,
    contextId: context.contextId,
    taskId: context.taskId,
    traceId: context.traceId,
    lastAnswerMessageId: context.lastAnswerMessageId,
    updatedAt: context.current?.receivedAt ?? 0,
  };
}
