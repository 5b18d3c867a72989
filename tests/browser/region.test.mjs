// A region in headless Chromium: a stateless reader (`haven serve --region`) over a lake of
// three municipalities, started by tests/lake.rs, which passes HAVEN_URL and HAVEN_CHROMIUM.
// The regional view and a municipality's view, in English and Dutch; every figure the page
// shows is compared with the reader's API, a withheld one must read "withheld".
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { noSeriousViolations } from './axe.mjs';

const BASE = process.env.HAVEN_URL;
let browser;

before(async () => {
  assert.ok(BASE, 'run by tests/lake.rs');
  browser = await chromium.launch({ executablePath: process.env.HAVEN_CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
});

async function open(route, lang) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: lang === 'nl' ? 'nl-BE' : 'en-GB' });
  await context.addInitScript((l) => localStorage.setItem('haven.lang', l), lang);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(BASE + route);
  await page.waitForSelector('main[data-ready]', { timeout: 15000 });
  return { page, errors, context };
}

async function api(p) {
  const res = await fetch(BASE + p);
  assert.equal(res.status, 200, `${p}: ${res.status}`);
  return res.json();
}

/** A number as the page writes it in `lang` (no grouping surprises: compared as text). */
const formatted = (v, lang, unit) =>
  unit === 'EUR'
    ? null // money is written compactly; compared through data-value
    : new Intl.NumberFormat(lang === 'nl' ? 'nl' : 'en', { maximumFractionDigits: Number.isInteger(v) ? 0 : 2 }).format(v);

for (const [lang, words] of [
  ['en', { title: "The region's municipalities", withheld: 'Withheld to protect privacy', back: 'All municipalities' }],
  ['nl', { title: 'De gemeenten van de regio', withheld: 'Afgeschermd om de privacy te beschermen', back: 'Alle gemeenten' }],
]) {
  test(`the regional view shows every municipality's figures as the API gives them, on a map (${lang})`, async () => {
    const region = await api('/api/v1/region');
    const { page, errors, context } = await open('/#/', lang);
    assert.equal(await page.locator('h1').textContent(), words.title);
    assert.equal(await page.locator('html').getAttribute('lang'), lang);
    const units = Object.fromEntries(region.indicators.map((i) => [i.id, i.unit]));
    const rows = page.locator('table.municipalities tbody tr');
    assert.equal(await rows.count(), region.municipalities.length);
    for (const [i, m] of region.municipalities.entries()) {
      const row = rows.nth(i);
      assert.equal(await row.locator('[data-municipality]').getAttribute('data-municipality'), m.code);
      for (const f of m.figures) {
        const cell = row.locator(`[data-figure="${f.indicator}"]`);
        if (f.withheld) {
          assert.equal((await cell.textContent()).trim(), words.withheld, `${m.code} ${f.indicator}`);
          assert.equal(await cell.getAttribute('data-value'), '');
        } else if (f.value !== null) {
          assert.equal(Number(await cell.getAttribute('data-value')), f.value, `${m.code} ${f.indicator}`);
          const text = formatted(f.value, lang, units[f.indicator]);
          if (text) assert.equal((await cell.textContent()).trim(), text, `${m.code} ${f.indicator} in ${lang}`);
        }
      }
    }
    // The choropleth: a canvas and a legend; another figure recolours it.
    await page.waitForSelector('#map canvas');
    await noSeriousViolations(page, `the region (${lang})`);
    assert.ok((await page.locator('#legend li').count()) >= 1, 'a legend');
    await page.selectOption('#indicator', 'ready_units');
    assert.ok((await page.locator('#legend .legend-title').textContent()).length > 0);
    assert.match(page.url(), /indicator=ready_units/);
    // The spread across municipalities, as the API gives it.
    const spread = await api('/api/v1/region/spread');
    // No index (fewer than two municipalities publish their figure) reads as such, not as 0.
    assert.equal(await page.locator('[data-dissimilarity]').getAttribute('data-dissimilarity'), spread.dissimilarity === null ? '' : String(spread.dissimilarity));
    if (spread.dissimilarity === null) assert.ok((await page.locator('[data-dissimilarity]').textContent()).length > 0, 'the page says why there is no index');
    const lqs = await page.locator('table.spread [data-spread="lq"]').evaluateAll((els) => els.map((e) => e.dataset.value));
    assert.deepEqual(lqs, spread.municipalities.map((m) => (m.location_quotient === null ? '' : String(m.location_quotient))));
    // A municipality's link opens its view.
    await page.locator('[data-municipality="BE22002"]').click();
    await page.waitForSelector('main[data-ready="municipality"]');
    assert.match(page.url(), /#\/m\/BE22002/);
    assert.ok((await page.locator('main a[href="#/"]').textContent()).includes(words.back));
    await noSeriousViolations(page, `a municipality's view (${lang})`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`a municipality's view shows its figures and districts as the API gives them (${lang})`, async () => {
    const view = await api('/api/v1/m/BE22001');
    const { page, errors, context } = await open('/#/m/BE22001', lang);
    assert.ok((await page.locator('h1').textContent()).includes('BE22001'));
    for (const f of view.municipality.figures) {
      const card = page.locator(`article.figure[data-figure="${f.indicator}"]`);
      assert.equal(await card.count(), 1, f.indicator);
      if (f.withheld) {
        assert.equal(await card.getAttribute('data-withheld'), 'true');
        assert.equal((await card.locator('.value').textContent()).trim(), words.withheld);
      } else {
        assert.equal(Number(await card.getAttribute('data-value')), f.value, f.indicator);
      }
    }
    await page.waitForSelector('#map canvas');
    const rows = page.locator('table.districts tbody tr');
    assert.equal(await rows.count(), view.districts.features.length);
    // The table's values are the features' (vacant homes by default).
    for (const feature of view.districts.features) {
      const p = feature.properties;
      const row = rows.filter({ has: page.locator(`td:text-is("${p.district_code}")`) });
      const shown = (await row.locator('td').nth(1).textContent()).trim();
      const expected = p.withheld.includes('vacant_units') ? words.withheld : formatted(p.vacant_units, lang, 'count');
      assert.equal(shown, expected, p.district_code);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}
