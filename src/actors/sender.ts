/**
 * The sender in the actor tree. Two ways in, both over the one `WebexSender` instance the
 * composition root creates (so every write shares its queues, token bucket and 429 pauses):
 *
 * 1. `webexSenderLogic(sender)`: a callback actor registered as `systemId: 'webex.sender'`. Any
 *    actor reaches it with `system.get('webex.sender')` and sends `webex.post` / `webex.edit` /
 *    `webex.delete` with a `requestId` and `replyTo`; it answers `webex.sent` or `webex.failed`.
 * 2. `senderPromiseActors(sender)`: `fromPromise` logic for machines that prefer to `invoke` a
 *    write and take `onDone` / `onError`; stopping the invoking state aborts the request.
 *
 * Why a thin wrapper and not a machine: the sender's state (queues of pending promises, a token
 * bucket, timers) is mutable bookkeeping with one synchronous scheduler, tested directly with an
 * injected clock. A statechart would add events for every enqueue without making any rule
 * clearer; the actor only gives it an address in the system.
 */
import { type AnyActorRef, fromCallback, fromPromise } from 'xstate';
import type {
  DeleteMessage,
  DeleteOutcome,
  EditMessage,
  EditOutcome,
  PostMessage,
  SentMessage,
  WebexSender,
} from '../adapters/webex/sender/sender.js';
import { asCodedError, type CodedError } from '../errors.js';

export const WEBEX_SENDER_SYSTEM_ID = 'webex.sender';

interface RequestBase {
  /** Chosen by the requester; echoed in the reply. */
  requestId: string;
  /** Who gets `webex.sent` / `webex.failed`. */
  replyTo: AnyActorRef;
}

export type WebexSenderRequest =
  | (RequestBase & { type: 'webex.post'; message: PostMessage })
  | (RequestBase & { type: 'webex.edit'; message: EditMessage })
  | (RequestBase & { type: 'webex.delete'; message: DeleteMessage });

export type WebexSenderReply =
  | { type: 'webex.sent'; requestId: string; op: 'post'; message: SentMessage }
  | { type: 'webex.sent'; requestId: string; op: 'edit'; outcome: EditOutcome }
  | { type: 'webex.sent'; requestId: string; op: 'delete'; outcome: DeleteOutcome }
  | { type: 'webex.failed'; requestId: string; op: 'post' | 'edit' | 'delete'; error: CodedError };

/**
 * The `webex.sender` actor. When it stops, requests it accepted and that have not gone out yet are
 * aborted (and no replies follow); the sender itself is stopped by the composition root.
 */
export function webexSenderLogic(sender: WebexSender) {
  return fromCallback<WebexSenderRequest>(({ receive }) => {
    const stopping = new AbortController();
    receive((request) => {
      const { requestId, replyTo } = request;
      const options = { signal: stopping.signal };
      const reply = (event: WebexSenderReply) => {
        if (!stopping.signal.aborted) replyTo.send(event);
      };
      const failed = (op: WebexSenderReply['op']) => (error: unknown) =>
        reply({ type: 'webex.failed', requestId, op, error: asCodedError(error) });
      switch (request.type) {
        case 'webex.post':
          sender
            .post(request.message, options)
            .then((message) => reply({ type: 'webex.sent', requestId, op: 'post', message }), failed('post'));
          return;
        case 'webex.edit':
          sender
            .edit(request.message, options)
            .then((outcome) => reply({ type: 'webex.sent', requestId, op: 'edit', outcome }), failed('edit'));
          return;
        case 'webex.delete':
          sender
            .delete(request.message, options)
            .then(
              (outcome) => reply({ type: 'webex.sent', requestId, op: 'delete', outcome }),
              failed('delete'),
            );
          return;
      }
    });
    return () => stopping.abort(new Error('webex.sender actor stopped'));
  });
}

/** Promise actors over the same sender, for `invoke` (input = the message; the signal aborts). */
export function senderPromiseActors(sender: WebexSender) {
  return {
    webexPost: fromPromise<SentMessage, PostMessage>(({ input, signal }) => sender.post(input, { signal })),
    webexEdit: fromPromise<EditOutcome, EditMessage>(({ input, signal }) => sender.edit(input, { signal })),
    webexDelete: fromPromise<DeleteOutcome, DeleteMessage>(({ input, signal }) =>
      sender.delete(input, { signal }),
    ),
  };
}
