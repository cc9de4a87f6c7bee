import { afterEach, describe, expect, it } from 'vitest';
import { type AnyActorRef, assign, createActor, setup, toPromise } from 'xstate';
import {
  senderPromiseActors,
  WEBEX_SENDER_SYSTEM_ID,
  type WebexSenderReply,
  webexSenderLogic,
} from '../../../src/actors/sender.js';
import { createWebexSender, type WebexSender } from '../../../src/adapters/webex/sender/sender.js';
import { silentLogger } from '../../../src/logger.js';
import { apiError, deferred, FakeTransport, ManualClock } from './fakes.js';

let sender: WebexSender | undefined;
let root: AnyActorRef | undefined;

afterEach(() => {
  root?.stop();
  sender?.stop();
  root = undefined;
  sender = undefined;
});

function makeSender(handler?: ConstructorParameters<typeof FakeTransport>[1]) {
  const clock = new ManualClock();
  const transport = new FakeTransport(clock, handler);
  sender = createWebexSender({ transport, clock, retryAfterDefaultS: 10, logger: silentLogger() });
  return { transport, sender };
}

describe('webex.sender actor', () => {
  it('is reachable by systemId and replies webex.sent / webex.failed to the requester', async () => {
    const { sender: s, transport } = makeSender((req) => {
      if (req.method === 'DELETE') throw apiError(403, { description: 'not yours' });
      return undefined;
    });
    const replies: WebexSenderReply[] = [];
    const machine = setup({
      types: { events: {} as WebexSenderReply | { type: 'go' } },
      actors: { sender: webexSenderLogic(s) },
    }).createMachine({
      invoke: { src: 'sender', systemId: WEBEX_SENDER_SYSTEM_ID },
      on: {
        go: {
          actions: ({ system, self }) => {
            const ref = system.get(WEBEX_SENDER_SYSTEM_ID) as AnyActorRef;
            const replyTo = self;
            ref.send({
              type: 'webex.post',
              requestId: 'p1',
              replyTo,
              message: { roomId: 'r', markdown: 'hi' },
            });
            ref.send({
              type: 'webex.edit',
              requestId: 'e1',
              replyTo,
              message: { messageId: 'msg-1', roomId: 'r', markdown: 'hi again' },
            });
            ref.send({
              type: 'webex.delete',
              requestId: 'd1',
              replyTo,
              message: { messageId: 'x', roomId: 'r' },
            });
          },
        },
        'webex.*': { actions: ({ event }) => void replies.push(event as WebexSenderReply) },
      },
    });
    root = createActor(machine).start();
    root.send({ type: 'go' });
    await s.idle();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(replies.map((r) => [r.type, r.requestId])).toEqual([
      ['webex.sent', 'p1'],
      ['webex.sent', 'e1'],
      ['webex.failed', 'd1'],
    ]);
    expect(replies[0]).toMatchObject({ op: 'post', message: { id: 'msg-1' } });
    expect(replies[1]).toMatchObject({ op: 'edit', outcome: 'sent' });
    expect(replies[2]).toMatchObject({ op: 'delete', error: { code: 'WEBEX_API', status: 403 } });
    expect(transport.calls).toHaveLength(3);
  });

  it('offers promise actors for invoke', async () => {
    const { sender: s } = makeSender();
    const actors = senderPromiseActors(s);
    const machine = setup({
      types: { context: {} as { id?: string } },
      actors: { webexPost: actors.webexPost },
    }).createMachine({
      context: {},
      initial: 'posting',
      states: {
        posting: {
          invoke: {
            src: 'webexPost',
            input: { roomId: 'r', markdown: 'Working on it' },
            onDone: { target: 'done', actions: assign({ id: ({ event }) => event.output.id }) },
          },
        },
        done: { type: 'final' },
      },
      output: ({ context }) => context.id,
    });
    root = createActor(machine).start();
    await expect(toPromise(root)).resolves.toBe('msg-1');
  });

  it('stopping an invoking state aborts a request that has not gone out', async () => {
    const gate = deferred();
    const { sender: s, transport } = makeSender((_req, _call, index) =>
      index === 0 ? gate.promise : undefined,
    );
    s.post({ roomId: 'r', markdown: 'holds the room' });
    const actors = senderPromiseActors(s);
    const invoked = createActor(actors.webexPost, { input: { roomId: 'r', markdown: 'never sent' } }).start();
    invoked.stop();
    gate.resolve({ id: 'first' });
    await s.idle();
    expect(transport.markdowns()).toEqual(['holds the room']);
  });
});
