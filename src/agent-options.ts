/**
 * The agent adapters' options, read from the configuration: the one place where `AGENT_PROTOCOL`,
 * `A2A_*`, `CAIPE_*`, `KEYCLOAK_*` and the OAuth2 settings become the typed options the adapters
 * take. The adapters never see the whole `Config`; `runtime.ts` calls these while wiring.
 */
import type { AgentBackendSettings, CreateAgentClientOptions } from './adapters/agent/index.js';
import type { OAuth2ClientCredentials } from './adapters/agent/oauth2.js';
import type { Config } from './config.js';
import { AgentError } from './errors.js';

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

/** Which backend `createAgentClient` builds, with its settings and the idle timeout all share. */
export function agentClientOptions(
  config: AgentConfig,
): Pick<CreateAgentClientOptions, 'backend' | 'idleTimeoutMs'> {
  return { backend: agentBackendSettings(config), idleTimeoutMs: config.a2aIdleTimeoutS * 1000 };
}

function agentBackendSettings(config: AgentConfig): AgentBackendSettings {
  const url = config.caipeUrl;
  switch (config.agentProtocol) {
    case 'agui':
      return {
        protocol: 'agui',
        url,
        historyLimits: {
          maxMessages: config.threadContextMaxMessages,
          maxChars: config.threadContextMaxChars,
        },
      };
    case 'caipe': {
      const agentId = config.caipeAgentId;
      // loadConfig refuses AGENT_PROTOCOL=caipe without it; this guards callers that skipped it.
      if (!agentId) throw new Error('AGENT_PROTOCOL=caipe needs CAIPE_AGENT_ID');
      return {
        protocol: 'caipe',
        url,
        agentId,
        ...(config.caipeAuthMode === 'obo' ? { onBehalf: onBehalfSettings(config) } : {}),
      };
    }
    default:
      return { protocol: 'a2a', url, version: config.a2aVersion, userPrefix: config.a2aUserPrefix };
  }
}

function onBehalfSettings(
  config: AgentConfig,
): NonNullable<Extract<AgentBackendSettings, { protocol: 'caipe' }>['onBehalf']> {
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
  return {
    keycloakUrl: required.keycloakUrl!,
    realm: config.keycloakRealm,
    clientId: config.keycloakBotClientId,
    clientSecret: required.clientSecret!,
    audience: config.keycloakBotAudience,
    adminClientId: config.keycloakAdminClientId,
    adminClientSecret: required.adminClientSecret!,
    linkBaseUrl: config.webexLinkingBaseUrl ?? config.caipeUiBaseUrl,
    linkSecret: required.linkSecret!,
  };
}

/** The OAuth2 token source's options, or undefined when auth is off. */
export function oauth2OptionsFromConfig(
  config: Pick<
    Config,
    | 'a2aAuthEnabled'
    | 'a2aAuthTokenUrl'
    | 'a2aAuthClientId'
    | 'a2aAuthClientSecret'
    | 'a2aAuthScope'
    | 'a2aAuthAudience'
  >,
): OAuth2ClientCredentials | undefined {
  if (!config.a2aAuthEnabled) return undefined;
  const { a2aAuthTokenUrl: tokenUrl, a2aAuthClientId: clientId, a2aAuthClientSecret: clientSecret } = config;
  // loadConfig already refused this combination (exit 78); this guards callers that skipped it.
  if (!tokenUrl || !clientId || !clientSecret) {
    throw new AgentError(
      'unauthorized',
      'OAuth2 is enabled but the token URL, client id or secret is missing',
    );
  }
  return {
    tokenUrl,
    clientId,
    clientSecret,
    scope: config.a2aAuthScope,
    audience: config.a2aAuthAudience,
  };
}
