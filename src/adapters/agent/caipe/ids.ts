/**
 * CAIPE's id grammar for agents and conversations (`UI/lib/rbac/openfga-agent-authz.ts`): letters,
 * digits, `.`, `_` and `-`, at most 128 characters. The client refuses other ids before any call,
 * and the admin API refuses a space's `agentId` that does not match.
 */
export const CAIPE_ID_MAX_CHARS = 128;
export const CAIPE_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export function isCaipeId(value: unknown): value is string {
  return typeof value === 'string' && CAIPE_ID_PATTERN.test(value);
}
