import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import nunjucks from 'nunjucks';
import { ConvoyError, getConvoy, install } from '../../src/index.ts';
import { REPO, cssUrls, fixtureProject, memoryLogger, write } from '../helpers.ts';
import { makeEnv, renderAsync } from './env.ts';

const STYLE_NAMES = ['curly', 'angle'] as const;
const fileOf = (out: string, url: string) => path.join(out, url.replace(/^\/static\//, ''));

for (const style of STYLE_NAMES) {
  test(`${style}: each tag prints a URL whose file holds the processed content`, () => {
    const { env, out, dir, logger } = makeEnv(style);
    const html = env.render('tags.njk', { scriptPath: 'js/two.js' });
    const [a, site, app, dot, two] = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
    assert.match(a!, /^\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css$/);
    assert.match(fs.readFileSync(fileOf(out, a!), 'utf8'), /^\/\*.*\*\/|^\.logo\{background:url\(\.\.\/img\/dot\.[0-9a-f]{12}\.png\) no-repeat\}/);
    assert.match(site!, /^\/static\/scss\/site\.[0-9a-f]{12}\.cmin\.css$/);
    assert.equal(fs.readFileSync(fileOf(out, site!), 'utf8'), '.panel{color:#0a7d32;padding:8px}.panel .title{font-weight:700}');
    assert.match(app!, /^\/static\/coffee\/app\.[0-9a-f]{12}\.cmin\.js$/);
    const ctx = vm.createContext({});
    vm.runInContext(fs.readFileSync(fileOf(out, app!), 'utf8'), ctx);
    assert.equal(JSON.stringify(ctx.log), '["coffee:49"]');
    assert.match(dot!, /^\/static\/img\/dot\.[0-9a-f]{12}\.png$/);
    assert.deepEqual(fs.readFileSync(fileOf(out, dot!)), fs.readFileSync(path.join(dir, 'static/img/dot.png')));
    assert.match(two!, /^\/static\/js\/two\.[0-9a-f]{12}\.cmin\.js$/, 'a variable argument works');
    assert.doesNotMatch(html, /comment/);
    assert.deepEqual(logger.warnings, []);
  });

  test(`${style}: whitespace control trims around the tag`, () => {
    const { env } = makeEnv(style);
    assert.match(env.render('whitespace.njk', {}), /^<p>\/static\/css\/sub\/b\.[0-9a-f]{12}\.cmin\.css<\/p>\n?$/);
  });

  test(`${style}: a carpool of three CSS files from two roots is one <link> between the comments`, () => {
    const { env, out, dir } = makeEnv(style);
    const html = env.render('carpool-list.njk', {});
    const css = /\n<!-- css\/a\.css\+\+\+css\/sub\/b\.css\+\+\+css\/c\.css -->\n<link rel="stylesheet" href="(\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css)" >\n\n<!-- css\/a\.css\+\+\+css\/sub\/b\.css\+\+\+css\/c\.css -->\n/.exec(html);
    assert.ok(css, html);
    assert.equal((html.match(/<link/g) ?? []).length, 1);
    const bundle = fs.readFileSync(fileOf(out, css[1]!), 'utf8');
    // The same rules as the three files, in order, with url()s that resolve.
    const order = ['.logo{', '.quoted{', '.b{', '.c{'].map((r) => bundle.indexOf(r));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), bundle);
    for (const u of cssUrls(bundle).filter((u) => !/^(data:|https?:|#|\/)/.test(u))) {
      assert.ok(fs.existsSync(path.resolve(path.dirname(fileOf(out, css[1]!)), u.replace(/[?#].*$/, ''))), u);
    }
    // The JS carpool runs like the separate files.
    const js = /<script type="text\/javascript" src="(\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js)" ><\/script>/.exec(html);
    assert.ok(js, html);
    const joined = vm.createContext({});
    vm.runInContext(fs.readFileSync(fileOf(out, js[1]!), 'utf8'), joined);
    const separate = vm.createContext({});
    for (const f of ['one', 'two', 'three']) vm.runInContext(fs.readFileSync(path.join(dir, `static/js/${f}.js`), 'utf8'), separate);
    assert.equal(JSON.stringify(joined.log), JSON.stringify(separate.log));
    assert.equal(JSON.stringify(joined.log), '["one","two:42","three"]');
  });

  test(`${style}: an HTML carpool maps tag URLs back to sources and splits at what cannot join`, () => {
    const { env, out } = makeEnv(style);
    const html = env.render('carpool-html.njk', {});
    const links = [...html.matchAll(/<link[^>]*>/g)].map((m) => m[0]);
    assert.equal(links.length, 4, html);
    assert.match(links[0]!, /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css"/);
    assert.equal(links[1], '<link rel="stylesheet" href="https://cdn.example.com/ext.css">');
    assert.match(links[2]!, /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css"/);
    assert.match(links[3]!, /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css" media="print"/);
    assert.match(html, /<!-- css\/a\.css\+\+\+scss\/site\.scss\+\+\+inline:[0-9a-f]{16} -->/);
    const first = fs.readFileSync(fileOf(out, /href="([^"]+)"/.exec(links[0]!)![1]!), 'utf8');
    assert.ok(first.includes('.panel{color:#0a7d32') && first.includes('.inline-rule{color:#abcdef}') && first.indexOf('.logo{') < first.indexOf('.panel{'));
    // Module scripts stay as written, splitting the JS into two bundles around them.
    const scripts = [...html.matchAll(/<script[^>]*>/g)].map((m) => m[0]);
    assert.equal(scripts.length, 3, html);
    assert.equal(scripts[1], '<script type="module" src="/static/js/mod.js">');
    assert.match(html, /<!-- js\/one\.js\+\+\+coffee\/app\.coffee\+\+\+inline:[0-9a-f]{16} -->/);
    assert.match(html, /<!-- js\/two\.js -->/);
    const ctx = vm.createContext({});
    vm.runInContext(fs.readFileSync(fileOf(out, /src="([^"]+)"/.exec(scripts[0]!)![1]!), 'utf8'), ctx);
    assert.equal(JSON.stringify(ctx.log), '["one","coffee:49","inline"]');
  });

  test(`${style}: layouts, includes and blocks holding carpools; sync and async renders agree`, async () => {
    const { env } = makeEnv(style);
    const ctx = { title: 'Hello', nav: [{ href: '/a', label: 'A' }] };
    const sync = env.render('page.njk', ctx);
    const async = await renderAsync(env, 'page.njk', ctx);
    assert.equal(async, sync);
    assert.match(sync, /<h1>Hello<\/h1>/);
    assert.match(sync, /<nav><a href="\/a">A<\/a><\/nav>/);
    assert.equal((sync.match(/CARPOOL\/css\//g) ?? []).length, 1);
    assert.equal((sync.match(/CARPOOL\/js\//g) ?? []).length, 2);
    assert.match(sync, /<!-- js\/two\.js\+\+\+coffee\/app\.coffee -->/);
    assert.match(sync, /href="\/static\/scss\/site\.[0-9a-f]{12}\.cmin\.css"/);
  });
}

test('fallback: a carpool with a missing file renders the individual tags and warns once', () => {
  const { env, logger } = makeEnv('curly');
  const first = env.render('carpool-missing.njk', {});
  const second = env.render('carpool-missing.njk', {});
  assert.equal(first, second);
  assert.doesNotMatch(first, /CARPOOL/);
  assert.match(first, /<link rel="stylesheet" href="\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css" >/);
  assert.match(first, /<link rel="stylesheet" href="\/static\/css\/does-not-exist\.css" >/);
  const carpoolWarnings = logger.warnings.filter((w) => w.includes('carpool css'));
  assert.equal(carpoolWarnings.length, 1, logger.warnings.join('\n'));
  assert.match(carpoolWarnings[0]!, /^carpool-missing\.njk:3: carpool css: css\/does-not-exist\.css: not found in the source roots/);
});

test('fallback: a carpool with a CSS syntax error renders the individual tags; strict mode throws', () => {
  const { env, logger } = makeEnv('curly');
  const html = env.render('carpool-broken.njk', {});
  assert.doesNotMatch(html, /CARPOOL/);
  assert.match(html, /href="\/static\/css\/sub\/b\.[0-9a-f]{12}\.cmin\.css"/);
  assert.match(html, /href="\/static\/bad\/broken\.css"/);
  assert.ok(logger.warnings.some((w) => /^carpool-broken\.njk:1: carpool css: static\/bad\/broken\.css:2:\d+: CSS/.test(w)), logger.warnings.join('\n'));
  const strict = makeEnv('curly', { strict: true });
  assert.throws(
    () => strict.env.render('carpool-broken.njk', {}),
    (e: Error) => /ConvoyError \[E_MINIFY\]: carpool-broken\.njk:1: carpool css: static\/bad\/broken\.css:2:\d+: CSS syntax error/.test(e.message),
  );
  assert.throws(() => makeEnv('curly', { strict: true }).env.render('carpool-missing.njk', {}), /ConvoyError \[E_NOT_FOUND\]: carpool-missing\.njk:3: carpool css: css\/does-not-exist\.css: not found/);
  // With Nunjucks' dev flag the ConvoyError itself is the cause.
  const dev = makeEnv('curly', { strict: true });
  (dev.env as unknown as { opts: { dev: boolean } }).opts.dev = true;
  assert.throws(() => dev.env.render('carpool-missing.njk', {}), (e: Error) => e.cause instanceof ConvoyError && e.cause.code === 'E_NOT_FOUND' && (e.cause.cause as ConvoyError).file === 'css/does-not-exist.css');
});

test('syntax errors in tag arguments are template errors naming the template and line', () => {
  const cases: [string, RegExp][] = [
    ['<p>\n<% convoy %>', /\(bad\.njk\) \[Line 2, Column \d+\][\s\S]*convoy: expected a path/],
    ['\n\n<% carpool %>x<% endcarpool %>', /\(bad\.njk\) \[Line 3, Column \d+\][\s\S]*carpool: expected a kind/],
    ['<% carpool xml %>x<% endcarpool %>', /\(bad\.njk\) \[Line 1, Column \d+\][\s\S]*unknown kind "xml"/],
    ['<% carpool css %>\ncss/a.css\n', /\(bad\.njk\)[\s\S]*(endcarpool|unexpected end of file)/],
    ["<% convoy 'a' as %>", /\(bad\.njk\)[\s\S]*expected a variable name after "as"/],
  ];
  for (const [src, re] of cases) {
    const loaderEnv = new nunjucks.Environment([], { tags: { blockStart: '<%', blockEnd: '%>' } });
    install(loaderEnv, { root: fixtureProject(), logger: memoryLogger() });
    const tpl = new nunjucks.Template(src, loaderEnv, 'bad.njk');
    assert.throws(() => tpl.render({}), (e: Error) => re.test(e.message), src);
  }
});

test('debug renders individual tags and compiles SCSS on demand; editing a partial changes the next render', () => {
  const { env, dir, out, logger } = makeEnv('curly', { debug: true });
  const html = env.render('carpool-html.njk', {});
  assert.doesNotMatch(html, /CARPOOL/);
  assert.match(html, /<link rel="stylesheet" href="\/static\/css\/a\.css">/);
  const site = /href="(\/static\/scss\/site\.[0-9a-f]{12}\.css)"/.exec(html);
  assert.ok(site, html);
  const compiled = fs.readFileSync(fileOf(out, site[1]!), 'utf8');
  assert.match(compiled, /\.panel \{\n  color: #0a7d32;/, 'unminified');
  assert.match(compiled, /\/\*# sourceMappingURL=site\.[0-9a-f]{12}\.css\.map \*\/$/);
  assert.match(html, /<script src="\/static\/coffee\/app\.[0-9a-f]{12}\.js"><\/script>/);
  assert.match(html, /<script src="\/static\/js\/two\.js"><\/script>/, 'convoy in debug prints the source URL');
  write(path.join(dir, 'static/scss/partials/_vars.scss'), '$main: #ff0000;\n$pad: 4px;\n');
  const next = env.render('carpool-html.njk', {});
  const site2 = /href="(\/static\/scss\/site\.[0-9a-f]{12}\.css)"/.exec(next)!;
  assert.notEqual(site2[1], site[1]);
  assert.match(fs.readFileSync(fileOf(out, site2[1]!), 'utf8'), /color: #ff0000;/);
  assert.deepEqual(logger.warnings, []);
});

test('debug: a Sass error shows on the page through an error stylesheet, and is logged', () => {
  const dir = fixtureProject();
  write(path.join(dir, 'templates/t.njk'), "<link href=\"{% scss 'bad/broken.scss' %}\">");
  const logger = memoryLogger();
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  install(env, { root: dir, sources: ['static'], staticRoot: 'out', debug: true, logger });
  const html = env.render('t.njk', {});
  const url = /href="\/static\/([^"]+)"/.exec(html)![1]!;
  assert.match(url, /^bad\/broken\.error\.[0-9a-f]{12}\.css$/);
  assert.match(fs.readFileSync(path.join(dir, 'out', url), 'utf8'), /body::before\{content:"convoy: static\/bad\/broken\.scss:4:\d+: Sass error/);
  assert.match(logger.warnings[0]!, /^t\.njk:1: scss 'bad\/broken\.scss': static\/bad\/broken\.scss:4/);
});

test('carpoolCombineDuringDebug bundles in debug; carpoolCombineDuringRequest off renders individual tags', () => {
  const debug = makeEnv('curly', { debug: true, carpoolCombineDuringDebug: true });
  assert.match(debug.env.render('carpool-list.njk', {}), /CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css/);
  const lazy = makeEnv('curly', { carpoolCombineDuringRequest: false });
  const html = lazy.env.render('carpool-list.njk', {});
  assert.doesNotMatch(html, /CARPOOL/);
  assert.match(html, /<link rel="stylesheet" href="\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css" >/);
  assert.equal(lazy.convoy.pipeline.stats.bundles, 0);
});

test('concurrent renders of a page whose bundle is missing build it once', async () => {
  const { env, convoy } = makeEnv('curly');
  const pages = await Promise.all(Array.from({ length: 8 }, () => renderAsync(env, 'carpool-list.njk', {})));
  assert.equal(new Set(pages).size, 1);
  assert.equal(convoy.pipeline.stats.bundles, 2);
});

test('production render from a manifest compiles nothing and resolves literal tags at compile time', () => {
  const dir = fixtureProject();
  const first = makeEnv('curly', {}, dir);
  const expected = first.env.render('page.njk', { title: 't', nav: [] });
  first.convoy.pipeline.save();
  const prod = makeEnv('curly', {}, dir);
  const html = prod.env.render('page.njk', { title: 't', nav: [] });
  assert.equal(html, expected);
  assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
  // Literal tags became template text: the compiled template no longer calls the extension.
  const compiledJs = (e: nunjucks.Environment) => {
    const internals = e as unknown as { asyncFilters: string[]; extensionsList: object[]; opts: object };
    const src = fs.readFileSync(path.join(REPO, 'templates-test/curly/page.njk'), 'utf8');
    return (nunjucks as unknown as { compiler: { compile(...a: unknown[]): string } }).compiler.compile(src, internals.asyncFilters, internals.extensionsList, 'page.njk', internals.opts);
  };
  const prodJs = compiledJs(prod.env);
  assert.doesNotMatch(prodJs, /__convoy_|runTag|runCarpool/);
  assert.match(prodJs, /CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js/);
  // Without a manifest the same template calls the extension at render time.
  assert.match(compiledJs(makeEnv('curly').env), /"runTag"[\s\S]*"runCarpool"/);
});

test('gzipInTemplate prints the .gz twin when the context says the request accepts gzip', () => {
  const { env } = makeEnv('curly', { gzipInTemplate: true });
  const gz = env.render('carpool-list.njk', { convoyAcceptEncoding: 'gzip, deflate, br' });
  assert.match(gz, /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css\.gz"/);
  const viaReq = env.render('tags.njk', { scriptPath: 'js/two.js', req: { headers: { 'accept-encoding': 'gzip' } } });
  assert.match(viaReq, /href="\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css\.gz"/);
  const plain = env.render('carpool-list.njk', {});
  assert.match(plain, /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css"/);
});

test('several environments in one process keep their own configuration', () => {
  const dir = fixtureProject();
  const a = makeEnv('curly', { staticUrl: '/a/' }, dir);
  const b = makeEnv('angle', { staticUrl: 'https://cdn.example.com/b/', staticRoot: 'out-b', carpoolPathFragment: 'B' }, dir);
  assert.match(a.env.render('carpool-list.njk', {}), /href="\/a\/CARPOOL\/css\//);
  assert.match(b.env.render('carpool-list.njk', {}), /href="https:\/\/cdn\.example\.com\/b\/B\/css\//);
  assert.equal(getConvoy(a.env), a.convoy);
  assert.equal(getConvoy(b.env), b.convoy);
  assert.notEqual(a.convoy.config.staticUrl, b.convoy.config.staticUrl);
  assert.throws(() => install(a.env, {}), /already/);
  assert.throws(() => install(new nunjucks.Environment(), { bogus: 1 } as never), /unknown option "bogus"/);
});

test('carpool templates: custom markup and disabled comments', () => {
  const { env } = makeEnv('curly', { carpoolCssTemplate: '<link href="%s" rel="stylesheet"%i>', carpoolStartComment: '', carpoolEndComment: '', integrity: true });
  const html = env.render('carpool-list.njk', {});
  assert.match(html, /^<link href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css" rel="stylesheet" integrity="sha384-[A-Za-z0-9+/=]+">/);
  assert.doesNotMatch(html, /<!--/);
  // Without %i the attributes go at the end of the tag; a CDN origin adds crossorigin.
  const cdn = makeEnv('curly', { integrity: true, staticUrl: 'https://cdn.example.com/s/' });
  assert.match(cdn.env.render('carpool-list.njk', {}), /<script type="text\/javascript" src="https:\/\/cdn\.example\.com\/s\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js" integrity="sha384-[^"]+" crossorigin="anonymous"><\/script>/);
});

test('integrity: fallback tags carry it too, and `convoy … as name` exposes name.integrity', () => {
  const { env, out } = makeEnv('curly', { integrity: true });
  const html = env.render('carpool-missing.njk', {});
  const a = /<link rel="stylesheet" href="\/static\/(css\/a\.[0-9a-f]{12}\.cmin\.css)" integrity="(sha384-[^"]+)">/.exec(html);
  assert.ok(a, html);
  const bytes = fs.readFileSync(path.join(out, a[1]!));
  assert.equal(a[2], `sha384-${createHash('sha384').update(bytes).digest('base64')}`);
  assert.match(html, /<link rel="stylesheet" href="\/static\/css\/does-not-exist\.css" >/, 'no integrity for what could not be processed');
  const tpl = new nunjucks.Template("{% convoy 'js/two.js' as two %}<script src=\"{{ two }}\" integrity=\"{{ two.integrity }}\"></script>", env, 'as.njk');
  const m = /<script src="\/static\/(js\/two\.[0-9a-f]{12}\.cmin\.js)" integrity="(sha384-[^"]+)"><\/script>/.exec(tpl.render({}));
  assert.ok(m);
  assert.equal(m[2], `sha384-${createHash('sha384').update(fs.readFileSync(path.join(out, m[1]!))).digest('base64')}`);
});

test('answers for render-time arguments are kept until the manifest is reloaded', () => {
  const dir = fixtureProject();
  const { env, convoy } = makeEnv('curly', {}, dir);
  const urlOf = () => /<script src="([^"]+two[^"]+)"><\/script>/.exec(env.render('tags.njk', { scriptPath: 'js/two.js' }))![1];
  const first = urlOf();
  convoy.pipeline.save();
  const minifiesBefore = convoy.pipeline.stats.minifies;
  assert.equal(urlOf(), first);
  assert.equal(convoy.pipeline.stats.minifies, minifiesBefore);
  // Another process rebuilds after a change; this one picks it up on reload.
  write(path.join(dir, 'static/js/two.js'), "log.push('changed')\n");
  const other = makeEnv('curly', {}, dir);
  other.convoy.pipeline.asset('js/two.js');
  other.convoy.pipeline.save();
  assert.equal(urlOf(), first, 'production trusts its manifest');
  convoy.pipeline.reload();
  assert.notEqual(urlOf(), first);
});

test('bundles built during a request get quick brotli twins; the next build recompresses them at full strength', async () => {
  const dir = fixtureProject();
  const { env, convoy, out } = makeEnv('curly', {}, dir);
  const html = env.render('carpool-list.njk', {});
  const bundle = Object.values(convoy.pipeline.manifest.data.bundles).find((b) => b.kind === 'css')!;
  assert.ok(html.includes(bundle.path));
  // The render wrote the output itself; its twins follow off the render path.
  assert.ok(fs.existsSync(path.join(out, bundle.path)));
  assert.deepEqual(await convoy.pipeline.flush(), []);
  convoy.pipeline.save();
  assert.equal(bundle.quick, true);
  const quickBr = fs.readFileSync(path.join(out, bundle.variants.br!));
  const served = fs.readFileSync(path.join(out, bundle.path));
  const { build } = await import('../../src/build.ts');
  const report = await build({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: [path.join(REPO, 'templates-test/curly')], templateGlob: 'carpool-list.njk', logger: memoryLogger() }, { parseTemplates: true, jobs: 1 });
  const rebuilt = Object.values(JSON.parse(fs.readFileSync(path.join(out, 'convoy-manifest.json'), 'utf8')).bundles as Record<string, { kind: string; path: string; quick?: boolean; variants: { br: string } }>).find((b) => b.kind === 'css')!;
  assert.ok(report.errors.every((e) => e.startsWith('static/bad/')), report.errors.join('\n'));
  assert.equal(rebuilt.path, bundle.path, 'same bytes, same name');
  assert.equal(rebuilt.quick, undefined);
  const fullBr = fs.readFileSync(path.join(out, rebuilt.variants.br));
  assert.notDeepEqual(fullBr, quickBr);
  assert.deepEqual(zlib.brotliDecompressSync(fullBr), served);
  assert.ok(fullBr.length <= quickBr.length);
});

test('convoyDuringDebug: debug renders still print processed URLs for convoy', () => {
  const plain = makeEnv('curly', { debug: true });
  assert.match(plain.env.render('tags.njk', { scriptPath: 'js/two.js' }), /href="\/static\/css\/a\.css"/);
  const processed = makeEnv('curly', { debug: true, convoyDuringDebug: true });
  assert.match(processed.env.render('tags.njk', { scriptPath: 'js/two.js' }), /href="\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css"/);
});
