/**
 * `A2A_VERSION=auto`: which JSON-RPC version an agent speaks, read from its agent card.
 *
 * A v1.0 card lists `supportedInterfaces[{url, protocolBinding, protocolVersion}]`; a v0.3 card has
 * a top-level `protocolVersion` ("0.3.0") with `preferredTransport` / `additionalInterfaces`; the
 * `@a2a-js/sdk` 1.x server with v0.3 compatibility serves a hybrid of both. The newest version
 * offered over JSON-RPC wins; anything unreadable means 0.3, the version of the CAIPE supervisor.
 */
import type { A2aVersion } from './wire.js';

export const AGENT_CARD_PATH = '/.well-known/agent-card.json';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function major(version: unknown): number | undefined {
  if (typeof version !== 'string') return undefined;
  const match = /^\s*v?(\d+)/.exec(version);
  return match ? Number(match[1]) : undefined;
}

export function versionFromCard(card: unknown): A2aVersion {
  if (!isObject(card)) return '0.3';
  const interfaces = Array.isArray(card.supportedInterfaces) ? card.supportedInterfaces : [];
  for (const entry of interfaces) {
    if (!isObject(entry)) continue;
    const binding =
      typeof entry.protocolBinding === 'string' ? entry.protocolBinding.toUpperCase() : 'JSONRPC';
    if (binding === 'JSONRPC' && (major(entry.protocolVersion) ?? 0) >= 1) return '1.0';
  }
  // A card with only a top-level version of 1 or more and a JSON-RPC transport.
  const transport =
    typeof card.preferredTransport === 'string' ? card.preferredTransport.toUpperCase() : 'JSONRPC';
  if (interfaces.length === 0 && transport === 'JSONRPC' && (major(card.protocolVersion) ?? 0) >= 1)
    return '1.0';
  return '0.3';
}

/** Where to look for the card: next to the endpoint, then at the server's root. */
export function cardUrls(endpoint: string): string[] {
  const base = endpoint.replace(/\/+$/, '');
  const urls = [`${base}${AGENT_CARD_PATH}`];
  try {
    const root = `${new URL(base).origin}${AGENT_CARD_PATH}`;
    if (!urls.includes(root)) urls.push(root);
  } catch {
    // An invalid URL fails on the real call with a clear error.
  }
  return urls;
}
