import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { build } from '../../src/build.ts';
import { REPO, STYLES, fixtureProject, memoryLogger } from '../helpers.ts';
import { makeEnv, renderAsync } from '../tags/env.ts';
import { convoyCli } from '../cli/run.ts';

// A layout whose carpools hold blocks (`extra_css` inside a `head` block, `extra_js` at the top),
// a child that fills them (with super() for the CSS), a child that fills nothing, and a grandchild
// that adds to its parent's block.
const EXPECTED = {
  'blocks-child-adds.njk': { css: ['css/a.css', 'css/sub/b.css', 'scss/site.scss'], js: ['js/one.js', 'coffee/app.coffee'] },
  'blocks-child-plain.njk': { css: ['css/a.css', 'css/sub/b.css'], js: ['js/one.js'] },
  'blocks-grandchild.njk': { css: ['css/a.css', 'css/sub/b.css', 'scss/site.scss', 'css/c.css'], js: ['js/one.js', 'coffee/app.coffee'] },
  'blocks-layout.njk': { css: ['css/a.css', 'css/sub/b.css'], js: ['js/one.js'] },
} as const;
type Name = keyof typeof EXPECTED;
const NAMES = Object.keys(EXPECTED) as Name[];
// What each source contributes to a bundle's bytes, to check the order inside the file.
const MARKERS: Record<string, string> = {
  'css/a.css': '.logo',
  'css/sub/b.css': '.b{',
  'scss/site.scss': '.panel',
  'css/c.css': '.c{',
  'js/one.js': '"one"',
  'coffee/app.coffee': 'coffee:',
};

/** Checks a render: one bundle per kind, listing the expected sources, with their bytes in that order. */
function assertBundles(html: string, name: Name, out: string): void {
  for (const kind of ['css', 'js'] as const) {
    const urls = [...html.matchAll(new RegExp(`/static/(CARPOOL/${kind}/[0-9a-f]{12}\\.cmin\\.${kind})`, 'g'))].map((m) => m[1]!);
    assert.equal(urls.length, 1, `${name}: one ${kind} bundle\n${html}`);
    const sources = EXPECTED[name][kind];
    assert.ok(html.includes(`<!-- ${sources.join('+++')} -->`), `${name}: ${kind} sources ${sources.join(', ')}\n${html}`);
    const bytes = fs.readFileSync(path.join(out, urls[0]!), 'utf8');
    const at = sources.map((s) => bytes.indexOf(MARKERS[s]!));
    assert.ok(at.every((p, i) => p >= 0 && (i === 0 || p > at[i - 1]!)), `${name}: ${kind} bundle order ${at.join(',')}`);
  }
  // No stray individual tags: the block's stylesheet went into the bundle.
  assert.doesNotMatch(html, /\/static\/(css|js|scss|coffee)\//, name);
}

for (const style of ['curly', 'angle'] as const) {
  test(`${style}: {% block %} inside carpool bodies, filled by children (super() included), sync and async renders`, async () => {
    const { env, out, logger } = makeEnv(style);
    for (const name of NAMES) {
      const sync = env.render(name, {});
      assertBundles(sync, name, out);
      assert.equal(await renderAsync(env, name, {}), sync, name);
    }
    assert.deepEqual(logger.warnings, []);
  });

  test(`${style}: the scan prebuilds the bundle each child's blocks make; production renders from the manifest compile nothing`, async () => {
    const dir = fixtureProject();
    const report = await build(
      { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: [path.join(REPO, 'templates-test', style)], templateGlob: 'blocks-*.njk', nunjucks: STYLES[style], logger: memoryLogger() },
      { parseTemplates: true, jobs: 1 },
    );
    assert.ok(report.scan);
    assert.deepEqual(report.scan.problems, []);
    assert.ok(report.scan.events.every((e) => e.status === 'built'), JSON.stringify(report.scan.events.filter((e) => e.status !== 'built')));
    const viaChild = report.scan.events.filter((e) => e.tag === 'carpool' && e.template === 'blocks-layout.njk' && /with the blocks of blocks-child-adds\.njk/.test(e.detail));
    assert.equal(viaChild.length, 2, JSON.stringify(report.scan.events));
    // Four different CSS bodies make three bundles (the plain child's equals the layout's), JS two.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'out/convoy-manifest.json'), 'utf8')) as { bundles: Record<string, { sources: string[] }> };
    const bundles = Object.values(manifest.bundles).map((b) => b.sources.join('+++')).sort();
    const want = [...new Set(NAMES.flatMap((n) => [EXPECTED[n].css.join('+++'), EXPECTED[n].js.join('+++')]))].sort();
    assert.deepEqual(bundles, want);

    const prod = makeEnv(style, { carpoolCombineDuringRequest: false }, dir);
    for (const name of NAMES) {
      const sync = prod.env.render(name, {});
      assertBundles(sync, name, prod.out);
      assert.equal(await renderAsync(prod.env, name, {}), sync, name);
    }
    assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
    assert.deepEqual(prod.logger.warnings, []);
  });
}

test('convoy build --parse-templates (the CLI process) prebuilds the bundle of each child of a layout with blocks in its carpools', () => {
  const dir = fixtureProject();
  // --strict fails on any warning: leave out the fixtures that are broken on purpose.
  fs.rmSync(path.join(dir, 'static/bad'), { recursive: true });
  fs.rmSync(path.join(dir, 'static/css/missing-target.css'));
  fs.cpSync(path.join(REPO, 'templates-test/angle'), path.join(dir, 'templates'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'convoy.config.json'), JSON.stringify({ sources: ['static', 'vendor'], staticRoot: 'out', templates: ['templates'], templateGlob: 'blocks-child-*.njk', nunjucks: STYLES.angle }));
  const res = convoyCli(dir, ['build', '--parse-templates', '--strict']);
  assert.equal(res.status, 0, res.all);
  assert.match(res.stdout, /templates: 2 scanned/);
  assert.match(res.stdout, /bundles: 4/);
  const prod = makeEnv('angle', { carpoolCombineDuringRequest: false }, dir);
  for (const name of ['blocks-child-adds.njk', 'blocks-child-plain.njk'] as const) assertBundles(prod.env.render(name, {}), name, prod.out);
  assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
  assert.deepEqual(prod.logger.warnings, []);
});

test('the scan follows each child: a block filled from a variable is reported with its place, a missing layout is a warning, an overridden wrapper block builds only what the child renders', async () => {
  const dir = fixtureProject();
  const tpl = path.join(dir, 'templates');
  fs.cpSync(path.join(REPO, 'templates-test/curly/blocks-layout.njk'), path.join(tpl, 'base/layout.njk'));
  const files: Record<string, string> = {
    'pages/variable.njk': `{% extends "base/layout.njk" %}\n{% block extra_css %}<link rel="stylesheet" href="{{ cssPath }}">{% endblock %}`,
    'pages/missing.njk': `{% extends "base/nope.njk" %}\n{% block extra_css %}{% endblock %}`,
    'pages/own-head.njk': `{% extends "../base/layout.njk" %}\n{% block head %}{% carpool css %}css/c.css{% endcarpool %}{% endblock %}\n{% block extra_js %}{% foreign 'x' %}<script src="/static/js/two.js"></script>{% endblock %}`,
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(tpl, name)), { recursive: true });
    fs.writeFileSync(path.join(tpl, name), text);
  }
  const report = await build({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: ['templates'], templateGlob: 'pages/*.njk', logger: memoryLogger() }, { parseTemplates: true, jobs: 1 });
  assert.ok(report.scan);
  const events = report.scan.events.map((e) => `${e.status} ${e.template}:${e.line} ${e.detail}`);
  assert.deepEqual(events.filter((e) => e.startsWith('dynamic')), ['dynamic base/layout.njk:5 carpool css (with the blocks of pages/variable.njk) whose body depends on variables: built at render time']);
  assert.deepEqual(report.scan.problems.map((p) => `${p.severity} ${p.template}: ${p.message}`), [
    'warning pages/missing.njk: pages/missing.njk: extends "base/nope.njk": not found in the template folders',
    'warning pages/own-head.njk: unknown tag "foreign" (another extension\'s?) was skipped; its contents were still scanned',
  ]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'out/convoy-manifest.json'), 'utf8')) as { bundles: Record<string, { sources: string[] }> };
  // own-head: its own CSS carpool (not the layout's) and the layout's JS carpool with its block.
  assert.deepEqual(Object.values(manifest.bundles).map((b) => b.sources.join('+++')).sort(), ['css/c.css', 'js/one.js', 'js/one.js+++js/two.js']);
});
