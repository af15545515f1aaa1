import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import type { NodesApi } from '../../src/tags/nunjucks-facade.ts';
import { FIXTURES, REPO, STYLES, memoryLogger } from '../helpers.ts';
import { renderAsync } from './env.ts';

// A second installed copy of nunjucks, as npm link, pnpm or a version mismatch with Eleventy's
// leave it: a nested node_modules inside the repo (gitignored test/.scratch/), whose own
// dependencies resolve by walking up to the repo's node_modules. The project folder lives beside
// it, so a build there resolves this copy as the app would.
const scratch = path.join(REPO, 'test/.scratch', `two-copies-${process.pid}`);
fs.rmSync(scratch, { recursive: true, force: true });
fs.cpSync(path.dirname(createRequire(import.meta.url).resolve('nunjucks/package.json')), path.join(scratch, 'node_modules/nunjucks'), { recursive: true, dereference: true });
process.once('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
const copyEntry = createRequire(path.join(scratch, 'package.json')).resolve('nunjucks');
const copy = createRequire(import.meta.url)(copyEntry) as typeof nunjucks;
let projects = 0;

/** A fresh project (the test fixtures) in the folder whose node_modules holds the second copy. */
function project(): string {
  const dir = path.join(scratch, `project-${++projects}`);
  fs.cpSync(FIXTURES, dir, { recursive: true });
  return dir;
}

/** An Environment of the given nunjucks module over templates-test/<style>, with the tags installed. */
function envOf(module: typeof nunjucks, style: keyof typeof STYLES, dir: string, options: ConvoyOptions = {}) {
  const logger = memoryLogger();
  const env = new module.Environment(new module.FileSystemLoader(path.join(REPO, 'templates-test', style)), { ...STYLES[style], autoescape: true });
  const convoy = install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger, ...options });
  return { env, convoy, logger };
}

const PAGES = ['carpool-list.njk', 'carpool-html.njk', 'tags.njk', 'page.njk', 'blocks-child-adds.njk'];
const CTX = { scriptPath: 'js/two.js', title: 't', nav: [] };

/** Renders every page sync and async; checks the two agree and that tags printed real, unescaped markup. */
async function renderAll(env: nunjucks.Environment): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of PAGES) {
    const html = env.render(name, CTX);
    assert.equal(await renderAsync(env, name, CTX), html, `${name}: async render`);
    assert.doesNotMatch(html, /&lt;|&quot;/, `${name}: tag output was escaped\n${html}`);
    out[name] = html;
  }
  assert.match(out['tags.njk']!, /href="\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css"[\s\S]*href="\/static\/scss\/site\.[0-9a-f]{12}\.cmin\.css"[\s\S]*src="\/static\/coffee\/app\.[0-9a-f]{12}\.cmin\.js"/);
  assert.match(out['tags.njk']!, /<img src="\/static\/img\/dot\.[0-9a-f]{12}\.png">/, '`as name`');
  assert.match(out['tags.njk']!, /<script src="\/static\/js\/two\.[0-9a-f]{12}\.cmin\.js">/, 'a variable argument');
  assert.match(out['carpool-list.njk']!, /<!-- css\/a\.css\+\+\+css\/sub\/b\.css\+\+\+css\/c\.css -->\n<link rel="stylesheet" href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css" >/);
  assert.match(out['carpool-html.njk']!, /<link rel="stylesheet" href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css" >[\s\S]*<script type="text\/javascript" src="\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js" ><\/script>/);
  assert.match(out['blocks-child-adds.njk']!, /<!-- css\/a\.css\+\+\+css\/sub\/b\.css\+\+\+scss\/site\.scss -->/);
  return out;
}

test('the second copy is a different module: its node classes fail the first one\'s instanceof', () => {
  assert.notEqual(copy, nunjucks);
  const nodesOf = (m: typeof nunjucks) => (m as unknown as { nodes: NodesApi }).nodes;
  const list = new (nodesOf(copy).NodeList)(0, 0, []);
  assert.ok(!(list instanceof nodesOf(nunjucks).NodeList));
});

for (const style of ['curly', 'angle'] as const) {
  test(`${style}: an Environment of another copy of nunjucks renders every tag like ours, sync and async, at render time and from the manifest`, async () => {
    const dir = project();
    const viaCopy = envOf(copy, style, dir);
    const rendered = await renderAll(viaCopy.env);
    viaCopy.convoy.pipeline.save();
    assert.deepEqual(viaCopy.logger.warnings, []);
    // Our own copy over the same project prints the same.
    const own = envOf(nunjucks, style, dir);
    for (const name of PAGES) assert.equal(own.env.render(name, CTX), rendered[name], name);
    // Production: literal tags become template text built with the copy's nodes at compile time.
    const prod = envOf(copy, style, dir, { carpoolCombineDuringRequest: false });
    assert.deepEqual(await renderAll(prod.env), rendered);
    assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
  });

  test(`${style}: the build scans with the project's own nunjucks and finds every tag; the copy renders from it compiling nothing`, async () => {
    const dir = project();
    const report = await build(
      { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: [path.join(REPO, 'templates-test', style)], templateGlob: '{page,layout,tags,carpool-list,carpool-html,partials/nav,blocks-*}.njk', nunjucks: STYLES[style], logger: memoryLogger() },
      { parseTemplates: true, jobs: 1 },
    );
    assert.equal(report.nunjucks ? fs.realpathSync(report.nunjucks) : report.nunjucks, fs.realpathSync(copyEntry), 'the project\'s nunjucks');
    assert.ok(report.scan);
    assert.deepEqual(report.scan.problems, []);
    const byStatus = (s: string) => report.scan!.events.filter((e) => e.status === s);
    assert.deepEqual(byStatus('failed'), []);
    // The one tag with a variable argument is reported with its place; every other tag was built.
    assert.deepEqual(byStatus('dynamic').map((e) => `${e.template}:${e.line} ${e.tag}`), ['tags.njk:5 convoy']);
    const tagsOf = (t: string) => byStatus('built').filter((e) => e.template === t).map((e) => e.tag).sort();
    assert.deepEqual(tagsOf('tags.njk'), ['coffee', 'convoy', 'convoy', 'scss']);
    assert.deepEqual(tagsOf('carpool-list.njk'), ['carpool', 'carpool']);
    assert.deepEqual(tagsOf('carpool-html.njk'), ['carpool', 'carpool', 'coffee', 'convoy', 'scss']);
    const prod = envOf(copy, style, dir, { carpoolCombineDuringRequest: false });
    for (const name of PAGES.filter((n) => n !== 'tags.njk')) assert.match(prod.env.render(name, CTX), /CARPOOL\/(css|js)\/[0-9a-f]{12}\.cmin\.(css|js)/, name);
    assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
    assert.deepEqual(prod.logger.warnings, []);
  });
}

test('convoyExpress builds its Environment from the app\'s own copy of nunjucks', async () => {
  const { convoyExpress } = await import('../../src/adapters/express.ts');
  const express = (await import('express')).default;
  const dir = project();
  const app = express();
  const { env, close } = convoyExpress(app, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: [path.join(REPO, 'templates-test/curly')], logger: memoryLogger() });
  try {
    const made: object = env;
    assert.ok(made instanceof copy.Environment, 'the Environment comes from the project\'s copy');
    assert.ok(!(made instanceof nunjucks.Environment), 'not from ours');
    assert.match(env.render('carpool-list.njk', CTX), /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css"/);
  } finally {
    await close?.();
  }
});
