import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import type { ManifestData } from '../../src/core/manifest.ts';
import { cssUrls, listFiles, memoryLogger, siteCopy, write } from '../helpers.ts';
import { convoyCli } from './run.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex').slice(0, 12);
const readManifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'public/static/convoy-manifest.json'), 'utf8')) as ManifestData;

test('convoy build on the example site: right bytes, resolving url()s, idempotent, incremental on a partial', () => {
  const dir = siteCopy();
  const first = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(first.status, 0, first.all);
  assert.match(first.stdout, /wrote css\/layout\.[0-9a-f]{12}\.cmin\.css/);
  assert.match(first.stdout, /templates: 4 scanned/);
  const out = path.join(dir, 'public/static');
  const manifest = readManifest(dir);
  const entries = [...Object.values(manifest.files), ...Object.values(manifest.bundles)];
  assert.ok(Object.keys(manifest.bundles).length >= 3);
  for (const e of entries) {
    const bytes = fs.readFileSync(path.join(out, e.path));
    assert.equal(bytes.length, e.size, e.path);
    // The name is the MD5 of the served bytes.
    assert.equal(md5(bytes), e.hash, e.path);
    for (const twin of Object.values(e.variants)) assert.ok(fs.existsSync(path.join(out, twin!)), twin);
  }
  // Every url() in every CSS output resolves to a file in the output.
  for (const f of listFiles(out).filter((f) => f.endsWith('.css'))) {
    for (const u of cssUrls(fs.readFileSync(path.join(out, f), 'utf8')).filter((x) => !/^(data:|https?:|#|\/)/.test(x))) {
      assert.ok(fs.existsSync(path.resolve(path.dirname(path.join(out, f)), u.replace(/[?#].*$/, ''))), `${f}: ${u}`);
    }
  }
  // A second run rewrites nothing.
  const stamp = () => Object.fromEntries(listFiles(out).map((f) => [f, fs.statSync(path.join(out, f)).mtimeMs]));
  const before = stamp();
  const second = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(second.status, 0, second.all);
  assert.match(second.stdout, /0 built, \d+ unchanged, 0 failed.*nothing changed, nothing rewritten/);
  assert.deepEqual(stamp(), before);
  // Changing one partial rebuilds exactly the entries that load it.
  fs.appendFileSync(path.join(dir, 'static/css/partials/_colors.scss'), '$unused: 1px;\n.from-partial { color: red; }\n');
  const third = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(third.status, 0, third.all);
  const rebuilt = [...third.stdout.matchAll(/^wrote (\S+)/gm)].map((m) => m[1]!);
  assert.equal(rebuilt.length, 1, third.stdout);
  assert.match(rebuilt[0]!, /^css\/site\.[0-9a-f]{12}\.cmin\.css$/);
  assert.match(third.stdout, /1 built/);
  const after = readManifest(dir);
  assert.notEqual(after.files['css/site.scss']!.path, manifest.files['css/site.scss']!.path);
  assert.equal(after.files['css/layout.css']!.path, manifest.files['css/layout.css']!.path);
  // The replaced output stays for pages still cached, until `convoy clean` after it.
  assert.ok(after.previous.includes(manifest.files['css/site.scss']!.path));
  assert.ok(fs.existsSync(path.join(out, manifest.files['css/site.scss']!.path)));
  write(path.join(out, 'css/stray.123456789abc.css'), 'old');
  const cleaned = convoyCli(dir, ['clean']);
  assert.equal(cleaned.status, 0, cleaned.all);
  assert.match(cleaned.stdout, /removed css\/stray\.123456789abc\.css/);
  assert.ok(fs.existsSync(path.join(out, manifest.files['css/site.scss']!.path)), 'kept one build');
});

test('after build --parse-templates, production renders of every example template use bundles and compile nothing', () => {
  const dir = siteCopy();
  const res = convoyCli(dir, ['build', '--parse-templates', '--jobs', '2']);
  assert.equal(res.status, 0, res.all);
  const logger = memoryLogger();
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  const convoy = install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', carpoolCombineDuringRequest: false, scssRebuild: false, coffeeRebuild: false, logger });
  for (const name of listFiles(path.join(dir, 'templates')).filter((f) => f.startsWith('pages/'))) {
    const html = env.render(name, {});
    assert.match(html, /<link rel="stylesheet" href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css" >/, name);
    assert.match(html, /<script type="text\/javascript" src="\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js" ><\/script>/, name);
    assert.doesNotMatch(html, /src="\/static\/js\/util\.js"/, `${name}: no fallback`);
    for (const url of html.matchAll(/(?:href|src)="\/static\/([^"]+)"/g)) assert.ok(fs.existsSync(path.join(dir, 'public/static', url[1]!)), url[1]);
  }
  assert.deepEqual(convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
  assert.deepEqual(logger.warnings, []);
});

test('the scan reports syntax errors, unknown tags, variable paths and missing sources with template:line', () => {
  const dir = siteCopy();
  write(path.join(dir, 'templates/broken/syntax.njk'), '<p>\n{% if %}\n');
  write(path.join(dir, 'templates/broken/unknown.njk'), "{% cache 'k' %}\n{% carpool css %}\ncss/print.css\n{% endcarpool %}\n{% endcache %}\n{% markdown %}\n");
  write(path.join(dir, 'templates/broken/variable.njk'), '<p></p>\n{% carpool css %}\n{{ theme }}.css\n{% endcarpool %}\n{% convoy page.css %}\n');
  write(path.join(dir, 'templates/broken/missing.njk'), "\n\n{% convoy 'css/nope.css' %}\n");
  const res = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(res.status, 1, res.all);
  assert.match(res.all, /broken\/syntax\.njk:2: .*(expected|if)/);
  assert.match(res.all, /broken\/unknown\.njk: unknown tag "cache" .*skipped/);
  assert.match(res.all, /broken\/unknown\.njk: unknown tag "markdown"/);
  assert.match(res.all, /not prebuilt: broken\/variable\.njk:2: carpool css whose body depends on variables/);
  assert.match(res.all, /not prebuilt: broken\/variable\.njk:5: convoy with a computed path/);
  assert.match(res.all, /broken\/missing\.njk:3: convoy 'css\/nope\.css': css\/nope\.css: not found/);
  // The build finished: the good templates' bundles and the carpool inside the unknown tag are built.
  const manifest = readManifest(dir);
  assert.ok(Object.keys(manifest.bundles).some((k) => k === 'css:css/print.css'));
  assert.ok(Object.keys(manifest.bundles).some((k) => k.startsWith('js:js/bootstrap.bundle.js+++')));

  // Warnings alone: exit 0, or 1 with --strict.
  fs.rmSync(path.join(dir, 'templates/broken/syntax.njk'));
  fs.rmSync(path.join(dir, 'templates/broken/missing.njk'));
  const warnOnly = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(warnOnly.status, 0, warnOnly.all);
  const strict = convoyCli(dir, ['build', '--parse-templates', '--strict']);
  assert.equal(strict.status, 1, strict.all);
  assert.match(strict.stdout, /--strict: \d+ warning\(s\) fail the build/);
});

test('usage: --help per command, exit 2 on bad usage, config precedence file < env < flags', () => {
  const dir = siteCopy();
  for (const args of [['help'], ['build', '--help'], ['clean', '--help'], ['help', 'build']]) {
    const r = convoyCli(dir, args);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /convoy (build|clean)?/);
  }
  assert.match(convoyCli(dir, ['build', '--help']).stdout, /--parse-templates/);
  assert.equal(convoyCli(dir, ['frobnicate']).status, 2);
  assert.equal(convoyCli(dir, ['build', '--no-such-flag']).status, 2);
  assert.equal(convoyCli(dir, ['build', '--config', 'missing.json']).status, 2);
  write(path.join(dir, 'bad.json'), JSON.stringify({ staticRot: 'x' }));
  const bad = convoyCli(dir, ['build', '--config', 'bad.json']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option "staticRot"/);
  // A config file in another folder: its paths resolve from there; env beats the file; flags beat env.
  fs.mkdirSync(path.join(dir, 'conf'));
  write(path.join(dir, 'conf/convoy.config.mjs'), "export default { root: '..', sources: ['static', 'vendor'], staticRoot: 'from-file' };\n");
  const viaFile = convoyCli(dir, ['build', '--config', 'conf/convoy.config.mjs']);
  assert.equal(viaFile.status, 0, viaFile.all);
  assert.ok(fs.existsSync(path.join(dir, 'from-file/convoy-manifest.json')));
  const viaEnv = convoyCli(dir, ['build', '--config', 'conf/convoy.config.mjs'], { STATIC_ROOT: path.join(dir, 'from-env'), DEBUG: 'express:*' });
  assert.equal(viaEnv.status, 0, viaEnv.all);
  assert.ok(fs.existsSync(path.join(dir, 'from-env/convoy-manifest.json')));
  const viaFlag = convoyCli(dir, ['build', '--config', 'conf/convoy.config.mjs', '--static-root', path.join(dir, 'from-flag')], { STATIC_ROOT: path.join(dir, 'from-env2') });
  assert.equal(viaFlag.status, 0, viaFlag.all);
  assert.ok(fs.existsSync(path.join(dir, 'from-flag/convoy-manifest.json')));
  assert.ok(!fs.existsSync(path.join(dir, 'from-env2')));
  // A "convoy" key in package.json.
  fs.rmSync(path.join(dir, 'convoy.config.json'));
  write(path.join(dir, 'package.json'), JSON.stringify({ name: 'x', convoy: { sources: ['static', 'vendor'], staticRoot: 'from-pkg' } }));
  assert.equal(convoyCli(dir, ['build']).status, 0);
  assert.ok(fs.existsSync(path.join(dir, 'from-pkg/convoy-manifest.json')));
});

test('--force rebuilds everything even when nothing changed', () => {
  const dir = siteCopy();
  assert.equal(convoyCli(dir, ['build']).status, 0);
  const forced = convoyCli(dir, ['build', '--force']);
  assert.equal(forced.status, 0, forced.all);
  const m = /files: (\d+) \((\d+) built, 0 unchanged/.exec(forced.stdout);
  assert.ok(m && m[1] === m[2], forced.stdout);
});

test('build --parse-templates that finds no template fails, naming the folders and the glob', () => {
  const dir = siteCopy();
  fs.rmSync(path.join(dir, 'templates'), { recursive: true });
  const res = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(res.status, 1, res.all);
  assert.match(res.all, /--parse-templates found no template: no file under templates matches \*\*\/\*\.\{njk,nunjucks,html\}/);
});
