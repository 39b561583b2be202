// One message of a topic (#/message/T/ID) and one dead letter (#/dead-letter/T/G/ID): the
// envelope's fields, its headers, and its payload: pretty-printed JSON when the server knows
// the type's descriptor, otherwise the raw bytes in base64 with a note saying why.

import {actionButton, get, post, readOnlyNote, showError, showStatus} from './api.js';
import {el, facts, fmtCount, fmtTime, hashFor, section, setChildren, table} from './dom.js';

function payloadBlock(message) {
  if (message.payload !== null && message.payload !== undefined) {
    return el('pre', {class: 'payload json', id: 'payload'},
      JSON.stringify(message.payload, null, 2));
  }
  return el('div', null,
    el('p', {class: 'note'}, 'The server knows no descriptor for type ',
      el('span', {class: 'mono'}, message.type || '(none)'),
      ', so the payload is shown as raw bytes, base64-encoded.'),
    el('pre', {class: 'payload base64', id: 'payload'}, message.payload_base64 ?? ''));
}

function mono(value) {
  return value === null || value === undefined || value === '' ? '\u2014' :
    el('span', {class: 'mono'}, String(value));
}

function messageSections(topic, message) {
  const where = ['Topic', el('a', {href: hashFor('topic', topic), class: 'mono'}, topic)];
  // An entry that is not a streamq envelope (written by something else): why, and no more.
  if (message.decoded === false) {
    return [section('Message', facts([where, ['Entry', mono(message.id)]]),
      el('p', {class: 'note'}, 'This entry does not decode as a streamq message: ',
        message.problem ?? 'no reason given', '.'))];
  }
  const headers = Object.entries(message.headers ?? {});
  return [
    section('Message', facts([where, ['Entry', mono(message.id)], ['Type', mono(message.type)],
      ['Message ID', mono(message.message_id)], ['Created', fmtTime(message.created_at_ms)],
      ['Attempt', fmtCount(message.attempt)], ['Schema version', fmtCount(message.schema_version)],
      ['Producer', mono(message.producer_id)], ['Sequence', fmtCount(message.sequence)],
      ['Partition key', mono(message.partition_key)],
      ['Idempotency key', mono(message.idempotency_key)]])),
    section(`Headers (${headers.length})`, headers.length ?
      table(['Name', 'Value'], headers.map(([name, value]) =>
        el('tr', null, el('td', {class: 'mono'}, name), el('td', {class: 'mono'}, String(value))))) :
      el('p', {class: 'muted'}, 'No headers.')),
    section('Payload', payloadBlock(message)),
  ];
}

function mount(root, title, load) {
  let alive = true;
  const content = el('div', {class: 'loading'}, 'Loading\u2026');
  root.replaceChildren(el('div', {class: 'page-head'}, el('h1', null, title)), content);
  (async () => {
    try {
      const nodes = await load();
      if (!alive) return;
      setChildren(content, nodes);
      content.className = '';
    } catch (e) {
      if (alive) {
        showError(e, 'page');
        content.replaceChildren(el('p', {class: 'muted'}, 'Could not be loaded.'));
      }
    }
  })();
  return () => {
    alive = false;
  };
}

export function renderMessage(root, [topic, id]) {
  return mount(root, `Message ${id}`, async () =>
    messageSections(topic, await get('api/message', {topic, id})));
}

export function renderDeadLetter(root, [topic, group, id]) {
  const back = () => {
    window.location.hash = hashFor('topic', topic);
  };
  return mount(root, 'Dead letter', async () => {
    const letter = await get('api/dead-letter', {topic, group, id});
    const fields = Object.entries(letter).filter(([name]) => name !== 'message' &&
      name !== 'decoded');
    const shown = fields.map(([name, value]) => [name.replace(/_ms$/, '').replaceAll('_', ' '),
      el('span', {class: 'mono'},
      name.endsWith('_ms') && typeof value === 'number' ? fmtTime(value) :
        typeof value === 'number' ? fmtCount(value) :
          value === null ? '\u2014' : typeof value === 'object' ? JSON.stringify(value) :
            String(value))]);
    const target = {topic, group, id};
    return [
      readOnlyNote(),
      section(`Dead letter of group ${group}`, facts(shown), el('div', {class: 'actions'},
        letter.decoded === false ? null : actionButton('Requeue', {
          run: () => post('api/dead-letters/requeue', target),
          after: (r) => {
            showStatus(`Requeued dead letter ${id} as entry ${r.requeued}.`, true);
            back();
          }}),
        actionButton('Purge', {kind: 'danger', confirm: `Delete dead letter ${id}?`,
          run: () => post('api/dead-letters/purge', target),
          after: () => {
            showStatus(`Purged dead letter ${id}.`, true);
            back();
          }}))),
      ...(letter.message ? messageSections(topic, letter.message) :
        [section('Message', el('p', {class: 'muted'}, 'The letter holds no message.'))]),
    ];
  });
}
