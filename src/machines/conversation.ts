/**
 * One conversation: a Webex thread, or the main conversation of a 1:1 space.
 *
 * Serial inside: a message that arrives while an answer runs waits in `queue` (up to
 * `maxQueued`; more get a "busy" notice). Commands (`cancel`, `reset`) act at once.
 *
 *   restoring → idle → authorizing → answering → saving → idle
 *                          │             │ └──────→ waitingForInput ─ text / form → authorizing
 *                          └→ denied     └ cancel → idle              └ cancel / expiry → saving
 *
 *   answering: fetchingContext → streaming → postingAnswer → postingFeedback → saving
 *                                          ├→ askingForInput → savingWaiting
 *                                          └→ reportingFailure → saving
 *   (the working message is an actor invoked for the whole of `answering`: posted on entry, edited
 *    as progress arrives, deleted when the state is left, whichever way, except a handover)
 *
 *   Shutdown with a durable store: `HANDOVER` leaves a running answer to the next process
 *   (→ handedOver); restored with a running turn, a conversation takes it over (answering.reattaching).
 *
 * Pure: effects are named here and provided by `src/actors/conversation.ts`. Durable state is ids and deadlines
 * (`contextId`, `taskId`, the open form's `deadlineAt`), saved through the store at quiescent
 * points (after an answer, while waiting for input), never timers.
 */
import {
  and,
  assign,
  type EventObject,
  enqueueActions,
  fromCallback,
  fromPromise,
  raise,
  sendTo,
  setup,
} from 'xstate';
import type {
  AgentAsk,
  AgentTurn,
  CardAction,
  ClosedForm,
  ConversationRecord,
  FeedbackCardRecord,
  HistoryMessage,
  Notice,
  PendingForm,
  ReplyTarget,
  RoomType,
  RunningTurnRecord,
  TurnFailure,
  TurnStatus,
  UserMessage,
} from './types.js';

/** Feedback cards remembered per conversation: older ones fall out (their clicks get a notice). */
const MAX_FEEDBACK_CARDS = 20;
const MAX_CLOSED_FORMS = 20;

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
  pendingForm?: PendingForm;
  feedbackCards: FeedbackCardRecord[];
  closedForms: ClosedForm[];
  /** The message being answered (or checked). */
  current?: UserMessage;
  /** A submitted form being answered (instead of `current`'s text). */
  currentForm?: { form: PendingForm['form']; fields: Record<string, unknown> };
  queue: UserMessage[];
  /** A card action that arrived while the conversation was being restored. */
  deferredCard?: CardAction;
  /** An unauthorized thread is told once, not on every message. */
  deniedNoticeSent: boolean;
  /** The thread was told the queue is full; reset once a queued message is taken. */
  busyNoticeSent: boolean;
  /** Failed reads of the stored record so far. */
  restoreAttempts: number;
  /** Earlier turns for agents that hold no memory; bounded by the effect that appends to it. */
  history: HistoryMessage[];
  /** How many times `reset` started the thread afresh. */
  generation: number;
  /** Who the open task waits for (with `HITL_ANSWERED_BY=requester`, only they answer it). */
  taskOwner?: { personId: string; name: string };
  /** The turn being answered: what the agent was asked, and its side of the turn so far. */
  ask?: AgentAsk;
  turn?: AgentTurn;
  failure?: TurnFailure;
  /** A running turn found in the store (its process stopped or died): taken over at restore. */
  resumeTurn?: RunningTurnRecord;
}

export type ConversationEvent =
  | { type: 'USER_MESSAGE'; message: UserMessage }
  /** `shutdown`: the process is stopping; a running answer is cancelled, a waiting form is kept. */
  | { type: 'CANCEL'; reason?: 'user' | 'shutdown'; personId?: string }
  | { type: 'RESET'; personId?: string }
  /**
   * Shutdown: nothing queued starts any more (sent before the shutdown CANCEL). `keepPending`: a
   * handover, so the next process tells the queued messages' senders (they stay owed).
   */
  | { type: 'DRAIN'; keepPending?: boolean }
  | { type: 'CARD_ACTION'; action: CardAction }
  /** From `agentStream`: the agent's side of the turn changed (the latest state, whole). */
  | { type: 'AGENT.PROGRESS'; turn: AgentTurn }
  /** From `agentStream`: the stream ended with a terminal state. */
  | { type: 'AGENT.DONE'; turn: AgentTurn }
  /** From `agentStream`: the stream failed (unreachable, HTTP error, cut, idle, malformed). */
  | { type: 'AGENT.FAILED'; turn: AgentTurn; failure: TurnFailure }
  /** From `workingMessage`: a concurrency limit is reached; the turn does not start. */
  | { type: 'TURN.BUSY'; scope: 'bot' | 'person' }
  /**
   * Shutdown past the grace period with a durable store: a running answer the agent lets another
   * process re-attach to is left running for the next process (its working message stays up, its
   * task is not cancelled); any other is cancelled as with `CANCEL` `shutdown`.
   */
  | { type: 'HANDOVER' }
  /** Raised after `handOverTurn`: the answer is left; the conversation stops. */
  | { type: 'TURN.HANDED_OVER' }
  /** From `resumeTurn`: the taken-over answer cannot be recovered (the person is told once). */
  | { type: 'TURN.LOST' }
  /**
   * From `holdLease` (replicas): another process owns this conversation now (this one was paused
   * or cut off past its lease). Nothing more is said or written here; the new owner carries on.
   */
  | { type: 'LEASE.LOST' };

/** What the working message actor is told while the agent streams. */
export type WorkingMessageEvent = { type: 'PROGRESS'; turn: AgentTurn };

export interface TurnInput {
  key: string;
  target: ReplyTarget;
  roomType: RoomType;
  message: UserMessage;
  contextId?: string;
  /** Set only when the message answers a task that asked for input. */
  taskId?: string;
  lastAnswerMessageId?: string;
  /** The message answers a form: its values are sent as text lines and a `resume` part. */
  formAnswer?: { form: PendingForm['form']; fields: Record<string, unknown> };
  history?: readonly HistoryMessage[];
  generation?: number;
}

/** Input of the effects that post a turn's result. */
export interface TurnResultInput {
  key: string;
  target: ReplyTarget;
  /** When the event arrived: the turn's timings count from here. */
  receivedAt: number;
  turn: AgentTurn;
  failure?: TurnFailure;
  /** The question came with files (a `share`): the answer says they were not read. */
  hasFiles?: boolean;
  /** The conversation's earlier turns and what was asked now, for the next history. */
  history?: readonly HistoryMessage[];
  asked?: string;
}

/** Input of the working message actor. */
export interface WorkingMessageInput {
  key: string;
  target: ReplyTarget;
  receivedAt: number;
  /** Whose turn it is (`MAX_TURNS_PER_PERSON`). */
  personId: string;
  /** The message answered and the conversation's record as the turn starts (its running turn is kept in the store). */
  start?: RunningTurnStart;
}

/** What the running turn record starts from. */
export interface RunningTurnStart {
  record: ConversationRecord;
  activityId: string;
  messageId: string;
  roomType: RoomType;
  person: { personId: string; email?: string; name?: string };
  receivedAt: number;
  hasFiles?: boolean;
}

export interface AgentStreamInput {
  key: string;
  target: ReplyTarget;
  ask: AgentAsk;
}

/** What `postAnswer` posted, and the history with this turn in it. */
export interface PostedAnswer {
  answerMessageId?: string;
  history?: HistoryMessage[];
}

/** What `askForInput` posted: the question (and the form card, when the agent sent a form). */
export interface AskedForInput {
  answerMessageId?: string;
  pendingForm?: PendingForm;
}

/** Input of the takeover effects (`resumeTurn`, `reportInterruption`). */
export interface ResumeTurnInput {
  key: string;
  target: ReplyTarget;
}

export interface SpaceCheckInput {
  roomId: string;
  roomType: RoomType;
}

function cardActionOf(event: EventObject): CardAction | undefined {
  return event.type === 'CARD_ACTION'
    ? (event as { type: 'CARD_ACTION'; action: CardAction }).action
    : undefined;
}

/** Who sent a message, card, `cancel` or `reset`; undefined for events without a person (shutdown). */
function personOfEvent(event: EventObject): string | undefined {
  const e = event as {
    type: string;
    message?: UserMessage;
    action?: CardAction;
    personId?: string;
  };
  if (e.type === 'USER_MESSAGE') return e.message?.personId;
  if (e.type === 'CARD_ACTION') return e.action?.submission.personId;
  if (e.type === 'CANCEL' || e.type === 'RESET') return e.personId;
  return undefined;
}

function closedFormNotice(context: ConversationContext, cardId: string): Notice {
  const closed = context.closedForms.find((f) => f.cardId === cardId);
  if (closed?.reason === 'expired') return { kind: 'formExpired' };
  if (closed) return { kind: 'formAlreadySubmitted' };
  return { kind: 'unknownCard' };
}

const conversationSetup = setup({
  types: {
    context: {} as ConversationContext,
    events: {} as ConversationEvent,
    input: {} as ConversationInput,
  },
  actors: {
    // Placeholders so the machine is complete on its own; `src/actors/conversation.ts` provides
    // the real ones (the turn's effects fail loudly until then).
    loadConversation: fromPromise<ConversationRecord | undefined, { key: string }>(async () => undefined),
    checkSpace: fromPromise<{ allowed: boolean }, SpaceCheckInput>(async () => ({ allowed: false })),
    workingMessage: fromCallback<WorkingMessageEvent, WorkingMessageInput>(() =>
      notProvided('workingMessage'),
    ),
    buildRequest: fromPromise<AgentAsk, TurnInput>(async () => notProvided('buildRequest')),
    agentStream: fromCallback<EventObject, AgentStreamInput>(() => notProvided('agentStream')),
    postAnswer: fromPromise<{ answerMessageId?: string }, TurnResultInput>(async () =>
      notProvided('postAnswer'),
    ),
    postFeedback: fromPromise<FeedbackCardRecord | undefined, TurnResultInput>(async () =>
      notProvided('postFeedback'),
    ),
    askForInput: fromPromise<AskedForInput, TurnResultInput>(async () => notProvided('askForInput')),
    reportFailure: fromPromise<void, TurnResultInput>(async () => notProvided('reportFailure')),
    resumeTurn: fromCallback<EventObject, ResumeTurnInput>(() => notProvided('resumeTurn')),
    reportInterruption: fromPromise<void, ResumeTurnInput>(async () => notProvided('reportInterruption')),
    saveConversation: fromPromise<void, ConversationRecord>(async () => undefined),
    /** Holds the conversation's lease while it lives (replicas); one process needs none. */
    holdLease: fromCallback<EventObject, { key: string }>(() => {}),
  },
  actions: {
    notify: (_, _params: { notice: Notice; target: ReplyTarget }) => {},
    /** `refused_total{reason}`. */
    countRefusal: (_, _params: { reason: 'busy' | 'bounds' | 'form-owner' }) => {},
    /** `reset`: the agent ids and history go; the reset count stays (a new CAIPE conversation). */
    forgetConversation: (_, _params: { key: string; roomId: string; generation: number }) => {},
    /** Asks the agent to cancel a task nobody will answer any more. */
    cancelAgentTask: (_, _params: { taskId: string }) => {},
    /** Marks the running answer as handed over (before its actors stop, so they leave it as it is). */
    handOverTurn: (_, _params: { key: string }) => {},
    /** A running answer that cannot be handed over (no task yet, or a backend that cannot re-attach). */
    handOverRefused: (_, _params: { key: string }) => {},
    /** The conversation takes over the running turn of its restored record (before `answering` starts). */
    adoptTurn: (_, _params: { key: string; record: ConversationRecord }) => {},
    /** Messages claimed for this conversation are answered or turned away: nothing more is owed. */
    settleMessages: (_, _params: { activityIds: string[] }) => {},
    /** The taken-over turn's message becomes the one being answered. */
    takeOverTurn: assign(({ context }) => {
      const turn = context.resumeTurn!;
      return {
        current: {
          activityId: turn.activityId,
          roomId: context.roomId,
          roomType: turn.roomType,
          messageId: turn.messageId,
          personId: turn.person.personId,
          personEmail: turn.person.email ?? '',
          ...(turn.person.name ? { personName: turn.person.name } : {}),
          // Never sent again: the agent has it.
          text: '',
          hasFiles: turn.hasFiles === true,
          receivedAt: turn.receivedAt,
          spaceAllowed: true,
        },
        currentForm: undefined,
        contextId: turn.contextId ?? context.contextId,
        traceId: turn.traceId ?? context.traceId,
      };
    }),
    /** Scores a feedback click (and thanks the user). */
    recordFeedback: (_, _params: { action: CardAction; card: FeedbackCardRecord; target: ReplyTarget }) => {},
    enqueueMessage: assign({
      queue: ({ context, event }) =>
        event.type === 'USER_MESSAGE' ? [...context.queue, event.message] : context.queue,
    }),
    takeCurrent: assign({
      current: ({ event }) => (event.type === 'USER_MESSAGE' ? event.message : undefined),
      currentForm: undefined,
    }),
    markBusyNoticeSent: assign({ busyNoticeSent: true }),
    /** A message dropped because the queue is full and the thread was already told. */
    turnAway: (_, _params: { messageId: string }) => {},
    takeNextFromQueue: assign({
      busyNoticeSent: false,
      current: ({ context }) => context.queue[0],
      currentForm: undefined,
      queue: ({ context }) => context.queue.slice(1),
    }),
    /** The agent's side of the turn as the latest progress or end event has it. */
    keepTurn: assign({
      turn: ({ context, event }) => ('turn' in event ? event.turn : context.turn),
    }),
    clearAgentIds: assign({
      contextId: undefined,
      taskId: undefined,
      traceId: undefined,
      taskOwner: undefined,
    }),
    forgetTask: assign({ taskId: undefined, taskOwner: undefined }),
    countRestoreAttempt: assign({ restoreAttempts: ({ context }) => context.restoreAttempts + 1 }),
    dropQueue: assign({ queue: [] }),
    /** The turn is over: keep its ids; only a task that waits for input stays open. */
    recordTurn: assign(({ context }, params: { status: TurnStatus }) => ({
      contextId: context.turn?.contextId ?? context.contextId,
      taskId: params.status === 'input-required' ? context.turn?.taskId : undefined,
      taskOwner:
        params.status === 'input-required' && context.current
          ? {
              personId: context.current.personId,
              name: context.current.personName || context.current.personEmail || context.current.personId,
            }
          : undefined,
      traceId: context.turn?.traceId ?? context.traceId,
      currentForm: undefined,
      ask: undefined,
      turn: undefined,
      failure: undefined,
    })),
    /** The turn ended in a bug of ours: nothing of it is kept. */
    forgetTurn: assign({
      taskId: undefined,
      currentForm: undefined,
      ask: undefined,
      turn: undefined,
      failure: undefined,
    }),
    recordAnswerMessage: assign(({ context, event }) => {
      const output = (event as unknown as { output?: PostedAnswer }).output;
      return {
        lastAnswerMessageId: output?.answerMessageId ?? context.lastAnswerMessageId,
        history: output?.history ?? context.history,
      };
    }),
    recordFeedbackCard: assign({
      feedbackCards: ({ context, event }) => {
        const card = (event as unknown as { output?: FeedbackCardRecord }).output;
        return card ? [...context.feedbackCards, card].slice(-MAX_FEEDBACK_CARDS) : context.feedbackCards;
      },
    }),
    recordPendingForm: assign({
      pendingForm: ({ event }) => (event as unknown as { output: AskedForInput }).output.pendingForm,
    }),
    showProgress: sendTo('working', ({ event }) => ({
      type: 'PROGRESS' as const,
      turn: (event as Extract<ConversationEvent, { type: 'AGENT.PROGRESS' }>).turn,
    })),
    /** The open form is over: remember how, so a late submission gets the right notice. */
    closeForm: assign(({ context }, params: { reason: ClosedForm['reason'] }) => ({
      pendingForm: undefined,
      closedForms: context.pendingForm
        ? [...context.closedForms, { cardId: context.pendingForm.cardId, reason: params.reason }].slice(
            -MAX_CLOSED_FORMS,
          )
        : context.closedForms,
    })),
    takeFormAnswer: assign(({ context, event }) => {
      const action = cardActionOf(event)!;
      return {
        currentForm: { form: context.pendingForm!.form, fields: action.fields },
        current: {
          activityId: action.submission.activityId,
          roomId: action.submission.roomId,
          roomType: action.submission.roomType,
          messageId: action.submission.cardMessageId,
          personId: action.submission.personId,
          // Looked up by the turn runner: a card action carries only the person id.
          personEmail: '',
          text: '',
          hasFiles: false,
          receivedAt: action.submission.receivedAt,
        },
      };
    }),
    deferCard: assign({ deferredCard: ({ event }) => cardActionOf(event) }),
    /** Handles a card action that arrived during the restore, now that the conversation knows its cards. */
    replayDeferredCard: enqueueActions(({ context, enqueue }) => {
      if (!context.deferredCard) return;
      enqueue.raise({ type: 'CARD_ACTION', action: context.deferredCard });
      enqueue.assign({ deferredCard: undefined });
    }),
  },
  guards: {
    allowed: (_, params: { allowed: boolean }) => params.allowed,
    spaceAllowedAtIntake: ({ context }) => context.current?.spaceAllowed === true,
    spaceDeniedAtIntake: ({ context }) => context.current?.spaceAllowed === false,
    hasQueued: ({ context }) => context.queue.length > 0,
    queueFull: ({ context }) => context.queue.length >= context.maxQueued,
    /** While loading, the first message is the one about to be answered, not one waiting behind it. */
    queueFullWhileRestoring: ({ context }) => context.queue.length >= context.maxQueued + 1,
    deniedNoticeSent: ({ context }) => context.deniedNoticeSent,
    busyNoticeSent: ({ context }) => context.busyNoticeSent,
    hasOpenTask: ({ context }) => context.taskId !== undefined,
    hasRunningTurn: ({ context }) => context.resumeTurn !== undefined,
    /** `HITL_ANSWERED_BY`: `requester` unless the effect layer says `space`. */
    answersRestrictedToRequester: (_) => true,
    /**
     * The event comes from someone other than the person the open task waits for (a message, a
     * card, `cancel` or `reset`); events without a person (shutdown) are nobody's.
     */
    fromAnotherPerson: ({ context, event }) => {
      if (context.taskId === undefined || !context.taskOwner) return false;
      const personId = personOfEvent(event);
      return personId !== undefined && personId !== context.taskOwner.personId;
    },
    mayRetryRestore: ({ context }) => context.restoreAttempts < 1,
    /** The running answer can be taken over by the next process; provided by the effect layer. */
    mayHandOver: (_) => false,
    cancelledByUser: ({ event }) => event.type === 'CANCEL' && event.reason !== 'shutdown',
    /** The agent ended the turn itself without an answer: failed, rejected or cancelled on its side. */
    agentEndedWithoutAnswer: ({ event }) => {
      const status = (event as Extract<ConversationEvent, { type: 'AGENT.DONE' }>).turn.status;
      return status === 'failed' || status === 'rejected' || status === 'canceled';
    },
    agentAsksForInput: ({ event }) => {
      const status = (event as Extract<ConversationEvent, { type: 'AGENT.DONE' }>).turn.status;
      return status === 'input-required' || status === 'auth-required';
    },
    /** A feedback click on a card this conversation posted (the Webex message id must match). */
    isKnownFeedback: ({ context, event }) => {
      const action = cardActionOf(event);
      return (
        action?.kind === 'feedback' &&
        context.feedbackCards.some(
          (c) => c.cardId === action.cardId && c.cardMessageId === action.submission.cardMessageId,
        )
      );
    },
    /** A submission of the form card that is open right now (the Webex message id must match). */
    isOpenForm: ({ context, event }) => {
      const action = cardActionOf(event);
      const form = context.pendingForm;
      return (
        (action?.kind === 'form' || action?.kind === 'formCancel') &&
        form !== undefined &&
        form.cardId === action.cardId &&
        form.cardMessageId === action.submission.cardMessageId
      );
    },
    isPastDeadline: ({ context, event }) => {
      const action = cardActionOf(event);
      return (
        action !== undefined &&
        context.pendingForm !== undefined &&
        action.submission.receivedAt > context.pendingForm.deadlineAt
      );
    },
    isFormCancel: ({ event }) => cardActionOf(event)?.kind === 'formCancel',
    isClosedForm: ({ context, event }) => {
      const action = cardActionOf(event);
      return action !== undefined && context.closedForms.some((f) => f.cardId === action.cardId);
    },
    isFormAction: ({ event }) => {
      const kind = cardActionOf(event)?.kind;
      return kind === 'form' || kind === 'formCancel';
    },
  },
  delays: {
    /** An idle conversation stops; its ids live on in the store. */
    idleTimeout: 10 * 60_000,
    restoreRetryDelay: 1_000,
    /** `AGENT_TURN_TIMEOUT_S`, provided by the effect layer. */
    turnDeadline: 30 * 60_000,
    /** Until the open form's deadline; provided with the real clock by `src/app.ts`. */
    formDeadline: 24 * 60 * 60_000,
  },
});

/** The ids of the messages a transition drops: nothing is owed for them any more (they were told). */
function droppedIds(context: ConversationContext, which: { current?: boolean; queue?: boolean }): string[] {
  return [
    ...(which.current && context.current ? [context.current.activityId] : []),
    ...(which.queue ? context.queue.map((m) => m.activityId) : []),
  ];
}

const settleQueue = {
  type: 'settleMessages',
  params: ({ context }: { context: ConversationContext }) => ({
    activityIds: droppedIds(context, { queue: true }),
  }),
} as const;

const settleCurrentAndQueue = {
  type: 'settleMessages',
  params: ({ context }: { context: ConversationContext }) => ({
    activityIds: droppedIds(context, { current: true, queue: true }),
  }),
} as const;

/** The message arriving is turned away (the thread is told the queue is full): nothing more is owed. */
const settleArriving = {
  type: 'settleMessages',
  params: ({ event }: { event: EventObject }) => {
    const id = (event as { message?: UserMessage }).message?.activityId;
    return { activityIds: id ? [id] : [] };
  },
} as const;

/**
 * A message that arrives while the conversation is busy waits its turn, or is turned away. The
 * thread is told once per full-queue episode, not once per message: a flood must not become a
 * flood of notices.
 */
function waitInQueue(full: 'queueFull' | 'queueFullWhileRestoring') {
  return [
    {
      guard: and([full, 'busyNoticeSent']),
      actions: [
        settleArriving,
        {
          type: 'turnAway',
          params: ({ event }: { event: EventObject }) => ({
            messageId: (event as { message?: UserMessage }).message?.messageId ?? '',
          }),
        },
      ],
    },
    {
      guard: full,
      actions: [
        settleArriving,
        {
          type: 'notify',
          params: ({ context }: { context: ConversationContext }) => ({
            notice: { kind: 'busy' } as Notice,
            target: context.target,
          }),
        },
        'markBusyNoticeSent',
      ],
    },
    { actions: 'enqueueMessage' },
  ] as const;
}

/** Card actions outside of a waiting form: feedback is scored; a form submission gets a notice. */
const handleCardAction = [
  {
    guard: 'isKnownFeedback',
    actions: {
      type: 'recordFeedback',
      params: ({ context, event }: { context: ConversationContext; event: EventObject }) => {
        const action = cardActionOf(event)!;
        const card = context.feedbackCards.find((c) => c.cardId === action.cardId)!;
        return { action, card, target: context.target };
      },
    },
  },
  {
    actions: {
      type: 'notify',
      params: ({ context, event }: { context: ConversationContext; event: EventObject }) => {
        const action = cardActionOf(event)!;
        return {
          notice:
            action.kind === 'feedback'
              ? ({ kind: 'unknownCard' } as Notice)
              : closedFormNotice(context, action.cardId),
          target: context.target,
        };
      },
    },
  },
] as const;

/**
 * The open task will not be answered (expired, cancelled): close its form, ask the agent to cancel
 * the task, forget it, and tell the thread why.
 */
function closeOpenTask(reason: ClosedForm['reason'], notice: 'formExpired' | 'formCancelled' | 'cancelled') {
  return [
    { type: 'closeForm', params: { reason } },
    {
      type: 'cancelAgentTask',
      params: ({ context }: { context: ConversationContext }) => ({ taskId: context.taskId! }),
    },
    'forgetTask',
    {
      type: 'notify',
      params: ({ context }: { context: ConversationContext }) => ({
        notice: { kind: notice } as Notice,
        target: context.target,
      }),
    },
  ] as const;
}

/**
 * While an answer is still being posted, the user may already click the card it carries (a form,
 * or the feedback buttons) before the conversation has recorded it. Keep such a click until the
 * turn is recorded, then handle it; clicks on cards already known or closed are handled at once.
 */
const cardDuringAnswer = [
  handleCardAction[0],
  { guard: 'isClosedForm', actions: handleCardAction[1].actions },
  { actions: 'deferCard' },
] as const;

/** After an answer, while its ids are saved: the answer is out, so `cancel` only drops the queue. */
const whileSaving = {
  USER_MESSAGE: waitInQueue('queueFull'),
  CARD_ACTION: cardDuringAnswer,
  CANCEL: {
    guard: 'cancelledByUser',
    actions: [
      settleQueue,
      'dropQueue',
      {
        type: 'notify',
        params: ({ context }: { context: ConversationContext }) => ({
          notice: { kind: 'nothingToCancel' } as Notice,
          target: context.target,
        }),
      },
    ],
  },
} as const;

/** Someone else answered (or cancelled) the task that waits for its requester: say who it waits for. */
const refuseForeign = {
  guard: and(['answersRestrictedToRequester', 'fromAnotherPerson']),
  actions: [
    { type: 'countRefusal', params: { reason: 'form-owner' } },
    {
      type: 'notify',
      params: ({ context }: { context: ConversationContext }) => ({
        notice: { kind: 'formOwned', owner: context.taskOwner?.name ?? '' } as Notice,
        target: context.target,
      }),
    },
  ],
} as const;

/** A bug in our own effects (not an agent failure): say something generic, keep the thread usable. */
const internalError = [
  'forgetTurn',
  {
    type: 'notify',
    params: ({ context }: { context: ConversationContext }) => ({
      notice: { kind: 'internalError' } as Notice,
      target: context.target,
    }),
  },
] as const;

function turnInputOf(context: ConversationContext): TurnInput {
  return {
    key: context.key,
    target: context.target,
    roomType: context.roomType,
    message: context.current!,
    contextId: context.contextId,
    taskId: context.taskId,
    lastAnswerMessageId: context.lastAnswerMessageId,
    ...(context.currentForm ? { formAnswer: context.currentForm } : {}),
    history: context.history,
    generation: context.generation,
  };
}

function turnResultOf(context: ConversationContext): TurnResultInput {
  return {
    key: context.key,
    target: context.target,
    receivedAt: context.current!.receivedAt,
    turn: context.turn ?? { status: 'unknown' },
    ...(context.failure ? { failure: context.failure } : {}),
    ...(context.current?.hasFiles ? { hasFiles: true } : {}),
    history: context.history,
    ...(context.ask ? { asked: context.ask.text } : {}),
  };
}

function runningTurnStartOf(context: ConversationContext): RunningTurnStart {
  const message = context.current!;
  return {
    record: recordOf(context),
    activityId: message.activityId,
    messageId: message.messageId,
    roomType: message.roomType,
    person: {
      personId: message.personId,
      ...(message.personEmail ? { email: message.personEmail } : {}),
      ...(message.personName ? { name: message.personName } : {}),
    },
    receivedAt: message.receivedAt,
    ...(message.hasFiles ? { hasFiles: true } : {}),
  };
}

function notProvided(name: string): never {
  throw new Error(`conversation effect "${name}" was not provided`);
}

/** Where a finished agent turn goes, whether it streamed here or was taken over from another process. */
const afterAgentDone = [
  { guard: 'agentEndedWithoutAnswer', target: 'reportingFailure', actions: 'keepTurn' },
  { guard: 'agentAsksForInput', target: 'askingForInput', actions: 'keepTurn' },
  { target: 'postingAnswer', actions: 'keepTurn' },
] as const;

export const conversationMachine = conversationSetup.createMachine({
  id: 'conversation',
  context: ({ input }) => ({
    ...input,
    queue: [],
    feedbackCards: [],
    closedForms: [],
    deniedNoticeSent: false,
    busyNoticeSent: false,
    restoreAttempts: 0,
    history: [],
    generation: 0,
  }),
  initial: 'restoring',
  invoke: { src: 'holdLease', input: ({ context }) => ({ key: context.key }) },
  on: {
    'LEASE.LOST': { target: '.yielded' },
    RESET: [
      refuseForeign,
      {
        target: '.idle',
        actions: [
          'clearAgentIds',
          { type: 'closeForm', params: { reason: 'cancelled' } },
          settleCurrentAndQueue,
          assign({ queue: [], history: [], generation: ({ context }) => context.generation + 1 }),
          {
            type: 'forgetConversation',
            params: ({ context }) => ({
              key: context.key,
              roomId: context.roomId,
              generation: context.generation,
            }),
          },
          {
            type: 'notify',
            params: ({ context }) => ({ notice: { kind: 'reset' }, target: context.target }),
          },
        ],
      },
    ],
    CARD_ACTION: handleCardAction,
    DRAIN: [
      { guard: ({ event }) => event.keepPending === true, actions: assign({ queue: [] }) },
      { actions: [settleQueue, assign({ queue: [] })] },
    ],
  },
  states: {
    restoring: {
      on: {
        USER_MESSAGE: waitInQueue('queueFullWhileRestoring'),
        CARD_ACTION: { actions: 'deferCard' },
        CANCEL: {
          guard: 'cancelledByUser',
          actions: [
            settleQueue,
            assign({ queue: [] }),
            {
              type: 'notify',
              params: ({ context }) => ({ notice: { kind: 'cancelled' }, target: context.target }),
            },
          ],
        },
      },
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
            pendingForm: event.output?.pendingForm,
            taskOwner: event.output?.taskOwner,
            history: event.output?.history ?? [],
            generation: event.output?.generation ?? 0,
            feedbackCards: event.output?.feedbackCards ?? [],
            closedForms: event.output?.closedForms ?? [],
            resumeTurn: event.output?.runningTurn,
          })),
        },
        // A store error is often brief: try once more before starting a fresh agent context
        // (which the next save would write over the stored one).
        onError: [
          { guard: 'mayRetryRestore', target: 'restoreRetry', actions: 'countRestoreAttempt' },
          { target: 'restored' },
        ],
      },
    },
    /** A short pause before reading the store again; messages keep queueing meanwhile. */
    restoreRetry: {
      on: {
        USER_MESSAGE: waitInQueue('queueFullWhileRestoring'),
        CARD_ACTION: { actions: 'deferCard' },
      },
      after: { restoreRetryDelay: 'restoring' },
    },
    /** A task that asked for input before a restart still waits for it; a deferred card is handled now. */
    restored: {
      entry: 'replayDeferredCard',
      always: [
        // A previous process left an answer running: take it over before anything else.
        {
          guard: 'hasRunningTurn',
          target: '#conversation.answering.reattaching',
          actions: [
            {
              type: 'adoptTurn',
              params: ({ context }) => ({
                key: context.key,
                record: { ...recordOf(context), runningTurn: context.resumeTurn },
              }),
            },
            'takeOverTurn',
          ],
        },
        { guard: 'hasOpenTask', target: 'waitingForInput' },
        { target: 'next' },
      ],
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
      on: {
        USER_MESSAGE: waitInQueue('queueFull'),
        HANDOVER: { actions: raise({ type: 'CANCEL', reason: 'shutdown' }) },
        // The question had not reached the agent yet: drop it (and what waits behind it).
        CANCEL: {
          target: 'next',
          actions: [
            settleCurrentAndQueue,
            assign({ queue: [] }),
            {
              type: 'notify',
              params: ({ context, event }) => ({
                notice: { kind: event.reason === 'shutdown' ? 'shuttingDown' : 'cancelled' },
                target: context.target,
              }),
            },
          ],
        },
      },
      initial: 'deciding',
      states: {
        /** The intake decided the space when the message arrived; a form answer is checked again. */
        deciding: {
          always: [
            { guard: 'spaceAllowedAtIntake', target: '#conversation.answering' },
            { guard: 'spaceDeniedAtIntake', target: '#conversation.denied' },
            { target: 'checkingSpace' },
          ],
        },
        checkingSpace: {
          invoke: {
            src: 'checkSpace',
            input: ({ context }) => ({ roomId: context.roomId, roomType: context.roomType }),
            onDone: [
              {
                guard: { type: 'allowed', params: ({ event }) => event.output },
                target: '#conversation.answering',
              },
              { target: '#conversation.denied' },
            ],
            // Fail closed: an error in the check is a denial.
            onError: { target: '#conversation.denied' },
          },
        },
      },
    },
    denied: {
      always: [
        {
          guard: 'deniedNoticeSent',
          target: 'next',
          actions: {
            type: 'settleMessages',
            params: ({ context }) => ({ activityIds: droppedIds(context, { current: true }) }),
          },
        },
        {
          target: 'next',
          actions: [
            {
              type: 'settleMessages',
              params: ({ context }) => ({ activityIds: droppedIds(context, { current: true }) }),
            },
            {
              type: 'notify',
              params: ({ context }) => ({
                notice: { kind: context.current?.spaceUnavailable ? 'spaceUnavailable' : 'unauthorized' },
                target: context.target,
              }),
            },
            assign({ deniedNoticeSent: true }),
          ],
        },
      ],
    },
    answering: {
      on: {
        'TURN.BUSY': {
          target: 'next',
          actions: [
            {
              type: 'settleMessages',
              params: ({ context }) => ({ activityIds: droppedIds(context, { current: true }) }),
            },
            'forgetTurn',
            { type: 'countRefusal', params: { reason: 'busy' } },
            {
              type: 'notify',
              params: ({ context, event }) => ({
                notice: { kind: 'busyTurns', scope: event.scope },
                target: context.target,
              }),
            },
          ],
        },
        USER_MESSAGE: waitInQueue('queueFull'),
        CARD_ACTION: cardDuringAnswer,
        HANDOVER: [
          {
            guard: 'mayHandOver',
            actions: [
              { type: 'handOverTurn', params: ({ context }) => ({ key: context.key }) },
              raise({ type: 'TURN.HANDED_OVER' }),
            ],
          },
          {
            actions: [
              { type: 'handOverRefused', params: ({ context }) => ({ key: context.key }) },
              raise({ type: 'CANCEL', reason: 'shutdown' }),
            ],
          },
        ],
        'TURN.HANDED_OVER': { target: '#conversation.handedOver' },
        // Leaving the state stops the turn: its signal aborts the stream, and the turn runner
        // cancels the agent task and removes its working message.
        CANCEL: {
          target: 'next',
          actions: [
            {
              type: 'settleMessages',
              params: ({ context, event }) => ({
                activityIds: droppedIds(context, { current: true, queue: event.reason === 'shutdown' }),
              }),
            },
            assign({
              taskId: undefined,
              currentForm: undefined,
              ask: undefined,
              turn: undefined,
              failure: undefined,
              // Shutting down: messages waiting behind this answer would start new turns; drop them
              // (the shutdown notice tells the thread to ask again).
              queue: ({ context, event }) => (event.reason === 'shutdown' ? [] : context.queue),
            }),
            {
              type: 'notify',
              params: ({ context, event }) => ({
                notice: { kind: event.reason === 'shutdown' ? 'shuttingDown' : 'cancelled' },
                target: context.target,
              }),
            },
          ],
        },
      },
      // The working message lives exactly as long as the answer: leaving `answering` by any
      // transition (answer posted, cancel, reset, failure) stops it, and stopping deletes it.
      invoke: {
        id: 'working',
        src: 'workingMessage',
        input: ({ context }) => ({
          key: context.key,
          target: context.target,
          receivedAt: context.current!.receivedAt,
          personId: context.current!.personId,
          start: runningTurnStartOf(context),
        }),
      },
      after: {
        // `AGENT_TURN_TIMEOUT_S`: leaving the state stops the stream (the agent's task is cancelled)
        // and the working message. Waiting for a form answer is not in this state, so not counted.
        turnDeadline: {
          target: 'next',
          actions: [
            'forgetTurn',
            { type: 'countRefusal', params: { reason: 'bounds' } },
            {
              type: 'notify',
              params: ({ context }) => ({ notice: { kind: 'turnTimedOut' }, target: context.target }),
            },
          ],
        },
      },
      initial: 'fetchingContext',
      states: {
        /** The prompt: thread context, or a form's answer; the asker's email. */
        fetchingContext: {
          invoke: {
            src: 'buildRequest',
            input: ({ context }) => turnInputOf(context),
            onDone: { target: 'streaming', actions: assign({ ask: ({ event }) => event.output }) },
            onError: { target: '#conversation.next', actions: internalError },
          },
        },
        /** The agent streams; progress goes to the working message as it arrives. */
        streaming: {
          invoke: {
            id: 'agent',
            src: 'agentStream',
            input: ({ context }) => ({ key: context.key, target: context.target, ask: context.ask! }),
          },
          on: {
            'AGENT.PROGRESS': { actions: ['keepTurn', 'showProgress'] },
            'AGENT.DONE': afterAgentDone,
            'AGENT.FAILED': {
              target: 'reportingFailure',
              actions: assign({ turn: ({ event }) => event.turn, failure: ({ event }) => event.failure }),
            },
          },
        },
        /**
         * Taking over a turn a previous process left running: what it posted is settled, then the
         * agent's task is read or re-attached to (never asked again); the answer goes on as usual.
         */
        reattaching: {
          exit: assign({ resumeTurn: undefined }),
          invoke: {
            id: 'agent',
            src: 'resumeTurn',
            input: ({ context }) => ({ key: context.key, target: context.target }),
          },
          on: {
            'AGENT.PROGRESS': { actions: ['keepTurn', 'showProgress'] },
            'AGENT.DONE': afterAgentDone,
            'TURN.LOST': { target: 'reportingInterruption' },
          },
        },
        /** The taken-over answer cannot be recovered: the person is told once. */
        reportingInterruption: {
          invoke: {
            src: 'reportInterruption',
            input: ({ context }) => ({ key: context.key, target: context.target }),
            onDone: {
              target: '#conversation.saving',
              actions: { type: 'recordTurn', params: { status: 'failed' } },
            },
            onError: { target: '#conversation.next', actions: internalError },
          },
        },
        postingAnswer: {
          invoke: {
            src: 'postAnswer',
            input: ({ context }) => turnResultOf(context),
            onDone: { target: 'postingFeedback', actions: 'recordAnswerMessage' },
            // Webex refused the answer: say something generic (the working message goes with the state).
            onError: { target: '#conversation.next', actions: internalError },
          },
        },
        /** 👍 / 👎 under an answer that has a trace id (when scoring is on). */
        postingFeedback: {
          invoke: {
            src: 'postFeedback',
            input: ({ context }) => turnResultOf(context),
            onDone: {
              target: '#conversation.saving',
              actions: ['recordFeedbackCard', { type: 'recordTurn', params: { status: 'completed' } }],
            },
            onError: {
              target: '#conversation.saving',
              actions: { type: 'recordTurn', params: { status: 'completed' } },
            },
          },
        },
        /** The agent's question, and its form as a card; the task stays open. */
        askingForInput: {
          invoke: {
            src: 'askForInput',
            input: ({ context }) => turnResultOf(context),
            onDone: {
              target: '#conversation.savingWaiting',
              actions: [
                'recordAnswerMessage',
                'recordPendingForm',
                { type: 'recordTurn', params: { status: 'input-required' } },
              ],
            },
            onError: { target: '#conversation.next', actions: internalError },
          },
        },
        /** A short, specific message for what went wrong; the conversation carries on. */
        reportingFailure: {
          invoke: {
            src: 'reportFailure',
            input: ({ context }) => turnResultOf(context),
            onDone: {
              target: '#conversation.saving',
              actions: { type: 'recordTurn', params: { status: 'failed' } },
            },
            onError: { target: '#conversation.next', actions: internalError },
          },
        },
      },
    },
    saving: {
      on: whileSaving,
      invoke: {
        src: 'saveConversation',
        input: ({ context }) => recordOf(context),
        onDone: 'next',
        onError: 'next',
      },
    },
    savingWaiting: {
      on: whileSaving,
      invoke: {
        src: 'saveConversation',
        input: ({ context }) => recordOf(context),
        onDone: 'waitingForInput',
        onError: 'waitingForInput',
      },
    },
    /**
     * The agent asked for input. The next message in the thread, or a submission of the open form,
     * answers the open task. The form expires at its deadline (a delay computed from `deadlineAt`,
     * so it is re-armed after a restart).
     */
    waitingForInput: {
      entry: 'replayDeferredCard',
      // Answers to the open task go through the space check too: a space revoked while the agent
      // waited must not reach the agent.
      always: {
        guard: 'hasQueued',
        target: 'authorizing',
        actions: [{ type: 'closeForm', params: { reason: 'superseded' } }, 'takeNextFromQueue'],
      },
      after: {
        formDeadline: {
          guard: ({ context }) => context.pendingForm !== undefined,
          target: 'saving',
          actions: closeOpenTask('expired', 'formExpired'),
        },
        // A question without a form has no deadline: the conversation stops when idle and is
        // restored (still waiting) by the next message; the task id is in the store.
        idleTimeout: { guard: ({ context }) => context.pendingForm === undefined, target: 'stopped' },
      },
      on: {
        USER_MESSAGE: [
          refuseForeign,
          {
            target: 'authorizing',
            actions: [{ type: 'closeForm', params: { reason: 'superseded' } }, 'takeCurrent'],
          },
        ],
        CARD_ACTION: [
          {
            ...refuseForeign,
            guard: and(['isOpenForm', 'answersRestrictedToRequester', 'fromAnotherPerson']),
          },
          {
            // Past the deadline (the timer may have been lost in a restart): the form is over.
            guard: and(['isOpenForm', 'isPastDeadline']),
            target: 'saving',
            actions: closeOpenTask('expired', 'formExpired'),
          },
          {
            guard: and(['isOpenForm', 'isFormCancel']),
            target: 'saving',
            actions: closeOpenTask('cancelled', 'formCancelled'),
          },
          {
            guard: 'isOpenForm',
            target: 'authorizing',
            actions: ['takeFormAnswer', { type: 'closeForm', params: { reason: 'submitted' } }],
          },
          ...handleCardAction,
        ],
        CANCEL: [
          refuseForeign,
          {
            guard: 'cancelledByUser',
            target: 'saving',
            actions: closeOpenTask('cancelled', 'cancelled'),
          },
        ],
      },
    },
    next: {
      entry: 'replayDeferredCard',
      always: [
        { guard: 'hasQueued', target: 'authorizing', actions: 'takeNextFromQueue' },
        { target: 'idle', actions: assign({ current: undefined }) },
      ],
    },
    stopped: { type: 'final' },
    /** The running answer was left for the next process (shutdown); this one does nothing more. */
    handedOver: { type: 'final' },
    /** Another process took the conversation's lease; this one does nothing more. */
    yielded: { type: 'final' },
  },
});

function recordOf(context: ConversationContext): ConversationRecord {
  return {
    key: context.key,
    roomId: context.roomId,
    roomType: context.roomType,
    contextId: context.contextId,
    taskId: context.taskId,
    traceId: context.traceId,
    lastAnswerMessageId: context.lastAnswerMessageId,
    pendingForm: context.pendingForm,
    taskOwner: context.taskOwner,
    ...(context.history.length > 0 ? { history: context.history } : {}),
    ...(context.generation > 0 ? { generation: context.generation } : {}),
    feedbackCards: context.feedbackCards,
    closedForms: context.closedForms,
    updatedAt: context.current?.receivedAt ?? 0,
  };
}
