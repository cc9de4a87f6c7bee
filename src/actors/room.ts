/**
 * The room supervisor with its effects (`createRoomLogic`): notices, the `authorize` reply, the
 * hello when the bot joins a space, and the report of a conversation that failed.
 */
import type { SpaceAuthorization } from '../adapters/store/space-authorization.js';
import type { WebexSender } from '../adapters/webex/sender/index.js';
import { asCodedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { conversationMachine } from '../machines/conversation.js';
import { roomMachine } from '../machines/room.js';
import type { ReplyTarget, RoomType } from '../machines/types.js';
import { buildAuthorizeCard } from '../render/cards.js';
import { messages } from '../render/messages.js';
import type { Notify } from './conversation.js';

/** How `authorize` is answered in an unauthorized space (SPEC "Spaces and threads"). */
export interface AuthorizeReplyOptions {
  /**
   * `card`: the "Connect to CAIPE" card (the CAIPE UI shares the bot's MongoDB); `admin-api`: how an
   * operator authorizes the space through the bot's admin API.
   */
  mode: 'card' | 'admin-api';
  /** `CAIPE_UI_BASE_URL`. */
  caipeUiBaseUrl: string;
  /** Where the admin API answers, as the instructions show it. */
  adminBaseUrl: string;
  adminApiEnabled: boolean;
}

export interface RoomEffectsDeps {
  conversation: typeof conversationMachine;
  spaces: SpaceAuthorization;
  sender: WebexSender;
  notify: Notify;
  /** Without it `authorize` gets the generic notice. */
  authorize?: AuthorizeReplyOptions | undefined;
  log: Logger;
}

export function createRoomLogic(deps: RoomEffectsDeps) {
  const { log, sender } = deps;

  // The space's decision is read, not dropped: another person's cached answer stays (SPEC).
  const replyAuthorize = async (target: ReplyTarget, roomType: RoomType, options: AuthorizeReplyOptions) => {
    const decision = await deps.spaces.check(target.roomId, roomType, { fresh: true });
    if (decision.allowed) {
      await sender.post({ ...target, markdown: messages.alreadyAuthorized }, { priority: 'first-reply' });
    } else if (options.mode === 'card') {
      const url = `${options.caipeUiBaseUrl}/api/admin/integrations/webex/authorize?roomId=${encodeURIComponent(target.roomId)}`;
      await sender.post({ ...target, ...buildAuthorizeCard({ url }) }, { priority: 'first-reply' });
    } else {
      await sender.post(
        {
          ...target,
          markdown: messages.authorizeWithAdminApi({
            roomId: target.roomId,
            adminBaseUrl: options.adminBaseUrl,
            adminApiEnabled: options.adminApiEnabled,
          }),
        },
        { priority: 'first-reply' },
      );
    }
  };

  const greet = async (roomId: string, roomType: RoomType) => {
    const decision = await deps.spaces.check(roomId, roomType);
    deps.notify({ kind: 'hello', authorized: decision.allowed }, { roomId });
  };

  return roomMachine.provide({
    actors: { conversation: deps.conversation },
    actions: {
      notify: (_, { notice, target }) => deps.notify(notice, target),
      replyAuthorize: (_, { target, roomType }) => {
        if (!deps.authorize) return deps.notify({ kind: 'authorize' }, target);
        replyAuthorize(target, roomType, deps.authorize).catch((error: unknown) => {
          log.warn(
            { err: asCodedError(error), roomId: target.roomId },
            'could not answer the authorize command',
          );
        });
      },
      greet: (_, { roomId, roomType }) => {
        greet(roomId, roomType).catch((error: unknown) => {
          log.warn({ err: asCodedError(error), roomId }, 'could not say hello');
        });
      },
      reportConversationFailure: (_, { key, error }) => {
        log.error({ err: asCodedError(error), threadKey: key }, 'conversation failed; it was stopped');
      },
    },
  });
}
