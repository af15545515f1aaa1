import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import express from 'express';
import type { Browser } from 'playwright-core';
import { convoyExpress } from '../../src/adapters/express.ts';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger, tmpDir, write } from '../helpers.ts';
import { listen } from '../adapters/http.ts';
import { CHROMIUM, prodAndDebug } from './chromium.ts';

const SKIP = CHROMIUM ? false : 'Debian chromium is not installed (.ci/run installs it)';

/** A page whose carpool lists an ES module between two classic scripts, by path. */
function project() {
  const dir = tmpDir('convoy-esm-');
  write(path.join(dir, 'static/js/before.js'), "window.order = ['before'];\n");
  // Its imports (static, side-effect, dynamic) must reach the fingerprinted files in production.
  write(path.join(dir, 'static/js/widget.js'), "import { label } from './lib/label.js';\nimport '../js/lib/side.js';\nexport { label };\nwindow.order.push(label);\ndocument.documentElement.dataset.moduleRan = String(typeof import.meta.url);\nimport('./lib/lazy.js').then((m) => { document.documentElement.dataset.lazy = m.lazy; });\n");
  write(path.join(dir, 'static/js/lib/label.js'), "export const label = 'module';\n");
  write(path.join(dir, 'static/js/lib/side.js'), "document.documentElement.dataset.side = 'yes';\n");
  write(path.join(dir, 'static/js/lib/lazy.js'), "export const lazy = 'loaded';\n");
  write(path.join(dir, 'static/js/after.js'), "window.order.push('after');\n");
  write(path.join(dir, 'static/js/last.js'), "window.order.push('last');\n");
  // CoffeeScript with import/export compiles to a module too.
  write(path.join(dir, 'static/js/badge.coffee'), "import { label } from './lib/label.js'\nexport badge = label + '-badge'\ndocument.documentElement.dataset.badge = badge\n");
  write(path.join(dir, 'templates/page.njk'), '<!doctype html><html><head><title>esm</title></head><body>\n{% carpool js %}\njs/before.js\njs/widget.js\njs/after.js\njs/badge.coffee\njs/last.js\n{% endcarpool %}\n</body></html>\n');
  return dir;
}

async function serve(dir: string, options: ConvoyOptions) {
  const a = express();
  convoyExpress(a, { root: dir, templates: ['templates'], logger: memoryLogger(), ...options });
  a.get('/favicon.ico', (_req, res) => res.status(204).end());
  a.get('/page', (_req, res) => res.render('page.njk', {}));
  return listen(a);
}

async function visit(browser: Browser, url: string) {
  const page = await browser.newPage();
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('response', (r) => r.status() >= 400 && failures.push(`${r.url()} ${r.status()}`));
  const requested: string[] = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => document.documentElement.dataset.lazy !== undefined, undefined, { timeout: 5000 }).catch(() => undefined);
  const seen = await page.evaluate(() => ({
    order: (window as unknown as { order?: string[] }).order ?? null,
    moduleRan: document.documentElement.dataset.moduleRan ?? null,
    imports: [document.documentElement.dataset.side ?? null, document.documentElement.dataset.lazy ?? null, document.documentElement.dataset.badge ?? null],
    scripts: [...document.querySelectorAll('script[src]')].map((s) => `${s.getAttribute('type')} ${s.getAttribute('src')}`),
  }));
  await page.close();
  return { ...seen, failures, requested: requested.filter((p) => p.startsWith('/static/')) };
}

test('an ES module listed in carpool js keeps its own type=module tag (its imports fingerprinted): the classic scripts around it are bundled and the page works', { skip: SKIP }, async (t) => {
  const dir = project();
  const report = await build({ root: dir, staticRoot: 'public/static', templates: ['templates'], logger: memoryLogger() }, { parseTemplates: true, jobs: 1 });
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.warnings, []);
  const { prod, debug, browser } = await prodAndDebug(t, (options) => serve(dir, options));
  const bundled = await visit(browser, `http://127.0.0.1:${prod.port}/page`);
  const individual = await visit(browser, `http://127.0.0.1:${debug.port}/page`);
  for (const seen of [bundled, individual]) {
    assert.deepEqual(seen.failures, []);
    // Classic scripts run in document order; the module runs after parsing, as on its own.
    assert.deepEqual(seen.order, ['before', 'after', 'last', 'module']);
    assert.equal(seen.moduleRan, 'string');
    assert.deepEqual(seen.imports, ['yes', 'loaded', 'module-badge']);
  }
  assert.equal(bundled.scripts.length, 5, bundled.scripts.join('\n'));
  for (const i of [0, 2, 4]) assert.match(bundled.scripts[i]!, /^text\/javascript \/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js$/);
  assert.match(bundled.scripts[1]!, /^module \/static\/js\/widget\.[0-9a-f]{12}\.cmin\.js$/);
  assert.match(bundled.scripts[3]!, /^module \/static\/js\/badge\.[0-9a-f]{12}\.cmin\.js$/);
  // Every file the module pulls in is fingerprinted: a CDN or S3 holding only staticRoot's hashed names serves the page.
  assert.equal(bundled.requested.length, 8, bundled.requested.join('\n'));
  for (const p of bundled.requested) assert.match(p, /[./][0-9a-f]{12}\.(cmin\.)?js$/);
  assert.equal(individual.scripts.length, 5);
  assert.deepEqual(individual.scripts.slice(0, 3), ['text/javascript /static/js/before.js', 'module /static/js/widget.js', 'text/javascript /static/js/after.js']);
  // The debug build of the CoffeeScript module, in its source's folder.
  assert.match(individual.scripts[3]!, /^module \/static\/js\/badge\.[0-9a-f]{12}\.js$/);
  assert.equal(individual.scripts[4], 'text/javascript /static/js/last.js');
});
