// Map: a choropleth of the districts by any published indicator, a period slider, a detail
// panel with the district's trend, a table with the same values, and "download what you see".
import { all } from '../api.js';
import { lineChart } from '../charts.js';
import { csv, download, esc, setParams, table } from '../dom.js';
import { label, month, t, value } from '../i18n.js';
import { NO_DATA, WITHHELD, classColours, classOf, createMap, legend, quantileBreaks, select, showDistricts } from '../map.js';
import { districts, municipalSeries, registry, seriesOf, withheldMark } from './common.js';

const DETAIL = ['vacant_units', 'ready_units', 'activatable_90d_units', 'reception_places', 'placements_active_households'];

export async function render(main, params, { stale }) {
  const reg = await registry();
  const byId = Object.fromEntries(reg.map((r) => [r.id, r]));
  const state = {
    indicator: byId[params.get('indicator')] ? params.get('indicator') : 'vacant_units',
    period: params.get('period'),
    district: params.get('district'),
  };
  const periods = (await municipalSeries([state.indicator]))[state.indicator].map((p) => p.x);
  if (!periods.includes(state.period)) state.period = periods[periods.length - 1];
  let fc = await districts([state.indicator], state.period);
  if (stale()) return undefined;

  main.innerHTML = `
    <h1>${esc(t('map_title'))}</h1>
    <form class="controls" id="map-controls" onsubmit="return false">
      <div class="field"><label for="indicator">${esc(t('indicator'))}</label>
        <select id="indicator">${reg.map((r) => `<option value="${r.id}"${r.id === state.indicator ? ' selected' : ''}>${esc(label(r))}</option>`).join('')}</select></div>
      <div class="field"><label for="period">${esc(t('period'))}: <output id="period-out" for="period">${esc(month(state.period))}</output></label>
        <input type="range" id="period" min="0" max="${periods.length - 1}" step="1" value="${periods.indexOf(state.period)}" aria-valuetext="${esc(month(state.period))}"></div>
      <div class="field downloads"><span>${esc(t('download_view'))}</span>
        <button type="button" id="dl-csv">CSV</button><button type="button" id="dl-geojson">GeoJSON</button></div>
    </form>
    <div class="map-layout">
      <div class="map-wrap"><div id="map" class="map"></div><div id="legend"></div></div>
      <aside id="detail" class="detail" aria-live="polite" tabindex="-1"></aside>
    </div>
    <div id="table"></div>`;

  const el = (id) => main.querySelector(`#${id}`);
  let map;

  function paint() {
    const r = byId[state.indicator];
    const values = fc.features.map((f) => f.properties[state.indicator]);
    const breaks = quantileBreaks(values);
    const colours = classColours(Math.max(1, breaks.length - 1));
    let anyWithheld = false;
    for (const f of fc.features) {
      const v = f.properties[state.indicator];
      const withheld = (f.properties.withheld ?? []).includes(state.indicator);
      anyWithheld ||= withheld;
      f.properties._fill = withheld ? WITHHELD : v === null || v === undefined ? NO_DATA : colours[classOf(v, breaks)];
    }
    el('legend').innerHTML = breaks.length
      ? legend({ title: `${label(r)} · ${month(state.period)}`, breaks, colours, format: (v) => value(v, r.unit), withheld: anyWithheld })
      : `<p class="muted">${esc(t('no_data'))}</p>`;
    if (map) showDistricts(map, fc, state.district);
    const rows = [...fc.features]
      .sort((a, b) => a.properties.name.localeCompare(b.properties.name))
      .map((f) => {
        const p = f.properties;
        const withheld = (p.withheld ?? []).includes(state.indicator);
        const cell = withheld ? withheldMark() : esc(value(p[state.indicator], r.unit));
        return [
          `<button type="button" class="link" data-district="${esc(p.district_code)}">${esc(p.name)}</button>`,
          esc(p.district_code),
          cell,
        ];
      });
    el('table').innerHTML = table({ caption: t('table_of', { what: label(r), period: month(state.period) }), head: [t('district'), t('code'), label(r)], rows, className: 'districts' });
  }

  async function detail() {
    const box = el('detail');
    select(map, state.district);
    if (!state.district) {
      box.innerHTML = `<p class="muted">${esc(t('click_district'))}</p>`;
      return;
    }
    const f = fc.features.find((x) => x.properties.district_code === state.district);
    if (!f) {
      box.innerHTML = '';
      return;
    }
    const ids = [...new Set([state.indicator, ...DETAIL])].filter((id) => byId[id]);
    const items = await all(`/api/v1/indicators?area=${encodeURIComponent(state.district)}&indicator=${ids.join(',')}`);
    if (stale()) return;
    const series = seriesOf(items, ids);
    const at = (id) => series[id].find((p) => p.x === state.period);
    const fmt = (id) => {
      const p = at(id);
      if (!p) return esc(t('no_data'));
      return p.withheld ? withheldMark() : esc(value(p.y, byId[id].unit));
    };
    box.innerHTML = `
      <div class="detail-head"><h2 id="detail-title">${esc(f.properties.name)}</h2>
        <button type="button" class="close" id="detail-close" aria-label="${esc(t('close'))}">×</button></div>
      <p class="muted">${esc(f.properties.district_code)} · ${esc(month(state.period))}</p>
      <dl class="detail-values">${ids.map((id) => `<dt>${esc(label(byId[id]))}</dt><dd data-indicator="${id}">${fmt(id)}</dd>`).join('')}</dl>
      ${ids
        .slice(0, 3)
        .map((id) => `<h3>${esc(label(byId[id]))}</h3>${lineChart({ title: `${label(byId[id])}, ${f.properties.name}`, series: [{ name: f.properties.name, points: series[id] }], format: (v) => value(v, byId[id].unit), height: 170, width: 340 })}`)
        .join('')}`;
    box.querySelector('#detail-close').addEventListener('click', () => choose(null));
  }

  function choose(code) {
    state.district = code;
    setParams({ district: code });
    detail();
    if (code) el('detail').focus({ preventScroll: window.innerWidth > 800 });
  }

  async function reload() {
    setParams({ indicator: state.indicator, period: state.period });
    fc = await districts([state.indicator], state.period);
    if (stale()) return;
    paint();
    detail();
  }

  el('indicator').addEventListener('change', (e) => {
    state.indicator = e.target.value;
    reload();
  });
  const slider = el('period');
  slider.addEventListener('input', () => {
    state.period = periods[Number(slider.value)];
    el('period-out').textContent = month(state.period);
    slider.setAttribute('aria-valuetext', month(state.period));
  });
  slider.addEventListener('change', () => reload());
  el('table').addEventListener('click', (e) => {
    const b = e.target.closest('[data-district]');
    if (b) choose(b.dataset.district);
  });
  main.querySelector('.map-layout').addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.district) choose(null);
  });
  el('dl-csv').addEventListener('click', () => {
    const rows = fc.features.map((f) => {
      const p = f.properties;
      const withheld = (p.withheld ?? []).includes(state.indicator);
      return [p.district_code, p.name, state.period, state.indicator, withheld ? '' : p[state.indicator], withheld];
    });
    download(`haven-${state.indicator}-${state.period}.csv`, 'text/csv', csv(['district_code', 'name', 'period', 'indicator', 'value', 'withheld'], rows));
  });
  el('dl-geojson').addEventListener('click', () => {
    const out = {
      type: 'FeatureCollection',
      features: fc.features.map((f) => {
        const { _fill, ...properties } = f.properties;
        return { ...f, properties };
      }),
    };
    download(`haven-${state.indicator}-${state.period}.geojson`, 'application/geo+json', JSON.stringify(out));
  });

  paint();
  map = await createMap(el('map'), fc.bbox, { label: t('map_label') });
  if (stale()) {
    map.remove();
    return undefined;
  }
  showDistricts(map, fc, state.district);
  map.on('click', 'districts-fill', (e) => choose(e.features[0].properties.district_code));
  await detail();
  return () => map.remove();
}
