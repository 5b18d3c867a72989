// The region (`haven serve --region`): every municipality of the lake on one map, coloured by a
// headline figure, with the same figures in a table; and a municipality's view, its headline
// figures and its districts on a map. Every value is the reader's API's, as each release
// published it: a withheld one stays withheld, never a number.
import { get } from '../api.js';
import { esc, setParams, table } from '../dom.js';
import { dateTime, month, number, t, value } from '../i18n.js';
import { NO_DATA, WITHHELD, classColours, classOf, createMap, legend, quantileBreaks, showDistricts } from '../map.js';
import { withheldMark } from './common.js';

/** Colours the features by `indicator`; the legend's classes. */
function colour(features, indicator, unit) {
  const breaks = quantileBreaks(features.map((f) => f.properties[indicator]));
  const colours = classColours(Math.max(1, breaks.length - 1));
  let anyWithheld = false;
  for (const f of features) {
    const v = f.properties[indicator];
    const withheld = (f.properties.withheld ?? []).includes(indicator);
    anyWithheld ||= withheld;
    f.properties._fill = withheld ? WITHHELD : v === null || v === undefined ? NO_DATA : colours[classOf(v, breaks)];
  }
  return { breaks, colours, anyWithheld, format: (v) => value(v, unit) };
}

/** A figure of a municipality: the value in its unit, or the withheld mark. */
function cell(f, unit) {
  if (!f) return esc(t('no_data'));
  return f.withheld ? withheldMark() : esc(value(f.value, unit));
}

function indicatorSelect(ids, chosen) {
  return `<form class="controls" onsubmit="return false"><div class="field"><label for="indicator">${esc(t('indicator'))}</label>
    <select id="indicator">${ids.map((id) => `<option value="${id}"${id === chosen ? ' selected' : ''}>${esc(t(`fig_${id}`))}</option>`).join('')}</select></div></form>`;
}

/**
 * Repaints on another figure, paints, then draws the map fitted to `bbox`, with the layers
 * `draw` adds; resolves to the map (kept in `view.map` for later paints), or undefined when
 * there is nothing to draw or the page moved on meanwhile.
 */
async function mapped(main, { state, view, paint, bbox, label, stale, draw }) {
  main.querySelector('#indicator').addEventListener('change', (e) => {
    state.indicator = e.target.value;
    setParams({ indicator: state.indicator });
    paint();
  });
  paint();
  if (!bbox) return undefined;
  const map = await createMap(main.querySelector('#map'), bbox, { label });
  if (stale()) {
    map.remove();
    return undefined;
  }
  view.map = map;
  draw(map);
  return map;
}

/** How persons placed spread across the municipalities: the index in words and a table. */
function spreadSection(spread, overview) {
  const names = Object.fromEntries(overview.municipalities.map((m) => [m.code, m.name]));
  const reading =
    spread.dissimilarity === null
      ? t('spread_none')
      : t('spread_reading', { pct: number(spread.dissimilarity * 100), d: number(spread.dissimilarity, 3), n: spread.counted });
  const left = spread.left_out.length ? `<p class="muted">${esc(t('spread_left_out', { list: spread.left_out.join(', ') }))}</p>` : '';
  const rows = spread.municipalities.map((m) => [
    esc(names[m.code] ?? m.code),
    esc(m.code),
    `<span data-spread="persons" data-value="${m.persons ?? ''}">${m.withheld ? withheldMark() : esc(value(m.persons, 'persons'))}</span>`,
    esc(value(m.dwellings, 'dwellings')),
    `<span data-spread="lq" data-value="${m.location_quotient ?? ''}">${m.location_quotient === null ? '–' : esc(number(m.location_quotient, 2))}</span>`,
  ]);
  return `<section class="spread" aria-labelledby="spread-title"><h2 id="spread-title">${esc(t('spread_title'))}</h2>
    <p data-dissimilarity="${spread.dissimilarity ?? ''}">${esc(reading)}</p>${left}
    ${table({ caption: t('spread_table'), head: [t('municipality'), t('code'), t('persons_placed'), t('dwellings'), t('lq_short')], rows, className: 'spread' })}</section>`;
}

export async function render(main, params, { stale }) {
  const [overview, fc, spread] = await Promise.all([get('/api/v1/region'), get('/api/v1/region/map'), get('/api/v1/region/spread')]);
  if (stale()) return undefined;
  const units = Object.fromEntries(overview.indicators.map((i) => [i.id, i.unit]));
  const ids = overview.indicators.map((i) => i.id);
  const state = { indicator: ids.includes(params.get('indicator')) ? params.get('indicator') : ids[0] };
  main.innerHTML = `
    <h1>${esc(t('region_title'))}</h1>
    <p class="lead">${esc(t('region_lead', { n: overview.municipalities.length }))}</p>
    ${indicatorSelect(ids, state.indicator)}
    <div class="map-wrap"><div id="map" class="map"></div><div id="legend"></div></div>
    <div id="table"></div>
    ${spreadSection(spread, overview)}
    <p class="meta" data-snapshot="${esc(overview.snapshot)}">${esc(t('region_snapshot', { snapshot: overview.snapshot }))}</p>`;
  const el = (id) => main.querySelector(`#${id}`);
  const view = { map: null };

  function paint() {
    const c = colour(fc.features, state.indicator, units[state.indicator]);
    el('legend').innerHTML = c.breaks.length
      ? legend({ title: t(`fig_${state.indicator}`), breaks: c.breaks, colours: c.colours, format: c.format, withheld: c.anyWithheld })
      : `<p class="muted">${esc(t('no_data'))}</p>`;
    view.map?.getSource('municipalities')?.setData(fc);
    const rows = overview.municipalities.map((m) => {
      const figures = Object.fromEntries(m.figures.map((f) => [f.indicator, f]));
      return [
        `<a href="#/m/${encodeURIComponent(m.code)}" data-municipality="${esc(m.code)}">${esc(m.name)}</a>`,
        esc(m.code),
        esc(m.release),
        esc(month(m.period)),
        ...ids.map((id) => `<span data-figure="${esc(id)}" data-value="${figures[id]?.withheld || figures[id]?.value == null ? '' : figures[id].value}">${cell(figures[id], units[id])}</span>`),
      ];
    });
    el('table').innerHTML = table({
      caption: t('region_table'),
      head: [t('municipality'), t('code'), t('release'), t('period'), ...ids.map((id) => t(`fig_${id}`))],
      rows,
      className: 'municipalities',
    });
  }

  const map = await mapped(main, {
    state,
    view,
    paint,
    bbox: fc.bbox,
    label: t('region_map_label'),
    stale,
    draw(m) {
      m.addSource('municipalities', { type: 'geojson', data: fc, promoteId: 'code' });
      m.addLayer({ id: 'municipalities-fill', type: 'fill', source: 'municipalities', paint: { 'fill-color': ['get', '_fill'], 'fill-opacity': 0.85 } });
      m.addLayer({ id: 'municipalities-line', type: 'line', source: 'municipalities', paint: { 'line-color': '#4a4a4a', 'line-width': 0.6 } });
      m.on('mouseenter', 'municipalities-fill', () => (m.getCanvas().style.cursor = 'pointer'));
      m.on('mouseleave', 'municipalities-fill', () => (m.getCanvas().style.cursor = ''));
      m.on('click', 'municipalities-fill', (e) => {
        location.hash = `#/m/${encodeURIComponent(e.features[0].properties.code)}`;
      });
    },
  });
  return map && (() => map.remove());
}

export async function renderMunicipality(main, params, { stale }) {
  const code = params.get('code') ?? '';
  const answer = await get(`/api/v1/m/${encodeURIComponent(code)}`);
  if (stale()) return undefined;
  const m = answer.municipality;
  const units = Object.fromEntries(answer.indicators.map((i) => [i.id, i.unit]));
  const ids = answer.indicators.map((i) => i.id);
  const state = { indicator: ids.includes(params.get('indicator')) ? params.get('indicator') : ids[0] };
  const figures = Object.fromEntries(m.figures.map((f) => [f.indicator, f]));
  const fc = answer.districts;
  const cards = ids
    .filter((id) => figures[id])
    .map((id) => {
      const f = figures[id];
      return `<article class="figure" data-figure="${esc(id)}" data-value="${f.withheld || f.value === null ? '' : f.value}"${f.withheld ? ' data-withheld="true"' : ''}>
        <h2>${esc(t(`fig_${id}`))}</h2><p class="value">${cell(f, units[id])}</p>
        <p class="meta">${esc(t('period'))}: <span class="period">${esc(month(m.period))}</span></p></article>`;
    });
  main.innerHTML = `
    <p><a href="#/">${esc(t('back_to_region'))}</a></p>
    <h1>${esc(m.name)} <span class="muted">(${esc(m.code)})</span></h1>
    <p class="lead">${esc(t('release_line', { version: m.release, when: dateTime(m.published_at) }))}</p>
    <section class="figures" aria-label="${esc(t('headline_figures'))}">${cards.join('')}</section>
    ${indicatorSelect(ids, state.indicator)}
    <div class="map-wrap"><div id="map" class="map"></div><div id="legend"></div></div>
    <div id="table"></div>`;
  const el = (id) => main.querySelector(`#${id}`);
  const view = { map: null };

  function paint() {
    const c = colour(fc.features, state.indicator, units[state.indicator]);
    el('legend').innerHTML = c.breaks.length
      ? legend({ title: `${t(`fig_${state.indicator}`)} · ${month(m.period)}`, breaks: c.breaks, colours: c.colours, format: c.format, withheld: c.anyWithheld })
      : `<p class="muted">${esc(t('no_data'))}</p>`;
    if (view.map) showDistricts(view.map, fc, null);
    const rows = [...fc.features]
      .sort((a, b) => String(a.properties.name).localeCompare(String(b.properties.name)))
      .map((f) => {
        const p = f.properties;
        const withheld = (p.withheld ?? []).includes(state.indicator);
        return [esc(p.name), esc(p.district_code), withheld ? withheldMark() : esc(value(p[state.indicator], units[state.indicator]))];
      });
    el('table').innerHTML = table({
      caption: t('table_of', { what: t(`fig_${state.indicator}`), period: month(m.period) }),
      head: [t('district'), t('code'), t(`fig_${state.indicator}`)],
      rows,
      className: 'districts',
    });
  }

  const map = await mapped(main, { state, view, paint, bbox: fc.bbox, label: t('map_label'), stale, draw: (m) => showDistricts(m, fc, null) });
  return map && (() => map.remove());
}
