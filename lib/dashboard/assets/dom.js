// Building the page from data without ever parsing data as HTML: text goes in through
// Node.append (a text node) and attributes through setAttribute, so nothing an API answer
// holds (a topic name, an error text, a payload) can become markup or script.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttributes(node, attrs) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.setAttribute('class', value);
    else if (name === 'text') node.textContent = String(value);
    else if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function appendChildren(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

// el('a', {href: '#/', class: 'x', onclick: f}, 'text', otherNode, [more, nodes])
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  appendChildren(node, children);
  return node;
}

export function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  appendChildren(node, children);
  return node;
}

// '#/topic/orders%23-1' from ('topic', 'orders#-1'): every segment encoded on its own.
export function hashFor(...segments) {
  return '#/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
}

export const UNKNOWN = '\u2014';  // what Redis could not tell (null in the API)

export function fmtCount(n) {
  if (n === null || n === undefined) return UNKNOWN;
  return Number(n).toLocaleString('en-US');
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return UNKNOWN;
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  const s = abs / 1000;
  if (s < 60) return `${sign}${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${sign}${m} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${sign}${h} h ${m % 60} min`;
  return `${sign}${Math.floor(h / 24)} d ${h % 24} h`;
}

export function fmtTime(ms) {
  if (ms === null || ms === undefined) return UNKNOWN;
  return new Date(ms).toLocaleString();
}

export function fmtRate(perSecond) {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return UNKNOWN;
  if (perSecond >= 100) return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
  return `${perSecond.toFixed(perSecond >= 10 ? 1 : 2)}/s`;
}

// Replaces `node`'s children, skipping null ones (an absent optional part).
export function setChildren(node, ...children) {
  node.replaceChildren();
  appendChildren(node, children);
}

// Makes `nodes` the children of `parent`, in that order, moving nothing when they already
// are: rows updated in place keep a focused link or button focused.
export function keepChildren(parent, nodes) {
  const current = [...parent.children];
  if (nodes.length !== current.length || nodes.some((node, i) => node !== current[i])) {
    parent.replaceChildren(...nodes);
  }
}

// Label/value pairs side by side, each label above its value: a strip of headline numbers.
export function stats(pairs) {
  return el('dl', {class: 'stats'}, pairs.map(([label, value]) =>
    el('div', {class: 'stat'}, el('dt', null, label), el('dd', null, value ?? UNKNOWN))));
}

// A two-column table of label/value pairs (a value may be a node).
export function facts(pairs) {
  return el('dl', {class: 'facts'},
    pairs.map(([label, value]) => [el('dt', null, label), el('dd', null, value ?? UNKNOWN)]));
}

export function table(headers, rows, attrs) {
  return el('table', attrs ?? {},
    el('thead', null, el('tr', null, headers.map((h) => el('th', {scope: 'col'}, h)))),
    el('tbody', null, rows));
}

export function section(title, ...children) {
  return el('section', {class: 'card'}, el('h2', null, title), children);
}
