// The overview: every topic's counts, polled from api/overview every 2 s, with throughput and
// lag charts over the last 5 minutes. The samples are kept while other pages are shown, so the
// charts have their history when one comes back. The table is updated in place (rows keyed by
// topic), so a focused link keeps its focus across polls.

import {clearError, get, showError} from './api.js';
import {lineChart} from './chart.js';
import {el, fmtCount, fmtDuration, fmtRate, hashFor, keepChildren, UNKNOWN} from './dom.js';

export const POLL_MS = 2000;
const HISTORY_MS = 5 * 60 * 1000;

// topic -> {index (its colour), samples: [{t, added, lag}], rate: [{t, v}]}
const history = new Map();
let latest = null;      // the last api/overview answer
let view = null;        // the mounted overview's nodes, or null when another page is shown
let pollTimer = null;

function record(answer) {
  const t = answer.time_ms ?? Date.now();
  for (const row of answer.topics) {
    let h = history.get(row.topic);
    if (!h) {
      h = {index: history.size, samples: [], rate: []};
      history.set(row.topic, h);
    }
    const previous = h.samples[h.samples.length - 1];
    if (previous && t > previous.t && row.entries_added !== null && previous.added !== null) {
      const delta = row.entries_added - previous.added;
      // A negative delta: the stream was deleted and made anew; no rate for that interval.
      if (delta >= 0) h.rate.push({t, v: delta / ((t - previous.t) / 1000)});
    }
    if (!previous || t > previous.t) h.samples.push({t, added: row.entries_added, lag: row.lag});
  }
  for (const h of history.values()) {
    while (h.samples.length && h.samples[0].t < t - HISTORY_MS) h.samples.shift();
    while (h.rate.length && h.rate[0].t < t - HISTORY_MS) h.rate.shift();
  }
}

async function poll() {
  try {
    latest = await get('api/overview');
    record(latest);
    clearError('overview');
    if (view) update();
  } catch (e) {
    showError(e, 'overview');
  } finally {
    pollTimer = setTimeout(poll, POLL_MS);
  }
}

export function startPolling() {
  if (pollTimer === null) poll();
}

// The topics last seen, for other pages (the replay form's suggestions).
export function knownTopics() {
  return latest ? latest.topics.map((t) => t.topic) : [];
}

const COLUMNS = [
  ['length', 'Length', fmtCount],
  ['groups', 'Groups', fmtCount],
  ['lag', 'Lag', fmtCount],
  ['pending', 'Pending', fmtCount],
  ['oldest_pending_age_ms', 'Oldest pending', fmtDuration],
  ['dead_letters', 'Dead letters', fmtCount],
  ['delayed', 'Delayed', fmtCount],
];

function newRow(topic) {
  const link = el('a', {href: hashFor('topic', topic)}, topic);
  const partitions = el('span', {class: 'muted partitions'});
  const cells = {};
  const tds = COLUMNS.map(([field]) => (cells[field] = el('td', {class: 'num', 'data-field': field})));
  cells.rate = el('td', {class: 'num', 'data-field': 'throughput'});
  const tr = el('tr', {'data-topic': topic}, el('th', {scope: 'row'}, link, partitions), tds,
    cells.rate);
  return {tr, cells, partitions};
}

function updateTable() {
  const wanted = [...latest.topics].sort((a, b) => a.topic.localeCompare(b.topic));
  const names = new Set(wanted.map((t) => t.topic));
  for (const [topic, row] of view.rows) {
    if (!names.has(topic)) {
      row.tr.remove();
      view.rows.delete(topic);
    }
  }
  for (const t of wanted) {
    let row = view.rows.get(t.topic);
    if (!row) view.rows.set(t.topic, (row = newRow(t.topic)));
    for (const [field, , format] of COLUMNS) {
      const text = format(t[field]);
      if (row.cells[field].textContent !== text) row.cells[field].textContent = text;
      row.cells[field].classList.toggle('unknown', text === UNKNOWN);
    }
    // Lag Redis can only bound from below (entries deleted or trimmed ahead of a group).
    if (t.lag_is_lower_bound && t.lag !== null) row.cells.lag.textContent = `\u2265 ${fmtCount(t.lag)}`;
    row.cells.dead_letters.classList.toggle('alert', t.dead_letters > 0);
    row.partitions.textContent = t.partitions > 0 ? ` ${t.partitions} partitions` : '';
    const rate = history.get(t.topic)?.rate;
    row.cells.rate.textContent = rate?.length ? fmtRate(rate[rate.length - 1].v) : UNKNOWN;
  }
  keepChildren(view.tbody, wanted.map((t) => view.rows.get(t.topic).tr));
  view.empty.hidden = wanted.length > 0;
  view.table.hidden = wanted.length === 0;
}

function updateCharts() {
  const now = latest.time_ms ?? Date.now();
  // The window grows with the history, from 1 minute to 5 (in whole minutes), so that the
  // first minutes are not squeezed into the right edge.
  const first = Math.min(...[...history.values()].map((h) => h.samples[0]?.t ?? now));
  const spanMs = Math.min(HISTORY_MS, Math.max(1, Math.ceil((now - first) / 60000)) * 60000);
  const topics = [...history.entries()].filter(([, h]) => h.samples.length > 0);
  const rateSeries = topics.map(([name, h]) => ({name, index: h.index, points: h.rate}));
  const lagSeries = topics.map(([name, h]) => ({name, index: h.index,
    points: h.samples.filter((s) => s.lag !== null).map((s) => ({t: s.t, v: s.lag}))}));
  view.charts.replaceChildren(
    lineChart({title: 'Throughput (entries added per second)', series: rateSeries, now,
      spanMs, format: (v) => fmtRate(v)}),
    lineChart({title: 'Lag (entries not yet delivered, summed over groups)', series: lagSeries,
      now, spanMs, format: (v) => fmtCount(Math.round(v))}));
}

function update() {
  view.updated.textContent = `updated ${new Date(latest.time_ms ?? Date.now()).toLocaleTimeString()}`;
  updateTable();
  updateCharts();
}

export function renderOverview(root) {
  const tbody = el('tbody');
  const table = el('table', {class: 'topics', id: 'topics-table'},
    el('thead', null, el('tr', null, el('th', {scope: 'col'}, 'Topic'),
      COLUMNS.map(([, label]) => el('th', {scope: 'col', class: 'num'}, label)),
      el('th', {scope: 'col', class: 'num'}, 'Throughput'))),
    tbody);
  const empty = el('p', {class: 'muted'},
    'No topics yet: a topic appears here once something is published to it.');
  const updated = el('span', {class: 'muted updated'}, 'loading\u2026');
  const charts = el('div', {class: 'charts'});
  root.replaceChildren(
    el('div', {class: 'page-head'}, el('h1', null, 'Topics'), updated),
    charts,
    el('section', {class: 'card'}, table, empty));
  empty.hidden = true;
  view = {tbody, table, empty, updated, charts, rows: new Map()};
  if (latest) update();
  return () => {
    view = null;
  };
}
