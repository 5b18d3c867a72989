// Overview: the headline figures for a mayor, each with its trend, period and source.
import { all, get } from '../api.js';
import { sparkline } from '../charts.js';
import { esc } from '../dom.js';
import { current, dateTime, label, month, number, shortMonth, t, value } from '../i18n.js';
import { datasetName, municipalSeries, reading, registry, significance, withheldMark } from './common.js';

export const HEADLINES = [
  'vacant_units',
  'ready_units',
  'activatable_90d_units',
  'cost_to_activate_90d_eur',
  'placements_active_households',
  'placements_active_persons',
];

/** A year earlier than the last point, or the first point. */
function before(points) {
  const last = points[points.length - 1];
  const [y, m] = last.x.split('-');
  const target = `${Number(y) - 1}-${m}`;
  return points.find((p) => p.x === target) ?? points[0];
}

function change(points, unit) {
  const last = points[points.length - 1];
  const prev = before(points);
  if (!last || !prev || prev === last || last.y === null || prev.y === null) return '';
  const d = last.y - prev.y;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const abs = unit === 'index' ? number(Math.abs(d), 3) : value(Math.abs(d), unit);
  return t('change_since', { change: `${sign}${abs}`, since: shortMonth(prev.x) });
}

/** "How computed": the figure's provenance, read when the reader opens it. */
function how(id) {
  return `<details class="how" data-how="${esc(id)}"><summary>${esc(t('how_computed'))}</summary><div class="how-body" aria-live="polite"></div></details>`;
}

function provenanceView(p) {
  const loads = p.sources
    .map((s) => {
      if (s.personal) return `<li data-dataset="${esc(s.dataset)}">${esc(t('how_personal', { dataset: datasetName(s.dataset) }))}</li>`;
      const items = s.loads
        .map((l) => `<li data-batch="${esc(l.batch)}">${esc(t('how_load', { batch: l.batch, file: l.file, when: dateTime(l.loaded_at), rows: number(l.rows), read: number(l.rows_read), rejected: number(l.rows_rejected) }))}</li>`)
        .join('');
      return `<li data-dataset="${esc(s.dataset)}">${esc(datasetName(s.dataset))}<ul>${items}</ul></li>`;
    })
    .join('');
  const runs = p.analyses.map((a) => dateTime(a.computed_at)).join(', ');
  return `<p>${esc(p.formula)}</p>
    ${p.protected ? `<p>${esc(t('how_protected'))}</p>` : ''}
    <p>${esc(t('how_sources'))}</p><ul class="how-sources">${loads}</ul>
    ${runs ? `<p>${esc(t('how_analysis', { when: runs }))}</p>` : ''}
    <p>${esc(t('how_release', { version: p.release.version, when: dateTime(p.release.published_at) }))} <a href="${esc(p.release.package)}">${esc(t('data_package'))}</a></p>`;
}

function wireHow(main) {
  for (const d of main.querySelectorAll('details.how')) {
    d.addEventListener('toggle', async () => {
      const body = d.querySelector('.how-body');
      if (!d.open || body.dataset.loaded) return;
      body.innerHTML = `<p class="loading" role="status">${esc(t('loading'))}</p>`;
      try {
        body.innerHTML = provenanceView(await get(`/api/v1/provenance/${encodeURIComponent(d.dataset.how)}`));
        body.dataset.loaded = 'true';
      } catch (e) {
        body.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
      }
    });
  }
}

function figure({ id, title, description, v, unit, withheld, period, source, trend, extra = '' }) {
  const shown = withheld ? withheldMark() : esc(value(v, unit));
  return `<article class="figure" data-figure="${esc(id)}" data-value="${withheld || v === null ? '' : v}"${withheld ? ' data-withheld="true"' : ''}>
    <h2>${esc(title)}</h2>
    <p class="value">${shown}</p>
    ${trend}
    ${extra}
    <p class="desc">${esc(description)}</p>
    <p class="meta">${esc(t('period'))}: <span class="period">${esc(month(period))}</span> · ${esc(t('source'))}: ${esc(source)}</p>
  </article>`;
}

/** The council report of the latest release, in the reader's language: a PDF to download and
 * the same as a web page. */
function reportLinks() {
  const q = (format) => `/api/v1/report?lang=${encodeURIComponent(current())}&format=${format}`;
  return `<p class="report-links"><a class="button" data-report="pdf" href="${esc(q('pdf'))}" download>${esc(t('report_button'))}</a>
    <a data-report="html" href="${esc(q('html'))}">${esc(t('report_button_html'))}</a></p>`;
}

export async function render(main) {
  const [reg, status, series, seg, releases] = await Promise.all([
    registry(),
    get('/api/v1/status'),
    municipalSeries(HEADLINES),
    all('/api/v1/segregation?group=placed_persons&index=dissimilarity'),
    get('/api/v1/releases'),
  ]);
  const byId = Object.fromEntries(reg.map((r) => [r.id, r]));
  const cards = HEADLINES.map((id) => {
    const points = series[id];
    const last = points[points.length - 1];
    const r = byId[id];
    if (!last || !r) return '';
    const trendText = change(points, r.unit);
    const trend = `<p class="trend">${sparkline(points, t('trend_of', { what: t(`fig_${id}`) }))}<span>${esc(trendText)}</span></p>`;
    return figure({
      id,
      title: t(`fig_${id}`),
      description: label(r),
      v: last.y,
      unit: r.unit,
      withheld: last.withheld,
      period: last.x,
      source: r.datasets.map(datasetName).join(', '),
      trend,
      extra: how(id),
    });
  });
  const dPoints = seg.map((s) => ({ x: s.period, y: s.value, p: s.p_value })).sort((a, b) => a.x.localeCompare(b.x));
  const dLast = [...dPoints].reverse().find((p) => p.y !== null);
  if (dLast) {
    const r = reading(dLast.y);
    const s = significance(dLast.p);
    const sig = s ? `<p class="significance">${esc(s)}</p>` : '';
    cards.push(
      figure({
        id: 'dissimilarity',
        title: t('fig_dissimilarity'),
        description: r.text,
        v: dLast.y,
        unit: 'index',
        withheld: false,
        period: dLast.x,
        source: `${datasetName('placements')}, ${datasetName('population')}`,
        trend: `<p class="trend">${sparkline(dPoints, t('trend_of', { what: t('fig_dissimilarity') }))}<span>${esc(change(dPoints, 'index'))}</span></p>`,
        extra: `${sig}<p class="reading reading-${r.level}"><a href="#/segregation">${esc(t('more_on_segregation'))}</a></p>${how('segregation')}`,
      }),
    );
  }
  const latest = releases[0];
  const stale = (status.freshness ?? []).filter((f) => f.stale);
  // Datasets with no rows yet (registers of personal data never say how many rows they hold).
  const missing = (status.datasets ?? []).filter((d) => !d.withheld && d.rows === 0);
  main.innerHTML = `
    <h1>${esc(t('overview_title'))}</h1>
    <p class="lead">${esc(t('overview_lead'))}</p>
    ${
      stale.length
        ? `<div class="notice" role="status"><strong>${esc(t('stale_title'))}</strong> ${esc(
            stale.map((f) => `${datasetName(f.dataset)}${f.last_change ? ` (${t('last_change', { when: dateTime(f.last_change) })})` : ''}`).join('; '),
          )}</div>`
        : ''
    }
    ${
      missing.length
        ? `<div class="notice" role="status"><strong>${esc(t('missing_title'))}</strong> ${esc(
            missing.map((d) => datasetName(d.name)).join(', '),
          )}</div>`
        : ''
    }
    <section class="figures" aria-label="${esc(t('headline_figures'))}">${cards.join('')}</section>
    <p class="meta">${
      latest
        ? esc(t('release_line', { version: latest.version, when: dateTime(latest.published_at) }))
        : esc(t('no_release'))
    } <a href="#/data">${esc(t('page_data'))}</a></p>
    ${latest ? reportLinks() : ''}`;
  wireHow(main);
}
