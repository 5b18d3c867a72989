// Small SVG charts, drawn by hand: a trend line per series with its axes, and a sparkline.
// Each chart is an image with a text alternative; the pages also give the numbers as tables.
import { esc } from './dom.js';
import { shortMonth, t } from './i18n.js';

/** Colour-blind safe categorical colours (Okabe–Ito). */
export const CATEGORICAL = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

function niceTicks(min, max, count = 4) {
  if (min === max) {
    max = min === 0 ? 1 : min * 1.1;
    min = min === 0 ? 0 : min * 0.9;
  }
  const step0 = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  const ticks = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

/**
 * A line chart over months. `series`: [{ name, points: [{ x: 'YYYY-MM', y: number|null,
 * withheld: bool }] }]; `format` writes a value. Withheld months are gaps, marked on the axis.
 */
export function lineChart({ title, series, format, height = 200, width = 600, zeroBased = true }) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort();
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => y !== null && Number.isFinite(y));
  if (!xs.length || !ys.length) return `<p class="muted">${esc(t('no_data'))}</p>`;
  const W = width;
  const H = height;
  const m = { l: 64, r: 12, t: 12, b: 28 };
  const ticks = niceTicks(zeroBased ? Math.min(0, ...ys) : Math.min(...ys), Math.max(...ys));
  const y0 = ticks[0];
  const y1 = ticks[ticks.length - 1];
  const X = (x) => m.l + (xs.length === 1 ? 0 : (xs.indexOf(x) / (xs.length - 1)) * (W - m.l - m.r));
  const Y = (y) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const grid = ticks
    .map((v) => `<line x1="${m.l}" x2="${W - m.r}" y1="${Y(v)}" y2="${Y(v)}" class="grid"/><text x="${m.l - 6}" y="${Y(v) + 4}" text-anchor="end">${esc(format(v))}</text>`)
    .join('');
  const labelled = [0, Math.floor((xs.length - 1) / 2), xs.length - 1].filter((v, i, a) => a.indexOf(v) === i);
  const anchor = (i) => (i === 0 ? 'start' : i === xs.length - 1 ? 'end' : 'middle');
  const xlab = labelled.map((i) => `<text x="${X(xs[i])}" y="${H - 8}" text-anchor="${anchor(i)}">${esc(shortMonth(xs[i]))}</text>`).join('');
  const lines = series
    .map((s, i) => {
      const colour = s.color ?? CATEGORICAL[i % CATEGORICAL.length];
      let d = '';
      let pen = false;
      for (const p of s.points) {
        if (p.y === null || !Number.isFinite(p.y)) {
          pen = false;
          continue;
        }
        d += `${pen ? 'L' : 'M'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`;
        pen = true;
      }
      const withheld = s.points
        .filter((p) => p.withheld)
        .map((p) => `<path d="M${X(p.x) - 3},${H - m.b + 3}l3,-6l3,6z" class="withheld-mark"><title>${esc(`${shortMonth(p.x)}: ${t('withheld')}`)}</title></path>`)
        .join('');
      return `<path d="${d}" fill="none" stroke="${colour}" stroke-width="2.5"/>${withheld}`;
    })
    .join('');
  const last = series.map((s) => {
    const p = [...s.points].reverse().find((q) => q.y !== null);
    return p ? `${s.name}: ${format(p.y)} (${shortMonth(p.x)})` : `${s.name}: ${t('withheld')}`;
  });
  const alt = `${title}. ${t('chart_from_to', { from: shortMonth(xs[0]), to: shortMonth(xs[xs.length - 1]) })}. ${last.join('; ')}.`;
  const legend =
    series.length > 1
      ? `<ul class="chart-legend">${series.map((s, i) => `<li><span class="swatch" style="background:${s.color ?? CATEGORICAL[i % CATEGORICAL.length]}"></span>${esc(s.name)}</li>`).join('')}</ul>`
      : '';
  return `<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(alt)}" preserveAspectRatio="xMidYMid meet">${grid}${xlab}${lines}</svg>${legend}</figure>`;
}

/** A small trend line without axes (the figure beside it says the value). */
export function sparkline(points, label) {
  const ys = points.map((p) => p.y).filter((y) => y !== null && Number.isFinite(y));
  if (ys.length < 2) return '';
  const W = 120;
  const H = 32;
  const min = Math.min(...ys);
  const max = Math.max(...ys);
  const X = (i) => (i / (points.length - 1)) * (W - 4) + 2;
  const Y = (y) => H - 3 - ((y - min) / (max - min || 1)) * (H - 6);
  let d = '';
  let pen = false;
  points.forEach((p, i) => {
    if (p.y === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${X(i).toFixed(1)},${Y(p.y).toFixed(1)}`;
    pen = true;
  });
  return `<svg class="spark" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}"><path d="${d}" fill="none" stroke="currentColor" stroke-width="2"/></svg>`;
}

/**
 * A fan chart: the history as a line, then the forecast's mean (dashed) inside its 80 % and
 * 95 % intervals (shaded bands). `history`: [{ x: 'YYYY-MM', y }]; `bands`: [{ month, mean,
 * lower_80, upper_80, lower_95, upper_95 }]; `format` writes a value.
 */
export function fanChart({ title, history, bands, format, height = 240, width = 640 }) {
  if (!history.length || !bands.length) return `<p class="muted">${esc(t('no_data'))}</p>`;
  const xs = [...history.map((p) => p.x), ...bands.map((b) => b.month)];
  const ys = [...history.map((p) => p.y), ...bands.flatMap((b) => [b.lower_95, b.upper_95])];
  const W = width;
  const H = height;
  const m = { l: 64, r: 12, t: 12, b: 28 };
  const ticks = niceTicks(Math.min(0, ...ys), Math.max(...ys));
  const y0 = ticks[0];
  const y1 = ticks[ticks.length - 1];
  const X = (i) => m.l + (i / (xs.length - 1 || 1)) * (W - m.l - m.r);
  const Y = (y) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const grid = ticks
    .map((v) => `<line x1="${m.l}" x2="${W - m.r}" y1="${Y(v)}" y2="${Y(v)}" class="grid"/><text x="${m.l - 6}" y="${Y(v) + 4}" text-anchor="end">${esc(format(v))}</text>`)
    .join('');
  const first = history.length - 1; // the bands start from the last month of history
  const at = (k) => first + 1 + k;
  const area = (lo, hi) => {
    const top = bands.map((b, k) => `${X(at(k)).toFixed(1)},${Y(b[hi]).toFixed(1)}`);
    const bottom = bands.map((b, k) => `${X(at(k)).toFixed(1)},${Y(b[lo]).toFixed(1)}`).reverse();
    const start = `${X(first).toFixed(1)},${Y(history[first].y).toFixed(1)}`;
    return `M${start}L${top.join('L')}L${bottom.join('L')}Z`;
  };
  const line = history.map((p, i) => `${i ? 'L' : 'M'}${X(i).toFixed(1)},${Y(p.y).toFixed(1)}`).join('');
  const mean = `M${X(first).toFixed(1)},${Y(history[first].y).toFixed(1)}${bands.map((b, k) => `L${X(at(k)).toFixed(1)},${Y(b.mean).toFixed(1)}`).join('')}`;
  const labelled = [0, first, xs.length - 1].filter((v, i, a) => a.indexOf(v) === i);
  const anchor = (i) => (i === 0 ? 'start' : i === xs.length - 1 ? 'end' : 'middle');
  const xlab = labelled.map((i) => `<text x="${X(i)}" y="${H - 8}" text-anchor="${anchor(i)}">${esc(shortMonth(xs[i]))}</text>`).join('');
  const end = bands[bands.length - 1];
  const alt = `${title}. ${t('fan_alt', {
    last: format(history[first].y),
    from: shortMonth(history[first].x),
    month: shortMonth(end.month),
    mean: format(end.mean),
    lo80: format(end.lower_80),
    hi80: format(end.upper_80),
    lo95: format(end.lower_95),
    hi95: format(end.upper_95),
  })}`;
  return `<figure class="chart fan"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(alt)}" preserveAspectRatio="xMidYMid meet">${grid}${xlab}
    <path d="${area('lower_95', 'upper_95')}" class="band-95"/><path d="${area('lower_80', 'upper_80')}" class="band-80"/>
    <path d="${line}" fill="none" stroke="${CATEGORICAL[0]}" stroke-width="2.5"/>
    <path d="${mean}" fill="none" stroke="${CATEGORICAL[0]}" stroke-width="2" stroke-dasharray="5 4" class="fan-mean"/></svg>
    <ul class="chart-legend"><li><span class="swatch" style="background:${CATEGORICAL[0]}"></span>${esc(t('fan_history'))}</li>
    <li><span class="swatch band-80"></span>${esc(t('fan_80'))}</li><li><span class="swatch band-95"></span>${esc(t('fan_95'))}</li></ul></figure>`;
}
