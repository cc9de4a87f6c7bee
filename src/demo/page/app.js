/**
 * The demo chat page: spaces, threads, live edits, Adaptive Cards and the actor tree, fed by the
 * demo server's event stream (`/api/events`). It acts as the demo user through `/api/messages`
 * and `/api/cards`; what it shows is what the simulated Webex holds.
 */
import { escapeHtml, renderInline, renderMarkdown } from './markdown.js';

const AC = window.AdaptiveCards;
if (AC) {
  // Card text goes through the same safe renderer as messages (escaped first, no raw HTML).
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = renderInline(text);
    result.didProcess = true;
  };
}

const state = {
  me: undefined,
  bot: undefined,
  spaces: [],
  selected: undefined,
  /** id → message as last drawn */
  messages: new Map(),
  actors: [],
  unread: new Map(),
};

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'html') node.innerHTML = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
}

async function call(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error ?? `HTTP ${response.status}`);
  $('error').hidden = true;
  return json;
}

// ── Spaces ──────────────────────────────────────────────────────────────────────────────────────

function spaceView(spaceId) {
  let view = document.querySelector(`.space-view[data-space-id="${CSS.escape(spaceId)}"]`);
  if (!view) {
    view = el('div', { class: 'space-view', 'data-space-id': spaceId, hidden: spaceId !== state.selected });
    $('spaces-views').append(view);
  }
  return view;
}

function drawSpaces() {
  const list = $('spaces');
  list.replaceChildren();
  for (const space of state.spaces) {
    const unread = state.unread.get(space.id) ?? 0;
    const kind = space.type === 'direct' ? '1:1' : space.authorized ? 'group' : 'group · not authorized';
    const button = el(
      'button',
      {
        type: 'button',
        class: space.id === state.selected ? 'selected' : undefined,
        'data-space-id': space.id,
        'data-space-title': space.title,
      },
      [
        el('span', {}, [
          el('span', { text: space.title }),
          el('br'),
          el('small', { class: 'subtle', text: kind }),
        ]),
        unread > 0 ? el('span', { class: 'unread', text: String(unread) }) : '',
      ],
    );
    button.addEventListener('click', () => selectSpace(space.id));
    list.append(el('li', {}, [button]));
  }
}

function selectSpace(spaceId) {
  state.selected = spaceId;
  state.unread.delete(spaceId);
  for (const view of document.querySelectorAll('.space-view')) view.hidden = view.dataset.spaceId !== spaceId;
  spaceView(spaceId).hidden = false;
  const space = state.spaces.find((s) => s.id === spaceId);
  $('space-title').textContent = space?.title ?? '';
  $('space-badge').textContent =
    space?.type === 'direct'
      ? '1:1 space'
      : space?.authorized
        ? 'group space'
        : 'group space · not authorized';
  $('mention-toggle').hidden = space?.type !== 'group';
  $('authorize').hidden = !(space?.type === 'group' && !space.authorized);
  drawSpaces();
  scrollToEnd();
}

function scrollToEnd() {
  const views = $('spaces-views');
  views.scrollTop = views.scrollHeight;
}

// ── Messages ────────────────────────────────────────────────────────────────────────────────────

function threadOf(view, rootId) {
  let thread = view.querySelector(`.thread[data-root-id="${CSS.escape(rootId)}"]`);
  if (!thread) {
    thread = el('div', { class: 'thread', 'data-root-id': rootId }, [
      el('div', { class: 'root' }),
      el('div', { class: 'replies' }),
    ]);
    thread.append(replyControls(view.dataset.spaceId, rootId));
    view.append(thread);
  }
  return thread;
}

/** A "Reply" link that opens the thread's reply box (always open once the thread has replies). */
function replyControls(spaceId, rootId) {
  const input = el('input', {
    type: 'text',
    placeholder: 'Reply in thread…',
    'aria-label': 'Reply in thread',
  });
  const form = el('form', { class: 'reply-box', hidden: true }, [
    input,
    el('button', { type: 'submit', text: 'Reply' }),
  ]);
  const link = el('button', { type: 'button', class: 'reply-link', text: 'Reply in thread' });
  link.addEventListener('click', () => {
    form.hidden = false;
    link.hidden = true;
    input.focus();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    send({ spaceId, text, parentId: rootId }).then(() => {
      input.value = '';
    });
  });
  return el('div', { class: 'reply-controls' }, [link, form]);
}

function openReplyBox(thread) {
  const form = thread.querySelector('.reply-box');
  const link = thread.querySelector('.reply-link');
  if (form) form.hidden = false;
  if (link) link.hidden = true;
}

function renderCard(message) {
  const holder = el('div', { class: 'card' });
  if (!AC) {
    holder.textContent = 'Adaptive Cards renderer not loaded';
    return holder;
  }
  const card = new AC.AdaptiveCard();
  card.onExecuteAction = (action) => {
    if (action instanceof AC.OpenUrlAction) {
      window.open(action.url, '_blank', 'noopener');
      return;
    }
    if (!(action instanceof AC.SubmitAction)) return;
    const note = holder.parentElement?.querySelector('.card-note');
    call('/api/cards', { messageId: message.id, inputs: action.data ?? {} }).then(
      () => {
        if (note) note.textContent = `Sent: ${action.title ?? 'submit'}`;
      },
      (error) => showError(`Card not sent: ${error.message}`),
    );
  };
  try {
    card.parse(message.card);
    const rendered = card.render();
    if (rendered) holder.append(rendered);
  } catch (error) {
    holder.textContent = `This card could not be rendered: ${error.message}`;
  }
  return holder;
}

function messageNode(message) {
  const who = message.author.bot ? 'bot' : message.author.me ? 'me' : 'other';
  const meta = el('div', { class: 'meta' }, [
    el('span', { class: 'author', text: message.author.name }),
    el('time', { datetime: message.created, text: new Date(message.created).toLocaleTimeString() }),
    el('span', { class: 'edited', text: message.edits > 0 ? `edited ×${message.edits}` : '' }),
  ]);
  const body = message.card
    ? el('div', { class: 'body' }, [renderCard(message), el('div', { class: 'card-note' })])
    : el('div', { class: 'body', html: renderMarkdown(message.markdown) });
  return el(
    'div',
    {
      class: `message ${who}`,
      'data-id': message.id,
      'data-edits': message.edits,
      'data-author': who,
      'data-card': message.card ? 'true' : undefined,
    },
    [meta, body],
  );
}

function removeMessage(id) {
  const node = document.querySelector(`.message[data-id="${CSS.escape(id)}"]`);
  state.messages.delete(id);
  if (!node) return;
  const thread = node.closest('.thread');
  node.remove();
  if (thread && !thread.querySelector('.message')) thread.remove();
}

function upsertMessage(message) {
  if (message.deleted) {
    removeMessage(message.id);
    return;
  }
  const previous = state.messages.get(message.id);
  state.messages.set(message.id, message);
  const existing = document.querySelector(`.message[data-id="${CSS.escape(message.id)}"]`);
  if (existing) {
    if (previous && previous.edits === message.edits && previous.markdown === message.markdown) return;
    // Cards cannot be edited on Webex; a card node keeps what the user typed into it.
    if (message.card) return;
    const fresh = messageNode(message);
    fresh.classList.add('updated');
    existing.replaceWith(fresh);
    return;
  }
  const view = spaceView(message.spaceId);
  const node = messageNode(message);
  if (message.parentId) {
    const thread = threadOf(view, message.parentId);
    thread.querySelector('.replies').append(node);
    openReplyBox(thread);
  } else {
    threadOf(view, message.id).querySelector('.root').append(node);
  }
  if (message.spaceId === state.selected) scrollToEnd();
  else {
    state.unread.set(message.spaceId, (state.unread.get(message.spaceId) ?? 0) + 1);
    drawSpaces();
  }
  refreshActorLabels();
}

// ── Composer ────────────────────────────────────────────────────────────────────────────────────

async function send({ spaceId, text, parentId }) {
  const space = state.spaces.find((s) => s.id === spaceId);
  const mention = space?.type === 'group' && $('mention').checked;
  try {
    await call('/api/messages', { spaceId, text, ...(parentId ? { parentId } : {}), mention });
  } catch (error) {
    showError(`Message not sent: ${error.message}`);
    throw error;
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const box = $('composer-text');
  const text = box.value.trim();
  if (!text || !state.selected) return;
  send({ spaceId: state.selected, text }).then(() => {
    box.value = '';
  });
});

$('authorize').addEventListener('click', () => {
  if (!state.selected) return;
  call('/api/authorize', { spaceId: state.selected }).catch((error) =>
    showError(`Not authorized: ${error.message}`),
  );
});

$('composer-text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

// ── Actor tree ──────────────────────────────────────────────────────────────────────────────────

function snippet(text, max = 32) {
  const plain = String(text ?? '')
    .replace(/<@[^>]*\|([^>]+)>/g, '@$1')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
}

/** A readable name: the space of a room, the thread of a conversation (keys are `roomId/root`). */
function actorLabel(node) {
  if (node.kind === 'bot') return 'bot';
  if (node.kind === 'room') {
    const space = state.spaces.find((s) => s.id === node.id || s.id === node.roomId);
    return space ? space.title : `${node.id.slice(0, 12)}…`;
  }
  if (node.kind === 'conversation') {
    const root = node.id.slice(node.id.lastIndexOf('/') + 1);
    if (root === 'main') return 'main conversation';
    const message = state.messages.get(root);
    return message ? `thread “${snippet(message.markdown)}”` : `thread ${root.slice(-8)}`;
  }
  // Invoked actors (the turn, store reads) are named by their kind already.
  return '';
}

function drawActors() {
  const list = $('actors');
  list.replaceChildren();
  const depth = new Map();
  for (const node of state.actors) {
    const level = node.parent && depth.has(node.parent) ? depth.get(node.parent) + 1 : 0;
    depth.set(node.sessionId, level);
    const details = node.details
      ? Object.entries(node.details)
          .map(([key, value]) => (value === true ? key : value === false ? `no ${key}` : `${key}: ${value}`))
          .join(', ')
      : '';
    const item = el(
      'li',
      { 'data-kind': node.kind, 'data-state': node.state, style: `padding-left:${level * 14}px` },
      [
        el('span', { class: 'kind', text: node.kind }),
        el('span', { class: 'label', text: actorLabel(node) }),
        ' ',
        el('span', { class: `state state-${node.state.replace(/[^\w-]/g, '')}`, text: node.state }),
        details ? el('div', { class: 'subtle', style: 'padding-left:96px', text: details }) : '',
      ],
    );
    list.append(item);
  }
}

let labelsQueued = false;
function refreshActorLabels() {
  if (labelsQueued) return;
  labelsQueued = true;
  requestAnimationFrame(() => {
    labelsQueued = false;
    drawActors();
  });
}

// ── Scores and welcome ──────────────────────────────────────────────────────────────────────────

function addScore(score) {
  const vote = score.value === 'positive' ? '👍' : score.value === 'negative' ? '👎' : '';
  const text = `${vote} ${score.name} = ${score.value} · trace ${String(score.traceId).slice(0, 8)}… · ${score.userEmail ?? 'unknown user'}`;
  $('scores').append(el('li', { text }));
}

function drawWelcome(snapshot) {
  $('me-name').textContent = `${snapshot.me.name} (${snapshot.me.email})`;
  $('bot-name').textContent = `@${snapshot.bot.name}`;
  const box = $('scenarios');
  box.replaceChildren();
  if (snapshot.scenarios.length > 0) {
    box.append(el('p', { text: 'The built-in demo agent picks a scenario from words in your message:' }));
    const list = el('ul');
    for (const scenario of snapshot.scenarios) {
      const example = el('button', {
        type: 'button',
        text: scenario.example,
        title: 'Put this in the composer',
      });
      example.addEventListener('click', () => {
        $('composer-text').value = scenario.example;
        $('composer-text').focus();
      });
      list.append(
        el('li', {}, [el('strong', { text: scenario.name }), ' — ', example, el('br'), scenario.what]),
      );
    }
    list.append(el('li', { html: `anything else — a short answer (${renderInline('`hello`')})` }));
    box.append(list);
  }
  const backend = escapeHtml(snapshot.agent.protocol ?? 'A2A');
  $('agent-line').innerHTML = snapshot.agent.builtIn
    ? `Agent: the built-in demo agent, speaking <strong data-backend>${backend}</strong>.`
    : `Agent: <code>${escapeHtml(snapshot.agent.url)}</code> (from CAIPE_URL), <strong data-backend>${backend}</strong>.`;
}

// ── Event stream ────────────────────────────────────────────────────────────────────────────────

function applySnapshot(snapshot) {
  state.me = snapshot.me;
  state.bot = snapshot.bot;
  state.spaces = snapshot.spaces;
  drawWelcome(snapshot);
  const live = new Set(snapshot.messages.map((m) => m.id));
  for (const id of [...state.messages.keys()]) if (!live.has(id)) removeMessage(id);
  for (const message of snapshot.messages) upsertMessage(message);
  $('scores').replaceChildren();
  for (const score of snapshot.scores) addScore(score);
  state.actors = snapshot.actors;
  if (!state.selected && state.spaces.length > 0) selectSpace(state.spaces[0].id);
  else if (state.selected) selectSpace(state.selected);
  drawActors();
  document.body.dataset.ready = state.spaces.length > 0 ? 'true' : 'false';
}

const events = new EventSource('/api/events');
events.addEventListener('open', () => {
  $('connection').textContent = 'live';
  $('connection').className = 'badge online';
});
events.addEventListener('error', () => {
  $('connection').textContent = 'offline';
  $('connection').className = 'badge offline';
});
events.addEventListener('snapshot', (event) => applySnapshot(JSON.parse(event.data)));
events.addEventListener('message', (event) => upsertMessage(JSON.parse(event.data)));
events.addEventListener('actors', (event) => {
  state.actors = JSON.parse(event.data);
  drawActors();
});
events.addEventListener('score', (event) => addScore(JSON.parse(event.data)));
