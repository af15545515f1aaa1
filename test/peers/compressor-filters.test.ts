/**
 * django-compressor's CSS URL filter tests (compressor/tests/test_filters.py:
 * CssAbsolutizingTestCase, its WithDifferentURL / WithHash variants, CssRelativizingTestCase),
 * ported onto our real pipeline. `{% compress css %}` is `carpool css`: the filter's input is a
 * stylesheet at css/url/test.css (COMPRESS_ROOT is the source root test/peers/compressor/static,
 * whose files are compressor's own, see test/peers/NOTICE), its output the carpool bundle.
 *
 * Deliberate differences, asserted explicitly:
 * - A bundle lives in CARPOOL/css/ (compressor: CACHE/css/) and its url()s are written relative
 *   to it, as CssRelativeFilter does, whatever COMPRESS_URL is: so every variant expects
 *   `../../img/…`, where CssAbsoluteFilter writes `COMPRESS_URL + img/…`. IE's
 *   `filter: …(src=…)` is resolved against the page, so that one becomes absolute (staticUrl).
 * - The cache-busting part is in the name (`python.<md5 of bytes>.png`), not `?<mtime|hash>`;
 *   there is no "no hash" mode (COMPRESS_CSS_HASHING_METHOD=None), names are always fingerprinted.
 * - The bundle is minified (clean-css): expected texts are compared with whitespace squeezed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger, tmpDir } from '../helpers.ts';

const STATIC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'compressor', 'static');
const md5 = (file: string) => createHash('md5').update(fs.readFileSync(path.join(STATIC, file))).digest('hex').slice(0, 12);
const PYTHON = `img/python.${md5('img/python.png')}.png`;
const ADD = `img/add.${md5('img/add.png')}.png`;

// compressor's own template and helper, as in test_filters.py.
const TEMPLATE =
  "p { background: url('%(url)simg/python.png%(query)s%(hash)s%(frag)s') }" +
  "p { filter: Alpha(src='%(url)simg/python.png%(query)s%(hash)s%(frag)s') }";
function fill(template: string, params: Record<string, string>): string {
  return template.replace(/%\((\w+)\)s/g, (_m, k: string) => params[k] ?? '');
}
/** The same CSS as clean-css prints it: no blanks around punctuation, no last `;`. */
const squeeze = (css: string) => css.replace(/\s*([{}:;,])\s*/g, '$1').replace(/;}/g, '}').replace(/url\(\s*([^)]*?)\s*\)/g, 'url($1)');

interface Variant {
  name: string;
  staticUrl: string;
  fragment?: string;
}
const VARIANTS: Variant[] = [
  { name: 'CssAbsolutizingTestCase', staticUrl: '/static/' },
  { name: 'CssAbsolutizingTestCaseWithDifferentURL', staticUrl: 'http://static.example.com/' },
  // compressor's content hashing is the only kind we have (see above).
  { name: 'CssAbsolutizingTestCaseWithHash', staticUrl: '/static/' },
  { name: 'CssRelativizingTestCase', staticUrl: '/static/' },
];

/** A project with compressor's static files and `files` added; renders a carpool of `paths`. */
function compress(files: Record<string, string>, paths: string[], options: ConvoyOptions = {}) {
  const dir = tmpDir('convoy-compressor-');
  fs.cpSync(STATIC, path.join(dir, 'static'), { recursive: true });
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'static', rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'static', rel), body);
  }
  const logger = memoryLogger();
  const env = new nunjucks.Environment();
  install(env, { root: dir, sources: ['static'], staticRoot: 'out', logger, ...options });
  const html = env.renderString(`{% carpool css %}\n${paths.join('\n')}\n{% endcarpool %}`, {});
  const url = /href="([^"]*CARPOOL[^"]*\.cmin\.css)"/.exec(html);
  assert.ok(url, html);
  const rel = url[1]!.slice(url[1]!.indexOf('CARPOOL/'));
  return { css: fs.readFileSync(path.join(dir, 'out', rel), 'utf8'), logger, dir };
}

/** The bundle of a css/url/test.css holding `content`. */
function filterInput(content: string, staticUrl: string, options: ConvoyOptions = {}) {
  return compress({ 'css/url/test.css': content }, ['css/url/test.css'], { staticUrl, ...options });
}

/** What the template becomes: relative url() to the fingerprinted file, absolute filter src. */
function expected(staticUrl: string, query = '', frag = '', depth = '../../'): string {
  return squeeze(
    `p { background: url('${depth}${PYTHON}${query}${frag}') }` + `p { filter: Alpha(src='${staticUrl}${PYTHON}${query}${frag}') }`,
  );
}

for (const v of VARIANTS) {
  test(`${v.name}.test_css_no_hash`, () => {
    // No hash-less mode: the name is always fingerprinted.
    assert.equal(filterInput(fill(TEMPLATE, { url: '../../' }), v.staticUrl).css, expected(v.staticUrl));
  });

  test(`${v.name}.test_css_absolute_filter`, () => {
    assert.equal(filterInput(fill(TEMPLATE, { url: '../../' }), v.staticUrl).css, expected(v.staticUrl));
  });

  test(`${v.name}.test_css_absolute_filter_url_fragment`, () => {
    assert.equal(filterInput(fill(TEMPLATE, { url: '../../', frag: '#foo' }), v.staticUrl).css, expected(v.staticUrl, '', '#foo'));
  });

  test(`${v.name}.test_css_absolute_filter_only_url_fragment`, () => {
    const content = "p { background: url('#foo') }";
    assert.equal(filterInput(content, v.staticUrl).css, squeeze(content));
  });

  test(`${v.name}.test_css_absolute_filter_only_url_fragment_wrap_double_quotes`, () => {
    const content = 'p { background: url("#foo") }';
    assert.equal(filterInput(content, v.staticUrl).css, squeeze(content));
  });

  test(`${v.name}.test_css_absolute_filter_querystring`, () => {
    // compressor appends its hash to the query (`?foo&<hash>`); the hash is in our name.
    assert.equal(filterInput(fill(TEMPLATE, { url: '../../', query: '?foo' }), v.staticUrl).css, expected(v.staticUrl, '?foo'));
  });

  test(`${v.name}.test_css_absolute_filter_https`, () => {
    const url = 'https://static.example.com/';
    assert.equal(filterInput(fill(TEMPLATE, { url: '../../' }), url, { staticUrl: url }).css, expected(url));
  });

  test(`${v.name}.test_css_absolute_filter_relative_path`, () => {
    // compressor is handed `…/whatever/../static/whatever/../css/url/test.css` and normalizes it.
    // Asset paths with `..` are refused here on purpose (no path may step out of a source root,
    // DESIGN §4), with a warning naming it; the normalized path gives the expected bundle.
    const refused = compress({ 'css/url/test.css': fill(TEMPLATE, { url: '../../' }) }, ['css/url/test.css'], { staticUrl: v.staticUrl });
    assert.equal(refused.css, expected(v.staticUrl));
    const env = new nunjucks.Environment();
    install(env, { root: refused.dir, sources: ['static'], staticRoot: 'out', staticUrl: v.staticUrl, logger: refused.logger });
    env.renderString('{% carpool css %}\nwhatever/../css/url/test.css\n{% endcarpool %}', {});
    assert.ok(refused.logger.warnings.some((w) => /"whatever\/\.\.\/css\/url\/test\.css" leaves the source roots/.test(w)), refused.logger.warnings.join('\n'));
  });

  test(`${v.name}.test_css_absolute_filter_filename_outside_compress_root`, () => {
    // bar/baz/test.css names ../qux/img/python.png, which does not exist: compressor makes it
    // COMPRESS_URL + bar/qux/img/python.png; the bundle keeps it naming that same URL (relative
    // to CARPOOL/css/), and warns naming the file and line.
    const out = compress({ 'bar/baz/test.css': fill(TEMPLATE, { url: '../qux/' }) }, ['bar/baz/test.css'], { staticUrl: v.staticUrl });
    assert.equal(out.css, squeeze("p { background: url('../../bar/qux/img/python.png') }p { filter: Alpha(src='../qux/img/python.png') }"));
    assert.ok(out.logger.warnings.some((w) => /bar\/baz\/test\.css:1: url\(\.\.\/qux\/img\/python\.png\) names bar\/qux\/img\/python\.png/.test(w)), out.logger.warnings.join('\n'));
  });

  test(`${v.name}.test_css_hunks`, () => {
    // compressor's hunks are the two files filtered; here the bundle of the same two <link>s.
    // clean-css drops `filter: progid:…` (IE-only; no supported browser applies it).
    const css = compress({}, ['<link rel="stylesheet" href="/static/css/url/url1.css" type="text/css">', '<link rel="stylesheet" href="/static/css/url/2/url2.css" type="text/css">'], { staticUrl: '/static/' }).css;
    const hunk = (img: string) =>
      squeeze(`p { background: url('../../${img}'); }\np { background: url(../../${img}); }\np { background: url(../../${img}); }\np { background: url('../../${img}'); }\n`);
    assert.equal(css, hunk(PYTHON) + hunk(ADD));
  });

  test(`${v.name}.test_guess_filename`, () => {
    // compressor's guess_filename(url) is our sourceOfUrl: the URL under staticUrl → its source.
    const dir = tmpDir('convoy-compressor-');
    fs.cpSync(STATIC, path.join(dir, 'static'), { recursive: true });
    const env = new nunjucks.Environment();
    const convoy = install(env, { root: dir, sources: ['static'], staticRoot: 'out', staticUrl: v.staticUrl, logger: memoryLogger() });
    const url = `${v.staticUrl.replace(/\/$/, '')}/img/python.png`;
    const rel = convoy.pipeline.sourceOfUrl(url)!;
    assert.equal(rel, 'img/python.png');
    assert.equal(convoy.pipeline.finder.find(rel).abs, path.join(dir, 'static', 'img/python.png'));
  });

  test(`${v.name}.test_filenames_with_space`, () => {
    const template = "p { background: url('%(url)simg/add with spaces.png%(query)s%(hash)s%(frag)s') }";
    const out = filterInput(fill(template, { url: '../../' }), v.staticUrl);
    // The space is percent-encoded in the rewritten URL (valid quoted or not).
    assert.equal(out.css, squeeze(`p { background: url('../../img/add%20with%20spaces.${md5('img/add with spaces.png')}.png') }`));
  });

  test(`${v.name}.test_does_not_change_nested_urls`, () => {
    const css = `body { background-image: url("data:image/svg+xml;utf8,<svg><rect fill='url(%23gradient)'/></svg>");}`;
    assert.equal(filterInput(css, v.staticUrl).css, squeeze(css));
  });

  test(`${v.name}.test_does_not_change_quotes_in_src`, () => {
    // "/img/add.png" is a root path outside staticUrl: not ours to rewrite (compressor appends its
    // hash); the point of the case holds: the double quotes stay.
    const css = 'p { filter: Alpha(src="/img/add.png%(hash)s") }';
    const out = filterInput(fill(css, {}), v.staticUrl).css;
    if (new URL(v.staticUrl, 'http://page.example/').pathname === '/') {
      // staticUrl's path is `/`: `/img/add.png` is under it, so (like compressor) it gets the hashed name.
      assert.equal(out, squeeze(`p { filter: Alpha(src="${v.staticUrl}${ADD}") }`));
    } else {
      assert.equal(out, squeeze(fill(css, {})));
    }
  });
}

test('CssRelativizingTestCase.test_nested_cache_dir', () => {
  // COMPRESS_OUTPUT_DIR="CACHE/in/depth" ↔ carpoolPathFragment "CARPOOL/in/depth": one level more.
  const out = filterInput(fill(TEMPLATE, { url: '../../' }), '/static/', { carpoolPathFragment: 'CARPOOL/in/depth' });
  assert.equal(out.css, expected('/static/', '', '', '../../../../'));
});
