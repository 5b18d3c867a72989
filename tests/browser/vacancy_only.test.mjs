// A municipality on its first day, in headless Chromium: only districts and a vacancy register
// are loaded (tests/dashboard.rs starts the `haven` binary and passes HAVEN_URL,
// HAVEN_CHROMIUM). The overview says which datasets are missing instead of drawing empty
// charts, and its vacancy figures are the API's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const BASE = process.env.HAVEN_URL;
let browser;

before(async () => {
  assert.ok(BASE, 'run by tests/dashboard.rs');
  browser = await chromium.launch({ executablePath: process.env.HAVEN_CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
});

test('the overview names the missing datasets and shows the vacancy figures', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  await context.addInitScript(() => localStorage.setItem('haven.lang', 'en'));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${BASE}/#/`);
  await page.waitForSelector('main[data-ready]', { timeout: 15000 });
  const notices = await page.locator('.notice').allTextContents();
  const missing = notices.find((n) => n.includes('Not loaded yet'));
  assert.ok(missing, `no notice of missing datasets in: ${JSON.stringify(notices)}`);
  for (const name of ['Population', 'Social housing']) {
    assert.ok(missing.includes(name), `${name} not named in: ${missing}`);
  }
  assert.ok(!missing.includes('Vacant'), `the register is loaded, yet named: ${missing}`);
  // The vacant units figure is the latest published municipal value.
  const figure = page.locator('[data-figure="vacant_units"]');
  assert.equal(await figure.count(), 1, 'the vacant units figure is shown');
  const shown = Number(await figure.getAttribute('data-value'));
  const res = await fetch(`${BASE}/api/v1/indicators?level=municipality&indicator=vacant_units&limit=1000`);
  assert.equal(res.status, 200);
  const items = (await res.json()).items.filter((i) => i.value !== null);
  const latest = items.sort((a, b) => a.period.localeCompare(b.period)).at(-1);
  assert.equal(shown, latest.value);
  assert.deepEqual(errors, []);
  await context.close();
});
