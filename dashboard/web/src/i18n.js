// Every string of the dashboard comes from a catalogue in ./i18n (one JSON file a language);
// numbers, money and months are formatted for the language by Intl.
import catalogues from 'virtual:locales';

const KEY = 'haven.lang';

export const languages = Object.keys(catalogues).map((code) => ({ code, name: catalogues[code]._name }));

function initial() {
  const fromUrl = new URLSearchParams(location.hash.split('?')[1] ?? '').get('lang');
  const wanted = [fromUrl, localStorage.getItem(KEY), ...(navigator.languages ?? [])]
    .filter(Boolean)
    .map((l) => l.slice(0, 2).toLowerCase());
  return wanted.find((l) => catalogues[l]) ?? 'en';
}

let lang = initial();

export function current() {
  return lang;
}

export function setLanguage(code) {
  if (!catalogues[code]) return;
  lang = code;
  localStorage.setItem(KEY, code);
  document.documentElement.lang = code;
}

/** The string of `key` in the current language (English when missing), `{name}` filled in. */
export function t(key, vars = {}) {
  const s = catalogues[lang][key] ?? catalogues.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

/** The catalogue's word for `prefix_v` (a dataset, group, enum value...), else `fallback`. */
export function named(prefix, v, fallback = v) {
  const key = `${prefix}_${v}`;
  const s = t(key);
  return s === key ? fallback : s;
}

/** The label of a registry entry in the current language: the registry's own (English and
 * Dutch), else the catalogue's `indicator_<id>`, else English. */
export function label(entry) {
  return entry?.[lang] ?? catalogues[lang][`indicator_${entry?.id}`] ?? entry?.en ?? entry?.id ?? '';
}

export function number(v, digits = 0) {
  // Rounded first, so that a tiny negative value reads 0, not -0.
  const r = Number(v.toFixed(digits));
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(r === 0 ? 0 : r);
}

export function eur(v) {
  const big = Math.abs(v) >= 1e6;
  return new Intl.NumberFormat(lang, {
    style: 'currency',
    currency: 'EUR',
    notation: big ? 'compact' : 'standard',
    maximumFractionDigits: big ? 1 : 0,
  }).format(v);
}

export function percent(v, digits = 1) {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: digits }).format(v);
}

/** A month `YYYY-MM` as words: "October 2026". */
export function month(p) {
  if (!p) return '';
  const [y, m] = p.split('-').map(Number);
  return new Intl.DateTimeFormat(lang, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
}

export function shortMonth(p) {
  const [y, m] = p.split('-').map(Number);
  return new Intl.DateTimeFormat(lang, { month: 'short', year: '2-digit', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
}

export function dateTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** A value in its unit: euros, shares as percentages, the rest as numbers. */
export function value(v, unit) {
  if (v === null || v === undefined) return '–';
  if (unit === 'EUR') return eur(v);
  if (unit === 'ratio') return percent(v);
  if (unit === 'days') return `${number(v)} ${t('unit_days')}`;
  return number(v, Number.isInteger(v) ? 0 : 2);
}
