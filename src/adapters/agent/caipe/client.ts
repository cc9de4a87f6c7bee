/**
 * The CAIPE ≥0.6 adapter of the agent port: Dynamic Agents through the CAIPE UI backend
 * (reference caipe-current.md §1–§2), `CAIPE_URL` being the UI's base URL.
 *
 * A turn: create or fetch the conversation (`POST /api/chat/conversations`, idempotent per Webex
 * thread), then `POST /api/v1/chat/stream/start` and read CAIPE's AG-UI dialect (`event:` +
 * `data:` frames, float timestamps, snake_case tool results, a string outcome with a top-level
 * `interrupt`, a RUN_ERROR with no RUN_FINISHED after it) through the shared lenient translator.
 * An answer to a form goes to `stream/resume` with `resume_data`; `cancel` calls `stream/cancel`,
 * after which CAIPE simply ends the stream — read as canceled because the bot asked, and as a cut
 * otherwise. CAIPE cannot re-attach to a run: `resubscribe` is `unsupported`.
 *
 * The conversation id is the turn's `contextId` and also its feedback id (emitted as the trace id:
 * CAIPE scores feedback by conversation, see `caipe/feedback.ts`). Who asks: `client_context` as
 * CAIPE's Webex bot sends it, and the bearer token — the bot's own (`CAIPE_AUTH_MODE=service`) or
 * one minted for the person (`obo`).
 */
import { randomUUID } from 'node:crypto';
import { AgentError } from '../../../errors.js';
import { decodeHydraId } from '../../webex/ids.js';
import { caipeResumeData, replyOf } from '../agui/interrupts.js';
import { endingEvents, runEvents } from '../agui/stream.js';
import { AguiRunTranslator } from '../agui/translate.js';
import { type AgentClientBase, type AgentClientBaseOptions, agentClientBase } from '../client-base.js';
import { type CaipeHandle, decodeHandle, encodeHandle } from '../handle.js';
import { type AgentAuth, type ResponseBody, Stopper } from '../http.js';
import type { AgentClient, CallOptions, TurnEvent, TurnOrigin, TurnRequest } from '../port.js';
import { isCaipeId } from './ids.js';

/** Per-person credentials (`CAIPE_AUTH_MODE=obo`): throws `not-linked` / `identity-unavailable`. */
export interface PersonCredentials {
  authFor(personId: string, signal?: AbortSignal): Promise<AgentAuth>;
}

/** `auth` is the bot's own token (`service` mode); CAIPE is always told the client is `webex-bot`. */
export interface CaipeAgentClientOptions extends Omit<AgentClientBaseOptions, 'clientSource'> {
  /** The CAIPE UI's base URL (`CAIPE_URL` / `CAIPE_API_URL`). */
  url: string;
  /** `CAIPE_AGENT_ID`: asked unless a turn names another agent. */
  agentId: string;
  /** Tokens minted per person (`obo` mode); when set, every call goes on behalf of the asker. */
  people?: PersonCredentials;
  newId?: () => string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const TITLE_CHARS = 50;

/** The raw room UUID CAIPE keys spaces by; the id itself when it is not a Hydra id. */
export function spaceUuid(roomId: string): string {
  return decodeHydraId(roomId)?.uuid ?? roomId;
}

/**
 * The conversation's idempotency key: one CAIPE conversation per Webex thread (`webex:<space>:<root>`,
 * as CAIPE's Webex bot writes it), plus the reset generation after a `reset`. Without a known
 * generation, a conversation that does not start at its thread root is keyed by its first message,
 * so a fresh context after `reset` still gets a fresh conversation while a retried message does not.
 */
export function idempotencyKey(origin: TurnOrigin | undefined, fallback: () => string): string {
  if (!origin) return `webex:bot:${fallback()}`;
  const space = spaceUuid(origin.roomId);
  const root = origin.threadRootId ?? 'direct';
  if (origin.generation !== undefined) {
    return origin.generation > 0 ? `webex:${space}:${root}:${origin.generation}` : `webex:${space}:${root}`;
  }
  return origin.messageId === origin.threadRootId
    ? `webex:${space}:${root}`
    : `webex:${space}:${root}:${origin.messageId}`;
}

/** CAIPE's Webex `client_context` (reference §1.3); `user_email` only when CAIPE cannot tell (service mode). */
export function clientContext(turn: TurnRequest, onBehalf: boolean): Json {
  const origin = turn.origin;
  const context: Json = { source: 'webex', surface: 'webex' };
  if (origin) {
    const space = spaceUuid(origin.roomId);
    context.webex_space_id = space;
    context.webex_message_id = origin.messageId;
    context.channel_id = space;
    context.surface_kind = 'channel';
    if (origin.threadRootId && origin.threadRootId !== origin.messageId) {
      context.webex_thread_parent_id = origin.threadRootId;
      context.thread_ts = origin.threadRootId;
    }
  }
  if (!onBehalf && turn.userEmail) context.user_email = turn.userEmail;
  return context;
}

/** How CAIPE's UI backend words a refusal (`{success:false, error, code}`), as an `AgentError`. */
function refusal(status: number, text: string): AgentError | undefined {
  if (status !== 403 && status !== 404) return undefined;
  let code: string | undefined;
  try {
    const body: unknown = JSON.parse(text);
    if (isObject(body) && typeof body.code === 'string') code = body.code;
  } catch {
    return undefined;
  }
  if (status === 403 && code === 'agent#use') {
    return new AgentError('forbidden', 'CAIPE refused the agent to this person (agent#use)', { status });
  }
  if (status === 403 && code?.startsWith('conversation#')) {
    return new AgentError('not-owner', `CAIPE refused the conversation to this person (${code})`, { status });
  }
  return undefined;
}

export class CaipeAgentClient implements AgentClient {
  readonly #base: string;
  readonly #agentId: string;
  readonly #common: AgentClientBase;
  readonly #people: PersonCredentials | undefined;
  readonly #newId: () => string;
  /** Conversations the bot asked to cancel whose stream is still open: their end is a cancel, not a cut. */
  readonly #cancelling = new Set<string>();

  constructor(options: CaipeAgentClientOptions) {
    this.#base = options.url.replace(/\/+$/, '');
    this.#agentId = options.agentId;
    this.#common = agentClientBase({ ...options, clientSource: 'webex-bot' });
    this.#people = options.people;
    this.#newId = options.newId ?? randomUUID;
  }

  async close(): Promise<void> {
    await this.#common.http.close();
  }

  async *streamTurn(turn: TurnRequest, options: CallOptions = {}): AsyncGenerator<TurnEvent> {
    const paused = decodeHandle(turn.taskId, 'caipe');
    // A paused run is resumed with the agent that paused it, even if the space has since been
    // pointed at another one.
    const agentId = paused?.agentId ?? turn.agentId ?? this.#agentId;
    if (!isCaipeId(agentId))
      throw new AgentError('bad-event', 'The CAIPE agent id has characters CAIPE refuses');
    const personId = turn.origin?.personId;
    const auth = await this.#authFor(personId, options.signal);
    const stop = new Stopper(this.#common.timers, options.signal);
    const translator = new AguiRunTranslator(this.#common.logger);
    let body: ResponseBody | undefined;
    let receiving = false;
    let conversationId: string | undefined;
    let url = this.#base;
    try {
      stop.arm(this.#common.idleTimeoutMs, 'idle');
      const resuming = paused?.interrupt && turn.contextId ? paused.interrupt : undefined;
      conversationId = turn.contextId ?? (await this.#createConversation(turn, agentId, auth, stop));
      yield* this.#idEvents(conversationId, agentId, personId);
      const start = (id: string) => {
        url = `${this.#base}/api/v1/chat/stream/${resuming ? 'resume' : 'start'}`;
        return this.#common.http.call(
          {
            url,
            body: JSON.stringify(
              resuming
                ? {
                    conversation_id: id,
                    agent_id: agentId,
                    resume_data: caipeResumeData(resuming, replyOf(turn, resuming)),
                    protocol: 'agui',
                  }
                : {
                    message: turn.text,
                    conversation_id: id,
                    agent_id: agentId,
                    protocol: 'agui',
                    trace_id: null,
                    client_context: clientContext(turn, this.#people !== undefined),
                  },
            ),
            accept: 'text/event-stream',
            label: resuming ? 'caipe.resume' : 'caipe.start',
            ...(auth ? { auth } : {}),
            mapHttpError: refusal,
          },
          stop,
        );
      };
      let response: Awaited<ReturnType<typeof start>>;
      try {
        response = await start(conversationId);
      } catch (error) {
        // The thread's conversation was deleted in CAIPE (404): a new question starts a new one.
        if (resuming || !turn.contextId || !(error instanceof AgentError) || error.status !== 404)
          throw error;
        this.#common.logger.info(
          { event: 'agent.conversation_gone', conversationId },
          'CAIPE no longer has the thread’s conversation; starting a new one',
        );
        conversationId = await this.#createConversation(turn, agentId, auth, stop);
        yield* this.#idEvents(conversationId, agentId, personId);
        response = await start(conversationId);
      }
      // CAIPE has no trace id for the bot; its feedback route scores by conversation.
      yield { type: 'trace', traceId: conversationId };
      body = response.body;
      await this.#common.http.requireEventStream(response, stop, 'CAIPE');
      receiving = true;
      yield* runEvents({ ...this.#common, body, stop, translator });
    } catch (error) {
      if (conversationId && this.#cancelling.delete(conversationId) && !options.signal?.aborted) {
        yield { type: 'status', state: 'canceled' };
        return;
      }
      throw this.#common.http.mapError(error, stop, receiving, url);
    } finally {
      stop.dispose();
      if (body && !body.destroyed) body.destroy();
    }

    const cancelled = this.#cancelling.delete(conversationId);
    if (!translator.ending) {
      // CAIPE's cancel ends the stream without RUN_FINISHED: only the bot's own cancel reads so.
      if (cancelled) {
        yield* translator.closeTools();
        yield { type: 'status', state: 'canceled' };
        return;
      }
      throw new AgentError('stream-cut', 'CAIPE stream ended before the run finished');
    }
    yield* endingEvents(translator, (interrupt) => [
      {
        type: 'ids',
        contextId: conversationId,
        taskId: encodeHandle({
          backend: 'caipe',
          conversationId: conversationId!,
          agentId,
          ...(personId && this.#people ? { personId } : {}),
          interrupt,
        }),
      },
    ]);
  }

  /** The turn's ids: the conversation as context, and a handle to cancel it. */
  *#idEvents(conversationId: string, agentId: string, personId: string | undefined): Generator<TurnEvent> {
    const handle: CaipeHandle = {
      backend: 'caipe',
      conversationId,
      agentId,
      ...(personId && this.#people ? { personId } : {}),
    };
    yield { type: 'ids', contextId: conversationId, taskId: encodeHandle(handle) };
    this.#cancelling.delete(conversationId);
  }

  async cancel(taskId: string, options: CallOptions = {}): Promise<void> {
    const handle = decodeHandle(taskId, 'caipe');
    if (!handle) throw new AgentError('unsupported', 'Not a CAIPE run of this bot');
    const auth = await this.#authFor(handle.personId, options.signal);
    const stop = new Stopper(this.#common.timers, options.signal);
    stop.arm(this.#common.idleTimeoutMs, 'idle');
    const url = `${this.#base}/api/v1/chat/stream/cancel`;
    this.#cancelling.add(handle.conversationId);
    try {
      const reply = await this.#callJson(
        url,
        { conversation_id: handle.conversationId, agent_id: handle.agentId },
        'caipe.cancel',
        auth,
        stop,
      );
      this.#common.logger.info(
        {
          event: 'agent.cancelled',
          conversationId: handle.conversationId,
          cancelled: isObject(reply) ? reply.cancelled : undefined,
        },
        'CAIPE run cancel accepted',
      );
    } catch (error) {
      this.#cancelling.delete(handle.conversationId);
      throw this.#common.http.mapError(error, stop, false, url);
    } finally {
      stop.dispose();
    }
    // Nothing streams for a conversation that was not running: do not let a later stream inherit it.
    if (this.#cancelling.size > 1_000) this.#cancelling.clear();
  }

  // biome-ignore lint/correctness/useYield: CAIPE cannot re-attach; the generator only refuses.
  async *resubscribe(_taskId: string, _options: CallOptions = {}): AsyncGenerator<TurnEvent> {
    throw new AgentError('unsupported', 'CAIPE runs cannot be re-attached');
  }

  /** A JSON request to CAIPE's UI backend and its JSON reply, read within the bound; refusals worded. */
  async #callJson(
    url: string,
    body: unknown,
    label: string,
    auth: AgentAuth | undefined,
    stop: Stopper,
  ): Promise<unknown> {
    const response = await this.#common.http.call(
      {
        url,
        body: JSON.stringify(body),
        accept: 'application/json',
        label,
        ...(auth ? { auth } : {}),
        mapHttpError: refusal,
      },
      stop,
    );
    return this.#common.http.readJson(response.body, stop);
  }

  async #authFor(
    personId: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<AgentAuth | undefined> {
    if (!this.#people) return undefined;
    if (!personId) {
      throw new AgentError('identity-unavailable', 'On-behalf-of calls need the Webex person who asks');
    }
    return this.#people.authFor(personId, signal);
  }

  async #createConversation(
    turn: TurnRequest,
    agentId: string,
    auth: AgentAuth | undefined,
    stop: Stopper,
  ): Promise<string> {
    const origin = turn.origin;
    const firstLine = turn.text.trim().split('\n').at(-1)?.trim() ?? '';
    const title = firstLine.slice(0, TITLE_CHARS).trim() || 'Webex Thread';
    const body = {
      title,
      client_type: 'webex',
      agent_id: agentId,
      idempotency_key: idempotencyKey(origin, this.#newId),
      metadata: {
        surface: 'webex',
        ...(origin
          ? {
              webex_space_id: spaceUuid(origin.roomId),
              webex_message_id: origin.threadRootId ?? origin.messageId,
              webex_room_id: origin.roomId,
            }
          : {}),
      },
    };
    const url = `${this.#base}/api/chat/conversations`;
    try {
      const reply = await this.#callJson(url, body, 'caipe.conversation', auth, stop);
      const data = isObject(reply) && isObject(reply.data) ? reply.data : undefined;
      const conversation = data && isObject(data.conversation) ? data.conversation : undefined;
      const id = conversation?._id;
      if (!isCaipeId(id)) {
        throw new AgentError(
          'bad-event',
          'CAIPE answered the conversation request without a usable conversation id',
        );
      }
      this.#common.logger.info(
        { event: 'agent.conversation', conversationId: id, created: data?.created === true },
        data?.created === true ? 'CAIPE conversation created' : 'CAIPE conversation found',
      );
      return id;
    } catch (error) {
      throw this.#common.http.mapError(error, stop, false, url);
    }
  }
}
