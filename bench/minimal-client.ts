/**
 * The yardstick for `bench/conversations.ts`: the least a Webex bot can do to answer the same
 * questions. It registers a device (U2C → WDM), listens on the Mercury socket, and for each
 * question makes the same read as the bot (`GET /v1/messages/{id}`) and only the irreducible writes:
 * the answer and its feedback card. No working message, no progress, no agent call (the bench's
 * agent answers instantly; the bot pays for a real A2A round trip, this client does not), no
 * retries. Writes are paced to at most `maxWritesPerSecond` (evenly spaced, no burst), the same
 * ceiling the bot's sender has.
 */
import { randomUUID } from 'node:crypto';
import { fetch } from 'undici';
import WebSocket from 'ws';

export interface MinimalClientOptions {
  u2cUrl: string;
  token: string;
  maxWritesPerSecond: number;
  /** The answer text for a question (the bench's agent says `Answer to <question>`). */
  answer(question: string): string;
}

export interface MinimalClient {
  close(): Promise<void>;
}

const MERCURY_QUERY = 'outboundWireFormat=text&bufferStates=true&aliasHttpStatus=true';

const FEEDBACK_CARD = {
  contentType: 'application/vnd.microsoft.card.adaptive',
  content: {
    type: 'AdaptiveCard',
    version: '1.3',
    body: [{ type: 'TextBlock', text: 'Was this helpful?' }],
    actions: [
      { type: 'Action.Submit', title: '👍', data: { value: 'up' } },
      { type: 'Action.Submit', title: '👎', data: { value: 'down' } },
    ],
  },
};

export async function startMinimalClient(options: MinimalClientOptions): Promise<MinimalClient> {
  const auth = { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' };
  const call = async <T>(url: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: auth,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.status}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const catalog = await call<{ serviceLinks: { wdm: string; hydra: string } }>(
    `${options.u2cUrl}/catalog?format=hostmap`,
  );
  const hydra = catalog.serviceLinks.hydra.replace(/\/$/, '');
  const device = await call<{ webSocketUrl: string; userId: string }>(`${catalog.serviceLinks.wdm}/devices`, {
    method: 'POST',
    body: { deviceName: 'minimal-client', deviceType: 'DESKTOP', name: 'minimal-client', model: 'bench' },
  });

  // Writes leave evenly spaced, oldest first: at most `maxWritesPerSecond`, never a burst above it.
  const spacingMs = 1000 / options.maxWritesPerSecond;
  const writes: Array<() => void> = [];
  let nextWriteAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drain = () => {
    timer = undefined;
    while (writes.length > 0) {
      const now = performance.now();
      if (now < nextWriteAt) {
        timer = setTimeout(drain, nextWriteAt - now);
        return;
      }
      nextWriteAt = Math.max(now, nextWriteAt) + spacingMs;
      writes.shift()!();
    }
  };
  const write = <T>(body: unknown) =>
    new Promise<T>((resolve, reject) => {
      writes.push(() => call<T>(`${hydra}/messages`, { method: 'POST', body }).then(resolve, reject));
      if (!timer) drain();
    });

  const answer = async (messageUuid: string) => {
    const id = Buffer.from(`ciscospark://us/MESSAGE/${messageUuid}`).toString('base64url');
    const question = await call<{ roomId: string; text?: string }>(`${hydra}/messages/${id}`);
    await write({ roomId: question.roomId, markdown: options.answer(question.text ?? '') });
    await write({ roomId: question.roomId, markdown: 'Was this helpful?', attachments: [FEEDBACK_CARD] });
  };

  const ws = new WebSocket(`${device.webSocketUrl}?${MERCURY_QUERY}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const online = new Promise<void>((resolve) => {
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as {
        id?: string;
        type?: string;
        data?: { eventType?: string; activity?: { id: string; verb: string; actor: { id: string } } };
      };
      if (frame.id && frame.type !== 'pong') ws.send(JSON.stringify({ type: 'ack', messageId: frame.id }));
      if (frame.data?.eventType === 'mercury.buffer_state') resolve();
      const activity = frame.data?.activity;
      if (frame.data?.eventType !== 'conversation.activity' || !activity) return;
      if (activity.verb !== 'post' || activity.actor.id === device.userId) return;
      answer(activity.id).catch((error: unknown) => console.error('minimal client:', error));
    });
  });
  ws.send(
    JSON.stringify({ id: randomUUID(), type: 'authorization', data: { token: `Bearer ${options.token}` } }),
  );
  await online;

  return {
    async close() {
      if (timer) clearTimeout(timer);
      ws.close(1000, 'done');
      await new Promise((resolve) => ws.once('close', resolve));
    },
  };
}
