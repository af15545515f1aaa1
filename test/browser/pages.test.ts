import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Page } from 'playwright-core';
import { convoyExpress } from '../../src/adapters/express.ts';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger, siteCopy } from '../helpers.ts';
import { listen } from '../adapters/http.ts';
import { CHROMIUM, launch, prodAndDebug } from './chromium.ts';

const SKIP = CHROMIUM ? false : 'Debian chromium is not installed (.ci/run installs it)';

async function app(dir: string, options: ConvoyOptions) {
  const a = express();
  convoyExpress(a, { root: dir, sources: ['static', 'vendor'], templates: ['templates'], logger: memoryLogger(), ...options });
  a.get('/favicon.ico', (_req, res) => res.status(204).end());
  a.get('/:page', (req, res) => res.render(`pages/${req.params.page}.njk`, { siteName: 'Browser' }));
  return listen(a);
}

const SELECTORS = ['body', '.site-header', '#logo', '.site-title', '.hero', '.badge-new', '#count-btn', 'main.content'];
const PROPS = ['color', 'background-color', 'font-size', 'font-weight', 'font-family', 'padding-top', 'padding-left', 'margin-top', 'display', 'border-top-color', 'border-left-width', 'letter-spacing', 'max-width', 'box-sizing', 'background-repeat', 'background-size', 'width', 'height'];

/** What the test compares between the two pages: styles, images loaded through CSS, script effects. */
async function observe(page: Page, url: string) {
  const failures: string[] = [];
  page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && failures.push(`${r.url()} ${r.status()}`));
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  await page.goto(url, { waitUntil: 'load' });
  await page.click('#count-btn');
  // Leave the button so no :hover transition is caught half-way.
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  const seen = await page.evaluate(
    async ({ selectors, props }) => {
      const styles: Record<string, Record<string, string>> = {};
      for (const sel of selectors) {
        const el = document.querySelector(sel)!;
        const cs = getComputedStyle(el);
        styles[sel] = Object.fromEntries(props.map((p) => [p, cs.getPropertyValue(p)]));
      }
      styles['.badge-new::after'] = { content: getComputedStyle(document.querySelector('.badge-new')!, '::after').content };
      // Images named by CSS url()s: load each and report its size.
      const images: Record<string, { url: string; width: number }> = {};
      for (const sel of ['#logo', '.site-header']) {
        const m = /url\("?([^")]+)"?\)/.exec(getComputedStyle(document.querySelector(sel)!).backgroundImage);
        if (!m) continue;
        const img = new Image();
        img.src = m[1]!;
        await img.decode().catch(() => undefined);
        images[sel] = { url: m[1]!, width: img.naturalWidth };
      }
      const w = window as unknown as { Site?: { greet?: unknown }; bootstrap?: { Modal?: unknown } };
      return {
        styles,
        images,
        script: {
          mainRan: document.documentElement.dataset.mainRan,
          appRan: document.documentElement.dataset.appRan,
          greeting: document.getElementById('greeting')!.textContent,
          counter: document.getElementById('count-out')!.textContent,
          bootstrap: typeof w.bootstrap?.Modal,
          greet: typeof w.Site?.greet,
        },
        stylesheets: [...document.querySelectorAll('link[rel=stylesheet]')].map((l) => (l as HTMLLinkElement).href),
        scripts: [...document.querySelectorAll('script[src]')].map((s) => (s as HTMLScriptElement).src),
      };
    },
    { selectors: SELECTORS, props: PROPS },
  );
  return { ...seen, failures };
}

test('the bundled page looks and behaves exactly like the debug page (individual files)', { skip: SKIP }, async (t) => {
  const dir = siteCopy();
  const report = await build({ root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], logger: memoryLogger() }, { parseTemplates: true, jobs: 1 });
  assert.deepEqual(report.errors, []);
  const { prod, debug, browser } = await prodAndDebug(t, (options) => app(dir, options));
  const bundled = await observe(await browser.newPage({ reducedMotion: 'reduce' }), `http://127.0.0.1:${prod.port}/index`);
  const individual = await observe(await browser.newPage({ reducedMotion: 'reduce' }), `http://127.0.0.1:${debug.port}/index`);

  assert.deepEqual(bundled.failures, []);
  assert.deepEqual(individual.failures, []);
  // The production page really is bundled; the debug page really is not.
  assert.ok(bundled.stylesheets.some((h) => /\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css$/.test(h)), bundled.stylesheets.join());
  assert.ok(bundled.scripts.every((s) => /\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js$/.test(s)), bundled.scripts.join());
  assert.ok(individual.stylesheets.some((h) => h.endsWith('/static/css/bootstrap.css')));
  assert.ok(individual.scripts.some((s) => s.endsWith('/static/js/util.js')));

  assert.deepEqual(bundled.styles, individual.styles);
  assert.equal(bundled.styles['.site-title']!.color, 'rgb(58, 12, 163)');
  assert.equal(bundled.styles['.badge-new::after']!.content, '"★ new"');
  assert.equal(bundled.styles['#count-btn']!['background-color'], 'rgb(58, 12, 163)');
  // The same images, loaded through rewritten (fingerprinted) url()s in the bundle.
  assert.match(bundled.images['#logo']!.url, /\/static\/img\/logo\.[0-9a-f]{12}\.svg$/);
  assert.match(individual.images['#logo']!.url, /\/static\/img\/logo\.svg$/);
  assert.equal(bundled.images['#logo']!.width, 48);
  assert.equal(individual.images['#logo']!.width, 48);
  assert.equal(bundled.images['.site-header']!.width, individual.images['.site-header']!.width);
  assert.deepEqual(bundled.script, individual.script);
  assert.deepEqual(bundled.script, { mainRan: 'yes', appRan: 'yes', greeting: 'Hello, convoy!', counter: 'clicked 1×', bootstrap: 'function', greet: 'function' });
});

test('with integrity on, the browser loads the bundles; one changed byte makes it refuse them', { skip: SKIP }, async (t) => {
  const dir = siteCopy();
  const options = { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], integrity: true, logger: memoryLogger() };
  const report = await build(options, { parseTemplates: true, jobs: 1 });
  assert.deepEqual(report.errors, []);
  const server = await app(dir, { staticRoot: 'public/static', integrity: true, carpoolCombineDuringRequest: false });
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  let page = await browser.newPage({ reducedMotion: 'reduce' });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`http://127.0.0.1:${server.port}/index`, { waitUntil: 'load' });
  const tags = await page.evaluate(() => [...document.querySelectorAll('link[rel=stylesheet], script[src]')].map((e) => [e.getAttribute('href') ?? e.getAttribute('src'), e.getAttribute('integrity')]));
  const carpools = tags.filter(([url]) => /\/CARPOOL\//.test(url ?? ''));
  assert.ok(carpools.length >= 3 && carpools.every(([, sri]) => /^sha384-/.test(sri ?? '')), JSON.stringify(tags));
  const state = () =>
    page.evaluate(() => ({
      mainRan: document.documentElement.dataset.mainRan ?? null,
      titleColor: getComputedStyle(document.querySelector('.site-title')!).color,
      headerDisplay: getComputedStyle(document.querySelector('.site-header')!).display,
    }));
  assert.deepEqual(await state(), { mainRan: 'yes', titleColor: 'rgb(58, 12, 163)', headerDisplay: 'flex' });
  assert.equal(errors.length, 0, errors.join('\n'));

  // Change one byte of each served bundle (twins removed so these very bytes are served).
  const out = path.join(dir, 'public/static');
  for (const [url] of tags) {
    if (!url || !/CARPOOL\//.test(url)) continue;
    const file = path.join(out, url.replace('/static/', ''));
    const bytes = fs.readFileSync(file);
    const i = bytes.indexOf(url.endsWith('.js') ? 'data-main-ran' : 'site-header');
    if (i < 0) continue;
    bytes[i + 5] = bytes[i + 5] === 0x58 ? 0x59 : 0x58;
    fs.writeFileSync(file, bytes);
    fs.rmSync(`${file}.gz`, { force: true });
    fs.rmSync(`${file}.br`, { force: true });
  }
  // A new context: the first one rightly keeps the immutable files cached.
  page = await browser.newPage({ reducedMotion: 'reduce' });
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`http://127.0.0.1:${server.port}/index`, { waitUntil: 'load' });
  const after = await state();
  assert.equal(after.mainRan, null, 'the changed script was refused');
  assert.notEqual(after.headerDisplay, 'flex', 'the changed stylesheet was refused');
  assert.ok(errors.some((e) => /integrity/i.test(e)), errors.join('\n'));
});
