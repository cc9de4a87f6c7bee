/**
 * A view of the sender whose every write carries `guard` (see `RequestOptions.guard`): the writes
 * of one conversation go out only while this process holds its lease.
 */
import type { WebexSender } from './sender.js';

export function guardedSender(sender: WebexSender, guard: () => boolean | Promise<boolean>): WebexSender {
  return {
    post: (message, options = {}) => sender.post(message, { ...options, guard }),
    postReplaceable: (message, options = {}) => sender.postReplaceable(message, { ...options, guard }),
    edit: (message, options = {}) => sender.edit(message, { ...options, guard }),
    delete: (message, options = {}) => sender.delete(message, { ...options, guard }),
    editsLeft: (messageId) => sender.editsLeft(messageId),
    idle: () => sender.idle(),
    stop: () => sender.stop(),
    stats: () => sender.stats(),
  };
}
