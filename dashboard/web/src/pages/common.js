// What several pages share: the registry, the municipality's series, the district layer, and
// how a withheld value, a p-value and the dissimilarity index are put in words.
import { all, get } from '../api.js';
import { esc } from '../dom.js';
import { named, number, t } from '../i18n.js';

export const registry = () => get('/api/v1/indicators/registry');

export async function entry(id) {
  return (await registry()).find((r) => r.id === id);
}

/** The municipality's values of some indicators over every month: { id: [{ x, y, withheld }] }. */
export async function municipalSeries(ids, { officer = false } = {}) {
  const base = officer ? '/api/v1/officer/indicators' : '/api/v1/indicators';
  return seriesOf(await all(`${base}?level=municipality&indicator=${ids.join(',')}`, { officer }), ids);
}

/** Indicator values of one area as a series per indicator, by period: { id: [{ x, y, withheld }] }. */
export function seriesOf(items, ids) {
  const out = Object.fromEntries(ids.map((id) => [id, []]));
  for (const i of items) out[i.indicator]?.push({ x: i.period, y: i.value, withheld: i.withheld });
  for (const id of ids) out[id].sort((a, b) => a.x.localeCompare(b.x));
  return out;
}

/** The districts with geometry, names and the values of some indicators for a month. */
export function districts(indicators, period) {
  const q = new URLSearchParams({ indicator: indicators.join(',') });
  if (period) q.set('period', period);
  return get(`/api/v1/districts?${q}`);
}

/** District names by code. */
export async function districtNames() {
  const fc = await districts(['dwellings']);
  return Object.fromEntries(fc.features.map((f) => [f.properties.district_code, f.properties.name]));
}

/** The translated name of a dataset. */
export const datasetName = (name) => named('dataset', name);

/** A suppressed value, as every page shows it: the word, never a number. */
export const withheldMark = () => `<span class="withheld" data-withheld="true">${esc(t('withheld'))}</span>`;

/** A permutation p-value in words, or null without one. */
export function significance(p) {
  if (p === null || p === undefined) return null;
  return t(p < 0.05 ? 'significant' : 'not_significant', { p: number(p, 3) });
}

/** The dissimilarity index in plain words, with its level (low, moderate, high). */
export function reading(d) {
  const level = d < 0.3 ? 'low' : d < 0.6 ? 'moderate' : 'high';
  return { level, text: t('d_reading', { pct: number(d * 100), level: t(`level_${level}`) }) };
}

