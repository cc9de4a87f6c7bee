/**
 * The relay the Stately inspector reads from: an HTTP page that frames the hosted inspector and a
 * WebSocket that pushes allow-listed inspection events to it.
 *
 * It is written here rather than taken from `@statelyai/inspect/server` because that server
 * listens on every interface, relays whatever any client sends to every other client, and has no
 * bound on slow viewers. This one listens where it is told (`XSTATE_INSPECT_HOST`, loopback by
 * default), only ever sends, accepts a browser only from its own page, and drops events for a
 * viewer that stops reading.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** Recent events a viewer that connects late is sent after the live actors. */
const RECENT_EVENTS = 200;
/** A viewer this far behind loses events rather than the bot gaining memory. */
const MAX_VIEWER_BUFFER_BYTES = 8 * 1024 * 1024;
const HOSTED_INSPECTOR = 'https://stately.ai/inspect';

export interface InspectorRelay {
  port: number;
  host: string;
  /** Sends one already allow-listed message (JSON text) to every viewer. */
  publish(message: string): void;
  viewers(): number;
  close(): Promise<void>;
}

function bridgePage(): string {
  // The page frames the hosted inspector and forwards what the relay sends; it needs internet.
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>caipe-webex-bot · Stately inspector</title>
<style>html,body,iframe{margin:0;width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" src="${HOSTED_INSPECTOR}"></iframe>
<script>
const frame = document.getElementById('inspector');
const waiting = [];
let ready = false;
window.addEventListener('message', (e) => {
  if (e.data && e.data.type === '@statelyai.connected') {
    ready = true;
    for (const data of waiting.splice(0)) frame.contentWindow.postMessage(data, '*');
  }
});
const socket = new WebSocket('ws://' + location.host);
socket.onmessage = (m) => {
  const data = JSON.parse(m.data);
  if (ready) frame.contentWindow.postMessage(data, '*');
  else waiting.push(data);
};
</script></body></html>`;
}

/** A browser may connect only from the relay's own page; tools without an Origin may too. */
function originAllowed(request: http.IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === `http://${request.headers.host ?? ''}`;
}

export async function startInspectorRelay(options: {
  host: string;
  port: number;
  /** What a viewer that connects now must see first: the actors that are alive. */
  welcome: () => string[];
  onViewerDropped?: () => void;
}): Promise<InspectorRelay> {
  const page = bridgePage();
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '/') !== '/') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  // Viewers never need to send anything: a tiny payload limit closes any that try to send much.
  const sockets = new WebSocketServer({
    server,
    maxPayload: 1024,
    verifyClient: ({ req }: { req: http.IncomingMessage }) => originAllowed(req),
  });
  const recent: string[] = [];

  sockets.on('connection', (viewer) => {
    viewer.on('error', () => viewer.terminate());
    // Anything a viewer sends is ignored: the relay is one-way, so no client can feed another.
    viewer.on('message', () => {});
    for (const message of options.welcome()) viewer.send(message);
    for (const message of recent) viewer.send(message);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  return {
    port: address.port,
    host: options.host,
    publish(text) {
      recent.push(text);
      if (recent.length > RECENT_EVENTS) recent.shift();
      for (const viewer of sockets.clients) {
        if (viewer.readyState !== WebSocket.OPEN) continue;
        if (viewer.bufferedAmount > MAX_VIEWER_BUFFER_BYTES) {
          options.onViewerDropped?.();
          continue;
        }
        viewer.send(text);
      }
    },
    viewers: () => sockets.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const viewer of sockets.clients) viewer.terminate();
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
