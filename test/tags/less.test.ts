import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from '../../src/build.ts';
import { configFromEnv, resolveConfig } from '../../src/config.ts';
import { serve } from '../../src/adapters/express.ts';
import { REPO, STYLES, fixtureProject, memoryLogger, tmpDir, write } from '../helpers.ts';
import { listen, request } from '../adapters/http.ts';
import { makeEnv, renderAsync } from './env.ts';

const fileOf = (out: string, url: string) => path.join(out, url.replace(/^\/static\//, ''));

/** A fixture project with a LESS entry that imports a partial (variables + a mixin with output) and a second file. */
function lessProject(): string {
  const dir = fixtureProject();
  write(path.join(dir, 'static/less/_vars.less'), '@main: #123456;\n@pad: 3px;\n.shared-rule { border: 1px solid @main; }\n');
  write(path.join(dir, 'static/less/mixins.less'), '.box(@p) { padding: @p; margin: (@p * 2); }\n');
  write(path.join(dir, 'static/less/site.less'), '@import "_vars";\n@import "mixins";\n\n.panel {\n  color: @main;\n  .box(@pad);\n  .title { font-weight: bold; }\n}\n');
  return dir;
}

for (const style of ['curly', 'angle'] as const) {
  test(`${style}: the less tag compiles a LESS file with imports; a carpool body takes .less too`, async () => {
    const { env, out, logger } = makeEnv(style, {}, lessProject());
    const html = env.render('less.njk', {});
    assert.equal(await renderAsync(env, 'less.njk', {}), html, 'sync and async renders agree');
    const url = /href="(\/static\/less\/site\.[0-9a-f]{12}\.cmin\.css)"/.exec(html);
    assert.ok(url, html);
    assert.equal(fs.readFileSync(fileOf(out, url[1]!), 'utf8'), '.shared-rule{border:1px solid #123456}.panel{color:#123456;padding:3px;margin:6px}.panel .title{font-weight:700}');
    const bundle = /<!-- css\/a\.css\+\+\+less\/site\.less -->\n<link rel="stylesheet" href="(\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css)" >/.exec(html);
    assert.ok(bundle, html);
    const joined = fs.readFileSync(fileOf(out, bundle[1]!), 'utf8');
    assert.ok(joined.indexOf('.logo{') >= 0 && joined.indexOf('.logo{') < joined.indexOf('.panel{color:#123456'), joined);
    assert.deepEqual(logger.warnings, []);
  });

  test(`${style}: in debug, editing a file a LESS entry imports rebuilds it (unminified, with a source map)`, () => {
    const dir = lessProject();
    const { env, out, logger } = makeEnv(style, { debug: true }, dir);
    const first = /href="(\/static\/less\/site\.[0-9a-f]{12}\.css)"/.exec(env.render('less.njk', {}));
    assert.ok(first);
    const css = fs.readFileSync(fileOf(out, first[1]!), 'utf8');
    assert.match(css, /\.panel \{\n  color: #123456;/);
    const mapName = /\/\*# sourceMappingURL=(site\.[0-9a-f]{12}\.css\.map) \*\/$/.exec(css);
    assert.ok(mapName, css);
    const map = JSON.parse(fs.readFileSync(path.join(out, 'less', mapName[1]!), 'utf8')) as { sources: string[] };
    assert.deepEqual([...map.sources].sort(), ['static/less/_vars.less', 'static/less/mixins.less', 'static/less/site.less']);
    // Unchanged: the same output, nothing recompiled.
    assert.equal(/href="([^"]+site[^"]+)"/.exec(env.render('less.njk', {}))![1], first[1]);
    write(path.join(dir, 'static/less/_vars.less'), '@main: #abcdef;\n@pad: 3px;\n.shared-rule { border: 1px solid @main; }\n');
    const second = /href="(\/static\/less\/site\.[0-9a-f]{12}\.css)"/.exec(env.render('less.njk', {}));
    assert.ok(second);
    assert.notEqual(second[1], first[1]);
    assert.match(fs.readFileSync(fileOf(out, second[1]!), 'utf8'), /color: #abcdef;/);
    assert.deepEqual(logger.warnings, []);
  });

  test(`${style}: the production build prebuilds less tags, so a render compiles nothing`, async () => {
    const dir = lessProject();
    fs.rmSync(path.join(dir, 'static/bad'), { recursive: true });
    const report = await build(
      { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: [path.join(REPO, 'templates-test', style)], templateGlob: 'less.njk', nunjucks: STYLES[style], logger: memoryLogger() },
      { parseTemplates: true, jobs: 1 },
    );
    assert.deepEqual(report.errors, []);
    assert.ok(report.scan!.events.some((e) => e.tag === 'less' && e.status === 'built'));
    // The partial is not built on its own; the entry is.
    assert.ok(!report.files.some((f) => f.rel === 'less/_vars.less'));
    const prod = makeEnv(style, { carpoolCombineDuringRequest: false }, dir);
    const entry = prod.convoy.pipeline.manifest.data.files['less/site.less']!;
    assert.deepEqual(Object.keys(entry.inputs).sort(), ['static/less/_vars.less', 'static/less/mixins.less', 'static/less/site.less']);
    const html = prod.env.render('less.njk', {});
    assert.ok(html.includes(`href="/static/${entry.path}"`), html);
    assert.match(html, /CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css/);
    assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
  });
}

test('production maps chain LESS through minifying and joining back to the .less files', () => {
  const { env, out } = makeEnv('curly', { sourceMaps: true }, lessProject());
  const html = env.render('less.njk', {});
  for (const url of [/href="(\/static\/less\/[^"]+)"/.exec(html)![1]!, /href="(\/static\/CARPOOL\/css\/[^"]+)"/.exec(html)![1]!]) {
    const css = fs.readFileSync(fileOf(out, url), 'utf8');
    const mapName = /\/\*# sourceMappingURL=(\S+) \*\/$/.exec(css)![1]!;
    const map = JSON.parse(fs.readFileSync(path.join(path.dirname(fileOf(out, url)), mapName), 'utf8')) as { sources: string[] };
    assert.ok(map.sources.includes('static/less/site.less') && map.sources.includes('static/less/_vars.less'), `${url}: ${map.sources.join(', ')}`);
  }
});

test('a LESS error names the file and line; the tag falls back (error stylesheet in debug, last good build in production); strict throws', () => {
  const dir = lessProject();
  write(path.join(dir, 'templates/t.njk'), "<link href=\"{% less 'less/site.less' %}\">");
  const debug = makeEnv('curly', { debug: true }, dir);
  write(path.join(dir, 'static/less/site.less'), '@import "_vars";\n.panel {\n  color: @missing;\n}\n');
  const html = debug.env.render('less.njk', {});
  const url = /href="\/static\/(less\/site\.error\.[0-9a-f]{12}\.css)"/.exec(html);
  assert.ok(url, html);
  assert.match(fs.readFileSync(path.join(debug.out, url[1]!), 'utf8'), /content:"convoy: static\/less\/site\.less:3:\d+: LESS Name error: variable @missing is undefined/);
  assert.match(debug.logger.warnings[0]!, /^less\.njk:1: less 'less\/site\.less': static\/less\/site\.less:3:10: LESS Name error/);

  // An error inside an imported file names that file.
  write(path.join(dir, 'static/less/site.less'), '@import "_vars";\n.panel { color: @main; }\n');
  write(path.join(dir, 'static/less/_vars.less'), '@main: #123456;\n\n.broken {\n');
  assert.throws(() => makeEnv('curly', { strict: true }, dir).env.render('less.njk', {}), /ConvoyError \[E_COMPILE\]: less\.njk:1: less 'less\/site\.less': static\/less\/_vars\.less:\d+:\d+: LESS Parse error/);

  // Production: a good build first, then a broken edit with rebuilds on keeps the last good output.
  write(path.join(dir, 'static/less/_vars.less'), '@main: #123456;\n');
  const prod = makeEnv('curly', { lessRebuild: true }, dir);
  const good = /href="(\/static\/less\/site\.[0-9a-f]{12}\.cmin\.css)"/.exec(prod.env.render('less.njk', {}));
  assert.ok(good);
  write(path.join(dir, 'static/less/site.less'), '.panel {\n  color: red\n  .x {\n');
  const after = prod.env.render('less.njk', {});
  assert.ok(after.includes(`href="${good[1]}"`), after);
  assert.ok(prod.logger.warnings.some((w) => /static\/less\/site\.less:\d+:\d+: LESS/.test(w)), prod.logger.warnings.join('\n'));
});

test('the middleware compiles .less on request in debug (/static/less/site.css)', async (t) => {
  const dir = lessProject();
  const server = await listen(serve({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', debug: true, logger: memoryLogger() }) as never);
  t.after(server.close);
  const res = await request(server.port, '/static/less/site.css');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(res.body.toString('utf8'), /\.panel \{\n  color: #123456;\n  padding: 3px;/);
  write(path.join(dir, 'static/less/site.less'), '.panel { color: @nope; }\n');
  const broken = await request(server.port, '/static/less/site.css');
  assert.equal(broken.status, 200);
  assert.match(broken.body.toString('utf8'), /convoy: static\/less\/site\.less:1:\d+: LESS Name error/);
});

test('lessRebuild defaults to debug and reads LESS_REBUILD', () => {
  assert.equal(resolveConfig({ debug: true }).lessRebuild, true);
  assert.equal(resolveConfig({}).lessRebuild, false);
  assert.deepEqual(configFromEnv({ LESS_REBUILD: 'on' }), { lessRebuild: true });
  assert.throws(() => resolveConfig({ lessRebuild: 'yes' as never }), /option "lessRebuild" expects true or false/);
});

test('without the less package, a .less file gives a ConvoyError naming the package', () => {
  // A copy of the sources beside a node_modules holding every installed package but less.
  const dir = tmpDir();
  fs.cpSync(path.join(REPO, 'src'), path.join(dir, 'src'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
  const modules = fs.realpathSync(path.join(REPO, 'node_modules'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const name of fs.readdirSync(modules)) {
    if (name !== 'less') fs.symlinkSync(path.join(modules, name), path.join(dir, 'node_modules', name));
  }
  write(path.join(dir, 'static/x.less'), '.a { color: red; }\n');
  const script = `import { compileLess } from './src/core/compilers.ts';
try { compileLess(${JSON.stringify(path.join(dir, 'static/x.less'))}, 'x.less', { root: process.cwd(), loadPaths: [] }); console.log('compiled'); }
catch (e) { console.log(e.name + ': ' + e.message); }`;
  write(path.join(dir, 'run.ts'), script);
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'run.ts'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^ConvoyError \[E_CONFIG\]: compiling \.less files needs the "less" package, an optional peer dependency that is not installed \(npm install less\)/);
});
