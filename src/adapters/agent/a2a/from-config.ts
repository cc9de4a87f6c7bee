/** The A2A client's settings from the bot's configuration. */
import type { Config } from '../../../config.js';
import type { A2aAgentClientOptions } from './client.js';

export function a2aClientOptions(
  config: Pick<Config, 'caipeUrl' | 'a2aIdleTimeoutS' | 'a2aVersion' | 'a2aUserPrefix'>,
): A2aAgentClientOptions {
  return {
    url: config.caipeUrl,
    idleTimeoutMs: config.a2aIdleTimeoutS * 1000,
    version: config.a2aVersion,
    userPrefix: config.a2aUserPrefix,
  };
}
