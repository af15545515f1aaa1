import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { fixtureProject, listFiles, memoryLogger, write } from '../helpers.ts';

function envFor(dir: string, extra: ConvoyOptions = {}) {
  const logger = memoryLogger();
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  const convoy = install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: ['templates'], logger, ...extra });
  return { env, convoy, logger, out: path.join(dir, 'out') };
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

test('distinct missing paths: remembered warnings and failures stay within maxWarnings, and the heap stays flat', () => {
  const dir = fixtureProject();
  write(path.join(dir, 'templates/p.njk'), '<link href="{% convoy page.css %}">{% carpool js %}{{ page.js }}\n{% endcarpool %}');
  // A logger that keeps only counts, so the heap measures the library, not the test's log.
  let logged = 0;
  let limitNotices = 0;
  const logger = { warn: (m: string) => ((logged++), /maxWarnings/.test(m) && limitNotices++), error: () => {}, info: () => {} };
  const { env, convoy } = envFor(dir, { maxWarnings: 50, logger });
  const render = (i: number) => env.render('p.njk', { page: { css: `css/missing-${i}.css`, js: `js/missing-${i}.js` } });
  assert.match(render(0), /href="\/static\/css\/missing-0\.css"/);
  for (let i = 1; i < 2000; i++) render(i);
  const settled = heap();
  for (let i = 2000; i < 12000; i++) render(i);
  const grown = heap() - settled;
  const kept = convoy.pipeline.retained();
  assert.ok(kept.warnings <= 50, `warnings kept: ${kept.warnings}`);
  assert.ok(kept.failures <= 50, `failures kept: ${kept.failures}`);
  // 10 000 renders with two distinct failures each: unbounded sets would keep ~20 000 messages (several MB).
  assert.ok(grown < 3 * 1024 * 1024, `heap grew ${grown} bytes`);
  assert.equal(limitNotices, 1, 'one notice that the limit was reached');
  assert.ok(logged >= 24000, 'every distinct failure is still logged');
});

test('maxRequestBundles: past the limit new carpools print their individual tags, with one warning', () => {
  const dir = fixtureProject();
  write(path.join(dir, 'templates/p.njk'), '{% carpool js %}{% for f in files %}{{ f }}\n{% endfor %}{% endcarpool %}');
  const { env, convoy, logger, out } = envFor(dir, { maxRequestBundles: 2 });
  const orders = [['js/one.js', 'js/two.js'], ['js/two.js', 'js/one.js'], ['js/one.js', 'js/three.js'], ['js/three.js', 'js/one.js'], ['js/two.js', 'js/three.js']];
  const pages = orders.map((files) => env.render('p.njk', { files }));
  assert.equal(pages.filter((p) => /CARPOOL\/js\//.test(p)).length, 2);
  for (const p of pages.slice(2)) assert.match(p, /src="\/static\/js\/(one|two|three)\.[0-9a-f]{12}\.cmin\.js"[\s\S]*src="\/static\/js\//);
  assert.equal(listFiles(out).filter((f) => /^CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js$/.test(f)).length, 2);
  assert.equal(logger.warnings.filter((w) => /maxRequestBundles/.test(w)).length, 1);
  assert.match(logger.warnings.find((w) => /maxRequestBundles/.test(w))!, /^p\.njk:1: /);
  // A bundle already built is still printed.
  assert.match(env.render('p.njk', { files: orders[0] }), /CARPOOL\/js\//);
  assert.equal(convoy.requestBundles, 2);
});

test('a failing bundle is built once per change of its inputs, not per request (and its error located once)', () => {
  const dir = fixtureProject();
  write(path.join(dir, 'templates/p.njk'), '{% carpool js %}{{ a }}\n{{ b }}\n{% endcarpool %}<link href="{% convoy c %}">');
  const { env, convoy, logger } = envFor(dir);
  const stats = convoy.pipeline.stats;
  const ctx = { a: 'js/one.js', b: 'bad/broken.js', c: 'bad/broken.css' };
  const first = env.render('p.njk', ctx);
  assert.match(first, /src="\/static\/bad\/broken\.js"/, 'fallback: individual tags');
  const after = { ...stats };
  assert.ok(after.minifies >= 2);
  for (let i = 0; i < 100; i++) assert.equal(env.render('p.njk', ctx), first);
  assert.deepEqual(stats, after, 'no build attempt after the first failure');
  assert.ok(logger.warnings.some((w) => /bad\/broken\.js:2/.test(w)), `the error names the file and line: ${logger.warnings.join('\n')}`);
  // Fixing the input builds again, once.
  fs.writeFileSync(path.join(dir, 'static/bad/broken.js'), 'var fine = 1;\nvar repaired = 2;\n');
  const fixed = env.render('p.njk', ctx);
  assert.match(fixed, /CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js/);
  assert.ok(stats.bundles > after.bundles);
});
