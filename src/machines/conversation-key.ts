/**
 * Conversation keys and reply targets (SPEC §4 "Spaces and threads").
 *
 * - Group space: the conversation is the thread; its root is `parentId`, or the message itself
 *   when it is top-level (which becomes the root of a new thread). Answers go under the root.
 * - 1:1 space: a top-level message continues the space's main conversation and is answered
 *   top-level; a thread reply belongs to its thread and is answered there.
 */
import type { ReplyTarget, RoomType } from './types.js';

/** The main conversation of a 1:1 space has no thread root; this stands in for it in keys. */
export const MAIN_THREAD = 'main';

export interface KeyedMessage {
  roomId: string;
  roomType: RoomType;
  messageId: string;
  parentId?: string;
}

export function threadRootOf(message: KeyedMessage): string | undefined {
  if (message.parentId) return message.parentId;
  return message.roomType === 'group' ? message.messageId : undefined;
}

export function conversationKeyOf(message: KeyedMessage): string {
  return `${message.roomId}/${threadRootOf(message) ?? MAIN_THREAD}`;
}

export function replyTargetOf(message: KeyedMessage): ReplyTarget {
  const parentId = threadRootOf(message);
  return parentId ? { roomId: message.roomId, parentId } : { roomId: message.roomId };
}

/** The room and reply target a conversation key stands for (the inverse of `conversationKeyOf`). */
export function targetOfKey(key: string): ReplyTarget | undefined {
  const slash = key.lastIndexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  const roomId = key.slice(0, slash);
  const root = key.slice(slash + 1);
  return root === MAIN_THREAD ? { roomId } : { roomId, parentId: root };
}
