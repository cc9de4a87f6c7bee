/**
 * The one shape in which Webex input reaches the rest of the bot. Ids are Hydra ids (what REST
 * accepts); `activityId` is the raw socket activity UUID, used for dedupe and logging.
 */

export type RoomType = 'direct' | 'group';

export interface InboundPerson {
  /** Hydra PEOPLE id. */
  id: string;
  email: string;
  displayName?: string;
  /** The person's organisation, when the event says (Mercury does, REST listings do not). */
  orgId?: string;
}

interface InboundBase {
  activityId: string;
  /** Hydra ROOM id. */
  roomId: string;
  roomType: RoomType;
  person: InboundPerson;
  /** Epoch ms at which the socket frame arrived. */
  receivedAt: number;
}

/** A new top-level message or a thread reply (also a message that carries files). */
export interface InboundMessageEvent extends InboundBase {
  kind: 'message';
  /** Hydra MESSAGE id. */
  messageId: string;
  /** Hydra MESSAGE id of the thread root, for replies. */
  parentId?: string;
  /** Plain text as REST returns it; in group rooms it starts with the bot's display name. */
  text: string;
  html?: string;
  markdown?: string;
  /** Hydra PEOPLE ids, plus `all` when the message mentioned everyone. */
  mentionedPeople: string[];
  /** True when the message carries files (the bot answers the text and says files are not read). */
  files: boolean;
}

/** An Adaptive Card `Action.Submit`. */
export interface InboundCardActionEvent extends InboundBase {
  kind: 'cardAction';
  /** Hydra ATTACHMENT_ACTION id. */
  actionId: string;
  /** Hydra MESSAGE id of the card that was submitted. */
  messageId: string;
  /** Input ids → values (strings), with the `Action.Submit` `data` merged in. */
  inputs: Record<string, unknown>;
}

/** The bot was added to a room; `person` is who added it. */
export interface InboundBotAddedEvent extends InboundBase {
  kind: 'botAdded';
}

export type InboundEvent = InboundMessageEvent | InboundCardActionEvent | InboundBotAddedEvent;
