/**
 * Every string a Webex user can see, in one place, so the bot speaks with one voice: short,
 * friendly, specific about what happened and what to do next.
 *
 * Strings are Webex Markdown. Functions take what varies (bot name, agent name, elapsed time);
 * text that comes from elsewhere (an agent's error) is flattened and capped here so it cannot
 * break the surrounding message.
 */

import type { AgentErrorKind } from '../errors.js';
import { truncateWithEllipsis } from './bytes.js';
import { neutralizeMentions } from './neutralize.js';

/** Longest agent-supplied error text quoted back to the user. */
const MAX_QUOTED_ERROR_CHARS = 600;

/** The agent's own words inside one of our messages: one line, bounded, mentions made inert. */
export function quoteAgentText(text: string): string {
  const flat = neutralizeMentions(text.replace(/\s+/g, ' ').trim());
  return truncateWithEllipsis(flat, { maxChars: MAX_QUOTED_ERROR_CHARS });
}

/** A count as people write it: `40,000`. */
function count(value: number): string {
  return Math.max(0, Math.floor(value)).toLocaleString('en-US');
}

/**
 * A configured length of time as people say it: whole minutes (or hours) when it is one, else
 * seconds, so the words never claim more than the setting (90 s is not "2 minutes").
 */
function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const unit = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? '' : 's'}`;
  if (s >= 3600 && s % 3600 === 0) return unit(s / 3600, 'hour');
  if (s >= 60 && s % 60 === 0) return unit(s / 60, 'minute');
  return unit(s, 'second');
}

/** A display name with Markdown-significant characters removed, safe inside bold or backticks. */
function plainName(name: string, fallback: string): string {
  // Underscores stay: inside a word they are not emphasis (`aws_agent`).
  const clean = name.replace(/[`*[\]<>|\r\n]/g, '').trim();
  return clean.length > 0 ? clean : fallback;
}

export interface HelpOptions {
  botName: string;
  /** In a group space the user must mention the bot; the help says so. */
  group: boolean;
}

export interface HelloOptions {
  botName: string;
  /** Whether the space is already allowed to use the agent. */
  authorized: boolean;
}

export interface AdminApiAuthorizeOptions {
  /** The public (`Y2lz…`) id of the room to authorize. */
  roomId: string;
  spaceName?: string;
  /** Where operators reach the bot's HTTP port, e.g. `http://caipe-webex-bot:8080`. */
  adminBaseUrl: string;
  /** False when `ADMIN_API_TOKEN` is unset, so the admin API is off. */
  adminApiEnabled: boolean;
}

export const messages = {
  // ── Working message ──────────────────────────────────────────────────────────────────────────
  /** Posted within a second of the user's message. */
  working: '⏳ Working on it...',
  /** Header of the working message once time has passed, e.g. "🔄 Working… (1m 05s)". */
  workingHeader: (elapsed: string): string => `🔄 Working… (${elapsed})`,
  /** After an answer cut to `AGENT_MAX_ANSWER_CHARS`: how much of it is not shown. */
  answerCut: (omittedChars: number, maxChars: number): string =>
    `✂️ _The answer was too long to post in full: the last ${count(omittedChars)} ${omittedChars === 1 ? 'character was' : 'characters were'} left out (this bot posts at most ${count(maxChars)} per answer). Ask for the part you need if it is missing._`,
  /** The agent finished without any text to show. */
  noResponse: 'The agent finished without an answer. Try asking another way, or send `reset` to start over.',

  // ── Footer ───────────────────────────────────────────────────────────────────────────────────
  /** The last line of an answer; in a thread it says how to follow up. */
  footer: (agentName: string, inThread: boolean): string =>
    `_Answered by **${plainName(agentName, 'the agent')}**${inThread ? ' · reply in this thread to continue the conversation' : ''}_`,

  // ── Commands ─────────────────────────────────────────────────────────────────────────────────
  help: ({ botName, group }: HelpOptions): string => {
    const bot = plainName(botName, 'the bot');
    const mention = group ? `@${bot} ` : '';
    return [
      `👋 I'm **${bot}**. I pass your questions to the CAIPE agents and show their plan and progress while they work.`,
      '',
      '**Commands**',
      `- \`${mention}help\`: show this message`,
      `- \`${mention}reset\` or \`${mention}new\`: start a fresh conversation`,
      `- \`${mention}cancel\` or \`${mention}stop\`: stop the answer in progress`,
      `- \`${mention}authorize\` or \`${mention}auth\`: connect this space to CAIPE`,
      '',
      group
        ? `Mention me (\`@${bot}\`) to ask something. Each thread is its own conversation.`
        : 'Just type your question. Reply in a thread to keep a separate conversation there.',
    ].join('\n');
  },
  resetDone: '🧹 Fresh start. Your next message begins a new conversation.',
  cancelled: '🛑 Stopped. I cancelled the answer in progress.',
  nothingToCancel: 'Nothing is running right now, so there is nothing to cancel.',
  /** A message was queued behind the running answer. */
  queued: (position: number): string =>
    position <= 1
      ? '📥 Got it. I will get to this as soon as the current answer is done.'
      : `📥 Got it. ${position - 1} ${position === 2 ? 'message is' : 'messages are'} ahead of this one.`,
  /** The queue behind the running answer is full. */
  busy: '⏳ I am still working on earlier messages here and cannot queue more. Please send this again once the current answer arrives.',
  /** `MAX_CONCURRENT_TURNS`: the bot as a whole is answering as many questions as it may. */
  busyEverywhere:
    '⏳ I am answering as many questions as I can at once right now. Please send this again in a minute.',
  /** `MAX_TURNS_PER_PERSON`: this person already has that many answers running. */
  busyForYou:
    '⏳ I am already working on several of your questions. Please send this one again once one of them is answered.',
  /** `AGENT_TURN_TIMEOUT_S`: the turn ran past its deadline and was stopped. */
  turnTimedOut: (seconds: number): string =>
    `⌛ This took longer than ${duration(seconds)}, so I stopped it. Please try again, perhaps with a narrower question.`,
  /** `HITL_ANSWERED_BY=requester`: someone else tried to answer (or cancel) the open form. */
  formOwned: (owner: string): string =>
    `🔒 This form is waiting for **${plainName(owner, 'the person who asked')}**; only they can answer or cancel it. To ask something yourself, start a new thread.`,

  // ── Agent failures ───────────────────────────────────────────────────────────────────────────
  agentUnreachable: (agentName: string): string =>
    `❌ I could not reach **${plainName(agentName, 'the agent')}**. It may be down or restarting; please try again in a minute.`,
  agentHttpError: (agentName: string, status: number): string =>
    `❌ **${plainName(agentName, 'The agent')}** answered with an error (HTTP ${status}). Please try again; if it keeps happening, tell your CAIPE admin.`,
  agentFailed: (agentName: string, detail?: string): string => {
    const agent = plainName(agentName, 'The agent');
    const reason = detail ? quoteAgentText(detail) : '';
    return reason.length > 0
      ? `❌ **${agent}** could not finish: ${reason}`
      : `❌ **${agent}** could not finish this request. Please try again.`;
  },
  agentUnauthorized: (agentName: string): string =>
    `❌ I could not sign in to **${plainName(agentName, 'the agent')}**. Please tell your CAIPE admin; the bot's credentials may need updating.`,
  streamCut: (agentName: string): string =>
    `⚠️ The connection to **${plainName(agentName, 'the agent')}** dropped before the answer was complete. Please ask again.`,
  idleTimeout: (agentName: string, silentFor: string): string =>
    `⚠️ **${plainName(agentName, 'The agent')}** went quiet for ${silentFor}, so I stopped waiting. Please try again.`,
  internalError: '❌ Something went wrong on my side. Please try again.',
  /** One SSE event past the size cap (SPEC "Agent output": 4 MB). */
  eventTooLarge: (agentName: string): string =>
    `⚠️ **${plainName(agentName, 'The agent')}** sent a reply too large for me to read, so I stopped. Please ask for something smaller, or try again.`,
  /** One SSE event still incomplete after the time cap (10 s of trickling bytes). */
  eventTooSlow: (agentName: string): string =>
    `⚠️ **${plainName(agentName, 'The agent')}** stalled in the middle of a reply, so I stopped waiting. Please try again.`,
  /** CAIPE refused this person the agent (403 `agent#use`). */
  agentForbidden: (agentName: string): string =>
    `🔒 You do not have permission to use **${plainName(agentName, 'this agent')}**. Ask your CAIPE admin for access.`,
  /** On-behalf-of mode: someone other than the thread's owner wrote in it; CAIPE answers only its owner. */
  notConversationOwner:
    '🔒 This conversation belongs to the person who started the thread, so CAIPE will not take your message here. Start your own thread (a new message that mentions me) to ask it yourself.',
  /** On-behalf-of mode: the person's Webex account is not linked to a CAIPE account yet. */
  accountNotLinked:
    '🔗 Before I can ask CAIPE for you, your Webex account needs linking to your CAIPE account. I sent you a private message with the link; open it, sign in, then ask again.',
  /** On-behalf-of mode: the identity provider could not be asked who the person is. */
  identityUnavailable:
    '⚠️ I could not check who you are with CAIPE’s sign-in service just now. Please try again in a minute.',
  /** The private message with the account link (on-behalf-of mode). */
  accountLinkTitle: 'Link your Webex account to CAIPE',
  accountLinkBody:
    'To use CAIPE from Webex, sign in to CAIPE once with the button below. The link is for you only and works for 10 minutes; ask me again afterwards.',
  accountLinkButton: 'Link my account',
  accountLinkFallback: (url: string): string =>
    `🔗 To use CAIPE from Webex, link your account once (the link is for you only and works for 10 minutes): ${url}`,

  // ── Who may use the bot ──────────────────────────────────────────────────────────────────────
  /** To a person whose organisation or email domain is not allowed (at most once a day). */
  outsiderRefused: (botName: string): string =>
    `🔒 Sorry, **${plainName(botName, 'this bot')}** only answers people of the organisations it is set up for, so I did not pass your message on. If you think you should have access, ask the team that runs this bot.`,
  /** Who the person is could not be checked (People API down): refused until it can (at most once a day). */
  personUnverified:
    '⚠️ I could not check your account just now, so I did not pass your message on. Please try again in a few minutes.',
  /** The space registry cannot be read and no recent answer is cached: refused for now. */
  spaceCheckUnavailable:
    '⚠️ I cannot check right now whether this space is connected to CAIPE, so I am not answering here for the moment. Please try again in a few minutes.',

  // ── Spaces ───────────────────────────────────────────────────────────────────────────────────
  unauthorizedSpace: (botName: string): string =>
    `🔒 This space is not connected to CAIPE yet, so I cannot answer here. Send \`@${plainName(botName, 'bot')} authorize\` to connect it.`,
  hello: ({ botName, authorized }: HelloOptions): string => {
    const bot = plainName(botName, 'bot');
    const lines = [
      `👋 Hi, I'm **${bot}**. Mention me with a question and I will ask the CAIPE agents, showing their progress as they work.`,
      `Send \`@${bot} help\` to see what I can do.`,
    ];
    if (!authorized)
      lines.push(`Before I can answer here, this space needs connecting: send \`@${bot} authorize\`.`);
    return lines.join('\n\n');
  },
  alreadyAuthorized: '✅ This space is already connected to CAIPE. Mention me to ask something.',
  authorizeCardTitle: 'Connect this space to CAIPE',
  authorizeCardBody:
    'An admin signs in to CAIPE and approves this space. Once it is connected, mention me here to ask something.',
  authorizeCardButton: 'Connect to CAIPE',
  authorizeCardFallback: (url: string): string => `Connect this space to CAIPE: ${url}`,
  /** The `authorize` command when spaces live in the embedded store (no CAIPE UI to link to). */
  authorizeWithAdminApi: ({
    roomId,
    spaceName,
    adminBaseUrl,
    adminApiEnabled,
  }: AdminApiAuthorizeOptions): string => {
    const base = adminBaseUrl.replace(/\/+$/, '');
    const body = JSON.stringify({ spaceName: spaceName ?? 'My space' });
    const steps = [
      '🔑 This bot keeps its list of spaces itself, so an operator connects a space through its admin API:',
      '',
      '```bash',
      `curl -X PUT "${base}/admin/spaces/${roomId}" \\`,
      '  -H "Authorization: Bearer $ADMIN_API_TOKEN" \\',
      `  -H 'Content-Type: application/json' -d '${body.replace(/'/g, '')}'`,
      '```',
    ];
    if (!adminApiEnabled) steps.push('', 'The admin API is off until the operator sets `ADMIN_API_TOKEN`.');
    return steps.join('\n');
  },

  // ── Shares ───────────────────────────────────────────────────────────────────────────────────
  filesNotRead: '📎 I cannot read attached files, so I answered from your message text only.',
  filesOnly: '📎 I cannot read attached files. Tell me in words what you need and I will pass it on.',

  // ── Forms (human in the loop) ────────────────────────────────────────────────────────────────
  formSubmitted: '✅ Thanks, I passed your answers to the agent.',
  formExpired: '⌛ This form has expired. Ask again to get a fresh one.',
  formAlreadySubmitted: 'This form was already submitted, so I did not send it again.',
  formCancelled: '🛑 Form cancelled. Nothing was sent to the agent.',
  /** The agent paused for input without saying what it needs. */
  inputNeeded: 'The agent needs more information to continue. Reply in this thread with the details.',
  /** The agent itself cancelled the task. */
  agentCancelled: (agentName: string): string =>
    `🛑 ${plainName(agentName, 'The agent')} cancelled this task. Ask again if you still need it.`,
  /** Under a form's title: what follows was written by the agent, not by the bot or an admin. */
  formFromAgent: '🤖 This form was written by the agent. Check what it asks for before you submit.',
  /** Title of a form card when the agent gave none. */
  formTitle: 'The agent needs your input',
  /** Shown under an input the user left empty although the agent requires it. */
  formFieldRequired: (label: string): string => `Please fill in ${plainName(label, 'this field')}.`,
  formFieldInvalidUrl: 'Please enter a web address starting with http:// or https://.',
  formFieldInvalidEmail: 'Please enter an email address like name@example.com.',
  formFieldInvalidNumber: 'Please enter a number.',
  /** Field descriptions and choices were shortened so the card fits Webex's size limit. */
  formShortened:
    'Some details of this form were shortened to fit Webex; reply in the thread if something is unclear.',
  /** A tool-approval form: the agent wants to run a tool and asks first. */
  approvalTitle: (toolName: string): string => `Allow the agent to run ${plainName(toolName, 'a tool')}?`,
  approvalDecisionLabel: 'Decision',
  approvalApprove: 'Approve',
  approvalReject: 'Reject',
  /** The one field of a form whose agent asked a free-text question. */
  freeTextAnswerLabel: 'Your answer',
  formSubmitButton: 'Submit',
  formCancelButton: 'Cancel',
  formFallback:
    'The agent needs some input. Open this message in a Webex app that shows cards to fill in the form.',
  unknownCard: 'I do not recognise that card any more; it may be from before I restarted. Please ask again.',

  // ── Feedback ─────────────────────────────────────────────────────────────────────────────────
  feedbackPrompt: 'Was this answer helpful?',
  feedbackUpButton: '👍',
  feedbackDownButton: '👎',
  feedbackFallback: 'Was this answer helpful? Open this message in a Webex app that shows cards to rate it.',
  feedbackThanks: (positive: boolean): string =>
    positive
      ? '🙏 Thanks for the feedback!'
      : '🙏 Thanks for the feedback. It helps make the answers better.',

  // ── Lifecycle ────────────────────────────────────────────────────────────────────────────────
  shuttingDown:
    "🔄 I'm restarting, so I had to stop this answer. Please send your message again in a minute.",
  /**
   * After a restart, for a message whose answer could not be recovered (the agent's task could not
   * be read, or the bot stopped before the agent took the question): said once.
   */
  answerInterrupted:
    '⚠️ A restart of mine interrupted the answer to your message and I could not recover it. Please send it again.',
} as const;

export type Messages = typeof messages;

export interface AgentFailure {
  kind: AgentErrorKind;
  /** HTTP status, when there was one. */
  status?: number;
  /** The agent's own words, for `task-failed`. */
  detail?: string;
  /** How long the stream was silent, already formatted (e.g. "5m 00s"), for `idle-timeout`. */
  silentFor?: string;
}

/** The user-facing message for an agent failure, specific to what went wrong. */
export function agentFailureMessage(agentName: string, failure: AgentFailure): string {
  switch (failure.kind) {
    case 'unreachable':
      return messages.agentUnreachable(agentName);
    case 'http':
      return failure.status !== undefined
        ? messages.agentHttpError(agentName, failure.status)
        : messages.agentUnreachable(agentName);
    case 'unauthorized':
      return messages.agentUnauthorized(agentName);
    case 'stream-cut':
    case 'not-sse':
    case 'bad-event':
      return messages.streamCut(agentName);
    case 'idle-timeout':
      return messages.idleTimeout(agentName, failure.silentFor ?? 'too long');
    case 'task-failed':
    case 'jsonrpc':
      return messages.agentFailed(agentName, failure.detail);
    case 'event-too-large':
      return messages.eventTooLarge(agentName);
    case 'event-too-slow':
      return messages.eventTooSlow(agentName);
    case 'forbidden':
      return messages.agentForbidden(agentName);
    case 'not-owner':
      return messages.notConversationOwner;
    case 'not-linked':
      return messages.accountNotLinked;
    case 'identity-unavailable':
      return messages.identityUnavailable;
    case 'unsupported':
      return messages.streamCut(agentName);
    default:
      return messages.internalError;
  }
}

/** The notice for a person the bot refused (`PersonPolicy`), by reason. */
export function personRefusalMessage(
  reason: 'outsider-org' | 'email-domain' | 'person-unverified',
  botName: string,
): string {
  return reason === 'person-unverified' ? messages.personUnverified : messages.outsiderRefused(botName);
}
