// The streamq dashboard's entry point: hash routing (#/, #/topic/T, #/message/T/ID,
// #/dead-letter/T/G/ID, #/replay), the token field, the session (read-only or not) and the
// banner. Plain ES2020 modules, no build step: the server embeds these files as they are.

import {clearError, loadSession, pageChanged, session, setToken, showError, token} from './api.js';
import {el} from './dom.js';
import {renderDeadLetter, renderMessage} from './message.js';
import {renderOverview, startPolling} from './overview.js';
import {renderReplay} from './replay.js';
import {renderTopic} from './topic.js';

// route name -> [render(root, decoded segments), number of segments it needs]
const ROUTES = {
  '': [renderOverview, 0],
  topic: [renderTopic, 1],
  message: [renderMessage, 2],
  'dead-letter': [renderDeadLetter, 3],
  replay: [renderReplay, 0],
};

let unmount = null;

function notFound(root, hash) {
  root.replaceChildren(el('div', {class: 'page-head'}, el('h1', null, 'Not found')),
    el('p', null, 'No page is called ', el('span', {class: 'mono'}, hash), '. ',
      el('a', {href: '#/'}, 'Back to the topics.')));
  return null;
}

function parse(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/');
  const name = parts.shift() ?? '';
  try {
    return {name, args: parts.filter((p, i) => p !== '' || i < parts.length - 1)
      .map(decodeURIComponent)};
  } catch {
    return {name: null, args: []};
  }
}

function route() {
  const root = document.getElementById('view');
  if (unmount) unmount();
  unmount = null;
  // The errors of the page left go with it; an action's error stays until dismissed.
  for (const source of ['topic', 'page', 'replays']) clearError(source);
  pageChanged();
  const {name, args} = parse(window.location.hash);
  const entry = ROUTES[name];
  const page = entry && args.length === entry[1] ? entry[0] : null;
  for (const link of document.querySelectorAll('nav a')) {
    const current = link.dataset.route === (name === 'replay' ? 'replay' : 'topics');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  unmount = page ? page(root, args) : notFound(root, window.location.hash);
  document.title = `streamq \u2014 ${name === '' ? 'topics' : name}${args[0] ? ' ' + args[0] : ''}`;
}

function setUpToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token');
  const state = document.getElementById('token-state');
  const show = () => {
    state.textContent = token() ? 'token set' : 'no token';
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    input.value = '';
    show();
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    setToken('');
    show();
  });
  show();
}

async function start() {
  document.getElementById('banner-close').addEventListener('click', () => clearError());
  setUpToken();
  try {
    await loadSession();
  } catch (e) {
    showError(e, 'session');
  }
  document.getElementById('mode').textContent = session.mutations_enabled ? '' : 'read-only';
  document.getElementById('token-form').hidden = !session.mutations_enabled;
  document.getElementById('version').textContent =
    session.version ? `streamq ${session.version}` : '';
  window.addEventListener('hashchange', route);
  route();
  startPolling();
}

start();
