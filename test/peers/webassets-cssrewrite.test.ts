/**
 * webassets' `cssrewrite` filter tests (tests/test_filters.py, class TestCssRewrite), ported onto
 * our real pipeline: `Bundle('in.css', filters='cssrewrite', output=…)` is a `carpool css` of
 * in.css, the inputs are the tests' own CSS texts (see test/peers/NOTICE).
 *
 * Deliberate differences, asserted explicitly:
 * - Bundles live in `<carpoolPathFragment>/css/`, not at a chosen output path; url()s are
 *   rewritten relative to it. With `carpoolPathFragment: 'g'` the bundle is in g/css/, one level
 *   deeper than webassets' g/out.css.
 * - A target that exists gets its fingerprinted name; one that does not (these tests never
 *   create icon.png) keeps naming the same URL from the bundle's folder, with a warning.
 * - There is no `replace=` option (URL rewriting rules): a folder that moves is mounted with a
 *   source root's `prefix` instead. The replace cases assert what the bundle holds without it.
 * - The bundle is minified by clean-css.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger, tmpDir } from '../helpers.ts';

/** TempEnvironmentHelper: files in a temporary folder (the source root), a bundle of `in.css`. */
function mkbundle(files: Record<string, string>, options: ConvoyOptions = {}, sources: ConvoyOptions['sources'] = ['.']) {
  const dir = tmpDir('convoy-webassets-');
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
  }
  const logger = memoryLogger();
  const env = new nunjucks.Environment();
  install(env, { root: dir, sources, staticRoot: 'public', logger, ...options });
  const html = env.renderString('{% carpool css %}\nin.css\n{% endcarpool %}', {});
  const href = /href="([^"]*)"/.exec(html)![1]!;
  const fragment = options.carpoolPathFragment ?? 'CARPOOL';
  return { get: () => fs.readFileSync(path.join(dir, 'public', href.slice(href.indexOf(`${fragment}/css/`))), 'utf8'), href, logger };
}

test('TestCssRewrite.test', () => {
  const b = mkbundle({ 'in.css': 'h1 { background: url(sub/icon.png) }' }, { carpoolPathFragment: 'g' });
  assert.match(b.href, /\/g\/css\/[0-9a-f]{12}\.cmin\.css$/);
  // webassets: url(../sub/icon.png) from g/out.css; from g/css/ it is one more level up.
  assert.equal(b.get(), 'h1{background:url(../../sub/icon.png)}');
  assert.ok(b.logger.warnings.some((w) => /in\.css:1: url\(sub\/icon\.png\) names sub\/icon\.png/.test(w)));
  // When the image exists, the bundle names its fingerprinted copy.
  const real = mkbundle({ 'in.css': 'h1 { background: url(sub/icon.png) }', 'sub/icon.png': 'foo' }, { carpoolPathFragment: 'g' });
  assert.equal(real.get(), 'h1{background:url(../../sub/icon.acbd18db4cc2.png)}');
  assert.deepEqual(real.logger.warnings, []);
});

test('TestCssRewrite.test_change_folder', () => {
  // webassets' replace={'old': '/new/'} gives url(/new/sub/icon.png); no replace rules here.
  const b = mkbundle({ 'in.css': 'h1 { background: url(old/sub/icon.png) }' });
  assert.equal(b.get(), 'h1{background:url(../../old/sub/icon.png)}');
});

test('TestCssRewrite.test_hostnames', () => {
  // webassets serves the load path g/ at http://input.com/ and outputs at http://output.com/;
  // every source root here is served under the one staticUrl (a CDN origin is fine), and the
  // bundle's references are relative, so no host is baked into it.
  const b = mkbundle({ 'g/in.css': 'h1 { background: url(sub/icon.png) }', 'g/sub/icon.png': 'foo' }, { staticUrl: 'http://output.com/' }, ['g']);
  assert.match(b.href, /^http:\/\/output\.com\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css$/);
  assert.equal(b.get(), 'h1{background:url(../../sub/icon.acbd18db4cc2.png)}');
});

test('TestCssRewrite.test_replace_with_cache', () => {
  // With a cache (here: the manifest, second render), the same output; no replace rules (above).
  const files = { 'in.css': 'h1 { background: url(old/sub/icon.png) }' };
  const b = mkbundle(files);
  const first = b.get();
  assert.equal(first, 'h1{background:url(../../old/sub/icon.png)}');
  assert.equal(b.get(), first);
});

test('TestCssRewrite.test_replacement_lambda', () => {
  // webassets' replace=lambda url: re.sub(r'^/?old/', '/new/', url); no replace rules (above).
  const b = mkbundle({ 'in.css': 'h1 { background: url(old/sub/icon.png) }' });
  assert.equal(b.get(), 'h1{background:url(../../old/sub/icon.png)}');
});

test('TestCssRewrite.test_not_touching_data_uri', () => {
  // env.url has a directory part: staticUrl /sub/dir/.
  const b = mkbundle({ 'in.css': 'h1 {\n            background-image: url(data:image/png;base64,iVBORw0KGgoA);\n        }' }, { staticUrl: '/sub/dir/' });
  assert.equal(b.get(), 'h1{background-image:url(data:image/png;base64,iVBORw0KGgoA)}');
  assert.deepEqual(b.logger.warnings, []);
});
