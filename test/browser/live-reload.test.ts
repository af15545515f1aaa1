import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Page } from 'playwright-core';
import { convoyExpress, type ExpressOptions } from '../../src/adapters/express.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger, siteCopy, write } from '../helpers.ts';
import { listen } from '../adapters/http.ts';
import { CHROMIUM, launch } from './chromium.ts';

const SKIP = CHROMIUM ? false : 'Debian chromium is not installed (.ci/run installs it)';

/** The example site served by an Express app in debug on 127.0.0.1. */
async function debugApp(dir: string, extra: ConvoyOptions & ExpressOptions = {}) {
  const app = express();
  const setup = convoyExpress(app, { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], debug: true, logger: memoryLogger(), ...extra });
  app.get('/favicon.ico', (_req, res) => res.status(204).end());
  app.get('/:page', (req, res) => res.render(`pages/${req.params.page}.njk`, { siteName: 'Live' }));
  const server = await listen(app);
  await setup.ready;
  return { port: server.port, close: async () => (await setup.close(), await server.close()) };
}

/** The debug app and a browser, both closed when the test ends. */
async function debugWithBrowser(t: TestContext, dir: string, options: Parameters<typeof debugApp>[1]) {
  const server = await debugApp(dir, options);
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  return { server, browser };
}

const titleColor = (page: Page) => page.evaluate(() => getComputedStyle(document.querySelector('.site-title')!).color);

/** The element on top at a point, described, with the overlay's text when it is the overlay. */
const topAt = (page: Page, x: number, y: number) =>
  page.evaluate(([px, py]) => {
    const el = document.elementFromPoint(px!, py!);
    return { tag: el?.tagName.toLowerCase(), id: el?.id ?? '', text: el?.id === 'convoy-error-overlay' ? el.textContent : null };
  }, [x, y]);

test('live reload in Chromium: a partial edit restyles without navigating, a template edit reloads, a Sass error shows an overlay with file and line until fixed', { skip: SKIP }, async (t) => {
  const dir = siteCopy();
  const { server, browser } = await debugWithBrowser(t, dir, { injectReloadClient: true });
  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  await page.goto(`http://127.0.0.1:${server.port}/index`, { waitUntil: 'load' });
  // The client is connected once the server has said hello: the overlay logic has run.
  await page.waitForFunction(() => document.documentElement.classList.contains('convoy-live'));
  assert.equal(await titleColor(page), 'rgb(58, 12, 163)');
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  const colors = path.join(dir, 'static/css/partials/_colors.scss');
  fs.writeFileSync(colors, '$brand: #ff0000;\n$accent: #f72585;\n');
  await page.waitForFunction(() => getComputedStyle(document.querySelector('.site-title')!).color === 'rgb(255, 0, 0)', null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'no navigation happened');
  // The old <link> is gone once the new one loaded: one stylesheet for site.scss.
  const siteLinks = await page.evaluate(() => [...document.querySelectorAll('link[rel=stylesheet]')].map((l) => l.getAttribute('href')!).filter((h) => /\/css\/site\./.test(h)));
  assert.equal(siteLinks.length, 1, siteLinks.join());

  // A Sass error: an overlay above everything, naming the file and line, and in the console.
  fs.writeFileSync(colors, '$brand: #ff0000\n$accent: #f72585;\n');
  await page.waitForSelector('#convoy-error-overlay', { timeout: 20_000 });
  const top = await topAt(page, 200, 10);
  assert.equal(top.id, 'convoy-error-overlay');
  assert.match(top.text ?? '', /static\/css\/partials\/_colors\.scss:\d+:\d+: Sass error/);
  assert.ok(consoleErrors.some((e) => /_colors\.scss:\d+/.test(e)), consoleErrors.join('\n'));
  assert.equal(await titleColor(page), 'rgb(255, 0, 0)', 'the last good styles stay while broken');
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42);

  // Fixed: the overlay goes, the new styles come.
  fs.writeFileSync(colors, '$brand: #00ff00;\n$accent: #f72585;\n');
  await page.waitForFunction(() => !document.getElementById('convoy-error-overlay') && getComputedStyle(document.querySelector('.site-title')!).color === 'rgb(0, 255, 0)', null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42);

  // A template edit reloads the page (the marker is gone) and shows the edit.
  const index = path.join(dir, 'templates/pages/index.njk');
  fs.writeFileSync(index, fs.readFileSync(index, 'utf8').replace('<p id="greeting">', '<p id="edited">Edited</p><p id="greeting">'));
  await page.waitForSelector('#edited', { timeout: 20_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), undefined, 'the page reloaded');
  assert.equal(await titleColor(page), 'rgb(0, 255, 0)');
});

test('debug error assets sit above a Bootstrap fixed-top navbar: the stylesheet banner alone, the client overlay as real text, the script overlay', { skip: SKIP }, async (t) => {
  const dir = siteCopy();
  write(path.join(dir, 'static/css/broken.scss'), '.a {\n  color: ;\n}\n');
  write(path.join(dir, 'static/js/broken.coffee'), 'good = 1\nbad = (x ->\n');
  const navbar = (head: string, body = '') =>
    '<!doctype html><html><head><link rel="stylesheet" href="/static/css/bootstrap.css">' + head + '</head>' +
    '<body><nav class="navbar fixed-top bg-dark" id="nav" style="height:120px"><span class="navbar-brand text-white">Brand</span></nav>' +
    '<main style="padding-top:140px">content</main>' + body + '</body></html>';
  write(path.join(dir, 'templates/pages/css-error.njk'), navbar(`<link rel="stylesheet" href="{% scss 'css/broken.scss' %}">`));
  write(path.join(dir, 'templates/pages/css-error-live.njk'), navbar(`<link rel="stylesheet" href="{% scss 'css/broken.scss' %}">{% convoy_reload %}`));
  write(path.join(dir, 'templates/pages/js-error.njk'), navbar('', `<script src="{% coffee 'js/broken.coffee' %}"></script>`));
  const { server, browser } = await debugWithBrowser(t, dir, { watch: false });
  const open = async (name: string) => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.port}/${name}`, { waitUntil: 'load' });
    return { page, errors };
  };

  // Without a client, CSS can only draw body::before: fixed, above the navbar (which would win otherwise).
  const plain = await open('css-error');
  const hit = await topAt(plain.page, 500, 30);
  assert.equal(hit.tag, 'body', JSON.stringify(hit));
  const banner = await plain.page.evaluate(() => {
    const s = getComputedStyle(document.body, '::before');
    return { content: s.content, position: s.position, zIndex: s.zIndex };
  });
  assert.equal(banner.position, 'fixed');
  assert.equal(banner.zIndex, '2147483647');
  assert.match(banner.content, /convoy: static\/css\/broken\.scss:2:\d+: Sass error/);

  // With the client: real text in an element on top, and the console.
  const live = await open('css-error-live');
  await live.page.waitForSelector('#convoy-error-overlay', { timeout: 20_000 });
  const over = await topAt(live.page, 500, 30);
  assert.equal(over.id, 'convoy-error-overlay');
  assert.match(over.text ?? '', /static\/css\/broken\.scss:2:\d+: Sass error/);
  assert.equal(await live.page.evaluate(() => getComputedStyle(document.body, '::before').content), 'none', 'the banner gives way to the overlay');
  assert.ok(live.errors.some((e) => /broken\.scss:2/.test(e)), live.errors.join('\n'));

  // A failed script: overlay on top with the message, and the console.
  const js = await open('js-error');
  await js.page.waitForSelector('#convoy-error-overlay', { timeout: 20_000 });
  const jsHit = await topAt(js.page, 500, 30);
  assert.equal(jsHit.id, 'convoy-error-overlay');
  assert.match(jsHit.text ?? '', /static\/js\/broken\.coffee:\d+:\d+: CoffeeScript error/);
  assert.ok(js.errors.some((e) => /broken\.coffee/.test(e)), js.errors.join('\n'));
});

test('a page first rendered with a broken stylesheet or script shows the error, and the fix brings the page back', { skip: SKIP }, async (t) => {
  const dir = siteCopy();
  const colors = path.join(dir, 'static/css/partials/_colors.scss');
  fs.writeFileSync(colors, '$brand: #ff0000\n$accent: #f72585;\n');
  const app = path.join(dir, 'static/js/app.coffee');
  const goodApp = fs.readFileSync(app, 'utf8');
  const { server, browser } = await debugWithBrowser(t, dir, { injectReloadClient: true });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.port}/index`, { waitUntil: 'load' });
  await page.waitForSelector('#convoy-error-overlay', { timeout: 20_000 });
  assert.match((await topAt(page, 200, 10)).text ?? '', /static\/css\/partials\/_colors\.scss:\d+:\d+: Sass error/);

  fs.writeFileSync(colors, '$brand: #00ff00;\n$accent: #f72585;\n');
  await page.waitForFunction(() => !document.getElementById('convoy-error-overlay') && getComputedStyle(document.querySelector('.site-title')!).color === 'rgb(0, 255, 0)', null, { timeout: 20_000 });

  // A script broken from the start (its error script draws the overlay), then fixed.
  fs.writeFileSync(app, 'bad = (x ->\n');
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('#convoy-error-overlay', { timeout: 20_000 });
  assert.match((await topAt(page, 200, 10)).text ?? '', /static\/js\/app\.coffee:\d+:\d+: CoffeeScript error/);
  fs.writeFileSync(app, goodApp);
  await page.waitForFunction(() => !document.getElementById('convoy-error-overlay') && document.documentElement.dataset.appRan === 'yes', null, { timeout: 20_000 });
});
