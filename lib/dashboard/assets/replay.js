// Replays: a form that starts one (api/replay/start) and the list of replays with their
// progress, polled every 2 s while the page is shown and any replay is running. Rows are
// updated in place (keyed by replay ID) so that a focused Cancel button keeps its focus.

import {actionButton, clearError, get, post, readOnlyNote, session, showError,
  showStatus} from './api.js';
import {el, fmtCount, keepChildren, setChildren} from './dom.js';
import {knownTopics, POLL_MS} from './overview.js';

function field(label, input, hint) {
  return el('label', {class: 'field'}, el('span', {class: 'label'}, label), input,
    hint ? el('span', {class: 'hint'}, hint) : null);
}

// The request body from the form: optional fields left out when empty.
function startRequest(form) {
  const value = (name) => form.elements[name].value.trim();
  const body = {topic: value('topic')};
  if (value('from')) body.from = value('from');
  if (value('to')) body.to = value('to');
  const types = value('types').split(',').map((t) => t.trim()).filter(Boolean);
  if (types.length) body.types = types;
  // A replay either writes into another topic or is a dry run (the server refuses both).
  if (form.elements.dry_run.checked) body.dry_run = true;
  else if (value('into_topic')) body.into_topic = value('into_topic');
  if (value('rate')) body.rate = Number(value('rate'));
  return body;
}

function startForm(onStarted) {
  const suggestions = el('datalist', {id: 'topic-suggestions'},
    knownTopics().map((t) => el('option', {value: t})));
  const form = el('form', {class: 'replay-form', id: 'replay-form'},
    field('Topic', el('input', {name: 'topic', required: true, list: 'topic-suggestions',
      autocomplete: 'off'})),
    field('From', el('input', {name: 'from', placeholder: 'entry ID or ms'}),
      'empty: the start of the stream'),
    field('To', el('input', {name: 'to', placeholder: 'entry ID or ms'}),
      'empty: its end when the replay starts'),
    field('Types', el('input', {name: 'types', placeholder: 'shop.Order, shop.Refund'}),
      'comma-separated; empty: every type'),
    field('Into topic', el('input', {name: 'into_topic'}),
      'where the messages are republished (not the topic itself)'),
    field('Rate', el('input', {name: 'rate', type: 'number', min: '1', step: '1'}),
      'messages per second; empty: no limit'),
    el('label', {class: 'check'}, el('input', {name: 'dry_run', type: 'checkbox', checked: true}),
      ' Dry run (count what would be replayed, write nothing)'),
    el('div', {class: 'actions'}, el('button', {type: 'submit',
      disabled: !session.mutations_enabled}, 'Start replay')),
    suggestions);
  const into = form.elements.into_topic;
  const dryRun = form.elements.dry_run;
  const syncInto = () => {
    into.disabled = dryRun.checked;
  };
  dryRun.addEventListener('change', syncInto);
  syncInto();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const started = await post('api/replay/start', startRequest(form));
      clearError();
      showStatus(`Replay ${started.id} started.`);
      await onStarted();
    } catch (e) {
      showError(e);
    } finally {
      submit.disabled = !session.mutations_enabled;
    }
  });
  return form;
}

const COLUMNS = ['id', 'state', 'topic', 'into_topic', 'dry_run', 'scanned', 'replayed',
  'last_position', 'error'];
const LABELS = ['ID', 'State', 'Topic', 'Into', 'Dry run', 'Scanned', 'Replayed',
  'Last position', 'Error', ''];

function text(name, value) {
  if (name === 'dry_run') return value ? 'yes' : 'no';
  if (name === 'scanned' || name === 'replayed') return fmtCount(value);
  return value === null || value === undefined || value === '' ? '\u2014' : String(value);
}

export function renderReplay(root) {
  let alive = true;
  let timer = null;
  const rows = new Map();  // id -> {tr, cells, actions, state}
  const tbody = el('tbody');
  const empty = el('p', {class: 'muted'}, 'No replays since the server started.');
  const list = el('table', {class: 'replays', id: 'replays-table'},
    el('thead', null, el('tr', null, LABELS.map((l) => el('th', {scope: 'col'}, l)))), tbody);

  const update = (replays) => {
    for (const r of [...replays].sort((a, b) => b.id - a.id)) {
      let row = rows.get(r.id);
      if (!row) {
        const cells = Object.fromEntries(COLUMNS.map((c) => [c, el('td', {'data-field': c})]));
        const actions = el('td', {class: 'actions'});
        row = {tr: el('tr', {'data-replay': r.id}, Object.values(cells), actions), cells,
          actions, state: null};
        rows.set(r.id, row);
      }
      for (const c of COLUMNS) {
        const t = text(c, r[c]);
        if (row.cells[c].textContent !== t) row.cells[c].textContent = t;
      }
      row.cells.state.className = `state state-${r.state}`;
      if (row.state !== r.state) {
        row.state = r.state;
        row.actions.replaceChildren(r.state === 'running' ? actionButton('Cancel', {
          kind: 'danger', run: () => post('api/replay/cancel', {id: r.id}),
          after: async (c) => {
            showStatus(c.cancelled ? `Replay ${r.id} cancelled.` : `Replay ${r.id} had ended.`);
            await load();
          }}) : '');
      }
    }
    keepChildren(tbody, [...rows.keys()].sort((a, b) => b - a).map((id) => rows.get(id).tr));
    empty.hidden = rows.size > 0;
    list.hidden = rows.size === 0;
  };

  const load = async () => {
    clearTimeout(timer);
    try {
      const answer = await get('api/replays');
      if (!alive) return;
      clearError('replays');
      update(answer.replays);
      if (answer.replays.some((r) => r.state === 'running')) timer = setTimeout(load, POLL_MS);
    } catch (e) {
      if (!alive) return;
      showError(e, 'replays');
      timer = setTimeout(load, POLL_MS);
    }
  };

  setChildren(root,
    el('div', {class: 'page-head'}, el('h1', null, 'Replays')),
    readOnlyNote(),
    el('section', {class: 'card'}, el('h2', null, 'Start a replay'), startForm(load)),
    el('section', {class: 'card'}, el('h2', null, 'Replays'), list, empty));
  list.hidden = true;
  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
