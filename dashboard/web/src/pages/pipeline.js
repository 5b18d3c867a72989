// The activation pipeline: from empty home to offered, as a funnel over a period chosen with two
// sliders (first and last month), for the municipality or a district, with each stage's
// conversion to the next and the median days spent in it. The stages from let on are built on
// placements and are not published; the page says so.
import { get } from '../api.js';
import { esc, setParams, table } from '../dom.js';
import { eur, month, number, percent, t } from '../i18n.js';
import { districtNames, withheldMark } from './common.js';

/** The yearly end of the pipeline (built on placements, municipality only), withheld marked. */
function years(rows, district) {
  if (district) return `<p class="muted">${esc(t('pipeline_years_district'))}</p>`;
  if (!rows.length) return '';
  const cell = (v, fmt) => (v === null ? withheldMark() : esc(fmt(v)));
  return `<section class="activation-years"><h2>${esc(t('pipeline_years_title'))}</h2>
    ${table({
      caption: t('pipeline_years_table'),
      head: [t('pipeline_year'), t('pipeline_households'), t('pipeline_homes_let_first'), t('pipeline_tenancies_sustained'), t('pipeline_cost_per_home'), t('pipeline_cost_per_household')],
      rows: rows.map((y) => [
        esc(y.year),
        cell(y.households_housed, number),
        cell(y.homes_let, number),
        cell(y.tenancies_sustained, number),
        cell(y.cost_per_home_let_eur, eur),
        cell(y.cost_per_household_housed_eur, eur),
      ]),
    })}
    <p class="muted">${esc(t('pipeline_years_note'))}</p></section>`;
}

/** The funnel as horizontal bars, one per stage, widths relative to the widest. */
function funnel(stages) {
  const max = Math.max(1, ...stages.map((s) => s.entered));
  const rows = stages
    .map((s, i) => {
      const w = (s.entered / max) * 100;
      return `<li class="funnel-stage" data-stage="${esc(s.stage)}">
        <span class="funnel-label">${esc(`${i + 1}. ${t(`stage_${s.stage}`)}`)}</span>
        <span class="funnel-bar" style="width:${w.toFixed(1)}%"></span>
        <span class="funnel-value" data-entered="${s.entered}">${esc(number(s.entered))}</span></li>`;
    })
    .join('');
  return `<ol class="funnel" aria-label="${esc(t('pipeline_funnel'))}">${rows}</ol>`;
}

export async function render(main, params, { stale, rerender }) {
  const district = params.get('district') || '';
  const q = new URLSearchParams();
  if (district) q.set('district', district);
  const [all, names] = await Promise.all([get(`/api/v1/pipeline?${q}`), districtNames()]);
  const months = all.months;
  let from = months.includes(params.get('from')) ? params.get('from') : months[Math.max(0, months.length - 12)];
  let to = months.includes(params.get('to')) ? params.get('to') : months[months.length - 1];
  if (from && to && from > to) [from, to] = [to, from];
  const body = from ? await get(`/api/v1/pipeline?${new URLSearchParams({ ...Object.fromEntries(q), from, to })}`) : all;
  if (stale()) return undefined;
  const slider = (id, value) => `<div class="field"><label for="${id}">${esc(t(`pipeline_${id}`))}: <output id="${id}-out" for="${id}">${esc(month(value))}</output></label>
    <input type="range" id="${id}" min="0" max="${Math.max(0, months.length - 1)}" step="1" value="${Math.max(0, months.indexOf(value))}" aria-valuetext="${esc(month(value))}"></div>`;
  const districtsSorted = Object.entries(names).sort((a, b) => a[1].localeCompare(b[1]));
  main.innerHTML = `
    <h1>${esc(t('pipeline_title'))}</h1>
    <p class="lead">${esc(t('pipeline_lead'))}</p>
    <form class="controls" onsubmit="return false">
      <div class="field"><label for="district">${esc(t('district'))}</label>
        <select id="district"><option value="">${esc(t('pipeline_municipality'))}</option>${districtsSorted
          .map(([code, name]) => `<option value="${esc(code)}"${code === district ? ' selected' : ''}>${esc(name)}</option>`)
          .join('')}</select></div>
      ${months.length ? slider('from', from) + slider('to', to) : ''}
    </form>
    ${months.length
      ? `<section><h2>${esc(t('pipeline_entered', { from: month(from), to: month(to) }))}</h2>
      ${funnel(body.stages)}
      ${table({
        caption: t('pipeline_table', { from: month(from), to: month(to) }),
        head: [t('pipeline_stage'), t('pipeline_entered_short'), t('pipeline_left_short'), t('pipeline_reached'), t('pipeline_conversion'), t('pipeline_median_days')],
        rows: body.stages.map((s) => [
          esc(t(`stage_${s.stage}`)),
          esc(number(s.entered)),
          s.left === null ? '–' : esc(number(s.left)),
          s.reached === null ? '–' : esc(number(s.reached)),
          s.conversion === null ? '–' : esc(percent(s.conversion)),
          s.median_days === null ? '–' : esc(number(s.median_days)),
        ]),
      })}
      <p class="muted">${esc(t('pipeline_note'))}</p></section>
      ${years(all.years, district)}`
      : `<p class="muted">${esc(t('no_data'))}</p>`}`;
  main.querySelector('#district').addEventListener('change', (e) => {
    setParams({ district: e.target.value });
    rerender().then(() => main.querySelector('#district')?.focus());
  });
  for (const id of ['from', 'to']) {
    const input = main.querySelector(`#${id}`);
    if (!input) continue;
    input.addEventListener('input', () => {
      const label = month(months[Number(input.value)]);
      main.querySelector(`#${id}-out`).textContent = label;
      input.setAttribute('aria-valuetext', label);
    });
    input.addEventListener('change', () => {
      setParams({ [id]: months[Number(input.value)] });
      rerender().then(() => main.querySelector(`#${id}`)?.focus());
    });
  }
  return undefined;
}
