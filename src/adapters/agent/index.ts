/**
 * The agent port and its adapters, for the composition root and the conversation actors.
 *
 * `createAgentClient` builds the backend its settings name (src/agent-options.ts reads them from
 * `AGENT_PROTOCOL`, `A2A_VERSION`, `CAIPE_AUTH_MODE` and the rest of the configuration):
 * everything above the port gets an `AgentClient` and never learns which backend runs, except for
 * two composition details the backend answers for itself — where a feedback click goes, and whether
 * the `authorize` command can link to the CAIPE UI's space route (CAIPE ≤0.5 only).
 */
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { A2aAgentClient } from './a2a/client.js';
import type { A2aVersion } from './a2a/wire.js';
import { AguiAgentClient } from './agui/client.js';
import type { HistoryLimits, ThreadMemory } from './agui/memory.js';
import { CaipeAgentClient } from './caipe/client.js';
import { type CaipeFeedbackInput, createCaipeFeedback } from './caipe/feedback.js';
import { type LinkNoticeMessage, linkNoticeMessage } from './caipe/link-notice.js';
import { KeycloakOnBehalf, type OnBehalfOptions } from './caipe/obo.js';
import type { AgentAuth } from './http.js';
import type { AgentClient } from './port.js';

export { classifyA2AResult, normaliseState } from './a2a/classify.js';
export {
  A2aAgentClient,
  type A2aAgentClientOptions,
  type AgentAuth,
  type AgentTimers,
} from './a2a/client.js';
export { isFormArtifactName, parseForm } from './a2a/form.js';
export { AguiAgentClient, type AguiAgentClientOptions } from './agui/client.js';
export { CaipeAgentClient, type CaipeAgentClientOptions } from './caipe/client.js';
export { KeycloakOnBehalf, signedLinkUrl } from './caipe/obo.js';
export { parsePlanText } from './plan-text.js';
export * from './port.js';
export * from './turn-state.js';

export type AgentBackend = 'a2a' | 'agui' | 'caipe';

/** What the bot's own account needs to mint per-person tokens (`CAIPE_AUTH_MODE=obo`). */
export type OnBehalfSettings = Pick<
  OnBehalfOptions,
  | 'keycloakUrl'
  | 'realm'
  | 'clientId'
  | 'clientSecret'
  | 'audience'
  | 'adminClientId'
  | 'adminClientSecret'
  | 'linkBaseUrl'
  | 'linkSecret'
>;

/** The backend to build and its own settings (`AGENT_PROTOCOL` and what it reads). */
export type AgentBackendSettings =
  | { protocol: 'a2a'; url: string; version: A2aVersion | 'auto'; userPrefix: boolean }
  | { protocol: 'agui'; url: string; historyLimits: HistoryLimits }
  /** CAIPE ≥0.6; with `onBehalf`, every call goes on behalf of the asker (`obo` mode). */
  | { protocol: 'caipe'; url: string; agentId: string; onBehalf?: OnBehalfSettings };

export interface CreateAgentClientOptions {
  backend: AgentBackendSettings;
  /** A stream silent this long (pings excluded) is treated as cut, on every backend. */
  idleTimeoutMs: number;
  logger: Logger;
  clock?: Clock;
  /** The bot's own credentials (`WEBEX_INTEGRATION_AUTH_*`), for every backend that is not on-behalf-of. */
  auth?: AgentAuth;
  /** On-behalf-of mode: sends the private account-link message to a person (Webex `toPersonId`). */
  sendPrivate?(message: LinkNoticeMessage): Promise<void>;
  /** AG-UI: where a thread's earlier turns are kept (in-process by default). */
  memory?: ThreadMemory;
}

export interface AgentBackendHandle {
  backend: AgentBackend;
  client: AgentClient;
  /** Where a 👍 / 👎 goes on this backend; undefined: Langfuse (when scoring is configured). */
  feedback?: { score(input: CaipeFeedbackInput): Promise<void> };
  /** Whether `authorize` may link to the CAIPE UI's space route, which exists only up to CAIPE 0.5. */
  uiAuthorizeRoute: boolean;
  /** One line for start-up logs and the demo page, e.g. "A2A (auto) at http://…". */
  label: string;
  close(): Promise<void>;
}

export function createAgentClient(options: CreateAgentClientOptions): AgentBackendHandle {
  const { backend, logger } = options;
  const common = {
    idleTimeoutMs: options.idleTimeoutMs,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  };
  switch (backend.protocol) {
    case 'agui': {
      const client = new AguiAgentClient({
        ...common,
        url: backend.url,
        historyLimits: backend.historyLimits,
        ...(options.auth ? { auth: options.auth } : {}),
        ...(options.memory ? { memory: options.memory } : {}),
      });
      return {
        backend: 'agui',
        client,
        uiAuthorizeRoute: false,
        label: `AG-UI at ${backend.url}`,
        close: () => client.close(),
      };
    }
    case 'caipe': {
      const people = backend.onBehalf ? onBehalf(backend.onBehalf, options) : undefined;
      const client = new CaipeAgentClient({
        ...common,
        url: backend.url,
        agentId: backend.agentId,
        ...(people ? { people } : options.auth ? { auth: options.auth } : {}),
      });
      const authMode = backend.onBehalf ? 'obo' : 'service';
      return {
        backend: 'caipe',
        client,
        feedback: createCaipeFeedback({ url: backend.url, log: logger }),
        uiAuthorizeRoute: false,
        label: `CAIPE ≥0.6 (agent ${backend.agentId}, ${authMode} auth) at ${backend.url}`,
        close: () => client.close(),
      };
    }
    case 'a2a': {
      const client = new A2aAgentClient({
        ...common,
        url: backend.url,
        version: backend.version,
        userPrefix: backend.userPrefix,
        ...(options.auth ? { auth: options.auth } : {}),
      });
      return {
        backend: 'a2a',
        client,
        uiAuthorizeRoute: true,
        label: `A2A (${backend.version}) at ${backend.url}`,
        close: () => client.close(),
      };
    }
  }
}

function onBehalf(settings: OnBehalfSettings, options: CreateAgentClientOptions): KeycloakOnBehalf {
  const sendPrivate = options.sendPrivate;
  return new KeycloakOnBehalf({
    ...settings,
    logger: options.logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(sendPrivate
      ? {
          onUnlinked: ({ personId, url }: { personId: string; url: string }) =>
            sendPrivate(linkNoticeMessage(personId, url)),
        }
      : {}),
  });
}
