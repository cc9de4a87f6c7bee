/**
 * Facts several actors read and nobody owns alone: who the bot is, whether it is ready (and why
 * not), and whether it is shutting down. One small `@xstate/store` holds them; the connection and
 * the runtime write, the intake, the conversations' effects and `/readyz` read (or subscribe).
 *
 * A store rather than a machine: these are a few values with no states between them, and reading
 * them must be synchronous (a mention check runs on every inbound message).
 */
import { createStore } from '@xstate/store';
import type { BotIdentity, Readiness } from './machines/types.js';

export interface BotFactsContext {
  /** Known once the connection has read `GET /people/me`. */
  identity: BotIdentity | undefined;
  /** The Webex socket's readiness, as the connection machine sees it. */
  socket: Readiness;
  /** A REST call answered 401: the token is revoked, whatever the socket says. */
  tokenRejected: boolean;
  shuttingDown: boolean;
}

export function createBotFacts() {
  return createStore({
    context: {
      identity: undefined,
      socket: { ready: false, reason: 'webex connection not started' },
      tokenRejected: false,
      shuttingDown: false,
    } as BotFactsContext,
    on: {
      identityKnown: (context, event: { identity: BotIdentity }) => ({
        ...context,
        identity: event.identity,
      }),
      socketChanged: (context, event: { readiness: Readiness }) =>
        context.socket.ready === event.readiness.ready && context.socket.reason === event.readiness.reason
          ? context
          : { ...context, socket: event.readiness },
      tokenRejected: (context) => ({ ...context, tokenRejected: true }),
      shuttingDown: (context) => ({ ...context, shuttingDown: true }),
    },
  });
}

export type BotFacts = ReturnType<typeof createBotFacts>;

/** The name the bot answers to before its identity is known (only in notices sent that early). */
const FALLBACK_DISPLAY_NAME = 'CAIPE';

export function botDisplayName(facts: BotFacts): string {
  return facts.getSnapshot().context.identity?.displayName || FALLBACK_DISPLAY_NAME;
}

/** Whether the bot can take work, as far as Webex and shutdown go (the store is checked by `/readyz`). */
export function webexReadiness(facts: BotFacts): Readiness {
  const { socket, tokenRejected, shuttingDown } = facts.getSnapshot().context;
  if (shuttingDown) return { ready: false, reason: 'shutting down' };
  if (tokenRejected) return { ready: false, reason: 'unauthorized' };
  return socket;
}
