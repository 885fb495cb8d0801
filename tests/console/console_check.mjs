// Opens the operator console in Debian's chromium, driven by playwright-core:
// first with a tenant's key (the page must refuse it), then with the admin
// key, and opens one request's trace. Prints one JSON line of what the page
// showed; the C++ test (tests/integration/console_test.cc) asserts on it.
//
// Environment: SLUICE_PLAYWRIGHT_DIR (node_modules holding playwright-core),
// SLUICE_BASE_URL, SLUICE_ADMIN_KEY, SLUICE_TENANT_KEY, SLUICE_REQUEST_ID,
// SLUICE_SCREENSHOT (where the full-page PNG goes).
import { createRequire } from 'node:module';
import path from 'node:path';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const require = createRequire(path.join(env('SLUICE_PLAYWRIGHT_DIR'), 'noop.js'));
const { chromium } = require('playwright-core');

const base = env('SLUICE_BASE_URL');
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const seen = { errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
  page.on('console', (message) => {
    // The refused tenant key's 403 is the one expected failure.
    if (message.type() === 'error' && !message.text().includes('403')) {
      seen.errors.push(message.text());
    }
  });
  page.on('pageerror', (error) => seen.errors.push(String(error)));

  await page.goto(`${base}/console`);
  await page.fill('#admin-key', env('SLUICE_TENANT_KEY'));
  await page.click('#load-form button');
  await page.waitForSelector('body[data-loaded]', { timeout: 20000 });
  seen.tenant_key = {
    loaded: await page.$eval('body', (b) => b.dataset.loaded),
    status: await page.textContent('#status'),
  };

  await page.goto(`${base}/console#request=${env('SLUICE_REQUEST_ID')}`);
  await page.evaluate(() => { delete document.body.dataset.loaded; });
  await page.fill('#admin-key', env('SLUICE_ADMIN_KEY'));
  await page.click('#load-form button');
  await page.waitForSelector('body[data-loaded]', { timeout: 20000 });
  await page.waitForSelector('body[data-trace]', { timeout: 20000 });
  const rows = (selector) => page.$$eval(selector, (trs) =>
    trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  seen.loaded = await page.$eval('body', (b) => b.dataset.loaded);
  seen.trace = await page.$eval('body', (b) => b.dataset.trace);
  seen.status = await page.textContent('#status');
  seen.totals = await page.$$eval('#totals .figure', (fs) => fs.map((f) => f.textContent));
  seen.spenders = await rows('#spenders tbody tr');
  seen.models = await rows('#models tbody tr');
  seen.charts = await page.$$eval('.chart canvas', (canvases) => canvases.length);
  seen.summary = await page.textContent('#request-summary');
  seen.spans = await page.$$eval('#waterfall .span-row', (spans) => spans.map((s) => s.dataset.name));
  await page.screenshot({ path: env('SLUICE_SCREENSHOT'), fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
