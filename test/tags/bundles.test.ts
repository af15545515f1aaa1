import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { build } from '../../src/build.ts';
import { ConvoyError, requireAsset } from '../../src/index.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { REPO, STYLES, fixtureProject, memoryLogger, write } from '../helpers.ts';
import { makeEnv } from './env.ts';

const fileOf = (out: string, url: string) => path.join(out, url.replace(/^\/static\//, ''));
const bundleUrls = (html: string) => [...html.matchAll(/\/static\/CARPOOL\/(?:css|js)\/[0-9a-f]{12}\.cmin\.(?:css|js)/g)].map((m) => m[0]);

/** Fixtures plus a `glob/` folder in both roots: `shared.css` in both (the first root's wins). */
function globProject(): string {
  const dir = fixtureProject();
  fs.rmSync(path.join(dir, 'static/bad'), { recursive: true });
  write(path.join(dir, 'static/glob/first.css'), '.first { color: #111111; }\n');
  write(path.join(dir, 'static/glob/shared.css'), '.shared-from-static { color: #222222; }\n');
  write(path.join(dir, 'vendor/glob/shared.css'), '.shared-from-vendor { color: #333333; }\n');
  write(path.join(dir, 'vendor/glob/vendor-only.css'), '.vendor-only { color: #444444; }\n');
  write(path.join(dir, 'static/glob/notes.txt'), 'not css\n');
  return dir;
}

const buildOptions = (dir: string, style: keyof typeof STYLES, templateGlob: string, extra: ConvoyOptions = {}): ConvoyOptions => ({
  root: dir,
  sources: ['static', 'vendor'],
  staticRoot: 'out',
  templates: [path.join(REPO, 'templates-test', style)],
  templateGlob,
  nunjucks: STYLES[style],
  logger: memoryLogger(),
  ...extra,
});

for (const style of ['curly', 'angle'] as const) {
  test(`${style}: a glob carpool over two source roots gives the same bundle from the scan and from a render`, async () => {
    const scanned = globProject();
    const report = await build(buildOptions(scanned, style, 'carpool-glob.njk'), { parseTemplates: true, jobs: 1 });
    assert.deepEqual(report.errors, []);
    const prod = makeEnv(style, { carpoolCombineDuringRequest: false }, scanned);
    const html = prod.env.render('carpool-glob.njk', {});
    // Sorted, the explicit path first and not repeated, first root wins, only CSS, lib.min.js left to the pipeline.
    assert.match(html, /<!-- glob\/first\.css\+\+\+glob\/shared\.css\+\+\+glob\/vendor-only\.css -->/);
    assert.match(html, /<!-- js\/lib\.js\+\+\+js\/one\.js\+\+\+js\/three\.js\+\+\+js\/two\.js -->/);
    const urls = bundleUrls(html);
    assert.equal(urls.length, 2, html);
    assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
    const css = fs.readFileSync(fileOf(prod.out, urls[0]!), 'utf8');
    assert.equal(css, '.first{color:#111}.shared-from-static{color:#222}.vendor-only{color:#444}');
    const ctx = vm.createContext({});
    vm.runInContext(fs.readFileSync(fileOf(prod.out, urls[1]!), 'utf8'), ctx);
    assert.equal(JSON.stringify(ctx.log), '["lib-min","one","three","two:42"]', 'lib.min.js is used for lib.js, not listed twice');

    // A render in a project nobody built expands the same way and builds the same bundles.
    const fresh = makeEnv(style, {}, globProject());
    assert.deepEqual(bundleUrls(fresh.env.render('carpool-glob.njk', {})), urls);
    assert.deepEqual(fresh.logger.warnings, []);
  });

  test(`${style}: in debug a new file matching a carpool glob joins on the next render; production keeps the recorded expansion`, async () => {
    const dir = globProject();
    const debug = makeEnv(style, { debug: true }, dir);
    const before = debug.env.render('carpool-glob.njk', {});
    assert.equal((before.match(/<link /g) ?? []).length, 3, before);
    const combined = makeEnv(style, { debug: true, carpoolCombineDuringDebug: true }, dir);
    const bundledBefore = bundleUrls(combined.env.render('carpool-glob.njk', {}));
    write(path.join(dir, 'vendor/glob/added.css'), '.added { color: #555555; }\n');
    const after = debug.env.render('carpool-glob.njk', {});
    assert.equal((after.match(/<link /g) ?? []).length, 4, after);
    assert.match(after, /href="\/static\/glob\/first\.css" >\n\n<link rel="stylesheet" href="\/static\/glob\/added\.css" >/);
    const bundledAfter = bundleUrls(combined.env.render('carpool-glob.njk', {}));
    assert.notEqual(bundledAfter[0], bundledBefore[0]);
    assert.equal(bundledAfter[1], bundledBefore[1]);
    assert.match(fs.readFileSync(fileOf(combined.out, bundledAfter[0]!), 'utf8'), /\.added\{color:#555\}/);

    // Production uses what the build recorded: a file added after the build is not globbed at render time.
    const built = globProject();
    await build(buildOptions(built, style, 'carpool-glob.njk'), { parseTemplates: true, jobs: 1 });
    write(path.join(built, 'static/glob/late.css'), '.late { color: #666666; }\n');
    const prod = makeEnv(style, { carpoolCombineDuringRequest: false }, built);
    const html = prod.env.render('carpool-glob.njk', {});
    assert.doesNotMatch(html, /late/);
    assert.match(html, /<!-- glob\/first\.css\+\+\+glob\/shared\.css\+\+\+glob\/vendor-only\.css -->/);
    // The next build records the new expansion.
    await build(buildOptions(built, style, 'carpool-glob.njk'), { parseTemplates: true, jobs: 1 });
    assert.match(makeEnv(style, { carpoolCombineDuringRequest: false }, built).env.render('carpool-glob.njk', {}), /glob\/late\.css/);
  });

  test(`${style}: a named bundle renders from the manifest the CLI's build wrote, with nothing compiled during render`, async () => {
    const dir = globProject();
    const bundles = { site: ['css/a.css', 'glob/*.css', 'js/one.js', 'coffee/app.coffee'] };
    // No template needed: the build makes every named bundle.
    const logger = memoryLogger();
    const report = await build({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: ['none'], bundles, logger }, { jobs: 1 });
    assert.deepEqual(report.errors, [], logger.warnings.join('\n'));
    const built = report.bundles.filter((b) => b.built);
    assert.deepEqual(built.map((b) => b.sources).sort(), [
      ['css/a.css', 'glob/first.css', 'glob/shared.css', 'glob/vendor-only.css'],
      ['js/one.js', 'coffee/app.coffee'],
    ]);
    const prod = makeEnv(style, { bundles, carpoolCombineDuringRequest: false }, dir);
    const html = prod.env.render('named.njk', {});
    const manifest = prod.convoy.pipeline.manifest.data.bundles;
    assert.equal(
      html,
      '<head>\n<!-- css/a.css+++glob/first.css+++glob/shared.css+++glob/vendor-only.css -->\n' +
        `<link rel="stylesheet" href="/static/${manifest['css:css/a.css+++glob/first.css+++glob/shared.css+++glob/vendor-only.css']!.path}" >\n` +
        '\n<!-- css/a.css+++glob/first.css+++glob/shared.css+++glob/vendor-only.css -->\n</head>\n' +
        '<body><p>page</p>\n<!-- js/one.js+++coffee/app.coffee -->\n' +
        `<script type="text/javascript" src="/static/${manifest['js:js/one.js+++coffee/app.coffee']!.path}" ></script>\n` +
        '\n<!-- js/one.js+++coffee/app.coffee -->\n</body>\n',
    );
    assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
    assert.deepEqual(prod.logger.warnings, []);
    // In debug the same tag prints each file on its own.
    const debug = makeEnv(style, { bundles, debug: true }, dir).env.render('named.njk', {});
    assert.match(debug, /<link rel="stylesheet" href="\/static\/css\/a\.css" >\n\n<link rel="stylesheet" href="\/static\/glob\/first\.css" >/);
    assert.match(debug, /<script type="text\/javascript" src="\/static\/js\/one\.js" ><\/script>\n\n<script type="text\/javascript" src="\/static\/coffee\/app\.[0-9a-f]{12}\.js" ><\/script>/);
  });

  test(`${style}: require of a declared asset prints nothing; of an undeclared one warns with template:line (throws in strict)`, () => {
    const bundles = { site: ['css/a.css', 'js/*.js'], print: ['css/c.css'] };
    for (const debug of [false, true]) {
      const { env, logger } = makeEnv(style, { bundles, debug });
      assert.equal(env.render('require.njk', {}), '<p></p>\n\n');
      assert.deepEqual(logger.warnings, ["require.njk:2: require 'css/sub/b.css': css/sub/b.css is in no declared bundle (searched: site, print)"], `debug: ${debug}`);
    }
    const strict = makeEnv(style, { bundles, strict: true });
    assert.throws(() => strict.env.render('require.njk', {}), /ConvoyError \[E_NOT_DECLARED\]: require\.njk:2: require 'css\/sub\/b\.css': css\/sub\/b\.css is in no declared bundle/);
    // A glob declares what it matches.
    const { env, logger } = makeEnv(style, { bundles: { site: ['css/**/*.css'] } });
    assert.equal(env.render('require.njk', {}), '<p></p>\n\n');
    assert.deepEqual(logger.warnings, []);
  });

  test(`${style}: the template scan checks every require: an undeclared asset is an error of the build naming template:line`, async () => {
    const dir = globProject();
    const bad = await build(buildOptions(dir, style, '{require,named}.njk', { bundles: { site: ['css/a.css', 'js/one.js'] } }), { parseTemplates: true, jobs: 1 });
    assert.deepEqual(bad.errors, ['require.njk:2: require css/sub/b.css is in no declared bundle (searched: site)']);
    assert.deepEqual(bad.scan!.events.filter((e) => e.tag === 'require').map((e) => [e.template, e.line, e.status, e.asset]), [
      ['named.njk', 2, 'built', 'css/a.css'],
      ['require.njk', 1, 'built', 'css/a.css'],
      ['require.njk', 2, 'failed', 'css/sub/b.css'],
    ]);
    assert.deepEqual(bad.scan!.unrequired, [{ asset: 'js/one.js', bundles: ['site'] }]);
    const good = await build(buildOptions(dir, style, '{require,named}.njk', { bundles: { site: ['css/a.css', 'css/sub/*.css', 'js/one.js'] } }), { parseTemplates: true, jobs: 1 });
    assert.deepEqual(good.errors, []);
  });
}

test('requireAsset(env, path) from code: true for a declared asset, a warning naming the caller otherwise, E_NOT_DECLARED in strict mode', () => {
  const { env, logger } = makeEnv('curly', { bundles: { site: ['css/a.css'] } });
  assert.equal(requireAsset(env, 'css/a.css'), true);
  assert.equal(requireAsset(env, 'css/c.css'), false);
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0]!, /^test\/tags\/bundles\.test\.ts:\d+: require 'css\/c\.css': css\/c\.css is in no declared bundle \(searched: site\)$/);
  const strict = makeEnv('curly', { bundles: { site: ['css/a.css'] }, strict: true });
  assert.throws(() => requireAsset(strict.env, 'css/c.css'), (e: unknown) => e instanceof ConvoyError && e.code === 'E_NOT_DECLARED');
  assert.equal(requireAsset(makeEnv('curly').env, 'css/a.css', { template: 'app.js', line: 3 }), false);
});

test('a named bundle that does not exist warns naming the declared ones; strict throws', () => {
  const { env, logger } = makeEnv('curly', { bundles: { other: ['css/a.css'] } });
  assert.equal(env.render('named.njk', {}).replace(/\s+/g, ''), '<head></head><body><p>page</p></body>');
  assert.match(logger.warnings[0]!, /^named\.njk:1: carpool css 'site': no bundle named "site" \(declared: other\)/);
  assert.throws(() => makeEnv('curly', { strict: true }).env.render('named.njk', {}), /E_TEMPLATE.*no bundle named "site" \(declared: none/);
});

test('bundles option: wrong shapes are rejected naming the option', () => {
  assert.throws(() => makeEnv('curly', { bundles: { site: [] } }), /option "bundles\.site" expects a non-empty list of paths or globs/);
  assert.throws(() => makeEnv('curly', { bundles: ['css/a.css'] as never }), /option "bundles" expects an object of named lists/);
});

test('a glob matching no file of the kind warns and the rest of the carpool still renders', () => {
  const { env, logger } = makeEnv('curly');
  const html = env.renderString('{% carpool css %}\ncss/a.css\nnothing/*.css\n{% endcarpool %}', {});
  assert.equal(bundleUrls(html).length, 1, html);
  assert.match(logger.warnings[0]!, /nothing\/\*\.css: the glob matches no css file in the source roots \(it matched nothing\)/);
});

test('a named bundle that cannot be built is an error of the build naming the bundle and the file', async () => {
  const dir = globProject();
  const report = await build({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: ['none'], bundles: { site: ['css/a.css', 'css/gone.css', 'js/one.js'] }, logger: memoryLogger() }, { jobs: 1 });
  assert.deepEqual(report.errors.filter((e) => e.startsWith('bundle')), ['bundle "site" (css): css/gone.css: not found in the source roots (' + path.join(dir, 'static') + ', ' + path.join(dir, 'vendor') + ')']);
  assert.deepEqual(report.bundles.map((b) => b.sources), [['js/one.js']]);
});
