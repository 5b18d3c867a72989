// What several pages share: the registry, the municipality's series, the district layer.
import { all, get } from '../api.js';
import { label, t } from '../i18n.js';

export const registry = () => get('/api/v1/indicators/registry');

export async function entry(id) {
  return (await registry()).find((r) => r.id === id);
}

/** The municipality's values of some indicators over every month: { id: [{ x, y, withheld }] }. */
export async function municipalSeries(ids, { officer = false } = {}) {
  const base = officer ? '/api/v1/officer/indicators' : '/api/v1/indicators';
  const items = await all(`${base}?level=municipality&indicator=${ids.join(',')}`, { officer });
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
export function datasetName(name) {
  const key = `dataset_${name}`;
  const s = t(key);
  return s === key ? name : s;
}

