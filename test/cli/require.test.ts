import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ManifestData } from '../../src/core/manifest.ts';
import { fixtureProject, write } from '../helpers.ts';
import { convoyCli } from './run.ts';

/** A project whose config declares a bundle, and templates that require assets of it (and one that is not). */
function project(requireUndeclared: boolean): string {
  const dir = fixtureProject();
  fs.rmSync(path.join(dir, 'static/bad'), { recursive: true });
  fs.rmSync(path.join(dir, 'static/css/missing-target.css'));
  fs.writeFileSync(path.join(dir, 'convoy.config.json'), JSON.stringify({ sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], bundles: { site: ['css/a.css', 'css/sub/*.css', 'js/one.js'] } }));
  write(path.join(dir, 'templates/pages/home.njk'), "<head>{% carpool css 'site' %}</head>\n{% require 'css/a.css' %}\n");
  write(path.join(dir, 'templates/widgets/w.njk'), `<div>\n\n{% require '${requireUndeclared ? 'css/c.css' : 'css/sub/b.css'}' %}</div>\n`);
  return dir;
}

test('convoy build --parse-templates --strict exits non-zero for a template requiring an undeclared asset, naming template:line', () => {
  const dir = project(true);
  const res = convoyCli(dir, ['build', '--parse-templates', '--strict']);
  assert.equal(res.status, 1, res.all);
  assert.match(res.stderr, /error: widgets\/w\.njk:3: require css\/c\.css is in no declared bundle \(searched: site\)/);
  assert.match(res.stdout, /require not declared: widgets\/w\.njk:3: css\/c\.css is in no declared bundle/);
  // Without --strict it is still an error of the build (DESIGN §6).
  assert.equal(convoyCli(dir, ['build', '--parse-templates']).status, 1);
});

test('convoy build builds named bundles with no template, and lists declared assets nothing requires', () => {
  const dir = project(false);
  const res = convoyCli(dir, ['build', '--parse-templates', '--strict']);
  assert.equal(res.status, 0, res.all);
  assert.match(res.stdout, /info: required by no template: js\/one\.js \(bundle site\)/);
  assert.doesNotMatch(res.stdout, /required by no template: css\/(a|sub\/b)\.css/);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'public/static/convoy-manifest.json'), 'utf8')) as ManifestData;
  assert.deepEqual(Object.keys(manifest.bundles).sort(), ['css:css/a.css+++css/sub/b.css', 'js:js/one.js']);
  assert.deepEqual(manifest.globs, { 'css/sub/*.css': ['css/sub/b.css'] });
  // No templates at all: the named bundles are still built.
  const bare = project(false);
  fs.rmSync(path.join(bare, 'templates'), { recursive: true });
  const plain = convoyCli(bare, ['build']);
  assert.equal(plain.status, 0, plain.all);
  assert.match(plain.stdout, /wrote CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css \([^)]*\) = css\/a\.css \+ css\/sub\/b\.css/);
  assert.match(plain.stdout, /wrote CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js \([^)]*\) = js\/one\.js/);
});
