import { test } from 'node:test';
import assert from 'node:assert/strict';
import nunjucks from 'nunjucks';
import { install } from '../../src/install.ts';
import { memoryLogger } from '../helpers.ts';
import { listen } from '../adapters/http.ts';
import { CHROMIUM, launch } from '../browser/chromium.ts';
import { builtSite, convoy, startS3 } from './s3.ts';

const SKIP = CHROMIUM ? false : 'Debian chromium is not installed (.ci/run installs it)';

test('a page whose staticUrl is the bucket, with gzipInTemplate: Chromium loads the .gz objects and the styles and scripts apply', { skip: SKIP }, async (t) => {
  // Bucket "static", no prefix: the path-style origin is http://127.0.0.1:port/static/, so the
  // site's own `/static/js/…` paths in its carpool bodies still map to their sources.
  const s3 = await startS3(['static']);
  t.after(() => s3.close());
  const dir = await builtSite({ bucket: 'static', endpoint: s3.endpoint });
  const published = await convoy(dir, ['publish', '--quiet']);
  assert.equal(published.status, 0, published.stderr);

  const staticUrl = `${s3.endpoint}/static/`;
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(`${dir}/templates`));
  const logger = memoryLogger();
  install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], staticUrl, gzipInTemplate: true, carpoolCombineDuringRequest: false, logger });
  const app = await listen((req, res) => {
    if (req.url !== '/index') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(env.render('pages/index.njk', { siteName: 'Bucket', req }));
  });
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    await app.close();
  });

  const page = await browser.newPage({ reducedMotion: 'reduce' });
  const failures: string[] = [];
  const encodings: Record<string, string | undefined> = {};
  page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) failures.push(`${r.url()} ${r.status()}`);
    encodings[r.url()] = r.headers()['content-encoding'];
  });
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${app.port}/index`, { waitUntil: 'load' });
  await page.click('#count-btn');
  // Leave the button so no :hover colour (or transition) is read.
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  const seen = await page.evaluate(async () => {
    const logo = /url\("?([^")]+)"?\)/.exec(getComputedStyle(document.querySelector('#logo')!).backgroundImage)?.[1] ?? '';
    const img = new Image();
    img.src = logo;
    await img.decode().catch(() => undefined);
    const w = window as unknown as { bootstrap?: { Modal?: unknown } };
    return {
      urls: [...document.querySelectorAll('link[rel=stylesheet], script[src]')].map((e) => (e as HTMLLinkElement).href || (e as HTMLScriptElement).src),
      titleColor: getComputedStyle(document.querySelector('.site-title')!).color,
      headerDisplay: getComputedStyle(document.querySelector('.site-header')!).display,
      buttonBackground: getComputedStyle(document.querySelector('#count-btn')!).backgroundColor,
      logo,
      logoWidth: img.naturalWidth,
      mainRan: document.documentElement.dataset.mainRan,
      greeting: document.getElementById('greeting')!.textContent,
      counter: document.getElementById('count-out')!.textContent,
      bootstrap: typeof w.bootstrap?.Modal,
    };
  });

  assert.deepEqual(failures, []);
  assert.deepEqual(logger.warnings, []);
  assert.ok(seen.urls.length >= 4 && seen.urls.every((u) => u.startsWith(staticUrl)), seen.urls.join('\n'));
  const gz = seen.urls.filter((u) => u.endsWith('.gz'));
  assert.ok(gz.some((u) => /\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css\.gz$/.test(u)) && gz.some((u) => /\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js\.gz$/.test(u)), seen.urls.join('\n'));
  for (const u of gz) assert.equal(encodings[u], 'gzip', u);
  assert.equal(seen.titleColor, 'rgb(58, 12, 163)');
  assert.equal(seen.headerDisplay, 'flex');
  assert.equal(seen.buttonBackground, 'rgb(58, 12, 163)');
  assert.match(seen.logo, new RegExp(`^${staticUrl}img/logo\\.[0-9a-f]{12}\\.svg$`));
  assert.equal(seen.logoWidth, 48);
  assert.deepEqual({ mainRan: seen.mainRan, greeting: seen.greeting, counter: seen.counter, bootstrap: seen.bootstrap }, { mainRan: 'yes', greeting: 'Hello, convoy!', counter: 'clicked 1×', bootstrap: 'function' });
});

test('with staticUrl on another origin (the bucket), carpool bodies holding tags still print one bundle, gzip or not', async () => {
  const dir = await builtSite({ bucket: 'static' });
  for (const gzip of [false, true]) {
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(`${dir}/templates`));
    const logger = memoryLogger();
    install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], staticUrl: 'https://cdn.example.com/static/', gzipInTemplate: gzip, carpoolCombineDuringRequest: false, logger });
    const html = env.render('pages/index.njk', { siteName: 'CDN', req: { headers: { 'accept-encoding': 'gzip, br' } } });
    const scripts = [...html.matchAll(/<script[^>]* src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(scripts.length, 1, html);
    assert.match(scripts[0]!, new RegExp(`^https://cdn\\.example\\.com/static/CARPOOL/js/[0-9a-f]{12}\\.cmin\\.js${gzip ? '\\.gz' : ''}$`));
    assert.deepEqual(logger.warnings, []);
  }
});
