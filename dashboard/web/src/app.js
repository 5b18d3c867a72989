// The dashboard: a shell (navigation, language, session) and one page at a time, chosen by the
// URL's hash; each page keeps its state (indicator, period, district...) in the URL too, so a
// view can be shared or embedded (`embed=1` leaves out the header and footer).
import { get, session } from './api.js';
import { esc, route } from './dom.js';
import { current, languages, setLanguage, t } from './i18n.js';
import * as data from './pages/data.js';
import * as mapPage from './pages/map.js';
import * as officer from './pages/officer.js';
import * as overview from './pages/overview.js';
import * as pipeline from './pages/pipeline.js';
import * as region from './pages/region.js';
import * as scenario from './pages/scenario.js';
import * as segregation from './pages/segregation.js';

// A region's reader (`haven serve --region`) serves the regional view and each
// municipality's public view instead of one municipality's pages.
const REGION = document.querySelector('meta[name="haven-mode"]')?.content === 'region';
const PAGES = REGION
  ? { region, municipality: { render: region.renderMunicipality } }
  : { overview, map: mapPage, segregation, pipeline, scenario, data, officer };

/** The page of the URL: in a region, `#/` is the region and `#/m/CODE` a municipality. */
function routed() {
  const { page, params } = route();
  if (!REGION) return { page, params };
  const [first, ...rest] = page.split('/');
  if (first === 'm' && rest.length) {
    params.set('code', decodeURIComponent(rest.join('/')));
    return { page: 'municipality', params };
  }
  return { page: page === 'overview' ? 'region' : page, params };
}

let generation = 0;
let cleanup = null;

function shell(page) {
  document.documentElement.lang = current();
  document.getElementById('skip').textContent = t('skip');
  document.getElementById('brand').textContent = 'Haven';
  document.getElementById('brand').setAttribute('aria-label', t('brand_home'));
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav_main'));
  const links = REGION ? ['region'] : Object.keys(PAGES);
  nav.innerHTML = `<ul>${links
    .map((p) => `<li><a href="#/${p === 'overview' || p === 'region' ? '' : p}"${p === page ? ' aria-current="page"' : ''}>${esc(t(`page_${p}`))}</a></li>`)
    .join('')}</ul>`;
  document.getElementById('lang-label').textContent = t('language');
  const select = document.getElementById('lang');
  select.innerHTML = languages.map((l) => `<option value="${l.code}"${l.code === current() ? ' selected' : ''}>${esc(l.name)}</option>`).join('');
  const s = document.getElementById('session');
  // A region's reader has no officers: nothing to sign in to.
  s.innerHTML = REGION
    ? ''
    : session.token
    ? `<button type="button" id="sign-out" class="link">${esc(t('sign_out'))}</button>`
    : `<a href="#/officer">${esc(t('sign_in'))}</a>`;
  document.getElementById('sign-out')?.addEventListener('click', () => {
    session.signOut();
    location.hash = '#/';
    render();
  });
  const data = REGION
    ? ` · <a href="/api/v1/region/catalog">${esc(t('page_data'))} (DCAT)</a>`
    : ` · <a href="#/data">${esc(t('page_data'))}</a>`;
  document.getElementById('footer').innerHTML = `<p>${esc(t('footer'))}${data} · <a href="/api/v1/openapi.json">API (OpenAPI)</a></p>`;
}

export async function render() {
  const { page, params } = routed();
  const id = ++generation;
  const current = PAGES[page];
  document.body.classList.toggle('embed', params.get('embed') === '1');
  shell(page);
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const main = document.getElementById('main');
  main.removeAttribute('data-ready');
  main.setAttribute('aria-busy', 'true');
  main.innerHTML = `<p class="loading" role="status">${esc(t('loading'))}</p>`;
  document.title = `${t(`page_${current ? page : 'not_found'}`)} · Haven`;
  try {
    if (!current) {
      main.innerHTML = `<h1>${esc(t('page_not_found'))}</h1><p><a href="#/">${esc(t('page_overview'))}</a></p>`;
    } else {
      const done = await current.render(main, params, { stale: () => id !== generation, rerender: render });
      if (id !== generation) {
        done?.();
        return;
      }
      cleanup = done ?? null;
    }
  } catch (e) {
    if (id !== generation) return;
    main.innerHTML = `<h1>${esc(t(`page_${page}`))}</h1><p class="error" role="alert">${esc(t('error_loading', { detail: e.message }))}</p>`;
  }
  main.removeAttribute('aria-busy');
  main.dataset.ready = page;
  // The first view is ready: what the speed goal (under 1.5 s on localhost) is measured to.
  if (!performance.getEntriesByName('haven:ready').length) performance.mark('haven:ready');
}

document.getElementById('lang').addEventListener('change', (e) => {
  setLanguage(e.target.value);
  render();
});
window.addEventListener('hashchange', () => {
  render().then(() => document.getElementById('main').focus({ preventScroll: true }));
});
// Warm the registry while the first page renders.
if (!REGION) get('/api/v1/indicators/registry').catch(() => {});
render();
