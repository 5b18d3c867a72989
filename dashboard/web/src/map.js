// MapLibre GL JS, loaded on the map pages only: the districts as a classed choropleth over a
// plain background (or the deployment's basemap style), a legend, and the withheld class.
import { esc } from './dom.js';
import { t } from './i18n.js';

let loading;

/** MapLibre and its stylesheet, fetched once. */
export function maplibre() {
  if (!loading) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = '/assets/maplibre-gl.css';
    document.head.append(css);
    loading = import('./maplibre-gl.mjs');
  }
  return loading;
}

/** Sequential, colour-blind safe (ColorBrewer YlGnBu, 5 classes). */
export const SEQUENTIAL = ['#ffffcc', '#a1dab4', '#41b6c4', '#2c7fb8', '#253494'];
/** Diverging around 1, colour-blind safe (ColorBrewer PuOr, 5 classes). */
export const DIVERGING = ['#e66101', '#fdb863', '#f7f7f7', '#b2abd2', '#5e3c99'];
export const WITHHELD = '#8c8c8c';
export const NO_DATA = '#ffffff';

/** Quantile class breaks of the values (at most `n` classes, no empty ones). */
export function quantileBreaks(values, n = 5) {
  const v = values.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return [];
  const breaks = [];
  for (let i = 1; i < n; i++) {
    const b = v[Math.min(v.length - 1, Math.floor((i * v.length) / n))];
    if (b > v[0] && !breaks.includes(b)) breaks.push(b);
  }
  return [v[0], ...breaks, v[v.length - 1]];
}

/** The class of a value: index of the last break it reaches. */
export function classOf(value, breaks) {
  let c = 0;
  for (let i = 1; i < breaks.length - 1; i++) if (value >= breaks[i]) c = i;
  return c;
}

/** Colours for the classes: spread over the palette when there are fewer classes than colours. */
export function classColours(count, palette = SEQUENTIAL) {
  if (count <= 1) return [palette[Math.floor(palette.length / 2)]];
  return Array.from({ length: count }, (_, i) => palette[Math.round((i * (palette.length - 1)) / (count - 1))]);
}

function basemapStyle() {
  return document.querySelector('meta[name="haven-basemap-style"]')?.content?.trim() ?? '';
}

/**
 * A map in `container` fitted to `bounds` ([w, s, e, n]); resolves when its style is loaded.
 * Without a configured basemap it draws nothing but a plain background: no outside tiles.
 */
export async function createMap(container, bounds, { label } = {}) {
  const { Map, NavigationControl, AttributionControl } = await maplibre();
  const url = basemapStyle();
  const map = new Map({
    container,
    style: url || { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0f2' } }] },
    bounds,
    fitBoundsOptions: { padding: 24 },
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    cooperativeGestures: false,
    locale: { 'NavigationControl.ZoomIn': t('zoom_in'), 'NavigationControl.ZoomOut': t('zoom_out'), 'NavigationControl.ResetBearing': t('reset_north') },
  });
  map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
  if (url) map.addControl(new AttributionControl({ compact: true }));
  map.getCanvas().setAttribute('aria-label', label ?? t('map'));
  map.keyboard.enable();
  await new Promise((resolve) => (map.loaded() ? resolve() : map.once('load', resolve)));
  return map;
}

/** Adds (or replaces the data of) the district layers: fill by `_fill`, outline, selection. */
export function showDistricts(map, collection, selected) {
  const source = map.getSource('districts');
  if (source) {
    source.setData(collection);
  } else {
    map.addSource('districts', { type: 'geojson', data: collection, promoteId: 'district_code' });
    map.addLayer({ id: 'districts-fill', type: 'fill', source: 'districts', paint: { 'fill-color': ['get', '_fill'], 'fill-opacity': 0.85 } });
    map.addLayer({ id: 'districts-line', type: 'line', source: 'districts', paint: { 'line-color': '#4a4a4a', 'line-width': 0.8 } });
    map.addLayer({
      id: 'districts-selected',
      type: 'line',
      source: 'districts',
      filter: ['==', ['get', 'district_code'], ''],
      paint: { 'line-color': '#111111', 'line-width': 3.5 },
    });
    map.on('mouseenter', 'districts-fill', () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', 'districts-fill', () => (map.getCanvas().style.cursor = ''));
  }
  select(map, selected);
}

export function select(map, code) {
  if (map.getLayer('districts-selected')) map.setFilter('districts-selected', ['==', ['get', 'district_code'], code ?? '']);
}

/** A legend: one swatch per class with its range, then withheld and no data. */
export function legend({ title, breaks, colours, format, withheld = false }) {
  const items = colours.map((c, i) => {
    const lo = breaks[i];
    const hi = breaks[i + 1] ?? breaks[breaks.length - 1];
    const text = colours.length === 1 ? format(lo) : `${format(lo)} – ${format(hi)}`;
    return `<li><span class="swatch" style="background:${c}"></span>${esc(text)}</li>`;
  });
  if (withheld) items.push(`<li><span class="swatch" style="background:${WITHHELD}"></span>${esc(t('withheld'))}</li>`);
  return `<div class="legend" role="group" aria-label="${esc(t('legend'))}"><p class="legend-title">${esc(title)}</p><ul>${items.join('')}</ul></div>`;
}
