// Talking to the dashboard's JSON API (dashboard-api contract): relative URLs only, since the
// dashboard may be mounted under any prefix; every failure becomes an ApiError carrying the
// server's one-line `error` text, for the banner.

import {el} from './dom.js';

const TOKEN_KEY = 'streamq.dashboard.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The token lives in sessionStorage only: gone with the tab, never in localStorage or a cookie.
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled (a privacy mode): the token then lasts until the page is reloaded.
  }
  memoryToken = value;
}
let memoryToken = '';
function currentToken() {
  return token() || memoryToken;
}

async function decode(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ?
      body.error : `${response.status} ${response.statusText || 'error'}`.trim();
    throw new ApiError(response.status, body?.code ?? `http_${response.status}`, message);
  }
  if (body === null || typeof body !== 'object') {
    throw new ApiError(response.status, 'bad_reply', 'the server did not answer with JSON');
  }
  return body;
}

async function send(url, init) {
  let response;
  try {
    response = await fetch(url, {cache: 'no-store', credentials: 'same-origin', ...init});
  } catch (e) {
    throw new ApiError(0, 'unreachable', `the dashboard server cannot be reached (${e.message})`);
  }
  return decode(response);
}

// get('api/topic', {topic: 'orders'}) -> the parsed answer.
export function get(path, params) {
  const query = params ? '?' + new URLSearchParams(params).toString() : '';
  return send(path + query, {headers: {Accept: 'application/json'}});
}

export function post(path, body) {
  const headers = {'Content-Type': 'application/json', Accept: 'application/json'};
  const t = currentToken();
  if (t) headers['X-Streamq-Token'] = t;
  return send(path, {method: 'POST', headers, body: JSON.stringify(body)});
}

// api/session, read once at start. Until then (or when it fails) mutations count as disabled.
export const session = {read_only: true, mutations_enabled: false, version: '', loaded: false};

export async function loadSession() {
  Object.assign(session, await get('api/session'), {loaded: true});
  document.body.classList.toggle('read-only', !session.mutations_enabled);
  return session;
}

// --- the banner (errors) and the status line (what an action did) ---

let bannerSource = null;

// Shows `error`'s text in the banner. `source` names who showed it, so that a poller that
// succeeds again clears its own error and nobody else's.
export function showError(error, source = 'action') {
  const banner = document.getElementById('banner');
  const text = error instanceof ApiError ?
    error.message + (error.code ? ` (${error.code})` : '') : String(error?.message ?? error);
  document.getElementById('banner-text').textContent = text;
  banner.hidden = false;
  bannerSource = source;
  if (!(error instanceof ApiError)) console.error(error);
}

export function clearError(source) {
  if (source !== undefined && source !== bannerSource) return;
  document.getElementById('banner').hidden = true;
  bannerSource = null;
}

// What an action did, in the status line. `keep`: it stays through the next page change (an
// action that moves to another page, e.g. back to the topic after a requeue).
let statusKept = false;
export function showStatus(text, keep = false) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.hidden = !text;
  statusKept = keep;
}

// Called on every page change: clears the status line unless it was to be kept once.
export function pageChanged() {
  if (statusKept) statusKept = false;
  else showStatus('');
}

// A button that POSTs something: disabled while the request runs, then `after(result)`; an
// error goes to the banner. With mutations disabled on the server it is disabled and says so.
export function actionButton(label, {run, after, confirm: question, kind, title}) {
  const classes = ['action', kind ?? ''].join(' ').trim();
  if (!session.mutations_enabled) {
    return el('button', {type: 'button', class: classes, disabled: true,
      title: 'read-only: mutations are disabled on this server'}, label);
  }
  const button = el('button', {type: 'button', class: classes, title: title ?? null}, label);
  button.addEventListener('click', async () => {
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    try {
      const result = await run();
      clearError();
      if (after) await after(result);
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

// The note shown where mutation buttons are, when they cannot be used.
export function readOnlyNote() {
  if (session.mutations_enabled) return null;
  return el('p', {class: 'note read-only-note'},
    'read-only: requeue, purge, cancel, pause and replay are disabled on this server',
    session.read_only ? ' (read-only mode).' : ' (no token is configured).');
}
