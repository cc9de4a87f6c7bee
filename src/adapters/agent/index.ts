/**
 * The agent port and its adapters, for the composition root and the conversation actors.
 *
 * `createAgentClient` picks the backend from `AGENT_PROTOCOL` (and `A2A_VERSION`, `CAIPE_AUTH_MODE`):
 * everything above the port gets an `AgentClient` and never learns which backend runs, except for
 * two composition details the backend answers for itself — where a feedback click goes, and whether
 * the `authorize` command can link to the CAIPE UI's space route (CAIPE ≤0.5 only).
 */
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { A2aAgentClient } from './a2a/client.js';
import { AguiAgentClient } from './agui/client.js';
import type { ThreadMemory } from './agui/memory.js';
import { CaipeAgentClient } from './caipe/client.js';
import { type CaipeFeedbackInput, createCaipeFeedback } from './caipe/feedback.js';
import { type LinkNoticeMessage, linkNoticeMessage } from './caipe/link-notice.js';
import { KeycloakOnBehalf } from './caipe/obo.js';
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
export { a2aClientOptions } from './a2a/from-config.js';
export { AguiAgentClient, type AguiAgentClientOptions } from './agui/client.js';
export { CaipeAgentClient, type CaipeAgentClientOptions } from './caipe/client.js';
export { KeycloakOnBehalf, signedLinkUrl } from './caipe/obo.js';
export { parsePlanText } from './plan-text.js';
export * from './port.js';
export * from './turn-state.js';

export type AgentBackend = 'a2a' | 'agui' | 'caipe';

export type AgentConfig = Pick<
  Config,
  | 'agentProtocol'
  | 'caipeUrl'
  | 'a2aIdleTimeoutS'
  | 'a2aVersion'
  | 'a2aUserPrefix'
  | 'caipeAgentId'
  | 'caipeAuthMode'
  | 'caipeUiBaseUrl'
  | 'keycloakUrl'
  | 'keycloakRealm'
  | 'keycloakBotClientId'
  | 'keycloakBotClientSecret'
  | 'keycloakBotAudience'
  | 'keycloakAdminClientId'
  | 'keycloakAdminClientSecret'
  | 'webexLinkingBaseUrl'
  | 'webexLinkHmacSecret'
  | 'threadContextMaxMessages'
  | 'threadContextMaxChars'
>;

export interface CreateAgentClientOptions {
  config: AgentConfig;
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
  const { config, logger } = options;
  const idleTimeoutMs = config.a2aIdleTimeoutS * 1000;
  const common = {
    idleTimeoutMs,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  };
  switch (config.agentProtocol) {
    case 'agui': {
      const client = new AguiAgentClient({
        ...common,
        url: config.caipeUrl,
        historyLimits: {
          maxMessages: config.threadContextMaxMessages,
          maxChars: config.threadContextMaxChars,
        },
        ...(options.auth ? { auth: options.auth } : {}),
        ...(options.memory ? { memory: options.memory } : {}),
      });
      return {
        backend: 'agui',
        client,
        uiAuthorizeRoute: false,
        label: `AG-UI at ${config.caipeUrl}`,
        close: () => client.close(),
      };
    }
    case 'caipe': {
      const agentId = config.caipeAgentId;
      // loadConfig refuses AGENT_PROTOCOL=caipe without it; this guards callers that skipped it.
      if (!agentId) throw new Error('AGENT_PROTOCOL=caipe needs CAIPE_AGENT_ID');
      const people = config.caipeAuthMode === 'obo' ? onBehalf(options) : undefined;
      const client = new CaipeAgentClient({
        ...common,
        url: config.caipeUrl,
        agentId,
        ...(people ? { people } : options.auth ? { auth: options.auth } : {}),
      });
      return {
        backend: 'caipe',
        client,
        feedback: createCaipeFeedback({ url: config.caipeUrl, log: logger }),
        uiAuthorizeRoute: false,
        label: `CAIPE ≥0.6 (agent ${agentId}, ${config.caipeAuthMode} auth) at ${config.caipeUrl}`,
        close: () => client.close(),
      };
    }
    default: {
      const client = new A2aAgentClient({
        ...common,
        url: config.caipeUrl,
        version: config.a2aVersion,
        userPrefix: config.a2aUserPrefix,
        ...(options.auth ? { auth: options.auth } : {}),
      });
      return {
        backend: 'a2a',
        client,
        uiAuthorizeRoute: true,
        label: `A2A (${config.a2aVersion}) at ${config.caipeUrl}`,
        close: () => client.close(),
      };
    }
  }
}

function onBehalf(options: CreateAgentClientOptions): KeycloakOnBehalf {
  const { config } = options;
  const required = {
    keycloakUrl: config.keycloakUrl,
    clientSecret: config.keycloakBotClientSecret,
    adminClientSecret: config.keycloakAdminClientSecret,
    linkSecret: config.webexLinkHmacSecret,
  };
  for (const [name, value] of Object.entries(required)) {
    // loadConfig refuses CAIPE_AUTH_MODE=obo without them; this guards callers that skipped it.
    if (!value) throw new Error(`CAIPE_AUTH_MODE=obo needs ${name}`);
  }
  const sendPrivate = options.sendPrivate;
  return new KeycloakOnBehalf({
    keycloakUrl: required.keycloakUrl!,
    realm: config.keycloakRealm,
    clientId: config.keycloakBotClientId,
    clientSecret: required.clientSecret!,
    audience: config.keycloakBotAudience,
    adminClientId: config.keycloakAdminClientId,
    adminClientSecret: required.adminClientSecret!,
    linkBaseUrl: config.webexLinkingBaseUrl ?? config.caipeUiBaseUrl,
    linkSecret: required.linkSecret!,
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
