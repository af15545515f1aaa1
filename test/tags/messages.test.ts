import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import { fixtureProject, memoryLogger, write } from '../helpers.ts';

/** A real environment over a template folder of the test's own, on a copy of the fixtures. */
function setup(templates: Record<string, string>, options: Record<string, unknown> = {}) {
  const dir = fixtureProject();
  for (const [name, text] of Object.entries(templates)) write(path.join(dir, 'templates', name), text);
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  const logger = memoryLogger();
  const convoy = install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger, ...options });
  return { env, convoy, logger, dir };
}

test('a missing file in a carpool is reported once, at the line of the entry inside the body, with a "did you mean"', () => {
  const { env, logger } = setup({
    'page.njk': ['<html>', '{% carpool css %}', 'css/a.css', '', 'css/sub/bb.css', '{% endcarpool %}', '</html>'].join('\n'),
  });
  const html = env.render('page.njk', {});
  // The page keeps the stylesheet that exists (the carpool fell back to individual tags).
  assert.match(html, /href="\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css"/);
  assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
  assert.match(logger.warnings[0]!, /^page\.njk:5: carpool css: css\/sub\/bb\.css: not found in the source roots \(.*\); did you mean css\/sub\/b\.css\?$/);
  // Rendering again says nothing new.
  env.render('page.njk', {});
  assert.equal(logger.warnings.length, 1);
});

test('the entry line is found in an HTML body too, and a convoy tag gets the same suggestion', () => {
  const { env, logger } = setup({
    'page.njk': ['{% carpool css %}', '  <link rel="stylesheet" href="/static/css/a.css">', '  <link rel="stylesheet" href="/static/css/sub/bb.css">', '{% endcarpool %}', '<img src="{% convoy \'img/dott.png\' %}">'].join('\n'),
  });
  env.render('page.njk', {});
  assert.equal(logger.warnings.length, 2, logger.warnings.join('\n'));
  assert.match(logger.warnings[0]!, /^page\.njk:3: carpool css: css\/sub\/bb\.css: .*did you mean css\/sub\/b\.css\?$/);
  assert.match(logger.warnings[1]!, /^page\.njk:5: convoy 'img\/dott\.png': .*did you mean img\/dot\.png\?$/);
});

test('no suggestion when nothing is close', () => {
  const { env, logger } = setup({ 'page.njk': "{% convoy 'css/zzzzzzzzzz.css' %}" });
  env.render('page.njk', {});
  assert.equal(logger.warnings.length, 1);
  assert.doesNotMatch(logger.warnings[0]!, /did you mean/);
});

test('debug: a Sass error inside a carpool gives one warning and no "not found" about the error stylesheet', () => {
  const { env, logger } = setup(
    {
      'page.njk': ['{% carpool css %}', '<link rel="stylesheet" href="{% scss \'bad/broken.scss\' %}">', '<link rel="stylesheet" href="/static/css/a.css">', '{% endcarpool %}'].join('\n'),
    },
    { debug: true },
  );
  const html = env.render('page.njk', {});
  assert.match(html, /href="\/static\/bad\/broken\.error\.[0-9a-f]{12}\.css"/);
  assert.match(html, /href="\/static\/css\/a\.css"/);
  assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
  assert.match(logger.warnings[0]!, /^page\.njk:2: scss 'bad\/broken\.scss': .*broken\.scss:4/);
});
