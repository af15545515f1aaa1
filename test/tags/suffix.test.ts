import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { fixtureProject, memoryLogger } from '../helpers.ts';

const TEMPLATE = "{% convoy 'fonts/f.woff2?v=4#iefix' %}|{% convoy 'img/dot.png?#iefix' %}|{% convoy 'css/a.css#top' %}|{% convoy path %}|{% convoy 'fonts/' %}|{% convoy 'img/' as dir %}{{ dir }}";

function env(dir: string, options: ConvoyOptions = {}) {
  const logger = memoryLogger();
  fs.mkdirSync(path.join(dir, 'templates'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'templates/page.njk'), TEMPLATE);
  const e = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  install(e, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger, ...options });
  return { html: e.render('page.njk', { path: 'js/one.js?x=1&y=2' }), logger };
}

const EXPECTED = /^\/static\/fonts\/f\.([0-9a-f]{12})\.woff2\?v=4#iefix\|\/static\/img\/dot\.[0-9a-f]{12}\.png\?#iefix\|\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css#top\|\/static\/js\/one\.[0-9a-f]{12}\.cmin\.js\?x=1&y=2\|\/static\/fonts\/\|\/static\/img\/$/;

test("a query or fragment stays on the fingerprinted name (Django's {% static %}); a folder keeps its trailing slash", () => {
  const dir = fixtureProject();
  const { html, logger } = env(dir);
  assert.match(html, EXPECTED);
  assert.deepEqual(logger.warnings, []);
  const hash = EXPECTED.exec(html)![1];
  assert.deepEqual(fs.readFileSync(path.join(dir, `out/fonts/f.${hash}.woff2`)), fs.readFileSync(path.join(dir, 'static/fonts/f.woff2')));
});

test('the same in debug (the source URL keeps its suffix) and when the tags are resolved at compile time from a built manifest', async () => {
  const dir = fixtureProject();
  const debug = env(dir, { debug: true });
  assert.equal(debug.html, '/static/fonts/f.woff2?v=4#iefix|/static/img/dot.png?#iefix|/static/css/a.css#top|/static/js/one.js?x=1&y=2|/static/fonts/|/static/img/');
  assert.deepEqual(debug.logger.warnings, []);
  await build({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger: memoryLogger() });
  const production = env(dir);
  assert.match(production.html, EXPECTED);
  assert.deepEqual(production.logger.warnings, []);
});
