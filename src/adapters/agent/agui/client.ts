/**
 * The AG-UI adapter of the agent port: any AG-UI 1.0 endpoint (CopilotKit, LangGraph, CrewAI,
 * Mastra, Pydantic AI agents). Each turn POSTs a `RunAgentInput` to `CAIPE_URL` and reads the SSE
 * reply with the shared bounded reader and the lenient translator (never `@ag-ui/client`'s
 * HttpAgent, which rejects lenient frames and takes a cut stream for a finished run).
 *
 * - `threadId` is the conversation's `contextId` (minted on its first turn); `runId` is fresh per run.
 * - `messages`: the earlier turns (the request's `history`, else this client's own memory of the
 *   thread) and the new user message; `state`: the last snapshot; `tools`: `[]`.
 * - Who asks: `forwardedProps.user_email` (the bot's convention; AG-UI defines none) and
 *   `context` entries for the person and the Webex space.
 * - Interrupts (1.0 outcome, LangGraph's legacy `on_interrupt`) become forms; the answer is a new
 *   run with `resume[]` or `forwardedProps.command.resume`.
 * - AG-UI has no cancel call: `cancel` closes the run's connection if it is still open.
 * - AG-UI cannot re-attach to a run: `resubscribe` is `unsupported`.
 */
import { randomUUID } from 'node:crypto';
import { AgentError } from '../../../errors.js';
import { type AgentClientBase, type AgentClientBaseOptions, agentClientBase } from '../client-base.js';
import { type AguiHandle, decodeHandle, encodeHandle, type InterruptRef } from '../handle.js';
import { type ResponseBody, Stopper } from '../http.js';
import type { AgentClient, CallOptions, HistoryMessage, TurnEvent, TurnRequest } from '../port.js';
import { aguiResume, legacyResume, replyOf } from './interrupts.js';
import { boundHistory, type HistoryLimits, InProcessThreadMemory, type ThreadMemory } from './memory.js';
import { endingEvents, runEvents } from './stream.js';
import { AguiRunTranslator } from './translate.js';

export interface AguiAgentClientOptions extends AgentClientBaseOptions {
  /** The agent's run endpoint (`CAIPE_URL`). */
  url: string;
  /** Where earlier turns are kept when a request brings no `history`; in-process by default. */
  memory?: ThreadMemory;
  /** `WEBEX_THREAD_CONTEXT_MAX_MESSAGES` / `_MAX_CHARS`. */
  historyLimits?: HistoryLimits;
  newId?: () => string;
}

interface ActiveRun {
  cancel(): void;
  cancelled: boolean;
}

export class AguiAgentClient implements AgentClient {
  readonly #url: string;
  readonly #common: AgentClientBase;
  readonly #memory: ThreadMemory;
  readonly #limits: HistoryLimits;
  readonly #newId: () => string;
  readonly #active = new Map<string, ActiveRun>();

  constructor(options: AguiAgentClientOptions) {
    this.#url = options.url;
    this.#common = agentClientBase(options);
    this.#memory = options.memory ?? new InProcessThreadMemory();
    this.#limits = options.historyLimits ?? { maxMessages: 10, maxChars: 4_000 };
    this.#newId = options.newId ?? randomUUID;
  }

  async close(): Promise<void> {
    await this.#common.http.close();
  }

  async *streamTurn(turn: TurnRequest, options: CallOptions = {}): AsyncGenerator<TurnEvent> {
    const paused = decodeHandle(turn.taskId, 'agui');
    const threadId = turn.contextId ?? paused?.threadId ?? this.#newId();
    const runId = this.#newId();
    const remembered = await this.#memory.load(threadId);
    const history = boundHistory(turn.history ?? remembered?.messages ?? [], this.#limits);
    const interrupt = paused?.interrupt;
    const userMessage = interrupt
      ? undefined
      : { id: turn.messageId ?? this.#newId(), role: 'user', content: turn.text };
    const forwardedProps: Record<string, unknown> = { user_email: turn.userEmail };
    const input: Record<string, unknown> = {
      threadId,
      runId,
      protocolVersion: '1.0',
      state: remembered?.state ?? {},
      messages: [
        ...history.map((message, index) => ({
          id: `${threadId}:${index}`,
          role: message.role,
          content: message.text,
        })),
        ...(userMessage ? [userMessage] : []),
      ],
      tools: [],
      context: contextOf(turn),
      forwardedProps,
    };
    if (interrupt) {
      const reply = replyOf(turn, interrupt);
      if (interrupt.style === 'legacy') forwardedProps.command = { resume: legacyResume(interrupt, reply) };
      else input.resume = aguiResume(interrupt, reply);
    }

    const run: ActiveRun = { cancelled: false, cancel: () => {} };
    const controller = new AbortController();
    run.cancel = () => {
      run.cancelled = true;
      controller.abort(new AgentError('unsupported', 'run cancelled by the bot'));
    };
    this.#active.set(runId, run);
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const stop = new Stopper(this.#common.timers, signal);
    const translator = new AguiRunTranslator(this.#common.logger);
    let body: ResponseBody | undefined;
    let receiving = false;
    try {
      yield { type: 'ids', contextId: threadId, taskId: encodeHandle({ backend: 'agui', threadId, runId }) };
      stop.arm(this.#common.idleTimeoutMs, 'idle');
      const response = await this.#common.http.call(
        { url: this.#url, body: JSON.stringify(input), accept: 'text/event-stream', label: 'agui.run' },
        stop,
      );
      body = response.body;
      await this.#common.http.requireEventStream(response, stop, 'Agent');
      receiving = true;
      yield* runEvents({ ...this.#common, body, stop, translator });
    } catch (error) {
      if (run.cancelled && !options.signal?.aborted) {
        yield { type: 'status', state: 'canceled' };
        return;
      }
      throw this.#common.http.mapError(error, stop, receiving, this.#url);
    } finally {
      this.#active.delete(runId);
      stop.dispose();
      if (body && !body.destroyed) body.destroy();
    }

    if (!translator.ending) {
      if (run.cancelled) {
        yield { type: 'status', state: 'canceled' };
        return;
      }
      throw new AgentError('stream-cut', 'Agent stream ended before the run finished');
    }
    const events = endingEvents(translator, (ref: InterruptRef) => [
      {
        type: 'ids',
        contextId: threadId,
        taskId: encodeHandle({ backend: 'agui', threadId, runId, interrupt: ref } satisfies AguiHandle),
      },
    ]);
    await this.#remember(threadId, turn, history, userMessage !== undefined, translator).catch(
      (error: unknown) =>
        this.#common.logger.warn({ event: 'agent.memory_failed', err: error }, 'thread memory not saved'),
    );
    yield* events;
  }

  async cancel(taskId: string, _options: CallOptions = {}): Promise<void> {
    const handle = decodeHandle(taskId, 'agui');
    if (!handle) throw new AgentError('unsupported', 'Not a run of this AG-UI agent');
    const run = this.#active.get(handle.runId);
    if (run) run.cancel();
    // AG-UI has no cancel call: closing the connection is how a client stops a run.
    this.#common.logger.info(
      { event: 'agent.cancelled', runId: handle.runId, open: run !== undefined },
      'AG-UI run cancelled by closing its connection',
    );
  }

  // biome-ignore lint/correctness/useYield: AG-UI cannot re-attach; the generator only refuses.
  async *resubscribe(_taskId: string, _options: CallOptions = {}): AsyncGenerator<TurnEvent> {
    throw new AgentError('unsupported', 'AG-UI agents cannot be re-attached to a run');
  }

  async #remember(
    threadId: string,
    turn: TurnRequest,
    history: HistoryMessage[],
    askedAnew: boolean,
    translator: AguiRunTranslator,
  ): Promise<void> {
    const ending = translator.ending;
    if (!ending || ending.kind === 'error' || ending.kind === 'cancelled') return;
    const messages = [...history];
    if (askedAnew && turn.text.trim()) messages.push({ role: 'user', text: turn.text });
    const answer = ending.kind === 'success' ? translator.finalAnswer() : ending.interrupt.message;
    if (answer?.trim()) messages.push({ role: 'assistant', text: answer });
    const previous = await this.#memory.load(threadId);
    const state = translator.hasState ? translator.state : previous?.state;
    await this.#memory.save(threadId, {
      messages: boundHistory(messages, this.#limits),
      ...(state !== undefined ? { state } : {}),
    });
  }
}

/** `RunAgentInput.context`: who asks and from where, as named entries the agent may read. */
function contextOf(turn: TurnRequest): Array<{ description: string; value: string }> {
  const context: Array<{ description: string; value: string }> = [];
  if (turn.userEmail) context.push({ description: 'Email of the person asking', value: turn.userEmail });
  const origin = turn.origin;
  if (origin) {
    context.push({ description: 'Webex space id', value: origin.roomId });
    context.push({ description: 'Webex space type', value: origin.roomType });
    if (origin.threadRootId) context.push({ description: 'Webex thread id', value: origin.threadRootId });
  }
  return context;
}
