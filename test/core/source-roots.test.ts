import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { Finder } from '../../src/core/finder.ts';
import { build } from '../../src/build.ts';
import { configFromEnv, install } from '../../src/index.ts';
import { resolveConfig } from '../../src/config.ts';
import { ConvoyError } from '../../src/errors.ts';
import { REPO, listFiles, memoryLogger, tmpDir, write } from '../helpers.ts';

/** An app with its own static folder and bootstrap installed (node_modules/bootstrap links to the real package). */
function app() {
  const dir = tmpDir('convoy-roots-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(fs.realpathSync(path.join(REPO, 'node_modules/bootstrap')), path.join(dir, 'node_modules/bootstrap'), 'dir');
  write(path.join(dir, 'static/css/site.css'), 'body { margin: 0 }\n');
  write(path.join(dir, 'static/css/site.test.css'), '.only-in-tests { color: red }\n');
  write(path.join(dir, 'static/js/app.js'), 'window.app = 1;\n');
  return dir;
}

const BOOTSTRAP_ROOT = { dir: 'node_modules/bootstrap/dist', prefix: 'bootstrap', include: ['css/bootstrap.css', 'css/bootstrap.min.css', 'js/bootstrap.bundle.min.js'] };

test('a prefixed root mounts its folder under a URL path; include/exclude decide what it publishes', () => {
  const dir = app();
  const f = new Finder([
    { dir: path.join(dir, 'static'), exclude: ['**/*.test.css'] },
    { ...BOOTSTRAP_ROOT, dir: path.join(dir, BOOTSTRAP_ROOT.dir) },
  ]);
  assert.equal(f.find('bootstrap/css/bootstrap.css').abs, path.join(dir, 'node_modules/bootstrap/dist/css/bootstrap.css'));
  // Not included, or not under the prefix, or excluded: not found.
  for (const missing of ['bootstrap/css/bootstrap.rtl.css', 'bootstrap/css/bootstrap.css.map', 'css/bootstrap.css', 'bootstrap/', 'css/site.test.css']) {
    assert.equal(f.tryFind(missing), undefined, missing);
  }
  assert.deepEqual(f.glob('**/*').map((x) => x.rel), ['bootstrap/css/bootstrap.css', 'bootstrap/css/bootstrap.min.css', 'bootstrap/js/bootstrap.bundle.min.js', 'css/site.css', 'js/app.js']);
  // Globs match asset names, prefix included.
  assert.deepEqual(f.glob('bootstrap/css/*.css').map((x) => x.rel), ['bootstrap/css/bootstrap.css', 'bootstrap/css/bootstrap.min.css']);
  assert.deepEqual(f.glob('*/*.js').map((x) => x.rel), ['js/app.js']);
  assert.deepEqual(f.glob('**/*.js').map((x) => x.rel), ['bootstrap/js/bootstrap.bundle.min.js', 'js/app.js']);
  assert.equal(f.relativeOf(path.join(dir, 'node_modules/bootstrap/dist/css/bootstrap.css')), 'bootstrap/css/bootstrap.css');
  assert.equal(f.relativeOf(path.join(dir, 'node_modules/bootstrap/dist/css/bootstrap.rtl.css')), undefined);
  // A file created after the first lookup is published if the globs allow it.
  write(path.join(dir, 'static/css/late.css'), 'a{}');
  assert.equal(f.find('css/late.css').rel, 'css/late.css');
});

test('the build publishes only what the roots include, under their prefixes; tags print the mounted names', async () => {
  const dir = app();
  const options = { root: dir, sources: [{ dir: 'static', exclude: '**/*.test.css' }, BOOTSTRAP_ROOT], logger: memoryLogger() };
  const report = await build(options);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.files.map((f) => f.rel), ['bootstrap/css/bootstrap.css', 'bootstrap/css/bootstrap.min.css', 'bootstrap/js/bootstrap.bundle.min.js', 'css/site.css', 'js/app.js']);
  const out = path.join(dir, 'public/static');
  const written = listFiles(out).filter((f) => !/\.(gz|br|map)$/.test(f) && f !== 'convoy-manifest.json');
  assert.ok(written.every((f) => /^(bootstrap\/(css|js)|css|js)\//.test(f)), written.join('\n'));
  assert.ok(!written.some((f) => /rtl|grid|reboot|utilities|esm|test/.test(f)), written.join('\n'));
  assert.ok(written.some((f) => /^bootstrap\/css\/bootstrap\.[0-9a-f]{12}\.cmin\.css$/.test(f)));
  // useExistingMinFiles: the served bytes of bootstrap.css are Bootstrap's own bootstrap.min.css.
  const min = fs.readFileSync(path.join(dir, 'node_modules/bootstrap/dist/css/bootstrap.min.css'), 'utf8');
  const served = fs.readFileSync(path.join(out, written.find((f) => /^bootstrap\/css\/bootstrap\.[0-9a-f]{12}\.cmin\.css$/.test(f))!), 'utf8');
  const chunk = min.slice(min.indexOf(':root,'), min.indexOf(':root,') + 300);
  assert.ok(chunk.length === 300 && served.includes(chunk));

  const logger = memoryLogger();
  const env = new nunjucks.Environment();
  install(env, { ...options, logger });
  const html = env.renderString("{% convoy 'bootstrap/css/bootstrap.css' %} {% convoy 'bootstrap/js/bootstrap.bundle.min.js' %} {% convoy 'bootstrap/css/bootstrap.rtl.css' %}", {});
  const [css, js, rtl] = html.split(' ');
  assert.match(css!, /^\/static\/bootstrap\/css\/bootstrap\.[0-9a-f]{12}\.cmin\.css$/);
  assert.match(js!, /^\/static\/bootstrap\/js\/bootstrap\.bundle\.min\.[0-9a-f]{12}\.js$/);
  assert.equal(rtl, '/static/bootstrap/css/bootstrap.rtl.css');
  assert.match(logger.warnings.join('\n'), /bootstrap\/css\/bootstrap\.rtl\.css.*not found/);
});

test('sources entries are validated naming the entry; CONVOY_SOURCES stays a list of plain folders', () => {
  const bad = (sources: unknown, re: RegExp) =>
    assert.throws(() => resolveConfig({ sources } as never), (e: unknown) => e instanceof ConvoyError && e.code === 'E_CONFIG' && re.test(e.message), String(re));
  bad('static', /option "sources" expects a list/);
  bad(['static', { prefix: 'x' }], /option "sources\[1\]\.dir" expects a non-empty folder/);
  bad([{ dir: 'a', prefix: '../up' }], /option "sources\[0\]\.prefix" expects a URL path without/);
  bad([{ dir: 'a', include: [3] }], /option "sources\[0\]\.include" expects a glob or a list of globs/);
  bad([{ dir: 'a', exlude: '*.map' }], /option "sources\[0\]\.exlude" expects one of dir, prefix, include, exclude/);
  bad([''], /option "sources\[0\]" expects a non-empty folder/);
  const c = resolveConfig({ root: '/app', sources: ['static', { dir: 'node_modules/bootstrap/dist', prefix: '/bootstrap/', include: 'css/*.css' }] });
  assert.deepEqual(c.sources, ['/app/static', '/app/node_modules/bootstrap/dist']);
  assert.deepEqual(c.sourceRoots, [{ dir: '/app/static', prefix: '' }, { dir: '/app/node_modules/bootstrap/dist', prefix: 'bootstrap', include: ['css/*.css'] }]);
  assert.deepEqual(configFromEnv({ CONVOY_SOURCES: 'static:vendor/static' }).sources, ['static', 'vendor/static']);
});

test("url()s of a package's stylesheet reach its fonts through the prefix; globs limit what it publishes (Font Awesome)", async () => {
  const dir = tmpDir('convoy-fa-');
  fs.mkdirSync(path.join(dir, 'node_modules/@fortawesome'), { recursive: true });
  fs.symlinkSync(fs.realpathSync(path.join(REPO, 'node_modules/@fortawesome/fontawesome-free')), path.join(dir, 'node_modules/@fortawesome/fontawesome-free'), 'dir');
  const options = {
    root: dir,
    sources: [{ dir: 'node_modules/@fortawesome/fontawesome-free', prefix: 'vendor/fa', include: ['css/all.css', 'webfonts/*.woff2'] }],
    logger: memoryLogger(),
  };
  const report = await build(options);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.files.map((f) => f.rel), ['vendor/fa/css/all.css', 'vendor/fa/webfonts/fa-brands-400.woff2', 'vendor/fa/webfonts/fa-regular-400.woff2', 'vendor/fa/webfonts/fa-solid-900.woff2', 'vendor/fa/webfonts/fa-v4compatibility.woff2']);
  const out = path.join(dir, 'public/static');
  const css = fs.readFileSync(path.join(out, report.files[0]!.output!), 'utf8');
  const urls = [...css.matchAll(/url\(([^)]+)\)/g)].map((m) => m[1]!.replace(/["']/g, ''));
  assert.equal(new Set(urls).size, 4, urls.join('\n'));
  for (const u of urls) {
    assert.match(u, /^\.\.\/webfonts\/fa-[a-z0-9-]+\.[0-9a-f]{12}\.woff2$/);
    assert.ok(fs.existsSync(path.join(out, 'vendor/fa/css', u)), u);
  }
});
