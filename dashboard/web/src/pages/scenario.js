// Preparedness scenario: an inflow of N persons, and how many can be housed within 30 and 90
// days, where and at what cost, with the fastest allocation and the low-concentration one.
import { get } from '../api.js';
import { csv, download, esc, setParams, table } from '../dom.js';
import { eur, number, t } from '../i18n.js';
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

export async function render(main, params) {
  const inflow = Math.min(100000, Math.max(1, Number.parseInt(params.get('inflow') ?? '100', 10) || 100));
  const cap = Math.min(10, Math.max(1, Number.parseFloat(params.get('lq_cap') ?? '1.5') || 1.5));
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
    <div id="scenario-result" aria-live="polite"></div>`;
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
  if (params.has('inflow')) await run(inflow, cap);
}
