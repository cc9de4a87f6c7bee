/**
 * From a socket activity to an `InboundEvent`, in two steps:
 *
 * 1. `routeActivity` (pure, no I/O): decides from the activity alone whether it is dropped (own,
 *    another bot, edit, unknown verb, malformed), needs a REST fetch (post, share, cardAction) or
 *    is complete already (the bot was added to a room). It builds the Hydra ids with the cluster of
 *    the conversation's host.
 * 2. `messageEvent` / `cardActionEvent`: combine the route with the plaintext REST returned (the
 *    socket payload is end-to-end encrypted).
 */

import type {
  InboundBotAddedEvent,
  InboundCardActionEvent,
  InboundMessageEvent,
  InboundPerson,
  RoomType,
} from '../../machines/inbound-event.js';
/** Who the bot is, as far as recognising its own activities goes. */
import type { BotSelf } from '../../machines/webex-types.js';
import { clusterOfUrl, type ServiceCatalog } from './catalog.js';
import { decodeHydraId, encodeHydraId } from './ids.js';
import type { RawActivity } from './mercury.js';

export type { BotSelf };

export type DropOutcome = 'own' | 'bot' | 'ignored' | 'malformed';

interface RouteBase {
  activityId: string;
  roomId: string;
  roomType: RoomType;
  actor: {
    uuid: string;
    email: string | undefined;
    displayName: string | undefined;
    /** The actor's organisation as Mercury gives it (a raw UUID); absent in REST listings. */
    orgId: string | undefined;
  };
}

export type ActivityRoute =
  | { action: 'drop'; outcome: DropOutcome; activityId: string | undefined; detail: string }
  | (RouteBase & { action: 'fetchMessage'; messageId: string; files: boolean })
  | (RouteBase & { action: 'fetchCardAction'; actionId: string })
  | (RouteBase & { action: 'botAdded' });

export interface RouteContext {
  self: BotSelf;
  catalog: Pick<ServiceCatalog, 'hostClusters'>;
}

export function routeActivity(activity: RawActivity, ctx: RouteContext): ActivityRoute {
  const activityId = str(activity.id);
  const verb = str(activity.verb);
  const actor = rec(activity.actor);
  const target = rec(activity.target);
  const drop = (outcome: DropOutcome, detail: string): ActivityRoute => ({
    action: 'drop',
    outcome,
    activityId,
    detail,
  });
  if (!activityId || !verb) return drop('malformed', 'activity without id or verb');
  if (!actor || !str(actor.id)) return drop('malformed', 'activity without actor.id');

  const selfUuids = new Set([ctx.self.userId, decodeHydraId(ctx.self.personId)?.uuid].filter(Boolean));
  if (selfUuids.has(str(actor.id)) || selfUuids.has(str(actor.entryUUID))) return drop('own', 'own activity');
  if (actor.type !== 'PERSON') return drop('bot', `actor type ${String(actor.type ?? 'missing')}`);

  if (!target || !str(target.id)) return drop('malformed', 'activity without target.id');
  const cluster = clusterOfUrl(ctx.catalog, str(target.url) ?? str(activity.url));
  const tags = Array.isArray(target.tags) ? target.tags : [];
  const base: RouteBase = {
    activityId,
    roomId: encodeHydraId('ROOM', str(target.id)!, cluster),
    roomType: tags.includes('ONE_ON_ONE') ? 'direct' : 'group',
    actor: {
      uuid: str(actor.id)!,
      email: str(actor.emailAddress) ?? str(actor.entryEmail),
      displayName: str(actor.displayName),
      orgId: str(actor.orgId),
    },
  };
  const object = rec(activity.object);
  const parentType = str(rec(activity.parent)?.type);

  switch (verb) {
    case 'post':
      if (parentType === 'edit') return drop('ignored', 'edit of an earlier message');
      if (parentType !== undefined && parentType !== 'reply')
        return drop('ignored', `post with parent ${parentType}`);
      return {
        ...base,
        action: 'fetchMessage',
        messageId: encodeHydraId('MESSAGE', activityId, cluster),
        files: false,
      };
    case 'share':
      return {
        ...base,
        action: 'fetchMessage',
        messageId: encodeHydraId('MESSAGE', activityId, cluster),
        files: true,
      };
    case 'cardAction':
      return {
        ...base,
        action: 'fetchCardAction',
        actionId: encodeHydraId('ATTACHMENT_ACTION', activityId, cluster),
      };
    case 'add':
      // Reactions also use `add`; only a person joining counts, and only when it is the bot.
      if (object?.objectType === 'person' && selfUuids.has(str(object.id)))
        return { ...base, action: 'botAdded' };
      return drop('ignored', 'add of someone else or of a non-person');
    default:
      return drop('ignored', `verb ${verb}`);
  }
}

/** `GET /messages/{id}` fields the bot reads. */
export interface HydraMessage {
  id: string;
  roomId?: string;
  roomType?: string;
  parentId?: string;
  text?: string;
  markdown?: string;
  html?: string;
  files?: unknown[];
  personId?: string;
  personEmail?: string;
  mentionedPeople?: string[];
  mentionedGroups?: string[];
  /** ISO 8601 creation time (Webex's clock); the REST catch-up compares it with its window. */
  created?: string;
}

/** `GET /attachment/actions/{id}` fields the bot reads. */
export interface HydraAttachmentAction {
  id: string;
  type?: string;
  messageId?: string;
  inputs?: Record<string, unknown>;
  personId?: string;
  roomId?: string;
}

type FetchRoute<A extends string> = Extract<ActivityRoute, { action: A }>;

export function messageEvent(
  route: FetchRoute<'fetchMessage'>,
  message: HydraMessage,
  receivedAt: number,
): InboundMessageEvent {
  const mentioned = Array.isArray(message.mentionedPeople) ? message.mentionedPeople.filter(isString) : [];
  if (Array.isArray(message.mentionedGroups) && message.mentionedGroups.includes('all'))
    mentioned.push('all');
  return {
    kind: 'message',
    activityId: route.activityId,
    roomId: str(message.roomId) ?? route.roomId,
    roomType:
      message.roomType === 'direct' || message.roomType === 'group' ? message.roomType : route.roomType,
    messageId: str(message.id) ?? route.messageId,
    ...(str(message.parentId) ? { parentId: message.parentId } : {}),
    person: person(route, message.personId, message.personEmail),
    text: typeof message.text === 'string' ? message.text : '',
    ...(str(message.html) ? { html: message.html } : {}),
    ...(str(message.markdown) ? { markdown: message.markdown } : {}),
    mentionedPeople: mentioned,
    files: route.files || (Array.isArray(message.files) && message.files.length > 0),
    receivedAt,
  };
}

export function cardActionEvent(
  route: FetchRoute<'fetchCardAction'>,
  action: HydraAttachmentAction,
  receivedAt: number,
): InboundCardActionEvent | undefined {
  const messageId = str(action.messageId);
  if (!messageId) return undefined;
  return {
    kind: 'cardAction',
    activityId: route.activityId,
    roomId: str(action.roomId) ?? route.roomId,
    roomType: route.roomType,
    actionId: str(action.id) ?? route.actionId,
    messageId,
    inputs: rec(action.inputs) ?? {},
    person: person(route, action.personId, undefined),
    receivedAt,
  };
}

export function botAddedEvent(route: FetchRoute<'botAdded'>, receivedAt: number): InboundBotAddedEvent {
  return {
    kind: 'botAdded',
    activityId: route.activityId,
    roomId: route.roomId,
    roomType: route.roomType,
    person: person(route, undefined, undefined),
    receivedAt,
  };
}

function person(route: RouteBase, personId: unknown, personEmail: unknown): InboundPerson {
  return {
    // People ids are always in the `us` cluster.
    id: str(personId) ?? encodeHydraId('PEOPLE', route.actor.uuid, 'us'),
    email: str(personEmail) ?? route.actor.email ?? '',
    ...(route.actor.displayName ? { displayName: route.actor.displayName } : {}),
    ...(route.actor.orgId ? { orgId: route.actor.orgId } : {}),
  };
}

/**
 * Removes the bot's mention from the start of a group message's text. Webex puts the mention's
 * display text first (without the `@`), which is the bot's full display name or only its first
 * word; the `<spark-mention>` in `html` names the exact text when the bot's person id is known.
 * Mentions further inside the text are left alone: they are part of what the user wrote.
 */
export function stripBotMention(
  text: string,
  html: string | undefined,
  botDisplayName: string,
  botPersonId?: string,
): string {
  const candidates = new Set<string>();
  const name = botDisplayName.trim();
  if (name) {
    candidates.add(name);
    candidates.add(name.split(/\s+/)[0]!);
  }
  if (html && botPersonId) {
    for (const match of html.matchAll(/<spark-mention\b([^>]*)>([\s\S]*?)<\/spark-mention>/gi)) {
      const attributes = match[1] ?? '';
      const objectId = /data-object-id\s*=\s*"([^"]*)"/i.exec(attributes)?.[1];
      if (objectId && sameBot(objectId, botPersonId)) {
        const shown = decodeEntities((match[2] ?? '').replace(/<[^>]*>/g, '')).trim();
        if (shown) candidates.add(shown);
      }
    }
  }
  const trimmed = text.replace(/^\s+/, '');
  const lower = trimmed.toLowerCase();
  for (const candidate of [...candidates].sort((a, b) => b.length - a.length)) {
    if (!lower.startsWith(candidate.toLowerCase())) continue;
    const next = trimmed.charAt(candidate.length);
    if (next !== '' && !/[\s,:;.!?]/.test(next)) continue;
    return trimmed.slice(candidate.length).replace(/^[\s,:;]+/, '');
  }
  return text.trim();
}

function sameBot(objectId: string, botPersonId: string): boolean {
  if (objectId === botPersonId) return true;
  const decoded = decodeHydraId(botPersonId);
  return decoded !== undefined && decoded.uuid === objectId;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function rec(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
