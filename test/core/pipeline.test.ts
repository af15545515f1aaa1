import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { resolveConfig, type ConvoyOptions } from '../../src/config.ts';
import { createPipeline } from '../../src/core/pipeline.ts';
import { ConvoyError } from '../../src/errors.ts';
import { REPO, cssUrls, fixtureProject, listFiles, memoryLogger, tmpDir, write } from '../helpers.ts';

function pipelineFor(dir: string, extra: ConvoyOptions = {}) {
  const logger = memoryLogger();
  const config = resolveConfig({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger, ...extra });
  return { p: createPipeline(config), logger, out: path.join(dir, 'out') };
}

const md5_12 = (b: Buffer | string) => createHash('md5').update(b).digest('hex').slice(0, 12);

test('a CSS bundle from two roots rewrites every url() to an output that exists', () => {
  const dir = fixtureProject();
  const { p, out, logger } = pipelineFor(dir);
  const entry = p.bundle('css', [{ type: 'file', rel: 'css/a.css' }, { type: 'file', rel: 'css/sub/b.css' }, { type: 'file', rel: 'css/c.css' }]);
  assert.match(entry.path, /^CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css$/);
  const css = fs.readFileSync(path.join(out, entry.path), 'utf8');
  assert.equal(md5_12(css), entry.hash, 'the name is the MD5 of the bytes served');
  const urls = cssUrls(css);
  const local = urls.filter((u) => !/^(data:|https?:|#|\/)/.test(u));
  assert.ok(local.length >= 5, `expected the local references, got ${urls.join(' ')}`);
  for (const u of local) {
    const file = path.resolve(path.dirname(path.join(out, entry.path)), u.replace(/[?#].*$/, ''));
    assert.ok(fs.existsSync(file), `${u} resolves to ${file}`);
    assert.match(path.basename(file), /\.[0-9a-f]{12}\.(png|woff2)$/);
  }
  // Query strings and fragments travel; data:, external, fragment-only and foreign roots stay.
  assert.ok(urls.some((u) => /dot\.[0-9a-f]{12}\.png\?v=1#x$/.test(u)));
  assert.ok(urls.some((u) => /f\.[0-9a-f]{12}\.woff2\?#iefix$/.test(u)));
  assert.ok(urls.includes('https://example.com/x.png'));
  assert.ok(urls.includes('#gradient'));
  assert.ok(urls.some((u) => u.startsWith('data:font/woff2')));
  // The vendor root's c.css points at img/dot.png, which the first root provides.
  const dot = fs.readFileSync(path.join(dir, 'static/img/dot.png'));
  assert.ok(fs.existsSync(path.join(out, `img/dot.${md5_12(dot)}.png`)));
  // Same rules as the three files.
  for (const rule of ['.logo{', '.quoted{', '.b{', '.c{', 'color:#123456', '.frag{fill:url(#gradient)}']) assert.ok(css.includes(rule), rule);
  assert.deepEqual(logger.warnings, []);
});

test('a missing url() target keeps its text and warns', () => {
  const dir = fixtureProject();
  const { p, out, logger } = pipelineFor(dir);
  const entry = p.asset('css/missing-target.css');
  assert.match(fs.readFileSync(path.join(out, entry.path), 'utf8'), /url\(\.\.\/img\/nope\.png\)/);
  assert.equal(logger.warnings.length, 1);
  // The warning names the stylesheet and the line of the reference.
  assert.match(logger.warnings[0]!, /missing-target\.css:1: url\(\.\.\/img\/nope\.png\) names img\/nope\.png, which is in no source root/);
});

test('@import: inlined in bundles (media kept), rewritten in single files, refused where browsers would ignore it', () => {
  const dir = fixtureProject();
  const { p, out } = pipelineFor(dir);
  const bundle = p.bundle('css', [{ type: 'file', rel: 'css/imports.css' }]);
  const css = fs.readFileSync(path.join(out, bundle.path), 'utf8');
  assert.doesNotMatch(css, /@import/);
  assert.match(css, /^\.b\{/);
  assert.match(css, /@media screen\{\.logo\{/);
  assert.ok(css.indexOf('.b{') < css.indexOf('.imports{'));
  const single = fs.readFileSync(path.join(out, p.asset('css/imports.css').path), 'utf8');
  assert.match(single, /^@import url\("?sub\/b\.[0-9a-f]{12}\.cmin\.css"?\);@import (url\()?"?a\.[0-9a-f]{12}\.cmin\.css"?\)? screen;/);
  // An external @import first stays first; after other rules it would be ignored: refuse.
  const first = fs.readFileSync(path.join(out, p.bundle('css', [{ type: 'file', rel: 'css/external-import.css' }, { type: 'file', rel: 'css/sub/b.css' }]).path), 'utf8');
  assert.match(first, /^@import url\("?https:\/\/fonts\.example\.com/);
  assert.throws(
    () => p.bundle('css', [{ type: 'file', rel: 'css/sub/b.css' }, { type: 'file', rel: 'css/external-import.css' }]),
    (e: unknown) => e instanceof ConvoyError && e.code === 'E_BUNDLE' && e.file === 'css/external-import.css' && e.line === 1,
  );
});

test('@charset stays valid: one at the top of the bundle', () => {
  const dir = fixtureProject();
  write(path.join(dir, 'static/css/u.css'), '@charset "utf-8";\n.star::after { content: "★"; }\n');
  // A latin-1 file (é as the single byte 0xE9) is decoded by its @charset and joins as UTF-8.
  fs.writeFileSync(path.join(dir, 'static/css/latin.css'), Buffer.from('@charset "iso-8859-1";\n.x::after { content: "caf\u00e9"; }\n', 'latin1'));
  const { p, out } = pipelineFor(dir);
  const css = fs.readFileSync(path.join(out, p.bundle('css', [{ type: 'file', rel: 'css/sub/b.css' }, { type: 'file', rel: 'css/u.css' }]).path), 'utf8');
  assert.match(css, /^@charset "UTF-8";\.b\{/);
  assert.equal(css.match(/@charset/g)!.length, 1);
  const joined = fs.readFileSync(path.join(out, p.bundle('css', [{ type: 'file', rel: 'css/latin.css' }, { type: 'file', rel: 'css/u.css' }]).path), 'utf8');
  assert.equal(joined, '@charset "UTF-8";.x::after{content:"caf\u00e9"}.star::after{content:"\u2605"}');
});

test('JS without semicolons, ending in a line comment or starting with "(", runs joined exactly as separately', () => {
  const dir = fixtureProject();
  const files = ['js/one.js', 'js/two.js', 'js/three.js'];
  const separately = vm.createContext({});
  for (const f of files) vm.runInContext(fs.readFileSync(path.join(dir, 'static', f), 'utf8'), separately);
  for (const combineOriginals of [false, true]) {
    const { p, out } = pipelineFor(dir, { carpoolCombineOriginals: combineOriginals, staticRoot: `out-${combineOriginals}` });
    const entry = p.bundle('js', files.map((rel) => ({ type: 'file' as const, rel })));
    const code = fs.readFileSync(path.join(`${out}-${combineOriginals}`, entry.path), 'utf8');
    const joined = vm.createContext({});
    vm.runInContext(code, joined);
    assert.deepEqual(JSON.parse(JSON.stringify(joined.log)), ['one', 'two:42', 'three']);
    assert.deepEqual(JSON.stringify(joined.log), JSON.stringify(separately.log));
  }
});

test('compiled sources: CoffeeScript runs, Sass resolves partials', () => {
  const dir = fixtureProject();
  const { p, out } = pipelineFor(dir);
  const js = fs.readFileSync(path.join(out, p.asset('coffee/app.coffee').path), 'utf8');
  const ctx = vm.createContext({});
  vm.runInContext(js, ctx);
  assert.deepEqual(JSON.parse(JSON.stringify(ctx.log)), ['coffee:49']);
  const scss = p.asset('scss/site.scss');
  assert.match(scss.path, /^scss\/site\.[0-9a-f]{12}\.cmin\.css$/);
  assert.equal(fs.readFileSync(path.join(out, scss.path), 'utf8'), '.panel{color:#0a7d32;padding:8px}.panel .title{font-weight:700}');
  assert.deepEqual(Object.keys(scss.inputs).sort(), ['static/scss/partials/_vars.scss', 'static/scss/site.scss']);
});

test("Bootstrap 5's scss/bootstrap.scss compiles; editing a partial makes the entry stale", () => {
  const dir = tmpDir();
  fs.cpSync(path.join(REPO, 'node_modules/bootstrap/scss'), path.join(dir, 'static/scss'), { recursive: true });
  const { p, out } = pipelineFor(dir, { sources: ['static'] });
  const entry = p.asset('scss/bootstrap.scss');
  const css = fs.readFileSync(path.join(out, entry.path), 'utf8');
  assert.ok(css.length > 150_000, `bootstrap minified is large (${css.length})`);
  assert.match(css, /\.btn-primary\{/);
  assert.match(css, /--bs-blue:#0d6efd/);
  assert.ok(Object.keys(entry.inputs).length > 50, 'every partial is an input');
  assert.equal(p.isSourceStale('scss/bootstrap.scss'), false);
  fs.appendFileSync(path.join(dir, 'static/scss/_buttons.scss'), '\n.convoy-probe { color: red; }\n');
  assert.equal(p.isSourceStale('scss/bootstrap.scss'), true);
  const rebuilt = p.asset('scss/bootstrap.scss');
  assert.notEqual(rebuilt.hash, entry.hash);
  assert.match(fs.readFileSync(path.join(out, rebuilt.path), 'utf8'), /\.convoy-probe\{color:red\}/);
  assert.equal(p.isSourceStale('scss/bootstrap.scss'), false);
});

test('.gz and .br twins decompress to exactly the served bytes', async () => {
  const dir = fixtureProject();
  const { p, out } = pipelineFor(dir);
  const entry = p.bundle('css', [{ type: 'file', rel: 'css/a.css' }, { type: 'file', rel: 'css/sub/b.css' }]);
  assert.deepEqual(await p.flush(), []);
  const served = fs.readFileSync(path.join(out, entry.path));
  assert.ok(entry.variants.gz && entry.variants.br);
  assert.deepEqual(zlib.gunzipSync(fs.readFileSync(path.join(out, entry.variants.gz))), served);
  assert.deepEqual(zlib.brotliDecompressSync(fs.readFileSync(path.join(out, entry.variants.br))), served);
  assert.equal(entry.integrity, `sha384-${createHash('sha384').update(served).digest('base64')}`);
  // Images are not compressed (no gain); a twin that would not be smaller is not written.
  const png = p.asset('img/dot.png');
  assert.deepEqual(png.variants, {});
});

test('builds are reproducible: same bytes and manifest in any folder, nothing rewritten the second time', () => {
  const build = (dir: string) => {
    const { p } = pipelineFor(dir, { sourceMaps: true });
    p.asset('scss/site.scss');
    p.asset('coffee/app.coffee');
    p.bundle('css', [{ type: 'file', rel: 'css/a.css' }, { type: 'file', rel: 'css/c.css' }]);
    p.bundle('js', [{ type: 'file', rel: 'js/one.js' }, { type: 'inline', code: 'log.push(1)' }]);
    p.save();
    return p;
  };
  const a = fixtureProject();
  const b = fixtureProject();
  build(a);
  build(b);
  const files = listFiles(path.join(a, 'out'));
  assert.deepEqual(files, listFiles(path.join(b, 'out')));
  assert.ok(files.includes('convoy-manifest.json'));
  for (const f of files) assert.deepEqual(fs.readFileSync(path.join(a, 'out', f)), fs.readFileSync(path.join(b, 'out', f)), f);
  assert.doesNotMatch(fs.readFileSync(path.join(a, 'out/convoy-manifest.json'), 'utf8'), new RegExp(a));
  const mtimes = files.map((f) => fs.statSync(path.join(a, 'out', f)).mtimeMs);
  const again = build(a);
  assert.equal(again.stats.writes, 0);
  assert.deepEqual(files.map((f) => fs.statSync(path.join(a, 'out', f)).mtimeMs), mtimes);
});

test('useExistingMinFiles serves the .min twin; off, the file is minified', () => {
  const dir = fixtureProject();
  const on = pipelineFor(dir);
  assert.match(fs.readFileSync(path.join(on.out, on.p.asset('js/lib.js').path), 'utf8'), /lib-min/);
  const off = pipelineFor(dir, { useExistingMinFiles: false, staticRoot: 'out2' });
  const code = fs.readFileSync(path.join(dir, 'out2', off.p.asset('js/lib.js').path), 'utf8');
  assert.match(code, /"lib"/);
  assert.doesNotMatch(code, /lib-min/);
});

function errorOf(fn: () => unknown): ConvoyError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConvoyError, `expected a ConvoyError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

test('bad input: a ConvoyError naming the file and line, and nothing partial written', () => {
  const dir = fixtureProject();
  const { p, out } = pipelineFor(dir);
  const cases: [string, () => unknown, string, string, number | undefined][] = [
    ['missing', () => p.asset('css/nope.css'), 'E_NOT_FOUND', 'css/nope.css', undefined],
    ['sass', () => p.asset('bad/broken.scss'), 'E_COMPILE', 'static/bad/broken.scss', 4],
    ['coffee', () => p.asset('bad/broken.coffee'), 'E_COMPILE', 'static/bad/broken.coffee', 2],
    ['js', () => p.asset('bad/broken.js'), 'E_MINIFY', 'static/bad/broken.js', 2],
    ['css', () => p.asset('bad/broken.css'), 'E_MINIFY', 'static/bad/broken.css', 2],
    ['escape', () => p.asset('../static/css/a.css'), 'E_PATH_ESCAPE', '', undefined],
    ['bundle', () => p.bundle('js', [{ type: 'file', rel: 'js/one.js' }, { type: 'file', rel: 'bad/broken.js' }]), 'E_MINIFY', 'static/bad/broken.js', 2],
  ];
  for (const [name, fn, code, file, line] of cases) {
    const err = errorOf(fn);
    assert.equal(err.code, code, name);
    if (file) assert.equal(err.file, file, name);
    assert.equal(err.line, line, `${name}: ${err.message}`);
    if (file) assert.ok(err.message.includes(file), err.message);
  }
  const written = listFiles(out);
  assert.ok(!written.some((f) => f.endsWith('.tmp')), 'no temporary file left');
  assert.ok(!written.some((f) => f.startsWith('bad/')), `nothing written for bad inputs: ${written.join(', ')}`);
});

test('an output is never seen half-written: writes go through a temporary name', () => {
  const dir = fixtureProject();
  const { p, out } = pipelineFor(dir);
  // A leftover from a crashed writer is not an output: the next build ignores it and writes the real file.
  const entry = p.asset('css/a.css');
  fs.rmSync(path.join(out, entry.path));
  fs.writeFileSync(path.join(out, `${entry.path}.12345.tmp`), 'half');
  const again = createPipeline(resolveConfig({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger: memoryLogger() }));
  assert.equal(again.isSourceStale('css/a.css'), true, 'an entry whose file is gone is stale');
  const rebuilt = again.asset('css/a.css');
  assert.equal(rebuilt.path, entry.path);
  assert.equal(md5_12(fs.readFileSync(path.join(out, rebuilt.path))), rebuilt.hash);
  // The leftover is never a name the manifest (and so a page) points at.
  again.save();
  assert.ok(![...again.manifest.outputs()].some((f) => f.endsWith('.tmp')));
  assert.ok(listFiles(out).includes(`${entry.path}.12345.tmp`), 'the leftover was not mistaken for the output');
});

test('with maps off, an error found in joined CSS still names the original file and line', () => {
  const dir = fixtureProject();
  write(path.join(dir, 'static/css/odd.css'), '.ok { color: red; }\n\n.odd { color: ; }\n');
  const { p } = pipelineFor(dir, { sourceMaps: false });
  const err = errorOf(() => p.bundle('css', [{ type: 'file', rel: 'css/sub/b.css' }, { type: 'file', rel: 'css/odd.css' }]));
  assert.equal(err.code, 'E_MINIFY');
  assert.equal(err.file, 'static/css/odd.css');
  assert.equal(err.line, 3);
});
