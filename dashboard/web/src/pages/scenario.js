// Preparedness scenario: an inflow of N persons, and how many can be housed within 30 and 90
// days, where and at what cost, with the fastest allocation and the low-concentration one.
import { get } from '../api.js';
import { fanChart } from '../charts.js';
import { csv, download, esc, setParams, table } from '../dom.js';
import { eur, month, number, percent, t } from '../i18n.js';
import { districtNames } from './common.js';

function plan(key, p, names) {
  const rows = [...p.districts]
    .sort((a, b) => b.persons - a.persons)
    .map((d) => [esc(names[d.district_code] ?? d.district_code), esc(number(d.households)), esc(number(d.persons)), esc(number(d.within_30_days)), esc(eur(d.renovation_cost_eur))]);
  return `<section class="plan" data-plan="${key}">
    <h3>${esc(t(`plan_${key}`))}</h3>
    <p>${esc(t(`plan_${key}_explain`))}</p>
    <dl class="results">
      <div><dt>${esc(t('housed_30'))}</dt><dd data-result="housed_30_days">${esc(number(p.housed_30_days))}</dd></div>
      <div><dt>${esc(t('housed_90'))}</dt><dd data-result="housed_90_days">${esc(number(p.housed_90_days))}</dd></div>
      <div><dt>${esc(t('shortfall'))}</dt><dd data-result="shortfall_90_days">${esc(number(p.shortfall_90_days))}</dd></div>
      <div><dt>${esc(t('renovation_cost'))}</dt><dd data-result="renovation_cost_eur">${esc(eur(p.renovation_cost_eur))}</dd></div>
      <div><dt>${esc(t('d_after'))}</dt><dd>${p.dissimilarity_after === null ? '–' : esc(number(p.dissimilarity_after, 3))}</dd></div>
    </dl>
    ${table({ caption: t('where_caption', { plan: t(`plan_${key}`) }), head: [t('district'), t('households'), t('persons'), t('within_30'), t('renovation_cost')], rows })}
  </section>`;
}

const range = (b, lo, hi) => `${number(b[lo])}–${number(b[hi])}`;

/** The needs forecast: a fan chart of persons in placements, then month by month what it asks. */
function forecastView(f, backtest) {
  const p = f.persons_placed;
  const history = p.history.slice(-24).map(([x, y]) => ({ x, y }));
  const rows = p.months.map((b, i) => {
    const n = f.needs[i];
    return [
      esc(month(b.month)),
      esc(number(b.mean)),
      esc(range(b, 'lower_80', 'upper_80')),
      esc(range(b, 'lower_95', 'upper_95')),
      esc(number(n.persons.mean)),
      esc(number(n.homes.mean)),
      esc(number(n.bedrooms.mean)),
      esc(number(n.places)),
      `<span data-shortfall="${esc(b.month)}">${esc(number(n.shortfall_persons.mean))}</span> <small>(${esc(range(n.shortfall_persons, 'lower_95', 'upper_95'))})</small>`,
    ];
  });
  const score = (m, h) => backtest?.scores.find((s) => s.method === m && s.horizon === h);
  const ets3 = score('ets', 3);
  const naive3 = score('naive', 3);
  const ets12 = score('ets', 12);
  const quality = ets3 && naive3 && ets12
    ? `<p class="backtest" data-mase="${ets3.mase.toFixed(3)}">${esc(t('forecast_backtest', {
      months: number(backtest.months),
      mase: number(ets3.mase, 2),
      naive: number(naive3.mase, 2),
      c80: percent(ets12.coverage_80, 0),
      c95: percent(ets12.coverage_95, 0),
    }))}</p>`
    : '';
  return `
    ${fanChart({ title: t('forecast_chart'), history, bands: p.months, format: (v) => number(v) })}
    <p>${esc(t('forecast_summary', { n: number(p.last_value), month: month(p.last_month), model: p.model, months: number(p.history_months) }))}</p>
    ${quality}
    ${table({
      caption: t('forecast_caption'),
      className: 'forecast-needs',
      head: [t('month'), t('forecast_mean'), t('interval_80'), t('interval_95'), t('forecast_more_persons'), t('homes'), t('bedrooms'), t('places'), t('forecast_shortfall')],
      rows,
    })}
    <p class="muted">${esc(t('forecast_method'))}</p>`;
}

async function renderForecast(section, months, announced) {
  const out = section.querySelector('#forecast-result');
  out.innerHTML = `<p class="loading" role="status">${esc(t('loading'))}</p>`;
  try {
    const q = new URLSearchParams({ months: String(months) });
    if (announced) q.set('announced', announced);
    const [f, backtest] = await Promise.all([get(`/api/v1/forecast?${q}`), get('/api/v1/forecast/backtest').catch(() => null)]);
    out.innerHTML = forecastView(f, backtest);
  } catch (e) {
    out.innerHTML = `<p class="${e.status === 404 ? 'muted' : 'error'}" role="alert">${esc(e.message)}</p>`;
  }
}

export async function render(main, params) {
  const inflow = Math.min(100000, Math.max(1, Number.parseInt(params.get('inflow') ?? '100', 10) || 100));
  const cap = Math.min(10, Math.max(1, Number.parseFloat(params.get('lq_cap') ?? '1.5') || 1.5));
  const months = [3, 6, 12].includes(Number(params.get('months'))) ? Number(params.get('months')) : 12;
  const announced = params.get('announced') ?? '';
  main.innerHTML = `
    <h1>${esc(t('scenario_title'))}</h1>
    <p class="lead">${esc(t('scenario_lead'))}</p>
    <form class="controls" id="scenario-form">
      <div class="field"><label for="inflow">${esc(t('inflow'))}</label>
        <input id="inflow" name="inflow" type="number" min="1" max="100000" step="1" required value="${inflow}" inputmode="numeric"></div>
      <div class="field"><label for="lq-cap">${esc(t('lq_cap'))}</label>
        <input id="lq-cap" name="lq_cap" type="number" min="1" max="10" step="0.1" required value="${cap}" aria-describedby="lq-cap-help">
        <small id="lq-cap-help">${esc(t('lq_cap_help'))}</small></div>
      <div class="field"><button type="submit" class="primary">${esc(t('run_scenario'))}</button></div>
    </form>
    <div id="scenario-result" aria-live="polite"></div>
    <section id="forecast" aria-labelledby="forecast-title">
      <h2 id="forecast-title">${esc(t('forecast_title'))}</h2>
      <p class="lead">${esc(t('forecast_lead'))}</p>
      <form class="controls" id="forecast-form">
        <div class="field"><label for="months">${esc(t('forecast_months'))}</label>
          <select id="months" name="months">${[3, 6, 12].map((m) => `<option value="${m}"${m === months ? ' selected' : ''}>${esc(number(m))}</option>`).join('')}</select></div>
        <div class="field"><label for="announced">${esc(t('forecast_announced'))}</label>
          <input id="announced" name="announced" type="text" value="${esc(announced)}" placeholder="2027-01:120" pattern="^(\\d{4}-\\d{2}:\\d+)(,\\d{4}-\\d{2}:\\d+)*$" aria-describedby="announced-help">
          <small id="announced-help">${esc(t('forecast_announced_help'))}</small></div>
        <div class="field"><button type="submit">${esc(t('forecast_run'))}</button></div>
      </form>
      <div id="forecast-result" aria-live="polite"></div>
    </section>`;
  const out = main.querySelector('#scenario-result');
  const names = await districtNames();

  async function run(n, c) {
    out.innerHTML = `<p class="loading" role="status">${esc(t('loading'))}</p>`;
    try {
      const s = await get(`/api/v1/scenario?inflow=${n}&lq_cap=${c}`);
      const households = s.households.reduce((a, [, h]) => a + h, 0);
      out.innerHTML = `
        <h2>${esc(t('scenario_result', { n: number(n) }))}</h2>
        <p>${esc(t('scenario_summary', { households: number(households), p30: number(s.places_30_days), p90: number(s.places_90_days) }))}</p>
        ${s.over_cap_already?.length ? `<p class="notice">${esc(t('over_cap_already', { n: s.over_cap_already.length }))}</p>` : ''}
        <div class="plans">${plan('fastest', s.fastest, names)}${plan('low_concentration', s.low_concentration, names)}</div>
        <p><button type="button" id="dl-plan">${esc(t('download_plan'))}</button></p>`;
      out.querySelector('#dl-plan').addEventListener('click', () => {
        const rows = ['fastest', 'low_concentration'].flatMap((k) =>
          s[k].districts.map((d) => [k, d.district_code, names[d.district_code] ?? '', d.households, d.persons, d.within_30_days, d.renovation_cost_eur.toFixed(2)]),
        );
        download(`haven-scenario-${n}.csv`, 'text/csv', csv(['plan', 'district_code', 'name', 'households', 'persons', 'within_30_days', 'renovation_cost_eur'], rows));
      });
    } catch (e) {
      out.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
    }
  }

  main.querySelector('#scenario-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const n = Number.parseInt(main.querySelector('#inflow').value, 10);
    const c = Number.parseFloat(main.querySelector('#lq-cap').value);
    setParams({ inflow: n, lq_cap: c });
    run(n, c);
  });
  const section = main.querySelector('#forecast');
  section.querySelector('#forecast-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const m = Number(section.querySelector('#months').value);
    const a = section.querySelector('#announced').value.replace(/\s+/g, '');
    setParams({ months: m, announced: a });
    renderForecast(section, m, a);
  });
  const forecastShown = renderForecast(section, months, announced);
  if (params.has('inflow')) await run(inflow, cap);
  await forecastShown;
}
