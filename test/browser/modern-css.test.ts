import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Page } from 'playwright-core';
import { convoyExpress } from '../../src/adapters/express.ts';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger, tmpDir } from '../helpers.ts';
import { listen } from '../adapters/http.ts';
import { CHROMIUM, prodAndDebug } from './chromium.ts';

const SKIP = CHROMIUM ? false : 'Debian chromium is not installed (.ci/run installs it)';

/** A corpus of modern CSS people ship: nesting, @starting-style, @layer, @container, :has(), color-mix(), and the inputs of #11. */
const CSS: Record<string, string | Buffer> = {
  // A main.css made only of imports, the last without a newline; one import in a layer, one under supports().
  'css/main.css': '@import url("base.css");\n@import url("components.css");\n@import url("theme.css") layer(theme);\n@import url("grid.css") supports(display: grid) screen',
  'css/base.css': ':root { --accent: rgb(58, 12, 163); }\nbody { margin: 0; font-family: sans-serif; }\n.empty { background: url(); color: rgb(10, 20, 30); }\n.logo { width: 48px; height: 48px; background: url(../img/logo.svg) no-repeat; background-size: contain; }\n',
  'css/components.css': [
    '.card { padding: 4px; color: rgb(17, 17, 17);',
    '  & .title { font-weight: 700; color: var(--accent); }',
    '  .dark & { background-color: rgb(0, 0, 0); }',
    '  > .body { margin-top: 3px; }',
    '  @media (min-width: 10px) { border-left: 5px solid rgb(1, 2, 3); }',
    '}',
    '.form:has(input:invalid) { border: 2px solid rgb(200, 0, 0); }',
    '.mix { color: color-mix(in srgb, red 40%, blue); }',
    '.pop { opacity: 1; transition: opacity .2s; @starting-style { opacity: 0; } }',
    '@starting-style { .toast { opacity: 0; } }',
    '.toast { opacity: .9; }',
    '',
  ].join('\n'),
  // Layered: the theme layer loses to unlayered rules, the later layer wins over the earlier.
  'css/theme.css': '@layer reset, base;\n@layer base { .layered { color: rgb(0, 128, 0); } }\n@layer reset { .layered { color: rgb(255, 0, 0); } }\n.unlayered-loses { color: rgb(255, 0, 255); }\n',
  'css/grid.css': '.gridded { display: grid; gap: 7px; }\n',
  'css/after.css': '.unlayered-loses { color: rgb(0, 0, 255); }\n.wrap { container-type: inline-size; width: 500px; }\n@container (min-width: 400px) { .wrap .item { display: flex; color: rgb(1, 2, 3); } }\n@container (max-width: 300px) { .wrap .item { color: rgb(9, 9, 9); } }\n',
  // latin-1 bytes, declared by @charset.
  'css/latin.css': Buffer.from('@charset "iso-8859-1";\n.latin::after { content: "caf\u00e9 \u00a7"; }\n', 'latin1'),
  'img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="#3a0ca3"/></svg>',
};

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8">
{% carpool css %}
<link rel="stylesheet" href="/static/css/main.css">
<link rel="stylesheet" href="/static/css/after.css">
<link rel="stylesheet" href="/static/css/latin.css">
{% endcarpool %}
</head><body>
<div class="logo" id="logo"></div>
<p class="empty" id="empty">x</p>
<div class="dark"><div class="card" id="card"><h2 class="title" id="title">T</h2><div class="body" id="cbody">b</div></div></div>
<form class="form" id="form"><input required value=""></form>
<p class="mix" id="mix">m</p>
<p class="pop" id="pop">p</p><p class="toast" id="toast">t</p>
<p class="layered" id="layered">l</p><p class="unlayered-loses" id="unlayered">u</p>
<div class="gridded" id="gridded"></div>
<div class="wrap"><div class="item" id="item">i</div></div>
<p class="latin" id="latin"></p>
</body></html>`;

const IDS = ['logo', 'empty', 'card', 'title', 'cbody', 'form', 'mix', 'pop', 'toast', 'layered', 'unlayered', 'gridded', 'item', 'latin'];
const PROPS = ['color', 'background-color', 'background-image', 'font-weight', 'padding-top', 'margin-top', 'display', 'gap', 'border-top-color', 'border-top-width', 'border-left-width', 'border-left-color', 'opacity', 'width'];

async function observe(page: Page, url: string) {
  const failures: string[] = [];
  page.on('response', (r) => r.status() >= 400 && failures.push(`${r.url()} ${r.status()}`));
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(300);
  const seen = await page.evaluate(
    async ({ ids, props }) => {
      const styles: Record<string, Record<string, string>> = {};
      for (const id of ids) {
        const cs = getComputedStyle(document.getElementById(id)!);
        // Image URLs differ (fingerprinted names): compare whether there is one.
        styles[id] = Object.fromEntries(props.map((p) => [p, p === 'background-image' ? (cs.getPropertyValue(p) === 'none' ? 'none' : 'url') : cs.getPropertyValue(p)]));
      }
      styles['latin::after'] = { content: getComputedStyle(document.getElementById('latin')!, '::after').content };
      const m = /url\("?([^")]+)"?\)/.exec(getComputedStyle(document.getElementById('logo')!).backgroundImage);
      const img = new Image();
      img.src = m ? m[1]! : '';
      await img.decode().catch(() => undefined);
      // @starting-style rules reach the CSSOM (a minifier that dropped them would change first paint).
      // (No named helper functions in here: tsx's __name wrapper does not exist in the page.)
      let startingStyleRules = 0;
      const stack: CSSRule[] = [...document.styleSheets].flatMap((sheet) => [...sheet.cssRules]);
      while (stack.length) {
        const rule = stack.pop()!;
        if (rule.constructor.name === 'CSSStartingStyleRule') startingStyleRules++;
        if ('cssRules' in rule) stack.push(...(rule as CSSGroupingRule).cssRules);
        const imported = (rule as CSSImportRule).styleSheet;
        if (rule.constructor.name === 'CSSImportRule' && imported) stack.push(...imported.cssRules);
      }
      return {
        styles,
        logoWidth: img.naturalWidth,
        startingStyleRules,
        stylesheets: [...document.querySelectorAll('link[rel=stylesheet]')].map((l) => (l as HTMLLinkElement).href),
      };
    },
    { ids: IDS, props: PROPS },
  );
  return { ...seen, failures };
}

async function app(dir: string, options: ConvoyOptions) {
  const a = express();
  convoyExpress(a, { root: dir, sources: ['static'], templates: ['templates'], logger: memoryLogger(), ...options });
  a.get('/favicon.ico', (_req, res) => res.status(204).end());
  a.get('/page', (_req, res) => res.render('page.njk'));
  return listen(a);
}

test('a corpus of modern CSS builds, and bundled renders with the same computed styles as the individual files', { skip: SKIP }, async (t) => {
  const dir = tmpDir('convoy-modern-');
  for (const [rel, body] of Object.entries(CSS)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'static', rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'static', rel), body);
  }
  fs.mkdirSync(path.join(dir, 'templates'));
  fs.writeFileSync(path.join(dir, 'templates/page.njk'), PAGE);
  const logger = memoryLogger();
  const report = await build({ root: dir, sources: ['static'], staticRoot: 'public/static', templates: ['templates'], logger }, { parseTemplates: true, jobs: 1 });
  assert.deepEqual(report.errors, []);
  // clean-css 5 cannot read the nesting and @starting-style: one warning per file, nothing refused.
  assert.ok(report.warnings.every((w) => /clean-css 5 cannot read valid CSS here/.test(w)), report.warnings.join('\n'));
  assert.equal(report.bundles.length, 1);

  const { prod, debug, browser } = await prodAndDebug(t, (options) => app(dir, options));
  const bundled = await observe(await browser.newPage({ reducedMotion: 'reduce' }), `http://127.0.0.1:${prod.port}/page`);
  const individual = await observe(await browser.newPage({ reducedMotion: 'reduce' }), `http://127.0.0.1:${debug.port}/page`);
  assert.deepEqual(bundled.failures, []);
  assert.deepEqual(individual.failures, []);
  assert.equal(bundled.stylesheets.length, 1);
  assert.match(bundled.stylesheets[0]!, /\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css$/);
  assert.equal(individual.stylesheets.length, 3);

  assert.deepEqual(bundled.styles, individual.styles);
  // And the styles are the ones the CSS means (so neither page lost a rule the other also lost).
  const s = bundled.styles;
  assert.equal(s.title!.color, 'rgb(58, 12, 163)');
  assert.equal(s.title!['font-weight'], '700');
  assert.equal(s.card!['background-color'], 'rgb(0, 0, 0)');
  assert.equal(s.card!['border-left-width'], '5px');
  assert.equal(s.cbody!['margin-top'], '3px');
  assert.equal(s.form!['border-top-color'], 'rgb(200, 0, 0)');
  assert.equal(s.mix!.color, 'color(srgb 0.4 0 0.6)');
  assert.equal(s.layered!.color, 'rgb(0, 128, 0)');
  assert.equal(s.unlayered!.color, 'rgb(0, 0, 255)');
  assert.equal(s.gridded!.display, 'grid');
  assert.equal(s.gridded!.gap, '7px');
  assert.equal(s.item!.display, 'flex');
  assert.equal(s.item!.color, 'rgb(1, 2, 3)');
  assert.equal(s.empty!.color, 'rgb(10, 20, 30)');
  assert.equal(s['latin::after']!.content, '"caf\u00e9 \u00a7"');
  assert.equal(bundled.logoWidth, 48);
  assert.equal(individual.logoWidth, 48);
  assert.deepEqual([bundled.startingStyleRules, individual.startingStyleRules], [2, 2]);
});
