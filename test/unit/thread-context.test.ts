import { describe, expect, it } from 'vitest';
import {
  fetchThreadMessages,
  type ThreadMessage,
  type ThreadReader,
} from '../../src/adapters/webex/thread-messages.js';
import { WebexApiError } from '../../src/errors.js';
import { messages } from '../../src/render/messages.js';
import {
  buildPromptWithContext,
  CURRENT_REQUEST_HEADER,
  readContextLines,
  THREAD_CONTEXT_HEADER,
} from '../../src/render/prompt.js';

const BOT = 'bot-person';
const ROOM = 'room-1';

interface Stored extends ThreadMessage {
  parentId?: string;
  mentionsBot?: boolean;
}

interface Call {
  path: string;
  query?: Record<string, string | number>;
  route?: string;
}

/**
 * An in-memory thread that answers the two calls like Hydra: 404 for a message the bot may not
 * read, the list newest first before `beforeMessage`, 403 for a bot listing a group room without
 * `mentionedPeople=me`.
 */
function threadReader(stored: Stored[], room: { group?: boolean; failWith?: Error } = {}) {
  const calls: Call[] = [];
  const visible = (m: Stored) => !room.group || m.personId === BOT || m.mentionsBot === true;
  const reader: ThreadReader = {
    async get(path, options = {}) {
      calls.push({ path, query: options.query, route: options.route });
      if (room.failWith) throw room.failWith;
      if (path.startsWith('/messages/')) {
        const id = decodeURIComponent(path.slice('/messages/'.length));
        const message = stored.find((m) => m.id === id);
        if (!message || !visible(message))
          throw new WebexApiError({ status: 404, method: 'GET', route: 'GET /messages/{id}' });
        return message;
      }
      const query = options.query ?? {};
      if (room.group && query.mentionedPeople !== 'me')
        throw new WebexApiError({ status: 403, method: 'GET', route: 'GET /messages' });
      const parent = stored.find((m) => m.id === query.parentId);
      if (query.parentId !== undefined && (!parent || !visible(parent)))
        throw new WebexApiError({ status: 400, method: 'GET', route: 'GET /messages' });
      const before = stored.findIndex((m) => m.id === query.beforeMessage);
      const items = stored
        .slice(0, before < 0 ? stored.length : before)
        .filter((m) => query.parentId === undefined || m.parentId === query.parentId)
        .filter((m) => query.mentionedPeople !== 'me' || m.mentionsBot === true)
        .filter(visible)
        .reverse()
        .slice(0, Number(query.max));
      return { items };
    },
  };
  return { reader, calls };
}

/** alice's root, bob and carol replying, one bot answer between them, dave's current request. */
function incidentThread(): Stored[] {
  return [
    { id: 'root', personId: 'p-alice', personEmail: 'alice@example.com', text: 'original incident details' },
    {
      id: 'r1',
      parentId: 'root',
      personId: 'p-bob',
      personEmail: 'bob@example.com',
      text: 'seeing 500s too',
    },
    {
      id: 'r2',
      parentId: 'root',
      personId: BOT,
      text: 'Looks like the database.',
      markdown: `Looks like the database.\n\n${messages.footer('aws agent', true)}`,
    },
    {
      id: 'r3',
      parentId: 'root',
      personId: 'p-carol',
      personEmail: 'carol@example.com',
      text: 'rolled back',
    },
    { id: 'cur', parentId: 'root', personId: 'p-dave', personEmail: 'dave@example.com', text: 'what now?' },
  ];
}

const OPTIONS = { maxMessages: 10, botPersonId: BOT };

describe('fetchThreadMessages', () => {
  it('gets the root, then replies before the current message; oldest first, bot left out', async () => {
    const { reader, calls } = threadReader(incidentThread());
    const context = await fetchThreadMessages(
      reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' },
      OPTIONS,
    );
    expect(context.map((m) => m.personEmail)).toEqual([
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
    ]);
    expect(calls).toEqual([
      { path: '/messages/root', query: undefined, route: 'GET /messages/{id}' },
      {
        path: '/messages',
        query: { roomId: ROOM, parentId: 'root', beforeMessage: 'cur', max: 9 },
        route: 'GET /messages',
      },
    ]);
  });

  it('a top-level message has no context and costs no call', async () => {
    const { reader, calls } = threadReader(incidentThread());
    expect(
      await fetchThreadMessages(reader, { roomId: ROOM, rootId: 'cur', currentMessageId: 'cur' }, OPTIONS),
    ).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('the root takes one slot: maxMessages 1 reads only the root, 3 keeps the two newest replies', async () => {
    const one = threadReader(incidentThread());
    const onlyRoot = await fetchThreadMessages(
      one.reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' },
      { ...OPTIONS, maxMessages: 1 },
    );
    expect(onlyRoot.map((m) => m.id)).toEqual(['root']);
    expect(one.calls).toHaveLength(1);

    const three = threadReader(incidentThread());
    const bounded = await fetchThreadMessages(
      three.reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' },
      { ...OPTIONS, maxMessages: 3 },
    );
    // Two list slots: carol and the bot's answer; the answer is dropped, bob is out of the window.
    expect(bounded.map((m) => m.id)).toEqual(['root', 'r3']);
    expect(three.calls[1]?.query?.max).toBe(2);
  });

  it('after the bot answered, only later messages count, and the root is not read', async () => {
    const thread = incidentThread();
    thread.splice(4, 0, {
      id: 'r4',
      parentId: 'root',
      personId: 'p-bob',
      personEmail: 'bob@example.com',
      text: 'ok',
    });
    const { reader, calls } = threadReader(thread);
    const context = await fetchThreadMessages(
      reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur', afterMessageId: 'r2' },
      OPTIONS,
    );
    expect(context.map((m) => m.id)).toEqual(['r3', 'r4']);
    expect(calls.map((c) => c.path)).toEqual(['/messages']);
    expect(calls[0]?.query?.max).toBe(10);
  });

  it('drops answers recognisable by their footer even under another author', async () => {
    const thread = incidentThread();
    thread.splice(1, 0, {
      id: 'legacy',
      parentId: 'root',
      personId: 'old-bot',
      markdown: '**Agent:** github\n\nDone.\n\nReply in this Webex thread to continue with this agent.',
    });
    const { reader } = threadReader(thread);
    const context = await fetchThreadMessages(
      reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' },
      OPTIONS,
    );
    expect(context.map((m) => m.id)).toEqual(['root', 'r1', 'r3']);
  });

  it('in a group room lists with mentionedPeople=me and skips a root it cannot read', async () => {
    const thread: Stored[] = [
      { id: 'root', personId: 'p-alice', text: 'no mention here' },
      { id: 'r1', parentId: 'root', personId: 'p-bob', text: 'CAIPE look at this', mentionsBot: true },
      { id: 'r2', parentId: 'root', personId: 'p-carol', text: 'silent aside' },
      { id: 'cur', parentId: 'root', personId: 'p-dave', text: 'CAIPE and now?', mentionsBot: true },
    ];
    const group = threadReader(thread, { group: true });
    const context = await fetchThreadMessages(
      group.reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur', roomType: 'group' },
      OPTIONS,
    );
    expect(context.map((m) => m.id)).toEqual(['r1']);
    // The unreadable root is refused as parentId; the room's mentions are filtered by thread instead.
    expect(group.calls.map((c) => c.query)).toEqual([
      undefined,
      { roomId: ROOM, parentId: 'root', beforeMessage: 'cur', max: 10, mentionedPeople: 'me' },
      { roomId: ROOM, beforeMessage: 'cur', mentionedPeople: 'me', max: 100 },
    ]);

    // Room type unknown: the refused plain list is retried with the mention filter.
    const unknown = threadReader(thread, { group: true });
    const retried = await fetchThreadMessages(
      unknown.reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' },
      OPTIONS,
    );
    expect(retried.map((m) => m.id)).toEqual(['r1']);
    expect(unknown.calls.map((c) => c.query?.mentionedPeople)).toEqual([undefined, undefined, 'me', 'me']);
  });

  it('in a group room, a readable root is listed by thread and a 400 is not papered over', async () => {
    const thread: Stored[] = [
      { id: 'other', personId: 'p-x', text: 'CAIPE other thread', mentionsBot: true },
      { id: 'root', personId: 'p-alice', text: 'CAIPE incident', mentionsBot: true },
      { id: 'o1', parentId: 'other', personId: 'p-x', text: 'CAIPE elsewhere', mentionsBot: true },
      { id: 'r1', parentId: 'root', personId: 'p-bob', text: 'CAIPE more', mentionsBot: true },
      { id: 'cur', parentId: 'root', personId: 'p-dave', text: 'CAIPE now?', mentionsBot: true },
    ];
    const group = threadReader(thread, { group: true });
    const context = await fetchThreadMessages(
      group.reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur', roomType: 'group' },
      OPTIONS,
    );
    expect(context.map((m) => m.id)).toEqual(['root', 'r1']);
    expect(group.calls).toHaveLength(2);

    const refusing: ThreadReader = {
      get: async (path) => {
        if (path === '/messages')
          throw new WebexApiError({ status: 400, method: 'GET', route: 'GET /messages' });
        return { id: 'root', personId: 'p', text: 'x' };
      },
    };
    await expect(
      fetchThreadMessages(refusing, { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' }, OPTIONS),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('in a group room "after the last answer" goes by the answer’s creation time', async () => {
    const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();
    const thread: Stored[] = [
      { id: 'root', personId: 'p-alice', text: 'CAIPE q', mentionsBot: true, created: at(0) },
      {
        id: 'r1',
        parentId: 'root',
        personId: 'p-bob',
        text: 'CAIPE before',
        mentionsBot: true,
        created: at(1),
      },
      { id: 'ans', parentId: 'root', personId: BOT, text: 'answer', created: at(2) },
      {
        id: 'r2',
        parentId: 'root',
        personId: 'p-carol',
        text: 'CAIPE after',
        mentionsBot: true,
        created: at(3),
      },
      {
        id: 'cur',
        parentId: 'root',
        personId: 'p-dave',
        text: 'CAIPE now',
        mentionsBot: true,
        created: at(4),
      },
    ];
    const group = threadReader(thread, { group: true });
    const context = await fetchThreadMessages(
      group.reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur', afterMessageId: 'ans', roomType: 'group' },
      OPTIONS,
    );
    expect(context.map((m) => m.id)).toEqual(['r2']);
    expect(group.calls.map((c) => c.path)).toEqual(['/messages', '/messages/ans']);
  });

  it('a known direct room does not retry a 403, and other failures throw', async () => {
    const direct = threadReader(incidentThread(), { group: true });
    await expect(
      fetchThreadMessages(
        direct.reader,
        { roomId: ROOM, rootId: 'root', currentMessageId: 'cur', roomType: 'direct' },
        OPTIONS,
      ),
    ).rejects.toMatchObject({ status: 403 });

    const down = threadReader(incidentThread(), {
      failWith: new WebexApiError({ status: 503, method: 'GET', route: 'GET /messages/{id}' }),
    });
    await expect(
      fetchThreadMessages(down.reader, { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' }, OPTIONS),
    ).rejects.toBeInstanceOf(WebexApiError);

    const garbled: ThreadReader = {
      get: async (path) =>
        path === '/messages' ? { nothing: true } : { id: 'root', personId: 'p', text: 'x' },
    };
    await expect(
      fetchThreadMessages(garbled, { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' }, OPTIONS),
    ).rejects.toThrow(/items/);
  });

  it('passes the abort signal to every call', async () => {
    const seen: (AbortSignal | undefined)[] = [];
    const reader: ThreadReader = {
      get: async (path, options) => {
        seen.push(options?.signal);
        return path === '/messages' ? { items: [] } : { id: 'root', personId: 'p', text: 'x' };
      },
    };
    const controller = new AbortController();
    await fetchThreadMessages(
      reader,
      { roomId: ROOM, rootId: 'root', currentMessageId: 'cur' },
      OPTIONS,
      controller.signal,
    );
    expect(seen).toEqual([controller.signal, controller.signal]);
  });
});

describe('buildPromptWithContext', () => {
  const NONCE = 'nonce-of-this-turn';
  const nonce = () => NONCE;
  const thread: ThreadMessage[] = [
    {
      id: '1',
      personId: 'p-alice',
      personEmail: 'alice@example.com',
      text: 'original   incident\n\ndetails',
    },
    { id: '2', personId: 'p-bob', markdown: '**bold** note' },
    { id: '3', personId: '', text: 'anonymous' },
    { id: '4', personId: 'p-carol', text: '   ' },
  ];

  it('formats header, the delimited quoted lines, a blank line and the request', () => {
    const lines = buildPromptWithContext(thread, 'what now?', { maxChars: 4000, nonce }).split('\n');
    expect(lines).toEqual([
      THREAD_CONTEXT_HEADER,
      expect.stringContaining(`"[end ctx ${NONCE}]"`),
      `[ctx ${NONCE}] alice@example.com: "original incident details"`,
      `[ctx ${NONCE}] p-bob: "**bold** note"`,
      `[ctx ${NONCE}] unknown: "anonymous"`,
      `[end ctx ${NONCE}]`,
      '',
      CURRENT_REQUEST_HEADER,
      'what now?',
    ]);
  });

  it('returns the raw text when no line survives', () => {
    expect(buildPromptWithContext([], 'hi', { maxChars: 4000 })).toBe('hi');
    expect(buildPromptWithContext([{ personId: 'p', text: ' \n ' }], 'hi', { maxChars: 4000 })).toBe('hi');
    expect(
      buildPromptWithContext(
        [{ personId: 'p', markdown: `done\n\n${messages.footer('agent', true)}` }],
        'hi',
        { maxChars: 4000 },
      ),
    ).toBe('hi');
  });

  it('cuts the line that crosses the budget and stops there', () => {
    const first = 'alice@example.com: "original incident details"';
    const prompt = buildPromptWithContext(thread, 'q', { maxChars: first.length + 12, nonce });
    const lines = readContextLines(prompt, NONCE);
    expect(lines).toEqual([first, 'p-bob: "**b"']);
    expect(lines.reduce((n, l) => n + l.length, 0)).toBeLessThanOrEqual(first.length + 12);
  });

  it('stops once the budget is used exactly', () => {
    const first = 'alice@example.com: "original incident details"';
    const prompt = buildPromptWithContext(thread, 'q', { maxChars: first.length, nonce });
    expect(readContextLines(prompt, NONCE)).toEqual([first]);
  });

  it('never splits a surrogate pair when cutting', () => {
    const prompt = buildPromptWithContext([{ personId: 'p', text: '😀😀😀😀' }], 'q', {
      maxChars: 8,
      nonce,
    });
    // `p: "` and `"` leave three code units: one emoji; a second would be cut in half.
    expect(readContextLines(prompt, NONCE)).toEqual(['p: "😀"']);
    const nine = buildPromptWithContext([{ personId: 'p', text: '😀😀😀😀' }], 'q', {
      maxChars: 9,
      nonce,
    });
    expect(readContextLines(nine, NONCE)).toEqual(['p: "😀😀"']);
    expect(prompt).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
