/**
 * The Mercury socket as a callback actor. It owns the `ws` WebSockets of one logical connection:
 *
 * - opens the socket, sends the `authorization` frame, reports readiness at `mercury.buffer_state`;
 * - acks every frame that carries an `id` the moment it arrives, before anything else looks at it —
 *   except, once the process is stopping (`HOLD`), activity frames: Webex keeps unacked frames for
 *   the device and redelivers them to the next process;
 * - forwards activities to the machine without waiting on anything (REST happens elsewhere);
 * - tracks `sequenceNumber` per socket and reports gaps, forward and backward;
 * - answers the machine's PING with a ping frame and reports the matching pong (a pong with a
 *   different id closes the socket with 1000 "Pong mismatch");
 * - on a `shutdown` frame opens a second socket to the same URL ("make before break") and switches
 *   to it once it is ready; the old one keeps acking and forwarding until Webex closes it with 4001.
 *
 * It reports exactly one SOCKET.CLOSED, when the logical connection is gone; the machine decides
 * what that means (close-policy.ts).
 */
import { randomUUID } from 'node:crypto';
import { type ClientOptions, type RawData, WebSocket } from 'ws';
import type { ConnectionMetrics } from '../adapters/webex/connection-metrics.js';
import {
  ackFrame,
  authorizationFrame,
  mercuryUrl,
  parseServerFrame,
  pingFrame,
} from '../adapters/webex/mercury.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { SocketCloseInfo, SocketPhase } from '../machines/close-policy.js';
import type { SocketCommand, SocketEvent, SocketInput } from '../machines/webex-connection.js';

export interface MercurySocketDeps {
  token: string;
  logger: Logger;
  metrics: ConnectionMetrics;
  clock: Clock;
  /** Frame ids for authorization and ping frames. */
  newId?: () => string;
  /** Extra `ws` options, e.g. an `agent` for a proxy. */
  webSocketOptions?: ClientOptions;
}

interface Link {
  n: number;
  ws: WebSocket;
  phase: SocketPhase;
  lastSequence: number | undefined;
  /** Set when this client started the close, so the report names our code and reason. */
  closeRequested: { code: number; reason: string } | undefined;
  httpStatus: number | undefined;
  closed: boolean;
}

/** Builds the machine's `mercurySocket` actor implementation. */
export function runMercurySocket(
  deps: MercurySocketDeps,
  input: SocketInput,
  sendBack: (event: SocketEvent) => void,
  receive: (listener: (command: SocketCommand) => void) => void,
): () => void {
  const newId = deps.newId ?? randomUUID;
  const log = deps.logger.child({ component: 'mercury' });
  const url = mercuryUrl(input.webSocketUrl);
  let stopped = false;
  let linkCount = 0;
  let current: Link;
  let next: Link | undefined;
  const draining = new Set<Link>();
  let pendingPing: { link: Link; id: string } | undefined;
  let reportedClosed = false;
  let holdActivities = input.holdActivities;

  const report = (event: SocketEvent) => {
    if (!stopped) sendBack(event);
  };

  const reportClosed = (info: SocketCloseInfo) => {
    if (reportedClosed) return;
    reportedClosed = true;
    report({ type: 'SOCKET.CLOSED', ...info });
  };

  const open = (): Link => {
    const ws = new WebSocket(url, [], { ...deps.webSocketOptions, perMessageDeflate: false });
    const link: Link = {
      n: ++linkCount,
      ws,
      phase: 'handshake',
      lastSequence: undefined,
      closeRequested: undefined,
      httpStatus: undefined,
      closed: false,
    };
    ws.on('open', () => {
      link.phase = 'opening';
      ws.send(authorizationFrame(newId(), deps.token));
      if (link === current) report({ type: 'SOCKET.OPEN' });
    });
    ws.on('message', (raw: RawData, isBinary: boolean) => onFrame(link, raw, isBinary));
    ws.on('error', (error: Error) => {
      // A failed upgrade surfaces here as "Unexpected server response: 404"; 'close' follows.
      const status = /Unexpected server response: (\d{3})/.exec(error.message)?.[1];
      if (status) link.httpStatus = Number(status);
      log.debug({ link: link.n, err: error.message }, 'mercury socket error');
    });
    ws.on('close', (code: number, reason: Buffer) => onClose(link, code, reason.toString('utf8')));
    return link;
  };

  const onFrame = (link: Link, raw: RawData, isBinary: boolean) => {
    const text = rawText(raw);
    const frame = parseServerFrame(isBinary ? '' : text);
    // Ack first: Webex re-delivers unacked frames, and nothing below may delay the ack. A stopping
    // process leaves activities unacked, for the next process to get them.
    const held = holdActivities && frame.kind === 'activity';
    if (frame.id !== undefined && !held && link.ws.readyState === WebSocket.OPEN)
      link.ws.send(ackFrame(frame.id));
    if ('sequenceNumber' in frame && frame.sequenceNumber !== undefined)
      trackSequence(link, frame.sequenceNumber);

    switch (frame.kind) {
      case 'malformed':
        deps.metrics.malformedFrame();
        log.warn(
          { link: link.n, problem: frame.problem, bytes: text.length },
          'ignored a malformed Mercury frame',
        );
        return;
      case 'ready':
        if (link.phase === 'open') return;
        link.phase = 'open';
        if (link === current) {
          report({ type: 'SOCKET.READY' });
        } else if (link === next) {
          promote(link);
        }
        return;
      case 'pong':
        if (!pendingPing || pendingPing.link !== link) return;
        if (frame.id === pendingPing.id) {
          pendingPing = undefined;
          report({ type: 'SOCKET.PONG' });
        } else {
          pendingPing = undefined;
          log.warn({ link: link.n }, 'pong with an unexpected id; reconnecting');
          requestClose(link, 1000, 'Pong mismatch');
        }
        return;
      case 'shutdown':
        if (link !== current || next !== undefined) return;
        log.info({ link: link.n }, 'Webex asked this socket to move; opening a new one first');
        report({ type: 'SOCKET.SWITCHING' });
        next = open();
        return;
      case 'activity':
        report({ type: 'SOCKET.ACTIVITY', activity: frame.activity, receivedAt: deps.clock.now() });
        return;
      case 'other':
        log.debug({ link: link.n, eventType: frame.eventType, type: frame.type }, 'ignored a Mercury frame');
        return;
    }
  };

  // As the SDK (internal-plugin-mercury `src/socket/socket-base.js`, `onmessage`): any number other
  // than the expected one is a mismatch, forward (frames skipped) or backward (numbers repeated or
  // rewound), and the count resumes from the number received.
  const trackSequence = (link: Link, sequence: number) => {
    const last = link.lastSequence;
    link.lastSequence = sequence;
    if (last !== undefined && sequence !== last + 1) {
      report({ type: 'SOCKET.GAP', expected: last + 1, received: sequence });
    }
  };

  /** The new socket is ready: it becomes current; the old one drains until Webex closes it (4001). */
  const promote = (link: Link) => {
    const old = current;
    current = link;
    next = undefined;
    if (old.closed) {
      log.info({ link: link.n }, 'switched to the new Mercury socket (the old one had already closed)');
    } else {
      draining.add(old);
      log.info({ link: link.n, old: old.n }, 'switched to the new Mercury socket; the old one drains');
    }
    // A ping still out on the old socket may never be answered once it closes: ask again here.
    if (pendingPing?.link === old && link.ws.readyState === WebSocket.OPEN) {
      pendingPing = { link, id: newId() };
      link.ws.send(pingFrame(pendingPing.id));
    }
    report({ type: 'SOCKET.SWITCHED' });
  };

  const onClose = (link: Link, code: number, reason: string) => {
    link.closed = true;
    const info: SocketCloseInfo = link.closeRequested
      ? {
          phase: link.phase,
          code: link.closeRequested.code,
          reason: link.closeRequested.reason,
          byClient: true,
        }
      : link.phase === 'handshake' && link.httpStatus !== undefined
        ? { phase: 'handshake', httpStatus: link.httpStatus }
        : { phase: link.phase, code, reason };
    if (draining.delete(link)) {
      log.info({ link: link.n, code, reason }, 'old Mercury socket closed after the switch');
      return;
    }
    if (link === next) {
      next = undefined;
      log.warn({ link: link.n, ...info }, 'the replacement Mercury socket failed before it was ready');
      // With the old socket gone too there is nothing left: report the newest failure.
      if (current.closed) reportClosed(info);
      return;
    }
    if (link === current) {
      // Webex closes the old socket (4001) once the new one has authorized, which can be just
      // before its buffer_state arrives: keep waiting for the replacement in that case.
      if (next !== undefined && !next.closed) {
        log.info({ link: link.n, code, reason }, 'old Mercury socket closed; waiting for the replacement');
        return;
      }
      reportClosed(info);
    }
  };

  const requestClose = (link: Link, code: number, reason: string) => {
    if (link.closed || link.closeRequested) return;
    link.closeRequested = { code, reason };
    if (link.ws.readyState === WebSocket.OPEN) link.ws.close(code, reason);
    else link.ws.terminate();
  };

  receive((command) => {
    if (command.type === 'PING') {
      if (current.ws.readyState !== WebSocket.OPEN) return;
      const id = newId();
      pendingPing = { link: current, id };
      current.ws.send(pingFrame(id));
    } else if (command.type === 'CLOSE') {
      requestClose(current, command.code, command.reason);
    } else if (command.type === 'HOLD') {
      holdActivities = true;
    }
  });

  try {
    current = open();
  } catch (error) {
    // A malformed URL throws synchronously; report it like any failed handshake.
    log.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'cannot open the Mercury socket',
    );
    current = {
      n: 0,
      ws: undefined as unknown as WebSocket,
      phase: 'handshake',
      lastSequence: undefined,
      closeRequested: undefined,
      httpStatus: undefined,
      closed: true,
    };
    queueMicrotask(() => reportClosed({ phase: 'handshake' }));
    return () => {
      stopped = true;
    };
  }

  return () => {
    stopped = true;
    for (const link of [current, next, ...draining]) {
      if (!link || link.closed || !link.ws) continue;
      if (link.ws.readyState === WebSocket.OPEN) {
        link.ws.close(1000, 'client closing');
        // If the peer never answers the close frame, drop the TCP connection a bit later.
        const ws = link.ws;
        deps.clock.setTimeout(() => ws.terminate(), 2_000);
      } else {
        link.ws.terminate();
      }
    }
  };
}

function rawText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}
