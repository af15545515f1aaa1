import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import { fixtureProject, memoryLogger, write } from '../helpers.ts';

// The render-time answer cache (a single map lookup by raw path) must keep only clean answers.
function setup() {
  const dir = fixtureProject();
  const logger = memoryLogger();
  write(path.join(dir, 'templates/page.njk'), '{% convoy p %}|{% coffee c %}');
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')), { autoescape: true });
  const convoy = install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger });
  return { dir, env, convoy, logger };
}

test('a variable path whose file is missing falls back each time until the file exists, then prints its fingerprinted URL', () => {
  const { dir, env, logger } = setup();
  const ctx = { p: 'css/later.css', c: 'coffee/app.coffee' };
  const first = env.render('page.njk', ctx);
  assert.match(first, /^\/static\/css\/later\.css\|\/static\/coffee\/app\.[0-9a-f]{12}\.cmin\.js$/);
  assert.equal(env.render('page.njk', ctx), first);
  assert.ok(logger.warnings.some((w) => w.includes('css/later.css')));
  write(path.join(dir, 'static/css/later.css'), '.later { color: red }\n');
  const url = /^([^|]+)\|/.exec(env.render('page.njk', ctx))![1]!;
  assert.match(url, /^\/static\/css\/later\.[0-9a-f]{12}\.cmin\.css$/);
  assert.equal(fs.readFileSync(path.join(dir, 'out', url.slice('/static/'.length)), 'utf8'), '.later{color:red}');
});

test('answers are kept per tag and per raw path: a query suffix or another tag never gets a neighbour\'s URL', () => {
  const { env, convoy } = setup();
  const a = env.render('page.njk', { p: 'js/two.js?v=1', c: 'coffee/app.coffee' });
  const b = env.render('page.njk', { p: 'js/two.js?v=2', c: 'coffee/app.coffee' });
  assert.match(a, /^\/static\/js\/two\.[0-9a-f]{12}\.cmin\.js\?v=1\|/);
  assert.equal(b, a.replace('?v=1', '?v=2'));
  // The same raw path through convoy and through coffee: convoy serves the compiled output too, coffee refuses a .js path.
  const coffeeUrl = a.split('|')[1]!;
  assert.equal(env.render('page.njk', { p: 'coffee/app.coffee', c: 'coffee/app.coffee' }), `${coffeeUrl}|${coffeeUrl}`);
  assert.equal(env.render('page.njk', { p: 'js/two.js', c: 'js/two.js' }).split('|')[1], '/static/js/two.js');
  assert.equal(convoy.pipeline.warnings > 0, true);
});
