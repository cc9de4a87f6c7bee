/** The words of every notice the machines name (help, busy, cancelled, …). */
import type { Notice } from '../machines/types.js';
import { messages, personRefusalMessage } from './messages.js';

/** The text of each notice the machines name. */
export function noticeText(notice: Notice, context: { botName: string; turnTimeoutS?: number }): string {
  switch (notice.kind) {
    case 'help':
      return messages.help({ botName: context.botName, group: notice.group });
    case 'unauthorized':
      return messages.unauthorizedSpace(context.botName);
    case 'spaceUnavailable':
      return messages.spaceCheckUnavailable;
    case 'personRefused':
      return personRefusalMessage(notice.reason, context.botName);
    case 'busy':
      return messages.busy;
    case 'busyTurns':
      return notice.scope === 'bot' ? messages.busyEverywhere : messages.busyForYou;
    case 'turnTimedOut':
      return messages.turnTimedOut(context.turnTimeoutS ?? 1800);
    case 'formOwned':
      return messages.formOwned(notice.owner);
    case 'cancelled':
      return messages.cancelled;
    case 'nothingToCancel':
      return messages.nothingToCancel;
    case 'reset':
      return messages.resetDone;
    case 'filesOnly':
      return messages.filesOnly;
    case 'authorize':
      return messages.unauthorizedSpace(context.botName);
    case 'hello':
      return messages.hello({ botName: context.botName, authorized: notice.authorized });
    case 'unknownCard':
      return messages.unknownCard;
    case 'internalError':
      return messages.internalError;
    case 'shuttingDown':
      return messages.shuttingDown;
    case 'answerInterrupted':
      return messages.answerInterrupted;
    case 'formExpired':
      return messages.formExpired;
    case 'formAlreadySubmitted':
      return messages.formAlreadySubmitted;
    case 'formCancelled':
      return messages.formCancelled;
    case 'feedbackThanks':
      return messages.feedbackThanks(notice.positive);
  }
}
