/**
 * The bot's own posts as its socket shows them ("echoes"): Webex sends every new message to all
 * devices of the room's members, its author's included. The intake drops them as `own`; before
 * that, a new post (not an edit) of the bot is read here, so a running answer can tell a post that
 * went out from one that did not when its process died before recording the post's id.
 */
import { clusterOfUrl, type ServiceCatalog } from './catalog.js';
import { decodeHydraId, encodeHydraId } from './ids.js';
import type { RawActivity } from './mercury.js';
import type { BotSelf } from './normalize.js';

export interface OwnPost {
  /** Hydra ROOM id. */
  roomId: string;
  /** Hydra MESSAGE id of the post. */
  messageId: string;
  /** Hydra MESSAGE id of the thread root, for a thread reply. */
  parentId?: string;
}

/** The bot's own new post in this activity, or undefined for anything else. */
export function ownPostOf(
  activity: RawActivity,
  ctx: { self: BotSelf; catalog: Pick<ServiceCatalog, 'hostClusters'> },
): OwnPost | undefined {
  const record = activity as Record<string, unknown>;
  const id = text(record.id);
  const actor = object(record.actor);
  const target = object(record.target);
  if (!id || record.verb !== 'post' || !actor || !target || !text(target.id)) return undefined;
  const self = new Set([ctx.self.userId, decodeHydraId(ctx.self.personId)?.uuid].filter(Boolean));
  if (!self.has(text(actor.id)) && !self.has(text(actor.entryUUID))) return undefined;
  const parent = object(record.parent);
  const parentType = text(parent?.type);
  // An edit is a `post` whose parent is the edited message: not a new post.
  if (parentType !== undefined && parentType !== 'reply') return undefined;
  const cluster = clusterOfUrl(ctx.catalog, text(target.url) ?? text(record.url));
  const parentUuid = parentType === 'reply' ? text(parent?.id) : undefined;
  return {
    roomId: encodeHydraId('ROOM', text(target.id)!, cluster),
    messageId: encodeHydraId('MESSAGE', id, cluster),
    ...(parentUuid ? { parentId: encodeHydraId('MESSAGE', parentUuid, cluster) } : {}),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
