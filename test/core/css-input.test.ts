import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import nunjucks from 'nunjucks';
import { resolveConfig, type ConvoyOptions } from '../../src/config.ts';
import { createPipeline } from '../../src/core/pipeline.ts';
import { joinCss, joinWork } from '../../src/core/bundle.ts';
import { decodeSource } from '../../src/core/decode.ts';
import { install } from '../../src/index.ts';
import { ConvoyError } from '../../src/errors.ts';
import { memoryLogger, tmpDir, write } from '../helpers.ts';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';

function project(files: Record<string, string | Buffer>, extra: ConvoyOptions = {}) {
  const dir = tmpDir();
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
  }
  const logger = memoryLogger();
  const config = resolveConfig({ root: dir, sources: ['static'], staticRoot: 'out', logger, ...extra });
  const p = createPipeline(config);
  const read = (rel: string) => fs.readFileSync(path.join(dir, 'out', rel), 'utf8');
  return { dir, p, logger, read };
}

function errorOf(fn: () => unknown): ConvoyError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConvoyError, String(e));
    return e;
  }
  assert.fail('expected a ConvoyError');
}

test('a main.css made only of @imports keeps its last ";" (bundle and single file)', () => {
  const { p, read, logger } = project({
    'static/css/a.css': '.a { color: red; }\n',
    'static/css/b.css': '.b { color: blue; }\n',
    // No trailing newline after the last @import, as editors often leave it.
    'static/css/main.css': '@import url("a.css");\n@import url("b.css");',
    'static/css/fonts.css': '@import url("https://fonts.example.com/css?family=X");',
  });
  assert.equal(read(p.bundle('css', [{ type: 'file', rel: 'css/main.css' }]).path), '.a{color:red}.b{color:#00f}');
  assert.match(read(p.asset('css/main.css').path), /^@import url\("?a\.[0-9a-f]{12}\.cmin\.css"?\);@import url\("?b\.[0-9a-f]{12}\.cmin\.css"?\);$/);
  // The last statement of a bundle is an external @import: it keeps its ";" too.
  assert.equal(read(p.bundle('css', [{ type: 'file', rel: 'css/fonts.css' }]).path), '@import url(https://fonts.example.com/css?family=X);');
  assert.deepEqual(logger.warnings, []);
});

test('an empty url() is kept as written, as Django keeps it, with no warning', () => {
  const { p, read, logger } = project({ 'static/css/e.css': 'body {\n    background: url();\n    color: red;\n}\n' });
  assert.equal(read(p.asset('css/e.css').path), 'body{background:url();color:red}');
  assert.match(read(p.bundle('css', [{ type: 'file', rel: 'css/e.css' }]).path), /background:url\(\)/);
  assert.deepEqual(logger.warnings, []);
});

const MODERN: Record<string, string> = {
  'nesting.css': '.card { color: #333; & .title { font-weight: 700; } &:hover { color: #000; } .body & { padding: 1em; } }\n',
  'starting.css': '.pop { transition: opacity .3s; opacity: 1; @starting-style { opacity: 0; } }\n@starting-style { .toast { translate: 0 10px; } }\n',
  'layer.css': '@layer reset, base;\n@layer base { .a { color: red; } }\n@layer reset { * { margin: 0; } }\n',
  'container.css': '.wrap { container-type: inline-size; }\n@container (min-width: 400px) { .item { display: grid; } }\n',
  'has.css': '.form:has(input:invalid) { border-color: red; }\n',
  'colormix.css': '.mix { color: color-mix(in srgb, red 40%, blue); }\n',
};

test('valid modern CSS is never refused: clean-css handles what it can, the rest is minified by lightningcss with one warning', () => {
  const { p, read, logger } = project(Object.fromEntries(Object.entries(MODERN).map(([n, c]) => [`static/css/${n}`, c])));
  for (const name of Object.keys(MODERN)) {
    const out = read(p.asset(`css/${name}`).path);
    assert.ok(out.length > 10, `${name}: ${out}`);
  }
  // clean-css reads these itself: no warning.
  assert.equal(read(p.asset('css/has.css').path), '.form:has(input:invalid){border-color:red}');
  assert.match(read(p.asset('css/layer.css').path), /^@layer reset,base;/);
  // Nesting and @starting-style: one warning each, naming the file, and every rule is still there.
  assert.equal(logger.warnings.length, 2, logger.warnings.join('\n'));
  assert.match(logger.warnings[0]!, /css\/nesting\.css: clean-css 5 cannot read valid CSS here .*minified with lightningcss/);
  assert.match(logger.warnings[1]!, /css\/starting\.css: /);
  const nesting = read(p.asset('css/nesting.css').path);
  for (const sel of ['.card .title', '.card:hover', '.body .card']) assert.ok(nesting.includes(sel), `${sel} in ${nesting}`);
  assert.match(read(p.asset('css/starting.css').path), /@starting-style\{/);
  // A bundle of all of them builds too.
  const bundle = read(p.bundle('css', Object.keys(MODERN).map((n) => ({ type: 'file' as const, rel: `css/${n}` }))).path);
  assert.ok(bundle.includes('.card .title') && bundle.includes('@container') && bundle.includes(':has('));
});

test('valid CSS that neither minifier reads is served as it is, with one warning', () => {
  // lightningcss refuses the `*zoom` hack, clean-css cannot read nesting: served unminified.
  const css = '.legacy { *zoom: 1; color: red; & .inner { color: blue; } }\n';
  const { p, read, logger } = project({ 'static/css/mixed.css': css });
  assert.equal(read(p.asset('css/mixed.css').path), css.trimEnd());
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0]!, /css\/mixed\.css: clean-css 5 cannot read valid CSS here .*served unminified/);
});

test('broken CSS is still refused with the file and line, nested or not', () => {
  const { p } = project({
    'static/css/broken-url.css': '.ok { color: red; }\n.bad { background: url(x.png; }\n',
    'static/css/broken-nested.css': '.a {\n  & .b { color: red; }\n}\n}\n',
  });
  const bad = errorOf(() => p.asset('css/broken-url.css'));
  assert.equal(bad.code, 'E_MINIFY');
  assert.equal(bad.line, 2);
  const nested = errorOf(() => p.asset('css/broken-nested.css'));
  assert.equal(nested.code, 'E_MINIFY');
  assert.equal(nested.line, 4);
});

test('beside valid nesting, broken CSS is still refused at its own line; maps of the fallback land on the source lines', () => {
  const { p, dir } = project(
    {
      'static/css/mixed-bad.css': '.ok { color: red; }\n.n {\n  & .x { color: blue; }\n}\n.bad { background: url(x.png; }\n',
      'static/css/mixed-good.css': '.first { color: red; }\n.n {\n  & .x { color: blue; }\n}\n\n.after { color: green; }\n',
    },
    { sourceMaps: true },
  );
  const err = errorOf(() => p.asset('css/mixed-bad.css'));
  assert.equal(err.code, 'E_MINIFY');
  assert.equal(err.line, 5);
  const entry = p.asset('css/mixed-good.css');
  const code = fs.readFileSync(path.join(dir, 'out', entry.path), 'utf8');
  const map = new TraceMap(JSON.parse(fs.readFileSync(path.join(dir, 'out', entry.map!), 'utf8')));
  const lines = code.split('\n');
  const find = (needle: string) => {
    const line = lines.findIndex((l) => l.includes(needle));
    return originalPositionFor(map, { line: line + 1, column: lines[line]!.indexOf(needle) });
  };
  assert.deepEqual([find('.after').source, find('.after').line], ['static/css/mixed-good.css', 6]);
  assert.equal(find('.first').line, 1);
  // The nested rule: its own line or its parent's, as lightningcss maps it.
  assert.ok([2, 3].includes(find('.n .x').line!), String(find('.n .x').line));
});

test('a sourceMappingURL inside a source never dangles: ours replaces it, or it is dropped', () => {
  const files = {
    'static/js/vendor.js': '//# sourceMappingURL=vendor.js.map\t \nvar vendorReady = 1;\n',
    'static/js/tail.js': 'var tail = 2;\n//# sourceMappingURL=tail.js.map  \n\n',
    'static/css/tabs.css': '* {outline: 1px solid red;}\n/*#\tsourceMappingURL=tabs.css.map\t*/\n',
  };
  for (const sourceMaps of [true, false] as const) {
    const { dir, p, read } = project(files, { sourceMaps });
    const outputs = [p.asset('js/vendor.js'), p.asset('js/tail.js'), p.asset('css/tabs.css'), p.bundle('js', [{ type: 'file', rel: 'js/vendor.js' }, { type: 'file', rel: 'js/tail.js' }]), p.bundle('css', [{ type: 'file', rel: 'css/tabs.css' }])];
    for (const entry of outputs) {
      const code = read(entry.path);
      const refs = [...code.matchAll(/sourceMappingURL=([^\s*]+)/g)].map((m) => m[1]!);
      if (!sourceMaps) {
        assert.deepEqual(refs, [], `${entry.path}: ${code}`);
        continue;
      }
      // Exactly one reference, the last line, naming our fingerprinted map beside the output.
      assert.equal(refs.length, 1, `${entry.path}: ${code}`);
      assert.equal(refs[0], path.posix.basename(entry.map!));
      assert.ok(fs.existsSync(path.join(dir, 'out', path.posix.dirname(entry.path), refs[0]!)));
    }
    const ctx = vm.createContext({});
    vm.runInContext(read(outputs[3]!.path), ctx);
    assert.equal(vm.runInContext('vendorReady + tail', ctx), 3);
  }
});

test('joinCss is linear: nodes are detached before they move, never searched and spliced one by one', () => {
  // postcss's removeChild (index search + splice) is what made 80k rules take 11 s: count its
  // calls and the elements each one shifts, for 10k and 40k rules.
  const req = createRequire(import.meta.url);
  const Container = req(path.join(path.dirname(req.resolve('postcss')), 'container.js')) as { prototype: { removeChild(this: { nodes: unknown[] }, c: unknown): unknown } };
  const original = Container.prototype.removeChild;
  let calls = 0;
  let shifted = 0;
  Container.prototype.removeChild = function (this: { nodes: unknown[] }, child: unknown) {
    calls++;
    shifted += this.nodes.length;
    return original.call(this, child);
  };
  const ctx = { outDir: 'CARPOOL/css', staticPath: '/static/', inlineImports: true, resolveTarget: () => undefined, warn: () => undefined, loadCss: () => assert.fail('no @import') };
  const work = (rules: number) => {
    const code = Array.from({ length: rules }, (_, i) => `.r${i}{color:#${(i % 4096).toString(16).padStart(3, '0')}}`).join('\n');
    calls = 0;
    shifted = 0;
    const before = joinWork.detached;
    const joined = joinCss([{ rel: 'big.css', name: 'convoy:///big.css', code }, { rel: 'tail.css', name: 'convoy:///tail.css', code: '.tail{color:red}' }], ctx, false);
    assert.ok(joined.code.endsWith('.tail{color:red}'));
    return { calls, shifted, moved: joinWork.detached - before };
  };
  try {
    const small = work(10_000);
    const large = work(40_000);
    assert.equal(small.moved, 10_001);
    assert.equal(large.moved, 40_001);
    // Quadratic joining shifted ~N²/2 elements (8·10⁸ for 40k rules); linear shifts none.
    assert.equal(large.calls, 0);
    assert.equal(large.shifted, 0);
  } finally {
    Container.prototype.removeChild = original;
  }
});

test('a 20 MB stylesheet joins moving each rule once (work counted, not timed)', () => {
  const rule = (i: number) => `.rule-${i} .child > a[href^="/x"]:hover { color: #${(i % 4096).toString(16).padStart(3, '0')}; background: url(data:image/png;base64,iVBORw0KGgo=) no-repeat; margin: 0 auto; }\n`;
  const chunks: string[] = [];
  let size = 0;
  while (size < 20 * 1024 * 1024) {
    const r = rule(chunks.length);
    chunks.push(r);
    size += r.length;
  }
  const ctx = { outDir: 'CARPOOL/css', staticPath: '/static/', inlineImports: true, resolveTarget: () => undefined, warn: () => undefined, loadCss: () => assert.fail('no @import') };
  const before = joinWork.detached;
  const joined = joinCss([{ rel: 'huge.css', name: 'convoy:///static/css/huge.css', code: chunks.join('') }], ctx, false);
  assert.equal(joinWork.detached - before, chunks.length, 'each rule moved exactly once');
  assert.ok(joined.code.startsWith('.rule-0 .child > a[href^="/x"]:hover'));
  assert.ok(joined.code.includes(`.rule-${chunks.length - 1} `));
});

test('invalid UTF-8 names the file, line and byte offset; a latin-1 @charset file is decoded by it', () => {
  const bad = Buffer.concat([Buffer.from('.a { color: red; }\n.b::after { content: "'), Buffer.from([0xe9]), Buffer.from('"; }\n')]);
  const { p, read } = project({
    'static/css/bad.css': bad,
    'static/css/latin.css': Buffer.from('@charset "ISO-8859-1";\n.c::after { content: "d\u00e9j\u00e0 vu"; }\n', 'latin1'),
    'static/js/bad.js': Buffer.concat([Buffer.from('var s = "'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('";\n')]),
  });
  const err = errorOf(() => p.asset('css/bad.css'));
  assert.equal(err.code, 'E_ENCODING');
  assert.equal(err.file, 'css/bad.css');
  assert.equal(err.line, 2);
  assert.match(err.message, /byte 0xe9 at byte offset 41/);
  const js = errorOf(() => p.bundle('js', [{ type: 'file', rel: 'js/bad.js' }]));
  assert.equal(js.code, 'E_ENCODING');
  assert.match(js.message, /js\/bad\.js:1: .*byte offset 9/);
  // The single file and a bundle: real é and à, as UTF-8, under a UTF-8 @charset.
  assert.equal(read(p.asset('css/latin.css').path), '@charset "UTF-8";.c::after{content:"d\u00e9j\u00e0 vu"}');
  assert.ok(!read(p.asset('css/latin.css').path).includes('\ufffd'));
  // Decoding helpers: a BOM wins, an unknown @charset is an error, a WHATWG alias is accepted.
  assert.equal(decodeSource(Buffer.from('\ufeff.x{}'), 'x.css', 'css').text, '.x{}');
  assert.equal(decodeSource(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'x.js', 'js', 'latin-1').text, 'caf\u00e9');
  assert.throws(() => decodeSource(Buffer.from('@charset "klingon";\n.x{}'), 'x.css', 'css'), /E_ENCODING|not an encoding/);
});

function carpoolEnv(files: Record<string, string | Buffer>, template: string) {
  const { dir, logger } = project(files);
  write(path.join(dir, 'templates/page.njk'), template);
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')), { autoescape: true });
  install(env, { root: dir, sources: ['static'], staticRoot: 'out', logger });
  return { env, dir, logger, read: (url: string) => fs.readFileSync(path.join(dir, 'out', url.replace('/static/', '')), 'utf8') };
}

test('carpool css: a stylesheet of a type browsers do not apply stays out of the bundle, as written', () => {
  const { env, read } = carpoolEnv(
    { 'static/css/a.css': '.a { color: red; }\n', 'static/css/b.css': '.b { color: blue; }\n', 'static/css/theme.less': '@c: red; .t { color: @c; }\n' },
    [
      '{% carpool css %}',
      '<link rel="stylesheet" href="/static/css/a.css">',
      '<link rel="stylesheet" type="text/less" href="/static/css/theme.less">',
      '<style type="text/foobar">.foo { color: green; }</style>',
      '<link rel="stylesheet" type="text/css" href="/static/css/b.css">',
      '{% endcarpool %}',
    ].join('\n'),
  );
  const html = env.render('page.njk', {});
  assert.ok(html.includes('<link rel="stylesheet" type="text/less" href="/static/css/theme.less">'), html);
  assert.ok(html.includes('<style type="text/foobar">.foo { color: green; }</style>'), html);
  const bundles = [...html.matchAll(/href="(\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css)"/g)].map((m) => read(m[1]!));
  // Order kept: a.css, the two raw elements, then b.css.
  assert.deepEqual(bundles, ['.a{color:red}', '.b{color:#00f}']);
  assert.ok(html.indexOf('text/less') < html.indexOf('text/foobar'));
});

test('carpool js: <script charset="latin-1"> is decoded by its attribute and keeps its characters', () => {
  const latin = Buffer.from('window.GREETING = "d\u00e9j\u00e0 vu \u00a9";\n', 'latin1');
  const { env, read } = carpoolEnv(
    { 'static/js/latin.js': latin, 'static/js/app.js': 'window.APP = 1;\n' },
    '{% carpool js %}\n<script charset="latin-1" src="/static/js/latin.js"></script>\n<script src="/static/js/app.js"></script>\n{% endcarpool %}',
  );
  const html = env.render('page.njk', {});
  const url = /src="(\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js)"/.exec(html)![1]!;
  const code = read(url);
  assert.ok(!code.includes('\ufffd'), code);
  const ctx = vm.createContext({ window: {} });
  vm.runInContext(code, ctx);
  assert.equal(vm.runInContext('window.GREETING', ctx), 'd\u00e9j\u00e0 vu \u00a9');
  assert.equal(vm.runInContext('window.APP', ctx), 1);
});

test('carpool js: a script that is not UTF-8 and declares nothing falls back to its own tag, with a warning naming it', () => {
  const { env, logger } = carpoolEnv(
    { 'static/js/latin.js': Buffer.from('window.X = "\u00e9";\n', 'latin1'), 'static/js/app.js': 'window.APP = 1;\n' },
    '{% carpool js %}\n<script src="/static/js/latin.js"></script>\n<script src="/static/js/app.js"></script>\n{% endcarpool %}',
  );
  const html = env.render('page.njk', {});
  assert.ok(html.includes('/static/js/latin.js'), html);
  assert.ok(logger.warnings.some((w) => /page\.njk:2: .*js\/latin\.js:1: invalid UTF-8 \(byte 0xe9 at byte offset 12\)/.test(w)), logger.warnings.join('\n'));
});

test('a missing url() target: the warning names the stylesheet and line, and the template', () => {
  const { env, logger } = carpoolEnv(
    { 'static/css/a.css': '.a { color: red; }\n\n.b {\n  background: url(../img/gone.png);\n}\n' },
    '<p>x</p>\n{% carpool css %}\ncss/a.css\n{% endcarpool %}',
  );
  env.render('page.njk', {});
  assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
  assert.match(logger.warnings[0]!, /^page\.njk:2: css\/a\.css:4: url\(\.\.\/img\/gone\.png\) names img\/gone\.png, which is in no source root/);
});

test("a bundle inlines @import … layer() supports() media as @layer/@supports/@media blocks (Django's import.css)", () => {
  const { p, read, dir } = project({
    'static/a.css': '.a { color: red; }\n',
    'static/m.css': '@import url(a.css) layer;\n@import "a.css" layer(x.y) supports(display: grid) screen and (min-width: 10px), print;\n@import url(a.css) supports((not (display: grid)) and (display: flex))\n  screen and (width <= 400px);',
    'static/ext.css': '@import url("https://fonts.example.com/x.css");\n.e { color: blue; }\n',
    'static/wraps-ext.css': '@import url(ext.css) layer(fonts);\n',
  });
  assert.equal(
    read(p.bundle('css', [{ type: 'file', rel: 'm.css' }]).path),
    '@layer{.a{color:red}}@layer x.y{@supports (display:grid){@media screen and (min-width:10px),print{.a{color:red}}}}' +
      '@supports (not (display:grid)) and (display:flex){@media screen and (width <= 400px){.a{color:red}}}',
  );
  // An external @import would end up inside @layer, where browsers ignore it: refused, named.
  const err = errorOf(() => p.bundle('css', [{ type: 'file', rel: 'wraps-ext.css' }]));
  assert.equal(err.code, 'E_BUNDLE');
  assert.equal(err.file, 'wraps-ext.css');
  assert.ok(dir);
});

test('an @import after other rules, which browsers ignore, is left out of the bundle too, with a warning', () => {
  const { p, read, logger } = project({
    'static/a.css': '.a { color: red; }\n',
    'static/late.css': '@layer base;\n@import url(a.css);\n.late { color: blue; }\n@import url(a.css) screen;\n',
  });
  // The first @import (after only a layer statement) applies; the second does not, in either form.
  assert.equal(read(p.bundle('css', [{ type: 'file', rel: 'late.css' }]).path), '@layer base;.a{color:red}.late{color:#00f}');
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0]!, /late\.css:4: @import url\(a\.css\) screen follows other rules, so browsers ignore it/);
});

test('a large stylesheet alternating nested and flat rules, with maps, stays linear (one load of its map, not one per piece)', () => {
  // 4000 pieces: chaining each piece to the input's map separately ran out of memory.
  const rules = Array.from({ length: 4000 }, (_, i) => (i % 2 ? `.p${i} { color: red; & .c { color: blue; } }` : `.q${i} { margin: 0 auto; }`));
  const { p, dir, logger } = project({ 'static/css/nested.css': rules.join('\n') }, { sourceMaps: true });
  const entry = p.asset('css/nested.css');
  const map = JSON.parse(fs.readFileSync(path.join(dir, 'out', entry.map!), 'utf8')) as { sources: string[] };
  assert.deepEqual(map.sources, ['static/css/nested.css']);
  assert.ok(fs.readFileSync(path.join(dir, 'out', entry.path), 'utf8').includes('.p3999 .c{color:#00f}'));
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0]!, /2000 rule\(s\) minified with lightningcss/);
});
