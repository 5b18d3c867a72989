// Segregation: the indices over time per group with their significance, the location quotients
// of one group on the map (and as a table), and what each index means in plain words.
import { all, get } from '../api.js';
import { lineChart } from '../charts.js';
import { esc, setParams, table } from '../dom.js';
import { month, named, number, t } from '../i18n.js';
import { DIVERGING, NO_DATA, WITHHELD, classOf, createMap, legend, showDistricts } from '../map.js';
import { districts, reading, significance, withheldMark } from './common.js';

const INDICES = ['dissimilarity', 'gini', 'entropy', 'isolation', 'exposure', 'atkinson_0_5', 'spatial_dissimilarity', 'morans_i', 'multi_dissimilarity', 'multi_information_theory'];
/** Fixed classes of the location quotient around 1 (the last break closes the legend). */
const LQ_BREAKS = [0, 0.67, 0.9, 1.1, 1.5, 3];

const groupName = (g) => named('group', g);

export async function render(main, params, { stale, rerender }) {
  const index = INDICES.includes(params.get('index')) ? params.get('index') : 'dissimilarity';
  const multi = index.startsWith('multi_');
  const [values, first] = await Promise.all([all(`/api/v1/segregation?index=${index}`), get('/api/v1/segregation?index=dissimilarity&limit=1')]);
  const groups = [...new Set(values.map((v) => v.group))].sort((a, b) => (a === 'placed_persons' ? -1 : b === 'placed_persons' ? 1 : a.localeCompare(b)));
  const lqGroups = multi ? ['placed_persons', 'international_protection'] : groups;
  const group = lqGroups.includes(params.get('group')) ? params.get('group') : lqGroups.includes('placed_persons') ? 'placed_persons' : lqGroups[0];
  const [lqs, fc] = await Promise.all([get(`/api/v1/segregation/location-quotients?group=${encodeURIComponent(group)}`), districts(['dwellings'])]);
  if (stale()) return undefined;

  const series = groups.map((g) => ({
    name: groupName(g),
    points: values.filter((v) => v.group === g).map((v) => ({ x: v.period, y: v.value, withheld: false })),
  }));
  const latest = groups.map((g) => {
    const vs = values.filter((v) => v.group === g && v.value !== null);
    return { g, v: vs[vs.length - 1] };
  });
  const d = latest.find((l) => l.g === 'placed_persons')?.v;

  const lqBy = Object.fromEntries(lqs.items.map((i) => [i.district_code, i]));
  let anyWithheld = false;
  for (const f of fc.features) {
    const q = lqBy[f.properties.district_code];
    anyWithheld ||= Boolean(q?.withheld);
    f.properties._fill = q?.withheld ? WITHHELD : q?.lq === null || q?.lq === undefined ? NO_DATA : DIVERGING[classOf(q.lq, LQ_BREAKS)];
  }

  main.innerHTML = `
    <h1>${esc(t('seg_title'))}</h1>
    <p class="lead">${esc(t('seg_lead'))}</p>
    ${d ? `<p class="callout">${esc(reading(d.value).text)}</p>` : ''}
    <form class="controls" onsubmit="return false">
      <div class="field"><label for="index">${esc(t('index'))}</label>
        <select id="index">${INDICES.map((i) => `<option value="${i}"${i === index ? ' selected' : ''}>${esc(t(`idx_${i}`))}</option>`).join('')}</select></div>
      <div class="field"><label for="group">${esc(t('group_on_map'))}</label>
        <select id="group">${lqGroups.map((g) => `<option value="${g}"${g === group ? ' selected' : ''}>${esc(groupName(g))}</option>`).join('')}</select></div>
    </form>
    <section><h2>${esc(t(`idx_${index}`))}</h2>
      <p>${esc(t(`idx_${index}_explain`))}</p>
      ${lineChart({ title: t(`idx_${index}`), series, format: (v) => number(v, 2), zeroBased: true })}
      ${table({
        caption: t('seg_latest_caption', { index: t(`idx_${index}`) }),
        head: [t('group'), t('period'), t('value'), t('significance')],
        rows: latest.filter((l) => l.v).map((l) => [esc(groupName(l.g)), esc(month(l.v.period)), esc(number(l.v.value, 3)), esc(significance(l.v.p_value) ?? '–')]),
      })}
    </section>
    <section><h2>${esc(t('seg_changes'))}</h2><p>${esc(t('seg_changes_explain'))}</p>
      ${table({
        caption: t('seg_changes'),
        head: [t('group'), t('from'), t('to'), t('change'), t('interval'), t('significance')],
        rows: first.changes.map((c) => [
          esc(groupName(c.group)),
          `${esc(month(c.from_period))}: ${esc(number(c.d_from, 3))}`,
          `${esc(month(c.to_period))}: ${esc(number(c.d_to, 3))}`,
          esc(number(c.change, 3)),
          esc(`${number(c.ci_low, 3)} … ${number(c.ci_high, 3)}`),
          esc(c.significant ? t('change_significant') : t('change_not_significant')),
        ]),
      })}
    </section>
    <section><h2>${esc(t('lq_title', { group: groupName(group) }))}</h2><p>${esc(t('lq_explain'))}</p>
      <div class="map-wrap"><div id="map" class="map"></div>
      ${legend({ title: `${t('lq_short')} · ${month(lqs.period)}`, breaks: LQ_BREAKS, colours: DIVERGING, format: (v) => number(v, 2), withheld: anyWithheld })}</div>
      ${table({
        caption: t('lq_table', { group: groupName(group), period: month(lqs.period) }),
        head: [t('district'), t('code'), t('lq_short')],
        rows: [...fc.features]
          .sort((a, b) => a.properties.name.localeCompare(b.properties.name))
          .map((f) => {
            const q = lqBy[f.properties.district_code];
            return [
              esc(f.properties.name),
              esc(f.properties.district_code),
              q?.withheld ? withheldMark() : q?.lq === null || !q ? '–' : esc(number(q.lq, 2)),
            ];
          }),
      })}
    </section>`;
  for (const id of ['index', 'group']) {
    main.querySelector(`#${id}`).addEventListener('change', (e) => {
      setParams({ [id]: e.target.value });
      rerender().then(() => main.querySelector(`#${id}`)?.focus());
    });
  }
  const map = await createMap(main.querySelector('#map'), fc.bbox, { label: t('lq_title', { group: groupName(group) }) });
  if (stale()) {
    map.remove();
    return undefined;
  }
  showDistricts(map, fc, null);
  return () => map.remove();
}
