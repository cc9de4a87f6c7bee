/**
 * The bot's one actor system, assembled from each machine's effects:
 *
 *   root
 *   ├─ webex.connection   U2C → device → socket → online ⇄ backoff   (src/actors/webex-connection.ts)
 *   │  └─ intake          activity → REST → per-room order → admission → `bot`  (src/actors/intake/)
 *   └─ bot                routes by room                               (src/actors/bot.ts)
 *      └─ room:<id>       commands, cards                              (src/actors/room.ts)
 *         └─ conversation:<key>  restoring → authorizing → answering → … (src/actors/conversation.ts)
 *
 * Facts several actors read (identity, readiness, shutting down) are in `BotFacts`, fed here from
 * the connection's snapshots.
 */
import { type Actor, type ActorRefFrom, createActor, type InspectionEvent } from 'xstate';
import type { Clock } from '../clock.js';
import { asCodedError } from '../errors.js';
import type { BotFacts } from '../facts.js';
import type { Logger } from '../logger.js';
import type { botMachine } from '../machines/bot.js';
import { rootMachine } from '../machines/root.js';
import { readinessOf } from '../machines/webex-connection.js';
import type { RunningTurns } from './conversation.js';
import type { WebexConnectionLogic } from './webex-connection.js';

export interface BotSystemDeps {
  bot: typeof botMachine;
  connection: WebexConnectionLogic;
  turns: RunningTurns;
  facts: BotFacts;
  /** `MAX_QUEUED_PER_CONVERSATION`. */
  maxQueuedPerConversation: number;
  log: Logger;
  /** The system's clock: every machine's delays (conversation idle, form deadline, ping, backoff). */
  clock: Clock;
  inspect?: ((event: InspectionEvent) => void) | undefined;
}

export interface BotSystem {
  root: Actor<typeof rootMachine>;
  bot: ActorRefFrom<typeof botMachine>;
  connection: ActorRefFrom<WebexConnectionLogic>;
  /** Stops taking new conversations (shutdown). */
  drain(): void;
  /** Answers running, for the shutdown grace period. */
  busyConversations(): number;
  /** Resolves when no answer is running. */
  settled(): Promise<void>;
  /** Cancels every running answer (telling each user why) and resolves once they have cleaned up. */
  cancelAll(): Promise<void>;
  /**
   * Hands every running answer that can be re-attached over to the next process (cancelling the
   * others), and resolves once they have stopped and their records are written.
   */
  handOverAll(): Promise<void>;
  /** Closes the socket and stops the connection (it ends in a final state), bounded. */
  stopConnection(timeoutMs: number): Promise<void>;
  stop(): void;
}

export function startBotSystem(deps: BotSystemDeps): BotSystem {
  const { log, facts } = deps;
  const logic = rootMachine.provide({ actors: { bot: deps.bot, webexConnection: deps.connection } });
  const root = createActor(logic, {
    input: { maxQueuedPerConversation: deps.maxQueuedPerConversation },
    clock: deps.clock,
    inspect: deps.inspect,
  });
  // An error nobody handled must not take the process down with it (XState rethrows otherwise).
  root.subscribe({ error: (error) => log.fatal({ err: asCodedError(error) }, 'bot actor system failed') });
  root.start();

  const bot = root.system.get('bot') as ActorRefFrom<typeof botMachine>;
  const connection = root.system.get('webex.connection') as ActorRefFrom<WebexConnectionLogic>;
  const publish = () => {
    const snapshot = connection.getSnapshot();
    facts.trigger.socketChanged({ readiness: readinessOf(snapshot) });
    const identity = snapshot.context.identity;
    if (identity && facts.getSnapshot().context.identity !== identity)
      facts.trigger.identityKnown({ identity });
  };
  connection.subscribe({
    next: publish,
    error: (error) => log.error({ err: asCodedError(error) }, 'webex connection failed'),
  });
  publish();

  return {
    root,
    bot,
    connection,
    drain: () => bot.send({ type: 'SHUTDOWN' }),
    busyConversations: () => deps.turns.count(),
    settled: () => deps.turns.settled(),
    cancelAll: async () => {
      bot.send({ type: 'CANCEL_ALL' });
      await deps.turns.settled();
    },
    handOverAll: async () => {
      bot.send({ type: 'HANDOVER_ALL' });
      await deps.turns.settled();
    },
    stopConnection: async (timeoutMs) => {
      if (connection.getSnapshot().status !== 'active') return;
      connection.send({ type: 'SHUTDOWN' });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log.warn('webex connection did not stop in time; stopping it anyway');
          subscription.unsubscribe();
          resolve();
        }, timeoutMs);
        const subscription = connection.subscribe({
          next: (snapshot) => {
            if (snapshot.status === 'active') return;
            clearTimeout(timer);
            subscription.unsubscribe();
            resolve();
          },
          complete: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    stop: () => root.stop(),
  };
}
