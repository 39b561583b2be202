// A hand-drawn SVG line chart: one line per series over a fixed time window ending now, a
// y axis from 0 to a rounded maximum. Colours come from style.css (classes series-0..7), so
// the chart sets no inline style.

import {el, svgEl} from './dom.js';

const WIDTH = 640;
const HEIGHT = 200;
const PAD = {left: 56, right: 12, top: 12, bottom: 24};
export const SERIES_CLASSES = 8;

// The y axis' top: four grid steps of 1, 2 or 5 times a power of ten, so that every tick is a
// round number (a maximum of 5 gives ticks 0, 2, 4, 6, 8).
const TICKS = 4;
function niceMax(value) {
  if (!(value > 0)) return 1;
  const raw = value / TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step * TICKS;
}

// series: [{name, index, points: [{t, v}]}] (t in ms, v a number); now and spanMs in ms (a
// multiple of 30 s).
export function lineChart({title, series, now, spanMs, format}) {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const start = now - spanMs;
  const maxValue = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.v))));
  const x = (t) => PAD.left + ((t - start) / spanMs) * plotW;
  const y = (v) => PAD.top + plotH - (v / maxValue) * plotH;

  const svg = svgEl('svg', {viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img',
    'aria-label': title});
  for (let i = 0; i <= TICKS; ++i) {
    const value = (maxValue * i) / TICKS;
    svg.append(
      svgEl('line', {x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value),
        class: i === 0 ? 'axis' : 'grid'}),
      svgEl('text', {x: PAD.left - 6, y: y(value) + 4, class: 'tick tick-y'}, format(value)));
  }
  const tickMs = spanMs <= 2 * 60000 ? 30000 : 60000;
  for (let back = 0; back <= spanMs; back += tickMs) {
    const label = back === 0 ? 'now' :
      tickMs < 60000 ? `-${back / 1000} s` : `-${back / 60000} min`;
    svg.append(svgEl('text', {x: x(now - back), y: HEIGHT - 6, class: 'tick tick-x'}, label));
  }
  for (const s of series) {
    const visible = s.points.filter((p) => p.t >= start && p.t <= now);
    if (visible.length === 0) continue;
    const cls = `series series-${s.index % SERIES_CLASSES}`;
    if (visible.length === 1) {
      svg.append(svgEl('circle', {cx: x(visible[0].t), cy: y(visible[0].v), r: 2.5,
        class: cls + ' dot'}));
      continue;
    }
    const points = visible.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    svg.append(svgEl('polyline', {points, class: cls}, svgEl('title', null, s.name)));
  }

  const legend = el('ul', {class: 'legend'}, series.map((s) => {
    const last = s.points.length ? s.points[s.points.length - 1].v : null;
    return el('li', null,
      el('span', {class: `swatch series-${s.index % SERIES_CLASSES}`, 'aria-hidden': 'true'}),
      s.name, ' ', el('span', {class: 'muted'}, last === null ? '' : format(last)));
  }));
  const empty = series.every((s) => s.points.length === 0) ?
    el('p', {class: 'muted chart-empty'}, 'Collecting samples\u2026') : null;
  return el('figure', {class: 'chart-box'}, el('figcaption', null, title), svg, empty, legend);
}
