/**
 * Django's ManifestStaticFilesStorage tests (tests/staticfiles_tests/test_storage.py, class
 * TestHashedFiles and neighbours), ported case by case onto our real pipeline: `convoy build` is
 * collectstatic, the `convoy` tag is `{% static %}`, and the inputs under test/peers/django/ are
 * Django's own (see test/peers/NOTICE): the cases about CSS/JS content and tag arguments.
 *
 * Deliberate differences, asserted explicitly rather than skipped:
 * - Names: `<stem>.<12 hex of MD5 of the served, minified bytes>.cmin.<ext>` instead of Django's
 *   MD5 of the unminified content (DESIGN §2). Files we do not minify (fonts, images) get the same
 *   hash as Django's. The unminified, rewritten file Django serves is our `plain` copy, so content
 *   checks read that copy and, where the minifier keeps the text, the served file too.
 * - References are rewritten relative to the referring file's folder, also when the source wrote
 *   them root-relative (`/static/x.css` → `x.<hash>.cmin.css`), so outputs do not depend on STATIC_URL.
 * - A source's own sourceMappingURL (file or data: URI) is replaced by a reference to the map we
 *   write for the output (with `sourceMaps: true`), or dropped; never left dangling.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { build } from '../../src/build.ts';
import { install } from '../../src/index.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import type { ManifestData } from '../../src/core/manifest.ts';
import { memoryLogger, tmpDir } from '../helpers.ts';

const PROJECT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'django', 'project');
const H = '[0-9a-f]{12}';

/** collectstatic: a real build of one of Django's static folders into a temporary STATIC_ROOT. */
async function collectstatic(folder: string, extra: ConvoyOptions = {}) {
  const dir = tmpDir('convoy-django-');
  fs.cpSync(path.join(PROJECT, folder), path.join(dir, 'static'), { recursive: true });
  const options: ConvoyOptions = { root: dir, sources: ['static'], staticRoot: 'public', templates: [], ...extra };
  const report = await build({ ...options, logger: memoryLogger() }, { jobs: 1 });
  const env = new nunjucks.Environment();
  install(env, { ...options, logger: memoryLogger() });
  const manifest = () => JSON.parse(fs.readFileSync(path.join(dir, 'public/convoy-manifest.json'), 'utf8')) as ManifestData;
  return {
    dir,
    report,
    /** Django's hashed_file_path: what `{% static %}` prints, less STATIC_URL. */
    hashedFilePath: (rel: string) => env.renderString(`{% convoy '${rel}' %}`, {}).replace(/^\/static\//, ''),
    /** The served (minified) file. */
    open: (rel: string) => fs.readFileSync(path.join(dir, 'public', rel), 'utf8'),
    /** The fingerprinted unminified copy: the file Django's storage serves. */
    openPlain: (source: string) => fs.readFileSync(path.join(dir, 'public', manifest().files[source]!.plain!), 'utf8'),
    manifest,
  };
}

let documents: Awaited<ReturnType<typeof collectstatic>>;
let mapped: Awaited<ReturnType<typeof collectstatic>>;
before(async () => {
  documents = await collectstatic('documents');
  mapped = await collectstatic('documents', { sourceMaps: true });
});

/** The hashed name of a source's served output, as `convoy` prints it (ours: .cmin for CSS/JS). */
function hashedName(stem: string, ext: string, minified = true): RegExp {
  return new RegExp(`${stem.replace(/[.]/g, '\\.')}\\.${H}${minified ? '\\.cmin' : ''}\\.${ext}`);
}

test('test_template_tag_return', () => {
  // assertStaticRaises: Django raises ValueError; a tag here logs the failure (naming the file)
  // and prints the unprocessed URL, so the page keeps working (DESIGN §4; `strict` throws).
  const logger = memoryLogger();
  const env = new nunjucks.Environment();
  install(env, { root: documents.dir, sources: ['static'], staticRoot: 'public', templates: [], logger });
  assert.equal(env.renderString("{% convoy 'does/not/exist.png' %}", {}), '/static/does/not/exist.png');
  assert.ok(logger.warnings.some((w) => /does\/not\/exist\.png: not found/.test(w)), logger.warnings.join('\n'));
  const strict = new nunjucks.Environment();
  install(strict, { root: documents.dir, sources: ['static'], staticRoot: 'public', templates: [], strict: true, logger: memoryLogger() });
  assert.throws(() => strict.renderString("{% convoy 'does/not/exist.png' %}", {}), /E_NOT_FOUND/);
  // Not minified: the same hash as Django's.
  assert.equal(documents.hashedFilePath('test/file.txt'), 'test/file.dad0999e4f8f.txt');
  const asvar = new nunjucks.Environment();
  install(asvar, { root: documents.dir, sources: ['static'], staticRoot: 'public', templates: [], logger: memoryLogger() });
  assert.equal(asvar.renderString("{% convoy 'test/file.txt' as u %}[{{ u }}]", {}), '[/static/test/file.dad0999e4f8f.txt]');
  assert.match(documents.hashedFilePath('cached/styles.css'), /^cached\/styles\.[0-9a-f]{12}\.cmin\.css$/);
  assert.equal(documents.hashedFilePath('path/'), 'path/');
  assert.equal(documents.hashedFilePath('path/?query'), 'path/?query');
});

test('test_path_with_querystring', () => {
  const relpath = documents.hashedFilePath('cached/styles.css?spam=eggs');
  assert.match(relpath, /^cached\/styles\.[0-9a-f]{12}\.cmin\.css\?spam=eggs$/);
  const content = documents.open(relpath.replace(/\?.*$/, ''));
  assert.ok(!content.includes('cached/other.css'));
  assert.ok(content.includes('other.d41d8cd98f00.cmin.css'));
});

test('test_path_with_fragment', () => {
  const relpath = documents.hashedFilePath('cached/styles.css#eggs');
  assert.match(relpath, /^cached\/styles\.[0-9a-f]{12}\.cmin\.css#eggs$/);
  const content = documents.open(relpath.replace(/#.*$/, ''));
  assert.ok(!content.includes('cached/other.css'));
  assert.ok(content.includes('other.d41d8cd98f00.cmin.css'));
});

test('test_template_tag_simple_content', () => {
  const relpath = documents.hashedFilePath('cached/styles.css');
  assert.match(relpath, /^cached\/styles\.[0-9a-f]{12}\.cmin\.css$/);
  for (const content of [documents.open(relpath), documents.openPlain('cached/styles.css')]) {
    assert.ok(!content.includes('cached/other.css'));
    // other.css is empty: the MD5 of its (empty) minified bytes is Django's d41d8cd98f00 too.
    assert.ok(content.includes('other.d41d8cd98f00.cmin.css'), content);
  }
});

test('test_path_ignored_completely', () => {
  const relpath = documents.hashedFilePath('cached/css/ignored.css');
  assert.match(relpath, /^cached\/css\/ignored\.[0-9a-f]{12}\.cmin\.css$/);
  for (const content of [documents.open(relpath), documents.openPlain('cached/css/ignored.css')]) {
    for (const kept of ['#foobar', 'http:foobar', 'https:foobar', 'data:foobar', 'chrome:foobar', '//foobar', 'url()']) {
      assert.ok(content.includes(kept), `${kept} in ${content}`);
    }
  }
  assert.deepEqual(documents.report.errors, []);
});

test('test_path_with_querystring_and_fragment', () => {
  const relpath = documents.hashedFilePath('cached/css/fragments.css');
  assert.match(relpath, /^cached\/css\/fragments\.[0-9a-f]{12}\.cmin\.css$/);
  for (const content of [documents.open(relpath), documents.openPlain('cached/css/fragments.css')]) {
    // font.eot is a stand-in (see NOTICE), so its hash is ours; font.svg is Django's file: same hash.
    assert.match(content, new RegExp(`fonts/font\\.${H}\\.eot\\?#iefix`));
    assert.ok(content.includes('fonts/font.b8d603e42714.svg#webfontIyfZbseF'), content);
    assert.ok(content.includes('fonts/font.b8d603e42714.svg#path/to/../../fonts/font.svg'), content);
    assert.ok(content.includes('data:font/woff;charset=utf-8;base64,d09GRgABAAAAADJoAA0AAAAAR2QAAQAAAAAAAAAAAAA'));
    assert.ok(content.includes('#default#VML'));
  }
});

test('test_template_tag_absolute', () => {
  const relpath = documents.hashedFilePath('cached/absolute.css');
  assert.match(relpath, /^cached\/absolute\.[0-9a-f]{12}\.cmin\.css$/);
  for (const content of [documents.open(relpath), documents.openPlain('cached/absolute.css')]) {
    assert.ok(!content.includes('/static/cached/styles.css'));
    assert.ok(!content.includes('/static/styles_root.css'));
    // Django keeps the /static/ prefix; we write the same targets relative to cached/.
    assert.match(content, new RegExp(`@import url\\("?${hashedName('styles', 'css').source}"?\\)`));
    assert.match(content, new RegExp(`@import url\\("?\\.\\./${hashedName('styles_root', 'css').source}"?\\)`));
    assert.match(content, new RegExp(`url\\(img/relative\\.${H}\\.png\\)`));
  }
});

test('test_template_tag_absolute_root', () => {
  const relpath = documents.hashedFilePath('absolute_root.css');
  assert.match(relpath, /^absolute_root\.[0-9a-f]{12}\.cmin\.css$/);
  const content = documents.openPlain('absolute_root.css');
  assert.ok(!content.includes('/static/styles_root.css'));
  assert.match(content, new RegExp(`@import url\\("${hashedName('styles_root', 'css').source}"\\)`));
});

test('test_template_tag_relative', () => {
  assert.equal(documents.hashedFilePath('cached/other.css'), 'cached/other.d41d8cd98f00.cmin.css');
  const styles = documents.hashedFilePath('cached/styles.css');
  assert.ok(documents.openPlain('cached/styles.css').includes('@import url("other.d41d8cd98f00.cmin.css");'));
  assert.match(styles, /^cached\/styles\.[0-9a-f]{12}\.cmin\.css$/);
  const relpath = documents.hashedFilePath('cached/relative.css');
  assert.match(relpath, /^cached\/relative\.[0-9a-f]{12}\.cmin\.css$/);
  const content = documents.openPlain('cached/relative.css');
  assert.ok(!content.includes('../cached/styles.css'));
  assert.ok(!content.includes('@import "styles.css"'));
  assert.ok(!content.includes('url(img/relative.png)'));
  assert.match(content, new RegExp(`url\\(img/relative\\.${H}\\.png\\)`));
  // Django keeps `../cached/`; our relative URL is the normalized one: the same file.
  assert.ok(content.includes(`url("${path.posix.basename(styles)}")`), content);
  assert.match(content, new RegExp(`url\\("${hashedName('absolute', 'css').source}#eggs"\\)`));
  assert.match(documents.open(relpath), new RegExp(`url\\(img/relative\\.${H}\\.png\\)`));
});

test('test_import_replacement', () => {
  const relpath = documents.hashedFilePath('cached/import.css');
  assert.match(relpath, /^cached\/import\.[0-9a-f]{12}\.cmin\.css$/);
  const styles = path.posix.basename(documents.hashedFilePath('cached/styles.css'));
  const content = documents.openPlain('cached/import.css');
  assert.ok(content.includes(`@import '${styles}'`), content);
  assert.match(content, new RegExp(`@import url\\("\\.\\./${hashedName('styles_root', 'css').source}"\\);`));
  assert.ok(content.includes(`@import url(${styles}) layer(default);`));
  assert.ok(content.includes(`@import url("${styles}") screen and (orientation: landscape);`));
  assert.ok(content.includes(`@import url("${styles}") supports`));
  assert.ok(content.includes('/* @import url("/static/m/css/base.css"); */'));
  assert.ok(content.includes('/* @import url("m/css/base.css"); */'));
  // The served file: the same imports, minified (comments dropped).
  const served = documents.open(relpath);
  assert.equal(served.match(new RegExp(styles.replace(/\./g, '\\.'), 'g'))!.length, 4, served);
  assert.match(served, /layer\(default\)/);
});

test('test_template_tag_deep_relative', () => {
  const relpath = documents.hashedFilePath('cached/css/window.css');
  assert.match(relpath, /^cached\/css\/window\.[0-9a-f]{12}\.cmin\.css$/);
  const content = documents.openPlain('cached/css/window.css');
  assert.ok(!content.includes('url(img/window.png)'));
  assert.match(content, new RegExp(`url\\("img/window\\.${H}\\.png"\\)`));
});

test('test_template_tag_url', () => {
  const relpath = documents.hashedFilePath('cached/url.css');
  assert.match(relpath, /^cached\/url\.[0-9a-f]{12}\.cmin\.css$/);
  assert.ok(documents.open(relpath).includes('https://'));
});

test('test_import_loop', async () => {
  // Django ≤ 4.2 failed with "Max post-process passes exceeded"; Django 5 gives both files one
  // hash. Ours names files by their bytes, so a cycle has no name: the build reports it as an
  // error naming both files, and writes neither.
  const loop = await collectstatic('loop');
  assert.ok(loop.report.errors.some((e) => /cycle: (bar|foo)\.css → (foo|bar)\.css → (bar|foo)\.css/.test(e)), loop.report.errors.join('\n'));
  assert.equal(loop.manifest().files['bar.css'], undefined);
  assert.equal(loop.manifest().files['foo.css'], undefined);
  assert.match(loop.hashedFilePath('baz.css'), /^baz\.[0-9a-f]{12}\.cmin\.css$/);
});

test('test_css_import_case_insensitive', () => {
  const relpath = documents.hashedFilePath('cached/styles_insensitive.css');
  assert.match(relpath, /^cached\/styles_insensitive\.[0-9a-f]{12}\.cmin\.css$/);
  for (const content of [documents.open(relpath), documents.openPlain('cached/styles_insensitive.css')]) {
    assert.ok(!content.includes('cached/other.css'));
    assert.ok(content.includes('other.d41d8cd98f00.cmin.css'), content);
  }
});

test('test_css_data_uri_with_nested_url', () => {
  const relpath = documents.hashedFilePath('cached/data_uri_with_nested_url.css');
  for (const content of [documents.open(relpath), documents.openPlain('cached/data_uri_with_nested_url.css')]) {
    assert.ok(content.includes('url("data:image/svg+xml,url(%23b) url(%23c)")'), content);
  }
});

/** The one sourceMappingURL of a file: our map, written beside it. */
function ourMapReference(rel: string, content: string): void {
  const refs = [...content.matchAll(/sourceMappingURL=([^\s*]+)/g)].map((m) => m[1]!);
  assert.equal(refs.length, 1, content);
  assert.match(refs[0]!, new RegExp(`\\.${H}(\\.cmin)?\\.(css|js)\\.map$`));
  assert.ok(fs.existsSync(path.join(mapped.dir, 'public', path.posix.dirname(rel), refs[0]!)), refs[0]);
}

test('test_css_source_map', () => {
  const relpath = mapped.hashedFilePath('cached/source_map.css');
  assert.match(relpath, /^cached\/source_map\.[0-9a-f]{12}\.cmin\.css$/);
  for (const [rel, content] of [[relpath, mapped.open(relpath)], [mapped.manifest().files['cached/source_map.css']!.plain!, mapped.openPlain('cached/source_map.css')]] as const) {
    assert.ok(!content.includes('/*# sourceMappingURL=source_map.css.map*/'));
    ourMapReference(rel, content);
    assert.match(content, /\/\*# sourceMappingURL=source_map\.[0-9a-f]{12}(\.cmin)?\.css\.map \*\/$/);
  }
  // Without maps, the source's reference is dropped, never left pointing at a missing file.
  assert.doesNotMatch(documents.open(documents.hashedFilePath('cached/source_map.css')), /sourceMappingURL/);
});

test('test_css_source_map_tabs', () => {
  const relpath = mapped.hashedFilePath('cached/source_map_tabs.css');
  assert.match(relpath, /^cached\/source_map_tabs\.[0-9a-f]{12}\.cmin\.css$/);
  const content = mapped.open(relpath);
  assert.ok(!content.includes('/*#\tsourceMappingURL=source_map.css.map\t*/'));
  ourMapReference(relpath, content);
  assert.doesNotMatch(documents.openPlain('cached/source_map_tabs.css'), /sourceMappingURL/);
});

test('test_css_source_map_sensitive', () => {
  const relpath = mapped.hashedFilePath('cached/source_map_sensitive.css');
  assert.match(relpath, /^cached\/source_map_sensitive\.[0-9a-f]{12}\.cmin\.css$/);
  // Not a map reference (wrong case): kept as the comment it is in the unminified copy…
  const plain = mapped.openPlain('cached/source_map_sensitive.css');
  assert.ok(plain.includes('/*# sOuRcEMaPpInGURL=source_map.css.map */'));
  assert.ok(!plain.includes('sourceMappingURL=source_map.css.'));
  // …and the only real reference is ours.
  ourMapReference(mapped.manifest().files['cached/source_map_sensitive.css']!.plain!, plain);
});

test('test_css_source_map_data_uri', () => {
  const relpath = mapped.hashedFilePath('cached/source_map_data_uri.css');
  assert.match(relpath, /^cached\/source_map_data_uri\.[0-9a-f]{12}\.cmin\.css$/);
  // Django keeps an inline map; its positions describe the source, not our output, so ours replaces it.
  const content = mapped.open(relpath);
  assert.ok(!content.includes('data:application/json'));
  ourMapReference(relpath, content);
});

test('test_js_source_map', () => {
  const relpath = mapped.hashedFilePath('cached/source_map.js');
  assert.match(relpath, /^cached\/source_map\.[0-9a-f]{12}\.cmin\.js$/);
  const content = mapped.open(relpath);
  assert.ok(!content.includes('//# sourceMappingURL=source_map.js.map'));
  ourMapReference(relpath, content);
  assert.match(content, /\n\/\/# sourceMappingURL=source_map\.[0-9a-f]{12}\.cmin\.js\.map$/);
});

test('test_js_source_map_trailing_whitespace', () => {
  const relpath = mapped.hashedFilePath('cached/source_map_trailing_whitespace.js');
  assert.match(relpath, /^cached\/source_map_trailing_whitespace\.[0-9a-f]{12}\.cmin\.js$/);
  const content = mapped.open(relpath);
  assert.ok(!content.includes('//# sourceMappingURL=source_map.js.map\t '));
  ourMapReference(relpath, content);
  // The unminified copy of a plain script is its own source: no map, so no reference at all.
  assert.doesNotMatch(mapped.openPlain('cached/source_map_trailing_whitespace.js'), /sourceMappingURL/);
});

test('test_js_source_map_sensitive', () => {
  const relpath = mapped.hashedFilePath('cached/source_map_sensitive.js');
  assert.match(relpath, /^cached\/source_map_sensitive\.[0-9a-f]{12}\.cmin\.js$/);
  const plain = mapped.openPlain('cached/source_map_sensitive.js');
  assert.ok(plain.includes('//# sOuRcEMaPpInGURL=source_map.js.map'));
  assert.ok(!plain.includes('sourceMappingURL=source_map.js.'));
});

test('test_js_source_map_data_uri', () => {
  const relpath = mapped.hashedFilePath('cached/source_map_data_uri.js');
  assert.match(relpath, /^cached\/source_map_data_uri\.[0-9a-f]{12}\.cmin\.js$/);
  const content = mapped.open(relpath);
  assert.ok(!content.includes('data:application/json'));
  ourMapReference(relpath, content);
});

test('test_post_processing_failure', async () => {
  // Django aborts collectstatic; a missing target is a warning here (DESIGN §4: the reference is
  // kept as written and the page keeps working), naming the file and line; --strict fails on it.
  const faulty = await collectstatic('faulty');
  assert.deepEqual(faulty.report.errors, []);
  assert.ok(faulty.report.warnings.some((w) => /faulty\.css:1: url\(missing\.css\) names missing\.css, which is in no source root/.test(w)), faulty.report.warnings.join('\n'));
  assert.ok(faulty.open(faulty.hashedFilePath('faulty.css')).includes('missing.css'));
});

test('test_post_processing_nonutf8', async () => {
  // Django raises UnicodeDecodeError naming nonutf8.css; ours names it with the line and byte offset.
  const nonutf8 = await collectstatic('nonutf8');
  assert.ok(nonutf8.report.errors.some((e) => /nonutf8\.css:1: invalid UTF-8 \(byte 0xe9 at byte offset 3\)/.test(e)), nonutf8.report.errors.join('\n'));
  assert.equal(nonutf8.manifest().files['nonutf8.css'], undefined);
});

test('test_protocol_relative_url_ignored', async () => {
  const slash = await collectstatic('static_url_slash', { staticUrl: '/' });
  const env = new nunjucks.Environment();
  install(env, { root: slash.dir, sources: ['static'], staticRoot: 'public', staticUrl: '/', logger: memoryLogger() });
  const relpath = env.renderString("{% convoy 'ignored.css' %}", {}).replace(/^\//, '');
  assert.match(relpath, /^ignored\.[0-9a-f]{12}\.cmin\.css$/);
  assert.ok(slash.open(relpath).includes('//foobar'));
});

test('test_file_change_after_collectstatic', async () => {
  const dir = tmpDir('convoy-django-');
  const write = (name: string, body: string | Buffer) => {
    fs.mkdirSync(path.join(dir, 'static/test'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'static/test', name), body);
  };
  write('foo.png', 'foo');
  // Django's bar.css is `url("foo.png")\nurl("xyz.png")`, which is not CSS (no rule): our
  // pipeline parses CSS, so the same references sit in declarations here.
  write('bar.css', 'a { background: url("foo.png") }\nb { background: url("xyz.png") }');
  write('xyz.png', 'xyz');
  const options: ConvoyOptions = { root: dir, sources: ['static'], staticRoot: 'public', templates: [] };
  const hashed = () => {
    const env = new nunjucks.Environment();
    install(env, { ...options, logger: memoryLogger() });
    return fs.readFileSync(path.join(dir, 'public', env.renderString("{% convoy 'test/bar.css' %}", {}).replace('/static/', '')), 'utf8');
  };
  await build({ ...options, logger: memoryLogger() }, { jobs: 1 });
  let content = hashed();
  // Not minified, so the same hashes as Django's.
  assert.ok(content.includes('foo.acbd18db4cc2.png'), content);
  assert.ok(content.includes('xyz.d16fb36f0911.png'));
  write('foo.png', Buffer.from('new content of file to change its hash'));
  write('xyz.png', Buffer.from('new content of file to change its hash'));
  await build({ ...options, logger: memoryLogger() }, { jobs: 1 });
  content = hashed();
  assert.ok(content.includes('foo.57a5cb9ba68d.png'), content);
  assert.ok(content.includes('xyz.57a5cb9ba68d.png'));
});
