/**
 * The earlier messages of a Webex thread, read over REST, so the agent also gets the thread's root
 * and the earlier replies when a user replies in a thread (the prompt itself is built by
 * `src/render/prompt.ts`).
 *
 * Fetch (bounded by `maxMessages`): `GET /messages/{root}` takes the first slot, then one page of
 * `GET /messages?roomId&parentId=root&beforeMessage=current&max=<remaining>` (Webex lists newest
 * first). The bot's own replies are left out: by author, and by the answer footer for messages that
 * were relayed or posted by an earlier identity of the bot. Once the conversation has an agent
 * context, only the messages after the bot's last answer are read (the agent holds the rest).
 *
 * In group spaces a bot may only read messages that mention it, and Webex refuses a bot's list call
 * there without `mentionedPeople=me`; so in groups the context holds the mentioning messages. A
 * root without a mention cannot be read (404) nor used as `parentId` (400): then one page of the
 * room's mentioning messages is read and the thread's replies picked from it. Such a list never
 * holds the bot's own answer, so "after the last answer" is decided by the answer's `created` time.
 *
 * Errors propagate: the caller sends the plain request instead and logs a warning.
 */
import { WebexApiError } from '../../errors.js';
import { looksLikeBotAnswer } from '../../render/prompt.js';

export interface ThreadMessagesOptions {
  /** Messages at most, root included. */
  maxMessages: number;
  /** The bot's Hydra person id; its messages are never context. */
  botPersonId: string;
}

export interface ThreadMessage {
  id: string;
  personId: string;
  personEmail?: string;
  text?: string;
  markdown?: string;
  created?: string;
}

/** What reading a thread needs from the Webex REST client (`WebexRestClient` fits). */
export interface ThreadReader {
  get(
    path: string,
    options?: { query?: Record<string, string | number>; signal?: AbortSignal; route?: string },
  ): Promise<unknown>;
}

export interface ThreadMessagesRequest {
  /** The public (`Y2lz…`) room id. */
  roomId: string;
  /** The thread root's message id. Equal to `currentMessageId` for a top-level message: no context. */
  rootId: string;
  currentMessageId: string;
  /** The bot's last answer in this thread; only later messages are context. */
  afterMessageId?: string;
  /**
   * In a group room the list call needs `mentionedPeople=me`. When unknown, a 403 on the plain
   * list call is retried with it.
   */
  roomType?: 'direct' | 'group';
}

/** Webex caps `max` at 100 when listing with `mentionedPeople`, at 1000 otherwise. */
const MAX_LIST_MENTIONED = 100;
const MAX_LIST = 1000;

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function toThreadMessage(raw: unknown): ThreadMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const item = raw as Record<string, unknown>;
  const id = optionalString(item.id);
  if (!id) return undefined;
  const message: ThreadMessage = { id, personId: optionalString(item.personId) ?? '' };
  const personEmail = optionalString(item.personEmail);
  const text = optionalString(item.text);
  const markdown = optionalString(item.markdown);
  const created = optionalString(item.created);
  if (personEmail) message.personEmail = personEmail;
  if (text !== undefined) message.text = text;
  if (markdown !== undefined) message.markdown = markdown;
  if (created) message.created = created;
  return message;
}

function isNotFound(error: unknown): boolean {
  return error instanceof WebexApiError && error.status === 404;
}

function listItems(body: unknown): unknown[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw new Error('Webex message list without an items array');
  return items;
}

/**
 * Root + earlier replies of the thread, oldest first, bot replies excluded, bounded; only messages
 * after `afterMessageId` when given. A root the bot cannot read (a group message that does not
 * mention it) is left out. Throws on any other failure.
 */
export async function fetchThreadMessages(
  reader: ThreadReader,
  request: ThreadMessagesRequest,
  options: ThreadMessagesOptions,
  signal?: AbortSignal,
): Promise<ThreadMessage[]> {
  const { roomId, rootId, currentMessageId, afterMessageId } = request;
  if (rootId === currentMessageId) return [];
  const isOwn = (m: ThreadMessage) => m.personId === options.botPersonId || looksLikeBotAnswer(m);
  let budget = Math.max(1, Math.floor(options.maxMessages));

  const context: ThreadMessage[] = [];
  // Whether the bot can read the root; unknown when the root is not fetched.
  let rootReadable: boolean | undefined;
  // The root always precedes the bot's last answer, so after an answer it is never new context.
  if (afterMessageId === undefined) {
    try {
      const root = toThreadMessage(
        await reader.get(messagePath(rootId), { signal, route: 'GET /messages/{id}' }),
      );
      rootReadable = root !== undefined;
      if (root) {
        budget -= 1;
        if (!isOwn(root)) context.push(root);
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
      rootReadable = false;
    }
  }
  if (budget <= 0) return context;

  const list = async (query: Record<string, string | number>): Promise<unknown[]> =>
    listItems(await reader.get('/messages', { query, signal, route: 'GET /messages' }));
  const threadQuery = (mentioned: boolean): Record<string, string | number> => ({
    roomId,
    parentId: rootId,
    beforeMessage: currentMessageId,
    max: Math.min(budget, mentioned ? MAX_LIST_MENTIONED : MAX_LIST),
    ...(mentioned ? { mentionedPeople: 'me' } : {}),
  });

  let mentioned = request.roomType === 'group';
  let items: unknown[];
  try {
    try {
      items = await list(threadQuery(mentioned));
    } catch (error) {
      // A group room refuses a bot's list without the mention filter; retry once with it.
      const refused = error instanceof WebexApiError && error.status === 403;
      if (request.roomType !== undefined || mentioned || !refused) throw error;
      mentioned = true;
      items = await list(threadQuery(true));
    }
  } catch (error) {
    // A root the bot cannot read (a group message without a mention) is refused as `parentId`.
    // Then the room's mentioning messages are read and the thread's picked out: one bounded page.
    const badParent = error instanceof WebexApiError && (error.status === 400 || error.status === 404);
    if (!badParent || rootReadable === true) throw error;
    mentioned = true;
    const page = await list({
      roomId,
      beforeMessage: currentMessageId,
      mentionedPeople: 'me',
      max: MAX_LIST_MENTIONED,
    });
    items = page
      .filter((item) => (item as { parentId?: unknown } | null)?.parentId === rootId)
      .slice(0, budget);
  }

  // A mention-filtered list never holds the bot's own answer, so "after the answer" is decided by
  // its creation time instead of by meeting it in the list.
  let afterCreatedMs: number | undefined;
  if (afterMessageId !== undefined && mentioned) {
    try {
      const answer = toThreadMessage(
        await reader.get(messagePath(afterMessageId), { signal, route: 'GET /messages/{id}' }),
      );
      afterCreatedMs = answer?.created ? Date.parse(answer.created) : undefined;
    } catch (error) {
      // A deleted answer leaves no bound; everything listed counts.
      if (!isNotFound(error)) throw error;
    }
  }

  const replies: ThreadMessage[] = [];
  for (const raw of items) {
    const message = toThreadMessage(raw);
    if (!message) continue;
    // Newest first: everything from the bot's last answer on is already known to the agent.
    if (message.id === afterMessageId) break;
    if (afterCreatedMs !== undefined && message.created && Date.parse(message.created) <= afterCreatedMs)
      break;
    if (message.id === currentMessageId || isOwn(message)) continue;
    replies.push(message);
  }
  replies.reverse();
  return [...context, ...replies];
}

function messagePath(id: string): string {
  return `/messages/${encodeURIComponent(id)}`;
}
