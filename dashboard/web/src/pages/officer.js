// Officer workspace (signed in): the vacant stock on a clustered map with filters, a list in
// sync with the map and property detail; incentive and placement summaries before suppression;
// file upload with its validation report; recent loads and scheduled import runs.
import vacantSchema from '../../../../schemas/vacant_properties.json';
import { ApiError, all, get, session, upload } from '../api.js';
import { sparkline } from '../charts.js';
import { esc, setParams, table } from '../dom.js';
import { dateTime, eur, label, month, named, number, percent, t, value } from '../i18n.js';
import { createMap, maplibre } from '../map.js';
import * as cases from './cases.js';
import { datasetName, districts, municipalSeries, registry } from './common.js';

const TABS = ['stock', 'cases', 'summaries', 'upload', 'runs'];
const RECEPTION = ['reception_sites_open', 'reception_places', 'reception_places_occupied', 'reception_places_free', 'reception_utilisation'];
const INCENTIVES = ['active_incentives', 'active_incentive_units', 'incentive_spend_eur', 'incentive_cost_per_unit_month_eur', 'incentive_uptake'];
const PLACEMENTS = [
  'placements_active_households',
  'placements_active_persons',
  'placements_started',
  'placements_ended',
  'placements_median_days_to_start',
  'placements_exit_autonomy_share',
  'placements_active_public_reception',
  'placements_active_community_sponsorship',
  'placements_active_humanitarian_corridor',
  'placements_active_social_housing',
  'placements_active_private_rental_incentive',
  'placements_active_other',
];
const CONDITION_COLOURS = { ready: '#009E73', minor_renovation: '#56B4E9', major_renovation: '#E69F00', uninhabitable: '#CC79A7' };

const enumOf = (name) => vacantSchema.fields.find((f) => f.name === name)?.constraints?.enum ?? [];
const word = (v) => named('enum', v, String(v).replace(/_/g, ' '));

function signIn(main, rerender, message) {
  main.innerHTML = `
    <h1>${esc(t('officer_title'))}</h1>
    <p class="lead">${esc(t('sign_in_lead'))}</p>
    <form id="sign-in" class="controls narrow">
      <div class="field"><label for="token">${esc(t('token'))}</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required spellcheck="false" aria-describedby="token-help${message ? ' sign-in-error' : ''}">
        <small id="token-help">${esc(t('token_help'))}</small></div>
      ${message ? `<p class="error" id="sign-in-error" role="alert">${esc(message)}</p>` : ''}
      <div class="field"><button type="submit" class="primary">${esc(t('sign_in'))}</button></div>
    </form>`;
  main.querySelector('#sign-in').addEventListener('submit', async (e) => {
    e.preventDefault();
    session.signIn(main.querySelector('#token').value.trim());
    try {
      await get('/api/v1/officer/jobs?limit=1', { officer: true });
      await rerender();
    } catch (err) {
      session.signOut();
      signIn(main, rerender, err instanceof ApiError && err.status === 401 ? t('sign_in_refused') : err.message);
      main.querySelector('#token').focus();
    }
  });
}

export async function render(main, params, ctx) {
  if (!session.token) {
    signIn(main, ctx.rerender);
    return undefined;
  }
  const tab = TABS.includes(params.get('tab')) ? params.get('tab') : 'stock';
  main.innerHTML = `
    <h1>${esc(t('officer_title'))}</h1>
    <nav class="tabs" aria-label="${esc(t('workspace'))}"><ul>${TABS.map(
      (x) => `<li><a href="#/officer?tab=${x}"${x === tab ? ' aria-current="page"' : ''}>${esc(t(`tab_${x}`))}</a></li>`,
    ).join('')}</ul></nav>
    <div id="tab"></div>`;
  const box = main.querySelector('#tab');
  try {
    if (tab === 'stock') return await stock(box, params, ctx);
    if (tab === 'cases') return await cases.render(box, params, ctx);
    if (tab === 'summaries') await summaries(box);
    if (tab === 'upload') await uploadTab(box);
    if (tab === 'runs') await runs(box);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      session.signOut();
      signIn(main, ctx.rerender, t('session_ended'));
      return undefined;
    }
    throw e;
  }
  return undefined;
}

function months(since) {
  const d = new Date(`${since}T00:00:00Z`);
  const now = new Date();
  return (now.getUTCFullYear() - d.getUTCFullYear()) * 12 + now.getUTCMonth() - d.getUTCMonth();
}

async function stock(box, params, { stale, rerender }) {
  const f = {
    owner_type: enumOf('owner_type').includes(params.get('owner_type')) ? params.get('owner_type') : '',
    condition: enumOf('condition').includes(params.get('condition')) ? params.get('condition') : '',
    status: enumOf('status').includes(params.get('status')) ? params.get('status') : '',
    min_months_vacant: ['6', '12', '24'].includes(params.get('min_months_vacant')) ? params.get('min_months_vacant') : '',
  };
  const select = (name, options, any) =>
    `<div class="field"><label for="f-${name}">${esc(t(`filter_${name}`))}</label><select id="f-${name}" name="${name}"><option value="">${esc(any)}</option>${options
      .map(([v, text]) => `<option value="${v}"${String(f[name]) === String(v) ? ' selected' : ''}>${esc(text)}</option>`)
      .join('')}</select></div>`;
  box.innerHTML = `
    <form class="controls" id="filters">
      ${select('owner_type', enumOf('owner_type').map((v) => [v, word(v)]), t('any'))}
      ${select('condition', enumOf('condition').map((v) => [v, word(v)]), t('any'))}
      ${select('status', enumOf('status').map((v) => [v, word(v)]), t('any'))}
      ${select('min_months_vacant', ['6', '12', '24'].map((m) => [m, t('vacant_at_least', { n: m })]), t('any'))}
    </form>
    <p id="stock-count" role="status"></p>
    <div class="map-layout officer">
      <div class="map-wrap"><div id="officer-map" class="map"></div>
        <div class="legend"><p class="legend-title">${esc(t('filter_condition'))}</p><ul>${Object.entries(CONDITION_COLOURS)
          .map(([k, c]) => `<li><span class="swatch round" style="background:${c}"></span>${esc(word(k))}</li>`)
          .join('')}</ul></div></div>
      <aside class="detail" id="property" aria-live="polite" tabindex="-1"><p class="muted">${esc(t('click_property'))}</p></aside>
    </div>
    <div id="list"></div>
    <section><h2>${esc(t('letters_in_view'))}</h2><div id="stock-letters"></div></section>`;
  const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v));
  const [items, fc] = await Promise.all([all(`/api/v1/officer/vacant-properties?${q}`, { officer: true }), districts(['dwellings'])]);
  if (stale()) return undefined;
  const byId = Object.fromEntries(items.map((p) => [p.property_id, p]));
  const names = Object.fromEntries(fc.features.map((x) => [x.properties.district_code, x.properties.name]));
  box.querySelector('#stock-count').textContent = t('properties_found', { n: number(items.length) });
  box.querySelector('#filters').addEventListener('change', (e) => {
    const id = e.target.id;
    setParams({ [e.target.name]: e.target.value });
    rerender().then(() => document.getElementById(id)?.focus());
  });

  function showProperty(id) {
    const p = byId[id];
    const el = box.querySelector('#property');
    if (!p) return;
    const rows = [
      ['address', esc(p.address ?? '–')],
      ['district', esc(names[p.district_code] ?? p.district_code)],
      ['filter_owner_type', esc(word(p.owner_type))],
      ['property_type', esc(word(p.property_type))],
      ['filter_condition', esc(word(p.condition))],
      ['filter_status', `${esc(word(p.status))}${p.status_date ? ` (${esc(p.status_date)})` : ''}`],
      ['units', esc(number(p.units ?? 1))],
      ['bedrooms', esc(p.bedrooms ?? '–')],
      ['floor_area', p.floor_area_m2 ? `${esc(number(p.floor_area_m2))} m²` : '–'],
      ['vacant_since', `${esc(p.vacant_since ?? '–')}${p.vacant_since ? ` (${esc(t('months_n', { n: months(p.vacant_since) }))})` : ''}`],
      ['renovation_cost', p.renovation_cost_eur === null ? '–' : esc(eur(p.renovation_cost_eur))],
      ['accessible', esc(p.accessible ? t('yes') : t('no'))],
    ];
    el.innerHTML = `<h2>${esc(p.property_id)}</h2><dl class="detail-values">${rows.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${v}</dd>`).join('')}</dl>
      <p><a href="#/officer?tab=cases&case=${encodeURIComponent(p.property_id)}">${esc(t('case_open'))}</a></p>`;
    for (const li of box.querySelectorAll('#list [data-property]')) li.toggleAttribute('aria-current', li.dataset.property === id);
  }

  const geojson = {
    type: 'FeatureCollection',
    features: items
      .filter((p) => p.lon !== null && p.lat !== null)
      .map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { id: p.property_id, condition: p.condition } })),
  };
  const map = await createMap(box.querySelector('#officer-map'), fc.bbox, { label: t('officer_map_label') });
  if (stale()) {
    map.remove();
    return undefined;
  }
  map.addSource('outline', { type: 'geojson', data: fc });
  map.addLayer({ id: 'outline', type: 'line', source: 'outline', paint: { 'line-color': '#6b6b6b', 'line-width': 0.8 } });
  map.addSource('stock', { type: 'geojson', data: geojson, cluster: true, clusterMaxZoom: 13, clusterRadius: 48 });
  map.addLayer({
    id: 'clusters',
    type: 'circle',
    source: 'stock',
    filter: ['has', 'point_count'],
    paint: { 'circle-color': '#1f4e79', 'circle-opacity': 0.85, 'circle-radius': ['step', ['get', 'point_count'], 14, 25, 18, 100, 24, 500, 30], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 },
  });
  // Counts as circles of growing size: no glyphs needed, so no font server.
  map.addLayer({
    id: 'points',
    type: 'circle',
    source: 'stock',
    filter: ['!', ['has', 'point_count']],
    paint: {
      'circle-color': ['match', ['get', 'condition'], ...Object.entries(CONDITION_COLOURS).flat(), '#999999'],
      'circle-radius': 6,
      'circle-stroke-color': '#222',
      'circle-stroke-width': 1,
    },
  });
  const { Marker, Popup } = await maplibre();
  // Cluster counts as HTML labels over the circles: no glyphs, so no font server is needed.
  const labels = new Map();
  function clusterLabels() {
    const seen = new Set();
    for (const c of map.querySourceFeatures('stock', { filter: ['has', 'point_count'] })) {
      const id = c.properties.cluster_id;
      if (seen.has(id)) continue;
      seen.add(id);
      if (!labels.has(id)) {
        const el = document.createElement('span');
        el.className = 'cluster-count';
        el.setAttribute('aria-hidden', 'true');
        el.textContent = number(c.properties.point_count);
        labels.set(id, new Marker({ element: el }).setLngLat(c.geometry.coordinates).addTo(map));
      }
    }
    for (const [id, m] of labels) {
      if (!seen.has(id)) {
        m.remove();
        labels.delete(id);
      }
    }
  }
  map.on('moveend', clusterLabels);
  map.on('sourcedata', (e) => {
    if (e.sourceId === 'stock' && e.isSourceLoaded) clusterLabels();
  });
  map.on('click', 'clusters', async (e) => {
    const c = e.features[0];
    const zoom = await map.getSource('stock').getClusterExpansionZoom(c.properties.cluster_id);
    map.easeTo({ center: c.geometry.coordinates, zoom });
  });
  map.on('click', 'points', (e) => {
    const id = e.features[0].properties.id;
    showProperty(id);
    new Popup({ closeButton: true }).setLngLat(e.features[0].geometry.coordinates).setText(byId[id]?.address ?? id).addTo(map);
  });
  for (const layer of ['clusters', 'points']) {
    map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
  }

  // The list shows what the map shows: the properties inside the current view.
  let inView = [];
  function list() {
    const b = map.getBounds();
    inView = items.filter((p) => p.lon !== null && b.contains([p.lon, p.lat]));
    const shown = inView.slice(0, 200);
    box.querySelector('#list').innerHTML = `<h2>${esc(t('in_view', { n: number(inView.length), shown: number(shown.length) }))}</h2>
      <ul class="property-list">${shown
        .map(
          (p) =>
            `<li data-property="${esc(p.property_id)}"><button type="button" class="link" data-property-id="${esc(p.property_id)}">${esc(p.address ?? p.property_id)}</button> <span class="muted">${esc(names[p.district_code] ?? '')} · ${esc(word(p.condition))} · ${esc(word(p.status))}</span></li>`,
        )
        .join('')}</ul>`;
  }
  box.querySelector('#list').addEventListener('click', (e) => {
    const b = e.target.closest('[data-property-id]');
    if (!b) return;
    const p = byId[b.dataset.propertyId];
    showProperty(p.property_id);
    map.easeTo({ center: [p.lon, p.lat], zoom: Math.max(map.getZoom(), 15) });
    box.querySelector('#property').focus({ preventScroll: true });
  });
  map.on('moveend', list);
  list();
  await cases.letterForm(box.querySelector('#stock-letters'), () => inView.slice(0, 2000).map((p) => p.property_id), 'stock-letters');
  return () => map.remove();
}

async function summaries(box) {
  const [reg, series, pipeline] = await Promise.all([
    registry(),
    municipalSeries([...RECEPTION, ...INCENTIVES, ...PLACEMENTS], { officer: true }),
    get('/api/v1/officer/pipeline', { officer: true }),
  ]);
  const byId = Object.fromEntries(reg.map((r) => [r.id, r]));
  const rows = (ids) =>
    ids
      .filter((id) => byId[id] && series[id].length)
      .map((id) => {
        const points = series[id];
        const last = points[points.length - 1];
        return [esc(label(byId[id])), esc(month(last.x)), esc(value(last.y, byId[id].unit)), sparkline(points, t('trend_of', { what: label(byId[id]) }))];
      });
  const head = [t('indicator'), t('period'), t('value'), t('trend')];
  box.innerHTML = `
    <p class="notice">${esc(t('unsuppressed_note'))}</p>
    <section><h2>${esc(t('incentives_title'))}</h2>${table({ caption: t('incentives_title'), head, rows: rows(INCENTIVES) })}</section>
    <section><h2>${esc(t('placements_title'))}</h2>${table({ caption: t('placements_title'), head, rows: rows(PLACEMENTS) })}</section>
    <section><h2>${esc(t('reception_title'))}</h2>${table({ caption: t('reception_title'), head, rows: rows(RECEPTION) })}</section>
    <section><h2>${esc(t('pipeline_officer_title'))}</h2>${table({
      caption: t('pipeline_officer_title'),
      head: [t('pipeline_stage'), t('pipeline_reached'), t('pipeline_conversion'), t('pipeline_median_days')],
      rows: pipeline.stages.map((s) => [
        esc(t(`stage_${s.stage}`)),
        esc(number(s.reached)),
        s.conversion === null ? '–' : esc(percent(s.conversion)),
        s.median_days === null ? '–' : esc(number(s.median_days)),
      ]),
    })}
    ${table({
      caption: t('pipeline_costs_title'),
      head: [t('pipeline_scope'), t('pipeline_homes_let'), t('pipeline_households'), t('pipeline_cost_per_home'), t('pipeline_cost_per_household')],
      rows: pipeline.costs.map((c) => [
        esc(c.scope_type === 'municipality' ? t('pipeline_municipality') : named('enum', c.scope)),
        esc(number(c.homes_let)),
        esc(number(c.households)),
        c.cost_per_home_eur === null ? '–' : esc(eur(c.cost_per_home_eur)),
        c.cost_per_household_eur === null ? '–' : esc(eur(c.cost_per_household_eur)),
      ]),
    })}</section>`;
}

function report(r) {
  const outcome = `<p class="outcome outcome-${esc(r.outcome)}" role="status"><strong>${esc(word(r.outcome))}</strong>: ${esc(
    t('report_counts', { read: number(r.rows_read), accepted: number(r.rows_accepted), rejected: number(r.rows_rejected), unit: r.unit }),
  )}${r.message ? ` ${esc(r.message)}` : ''}</p>`;
  // What reading left out around the table (title rows, a totals row, notes), as the server says it.
  const notes = r.details?.skipped ?? [];
  const skipped = notes.length ? `<ul class="skipped">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  const rejected = r.rejected.length
    ? table({
        caption: t('rejected_caption', { n: number(r.rows_rejected), shown: number(r.rejected.length) }),
        head: [t(`unit_${r.unit}`) === `unit_${r.unit}` ? r.unit : t(`unit_${r.unit}`), t('column'), t('value'), t('reason')],
        rows: r.rejected.map((x) => [esc(x.line), esc(x.column ?? ''), `<code>${esc(x.value ?? '')}</code>`, esc(x.reason)]),
        className: 'rejected',
      })
    : '';
  return outcome + skipped + rejected;
}

async function uploadTab(box) {
  const status = await get('/api/v1/status');
  box.innerHTML = `
    <p>${esc(t('upload_lead'))}</p>
    <form id="upload" class="controls">
      <div class="field"><label for="dataset">${esc(t('dataset'))}</label>
        <select id="dataset" required>${status.datasets.map((d) => `<option value="${esc(d.name)}">${esc(datasetName(d.name))}</option>`).join('')}</select></div>
      <div class="field"><label for="file">${esc(t('file'))}</label>
        <input id="file" type="file" required accept=".csv,.tsv,.txt,.xlsx,.parquet,.geojson,.json" aria-describedby="file-help">
        <small id="file-help">${esc(t('file_help'))}</small></div>
      <div class="field"><label for="map">${esc(t('mapping_label'))}</label>
        <input id="map" type="text" placeholder="Adres=address, Wijk=district_code" aria-describedby="map-help">
        <small id="map-help">${esc(t('mapping_help'))}</small></div>
      <div class="field"><label for="header-row">${esc(t('header_row_label'))}</label>
        <input id="header-row" type="number" min="1" step="1" aria-describedby="header-row-help">
        <small id="header-row-help">${esc(t('header_row_help'))}</small></div>
      <div class="field"><button type="submit" class="primary">${esc(t('upload'))}</button></div>
    </form>
    <div id="report" aria-live="polite"></div>`;
  box.querySelector('#upload').addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = box.querySelector('#file').files[0];
    const out = box.querySelector('#report');
    if (!file) return;
    out.innerHTML = `<p class="loading" role="status">${esc(t('uploading', { name: file.name }))}</p>`;
    try {
      const options = {
        map: box.querySelector('#map').value.trim(),
        headerRow: box.querySelector('#header-row').value.trim(),
      };
      out.innerHTML = report(await upload(box.querySelector('#dataset').value, file, options));
    } catch (err) {
      out.innerHTML = `<p class="error" role="alert">${esc(err.message)}</p>`;
    }
  });
}

async function runs(box) {
  const [batches, jobs] = await Promise.all([get('/api/v1/officer/batches?limit=50', { officer: true }), get('/api/v1/officer/jobs?limit=50', { officer: true })]);
  box.innerHTML = `
    <section><h2>${esc(t('loads_title'))}</h2>${table({
      caption: t('loads_title'),
      head: [t('load'), t('dataset'), t('source'), t('outcome'), t('read'), t('accepted'), t('rejected'), t('started')],
      rows: batches.map((b) => [
        esc(b.batch_id),
        esc(datasetName(b.dataset)),
        esc(b.source),
        `<span class="outcome-${esc(b.outcome)}">${esc(word(b.outcome))}</span>`,
        esc(number(b.rows_read)),
        esc(number(b.rows_accepted)),
        esc(number(b.rows_rejected)),
        esc(dateTime(b.started_at)),
      ]),
    })}</section>
    <section><h2>${esc(t('jobs_title'))}</h2>${
      jobs.length
        ? table({
            caption: t('jobs_title'),
            head: [t('job'), t('outcome'), t('started'), t('rejected'), t('message')],
            rows: jobs.map((j) => [esc(j.job), `<span class="outcome-${esc(j.outcome)}">${esc(word(j.outcome))}</span>`, esc(dateTime(j.started_at)), esc(j.rows_rejected ?? ''), esc(j.message ?? '')]),
          })
        : `<p class="muted">${esc(t('no_jobs'))}</p>`
    }</section>`;
}
