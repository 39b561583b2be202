// One topic: its groups with their consumers and pending entries, the dead letters of each
// group (requeue, purge, one or all), the delayed tasks (cancel) and the recurring schedules
// (pause, resume). Loaded once and again after each action or on Refresh: the page holds
// buttons, and re-drawing it under a keyboard user's focus every few seconds would lose it.

import {actionButton, clearError, get, post, readOnlyNote, showError, showStatus} from './api.js';
import {el, fmtCount, fmtDuration, fmtTime, hashFor, section, setChildren, stats,
  table} from './dom.js';

const PAGE = 50;  // entries listed per group (pending, dead letters)

const DASH = '\u2014';

function consumersTable(group) {
  if (!group.consumers.length) return el('p', {class: 'muted'}, 'No consumers registered.');
  return table(['Consumer', 'Pending', 'Idle', 'Inactive'], group.consumers.map((c) =>
    el('tr', null, el('td', null, c.name), el('td', {class: 'num'}, fmtCount(c.pending)),
      el('td', {class: 'num'}, fmtDuration(c.idle_ms)),
      el('td', {class: 'num'}, fmtDuration(c.inactive_ms)))));
}

// `stream` is the stream the group lives on: the topic, or one partition of it ("T#N").
function pendingTable(stream, entries) {
  if (!entries.length) return el('p', {class: 'muted'}, 'Nothing pending.');
  return table(['Entry', 'Consumer', 'Idle', 'Deliveries'], entries.map((p) => el('tr', null,
    el('td', null, el('a', {href: hashFor('message', stream, p.id), class: 'mono'}, p.id)),
    el('td', null, p.consumer), el('td', {class: 'num'}, fmtDuration(p.idle_ms)),
    el('td', {class: 'num'}, fmtCount(p.deliveries)))));
}

function letterRow(stream, group, d, after) {
  const target = {topic: stream, group: group.name, id: d.id};
  const link = el('a', {href: hashFor('dead-letter', stream, group.name, d.id), class: 'mono'},
    d.id);
  // A letter that does not decode (written by something else): listed with why, purgeable.
  const described = d.decoded === false ?
    [el('td', null, DASH), el('td', null, DASH), el('td', null, DASH),
      el('td', {class: 'error-text'}, d.problem ?? 'not a valid dead letter'), el('td', null, DASH)] :
    [el('td', null, d.entry_id ?
      el('a', {href: hashFor('message', stream, d.entry_id), class: 'mono'}, d.entry_id) : DASH),
    el('td', null, d.type || DASH), el('td', {class: 'num'}, fmtCount(d.attempts)),
    el('td', {class: 'error-text'}, d.error ?? ''), el('td', null, fmtTime(d.dead_at_ms))];
  return el('tr', {'data-dead-letter': d.id}, el('td', null, link), described,
    el('td', {class: 'actions'},
      d.decoded === false ? null : actionButton('Requeue', {
        title: `Hand dead letter ${d.id} back to group ${group.name}`,
        run: () => post('api/dead-letters/requeue', target),
        after: after((r) => `Requeued dead letter ${d.id} as entry ${r.requeued}.`)}),
      actionButton('Purge', {kind: 'danger', confirm: `Delete dead letter ${d.id}?`,
        run: () => post('api/dead-letters/purge', target),
        after: after((r) => r.purged ? `Purged dead letter ${d.id}.` :
          `Dead letter ${d.id} was already gone.`)})));
}

function deadLettersBlock(stream, group, letters, reload) {
  if (!letters.length) return el('p', {class: 'muted'}, 'No dead letters.');
  const after = (what) => async (result) => {
    showStatus(what(result));
    await reload();
  };
  const target = {topic: stream, group: group.name, all: true};
  const bulk = el('div', {class: 'actions'},
    actionButton('Requeue all', {
      confirm: `Hand every dead letter of group ${group.name} (${stream}) back to it?`,
      run: () => post('api/dead-letters/requeue', target),
      after: after((r) => `Requeued ${r.requeued} dead letters of ${group.name}.`)}),
    actionButton('Purge all', {kind: 'danger',
      confirm: `Delete every dead letter of group ${group.name} (${stream})? This cannot be undone.`,
      run: () => post('api/dead-letters/purge', target),
      after: after((r) => `Purged ${r.purged} dead letters of ${group.name}.`)}));
  const more = letters.length >= PAGE ?
    el('p', {class: 'muted'}, `Showing the oldest ${PAGE}.`) : null;
  return el('div', null, bulk,
    table(['Dead letter', 'Entry', 'Type', 'Attempts', 'Error', 'Dead since', ''],
      letters.map((d) => letterRow(stream, group, d, after)), {class: 'dead-letters'}), more);
}

function groupCard(topic, group, pending, letters, reload) {
  const stream = group.topic ?? topic;
  return el('article', {class: 'group', 'data-group': group.name, 'data-stream': stream},
    el('h3', null, 'Group ', el('span', {class: 'mono'}, group.name),
      stream !== topic ? el('span', {class: 'muted'}, ' on ', el('span', {class: 'mono'}, stream)) :
        null),
    stats([['Pending', fmtCount(group.pending)], ['Lag', fmtCount(group.lag)],
      ['Oldest pending', fmtDuration(group.oldest_pending_age_ms)],
      ['Dead letters', fmtCount(group.dead_letters)],
      ['Last delivered', el('span', {class: 'mono'}, group.last_delivered_id ?? DASH)]]),
    el('h4', null, 'Dead letters'), deadLettersBlock(stream, group, letters, reload),
    el('div', {class: 'columns'},
      el('div', null, el('h4', null, 'Consumers'), consumersTable(group)),
      el('div', null, el('h4', null, 'Pending entries'), pendingTable(stream, pending))));
}

function delayedSection(topic, delayed, reload) {
  const tasks = delayed?.tasks ?? [];
  const body = tasks.length ?
    table(['Task', 'Type', 'Message ID', 'Due', ''], tasks.map((task) => el('tr', null,
      el('td', {class: 'mono'}, task.id), el('td', null, task.type || DASH),
      el('td', {class: 'mono'}, task.message_id || DASH), el('td', null, fmtTime(task.due_ms)),
      el('td', {class: 'actions'}, actionButton('Cancel', {kind: 'danger',
        confirm: `Cancel delayed task ${task.id}?`,
        run: () => post('api/delayed/cancel', {topic, id: task.id}),
        after: async (r) => {
          showStatus(r.cancelled ? `Cancelled ${task.id}.` : `${task.id} had already run.`);
          await reload();
        }}))))) :
    el('p', {class: 'muted'}, 'No delayed tasks.');
  const shown = delayed && delayed.count > tasks.length ?
    el('p', {class: 'muted'}, `Showing ${tasks.length} of ${fmtCount(delayed.count)}.`) : null;
  return section(`Delayed tasks (${fmtCount(delayed?.count ?? 0)})`, body, shown);
}

function recurringSection(topic, recurring, reload) {
  if (!recurring?.length) return section('Recurring', el('p', {class: 'muted'}, 'None.'));
  return section('Recurring', table(['Name', 'Schedule', 'Type', 'State', 'Last run', 'Next run',
    ''], recurring.map((r) => el('tr', null, el('td', {class: 'mono'}, r.name),
    el('td', {class: 'mono'}, r.schedule), el('td', null, r.type || DASH),
    el('td', null, r.paused ? 'paused' : 'active'), el('td', null, fmtTime(r.last_ms)),
    el('td', null, fmtTime(r.next_ms)),
    el('td', {class: 'actions'}, actionButton(r.paused ? 'Resume' : 'Pause', {
      run: () => post(r.paused ? 'api/recurring/resume' : 'api/recurring/pause',
        {topic, name: r.name}),
      after: async () => {
        showStatus(`${r.paused ? 'Resumed' : 'Paused'} ${r.name}.`);
        await reload();
      }}))))));
}

function entryLink(topic, id) {
  return id ? el('a', {href: hashFor('message', topic, id), class: 'mono'}, id) : null;
}

function streamSection(topic, info) {
  const partitions = info.partition_topics ?? [];
  return section('Stream', stats([['Length', fmtCount(info.length)],
    ['Entries added', fmtCount(info.entries_added)], ['Pending', fmtCount(info.pending)],
    ['Lag', fmtCount(info.lag)], ['Dead letters', fmtCount(info.dead_letters)],
    ['First entry', entryLink(topic, info.first_id)],
    ['Last entry', entryLink(topic, info.last_id)]]),
  partitions.length ? el('p', null, `${partitions.length} partitions: `,
    partitions.map((p, i) => [i ? ', ' : '', el('a', {href: hashFor('topic', p), class: 'mono'},
      p)])) : null);
}

export function renderTopic(root, [topic]) {
  let alive = true;
  const content = el('div', {class: 'loading'}, 'Loading\u2026');
  const reload = async () => {
    try {
      const info = await get('api/topic', {topic});
      // A group's entries and letters live on its own stream: the topic or a partition.
      const perGroup = await Promise.all(info.groups.map(async (g) => {
        const q = {topic: g.topic ?? topic, group: g.name, count: PAGE};
        const [pending, letters] = await Promise.all([get('api/pending', q),
          get('api/dead-letters', q)]);
        return [pending.entries, letters.dead_letters];
      }));
      if (!alive) return;
      clearError('topic');
      content.className = '';
      setChildren(content, streamSection(topic, info),
        section(`Consumer groups (${info.groups.length})`, info.groups.length ?
          info.groups.map((g, i) => groupCard(topic, g, perGroup[i][0], perGroup[i][1], reload)) :
          el('p', {class: 'muted'}, 'No consumer groups.')),
        delayedSection(topic, info.delayed, reload),
        recurringSection(topic, info.recurring, reload));
    } catch (e) {
      if (!alive) return;
      showError(e, 'topic');
      // A first load that failed: say so (a reload that failed keeps what was shown).
      if (content.className === 'loading') {
        content.className = '';
        content.replaceChildren(el('p', {class: 'muted'}, 'Could not be loaded.'));
      }
    }
  };
  const refresh = el('button', {type: 'button', class: 'secondary', onclick: () => {
    showStatus('');
    reload();
  }}, 'Refresh');
  setChildren(root,
    el('div', {class: 'page-head'},
      el('h1', null, 'Topic ', el('span', {class: 'mono', id: 'topic-name'}, topic)), refresh),
    readOnlyNote(), content);
  reload();
  return () => {
    alive = false;
  };
}
