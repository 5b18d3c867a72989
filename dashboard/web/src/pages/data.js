// Open data: every published dataset with its description, licence, schema, downloads of the
// latest release and its earlier versions; the catalogue (DCAT-AP) and the data package.
import { get } from '../api.js';
import { esc, table } from '../dom.js';
import { dateTime, number, t } from '../i18n.js';

function size(bytes) {
  if (bytes >= 1e6) return `${number(bytes / 1e6, 1)} MB`;
  return `${number(Math.max(1, Math.round(bytes / 1e3)))} kB`;
}

export async function render(main) {
  const releases = await get('/api/v1/releases');
  if (!releases.length) {
    main.innerHTML = `<h1>${esc(t('data_title'))}</h1><p>${esc(t('no_release'))}</p>`;
    return;
  }
  const latest = releases[0];
  const pkg = await get(`/api/v1/releases/${latest.version}/datapackage.json`);
  const licence = pkg.licenses?.[0];
  const sections = pkg.resources
    .filter((r, i, a) => a.findIndex((x) => x.name === r.name) === i)
    .map((r) => {
      const ds = latest.datasets.find((d) => d.id === r.name);
      const files = ds?.files ?? [];
      const csvFile = files.find((f) => f.format === 'CSV');
      const links = files
        .map((f) => `<li><a href="${esc(f.url)}" download>${esc(f.name)}</a> <span class="muted">${esc(f.format)}, ${esc(size(f.bytes))}</span></li>`)
        .join('');
      const hxl = csvFile ? `<li><a href="${esc(csvFile.url)}?hxl=true" download>${esc(csvFile.name)} + HXL</a> <span class="muted">${esc(t('hxl_note'))}</span></li>` : '';
      const versions = releases
        .filter((rel) => rel.datasets.some((d) => d.id === r.name))
        .map((rel) => {
          const d = rel.datasets.find((x) => x.id === r.name);
          return `<li>${esc(t('version_n', { n: rel.version }))} · ${esc(dateTime(rel.published_at))} · ${d.files.map((f) => `<a href="${esc(f.url)}" download aria-label="${esc(`${f.name}, ${t('version_n', { n: rel.version })}`)}">${esc(f.format)}</a>`).join(' ')}</li>`;
        })
        .join('');
      return `<article class="dataset" data-dataset="${esc(r.name)}">
        <h2>${esc(r.title ?? r.name)}</h2>
        <p>${esc(r.description ?? '')}</p>
        <p class="meta">${esc(t('rows', { n: number(ds?.rows ?? 0) }))} · ${esc(t('licence'))}: ${licence ? `<a href="${esc(licence.path)}">${esc(licence.title ?? licence.name)}</a>` : '–'}</p>
        <h3>${esc(t('downloads_latest', { n: latest.version }))}</h3><ul class="files">${links}${hxl}</ul>
        <details><summary>${esc(t('schema'))}</summary>
          ${table({
            caption: t('schema_of', { what: r.title ?? r.name }),
            head: [t('field'), t('type'), t('description')],
            rows: (r.schema?.fields ?? []).map((f) => [`<code>${esc(f.name)}</code>`, esc(f.type), esc(f.description ?? '')]),
          })}
        </details>
        <details><summary>${esc(t('versions', { n: releases.length }))}</summary><ul>${versions}</ul></details>
      </article>`;
    });
  main.innerHTML = `
    <h1>${esc(t('data_title'))}</h1>
    <p class="lead">${esc(t('data_lead'))}</p>
    <ul class="catalogue-links">
      <li><a href="/api/v1/catalog?format=jsonld">${esc(t('catalogue'))} (DCAT-AP, JSON-LD)</a></li>
      <li><a href="/api/v1/catalog?format=ttl">${esc(t('catalogue'))} (DCAT-AP, Turtle)</a></li>
      <li><a href="/api/v1/releases/${latest.version}/datapackage.json">${esc(t('data_package'))} (Frictionless)</a></li>
      <li><a href="/api/v1/openapi.json">${esc(t('api_doc'))} (OpenAPI 3.1)</a></li>
    </ul>
    <p class="meta">${esc(t('release_line', { version: latest.version, when: dateTime(latest.published_at) }))}</p>
    ${sections.join('')}`;
}
