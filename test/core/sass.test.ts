import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import { ConvoyError } from '../../src/errors.ts';
import { REPO, memoryLogger, tmpDir, write } from '../helpers.ts';

const BOOTSTRAP = fs.realpathSync(path.join(REPO, 'node_modules/bootstrap'));

/** A temporary app that installed bootstrap: its node_modules/bootstrap resolves to the real package. */
function bootstrapApp() {
  const dir = tmpDir('convoy-sass-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(BOOTSTRAP, path.join(dir, 'node_modules/bootstrap'), 'dir');
  write(path.join(dir, 'static/css/site.scss'), '@use "bootstrap/scss/bootstrap";\n.site-own { color: red; }\n');
  write(path.join(dir, 'static/css/admin.scss'), '@use "bootstrap/scss/bootstrap";\n.admin-own { margin: 0; }\n');
  write(path.join(dir, 'templates/page.njk'), '{% scss "css/site.scss" %}\n{% scss "css/admin.scss" %}\n');
  return dir;
}

function render(dir: string, options: Parameters<typeof install>[1] = {}) {
  const logger = memoryLogger();
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  const convoy = install(env, { root: dir, staticRoot: 'public/static', logger, ...options });
  const urls = env.render('page.njk', {}).trim().split('\n');
  const css = urls.map((u) => fs.readFileSync(path.join(dir, 'public', u), 'utf8'));
  return { urls, css, logger, manifest: convoy.pipeline.manifest.data };
}

for (const engine of ['sass', 'sass-embedded'] as const) {
  test(`@use "bootstrap/scss/bootstrap" compiles from an app's node_modules with default settings; package deprecations are logged once, summarised (${engine})`, () => {
    const dir = bootstrapApp();
    const { urls, css, logger, manifest } = render(dir, { engines: { sass: engine } });
    assert.match(urls[0]!, /^\/static\/css\/site\.[0-9a-f]{12}\.cmin\.css$/);
    assert.match(css[0]!, /\.btn\{/);
    assert.match(css[0]!, /--bs-primary:#0d6efd/);
    assert.match(css[0]!, /\.site-own\{color:red\}/);
    assert.match(css[1]!, /\.admin-own\{margin:0\}/);
    assert.deepEqual(logger.errors, []);
    // Bootstrap 5.3 makes Sass report ~20 deprecations; two entries loading it give one summary line.
    assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
    // Warnings raised while a tag builds name its template first (`page.njk:1: `).
    assert.match(logger.warnings[0]!, /^page\.njk:1: Sass warnings from node_modules\/bootstrap \(.*\bimport\b.*\), first: .* \(node_modules\/bootstrap\/scss\/[^:]+:\d+\)\. .*quietDeps: true.*silenceDeprecations: \[.*"import"/);
    // The partials are inputs: their digests decide staleness (recorded root-relative, through the link).
    assert.ok(Object.keys(manifest.files['css/site.scss']!.inputs).includes('node_modules/bootstrap/scss/_buttons.scss'));
  });
}

test('sass.quietDeps and sass.silenceDeprecations silence package warnings; warnings about the app\'s own files stay', () => {
  const dir = bootstrapApp();
  assert.deepEqual(render(dir, { sass: { quietDeps: true } }).logger.warnings, []);
  fs.rmSync(path.join(dir, 'public'), { recursive: true });
  const silenced = render(dir, { sass: { silenceDeprecations: ['import', 'global-builtin', 'color-functions', 'if-function'] } });
  assert.deepEqual(silenced.logger.warnings, []);
  fs.rmSync(path.join(dir, 'public'), { recursive: true });
  write(path.join(dir, 'static/css/site.scss'), '@use "bootstrap/scss/bootstrap";\n.site-own { color: darken(#fff, 10%); }\n');
  const own = render(dir, { sass: { quietDeps: true } });
  assert.equal(own.logger.warnings.length, 1, own.logger.warnings.join('\n'));
  assert.match(own.logger.warnings[0]!, /^page\.njk:1: css\/site\.scss: \d Sass warning\(s\), the first: deprecation \[[a-z-]+\]: .* \(static\/css\/site\.scss:2\)$/);
});

test('sass.loadPaths are searched after the source roots (relative to root)', () => {
  const dir = tmpDir();
  write(path.join(dir, 'shared/scss/_brand.scss'), '$brand: #123456;\n');
  write(path.join(dir, 'static/css/x.scss'), '@use "brand";\n.x { color: brand.$brand; }\n');
  write(path.join(dir, 'templates/page.njk'), '{% scss "css/x.scss" %}\n');
  const { css, logger } = render(dir, { sass: { loadPaths: ['shared/scss'] } });
  assert.equal(css[0], '.x{color:#123456}');
  assert.deepEqual(logger.warnings, []);
  const bare = render(tmpDirCopy(dir), {});
  assert.match(bare.logger.warnings[0] ?? '', /Can't find stylesheet to import/);
});

function tmpDirCopy(dir: string): string {
  const copy = tmpDir();
  fs.cpSync(dir, copy, { recursive: true });
  fs.rmSync(path.join(copy, 'public'), { recursive: true, force: true });
  return copy;
}

test('the sass option is validated, naming the key', () => {
  const env = new nunjucks.Environment();
  const bad = (sass: unknown, re: RegExp) =>
    assert.throws(() => install(env, { sass } as never), (e: unknown) => e instanceof ConvoyError && e.code === 'E_CONFIG' && re.test(e.message));
  bad({ loadPath: ['x'] }, /option "sass\.loadPath" expects one of loadPaths, silenceDeprecations, quietDeps/);
  bad({ loadPaths: 'x' }, /option "sass\.loadPaths" expects a list of non-empty strings/);
  bad({ quietDeps: 'yes' }, /option "sass\.quietDeps" expects true or false/);
  bad({ silenceDeprecations: [1] }, /option "sass\.silenceDeprecations" expects a list/);
  bad(['x'], /option "sass" expects an object/);
});
