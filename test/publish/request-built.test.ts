import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '../../src/install.ts';
import { build } from '../../src/build.ts';
import { fixtureProject, memoryLogger, write } from '../helpers.ts';

// DESIGN §5: no page prints a URL that is not there. A bundle a request builds while assets live
// in a bucket behind a CDN is not in the bucket until the next build and publish: the page links
// the app's copy (served by `serve()` under the same path) meanwhile.
test('with publish configured, a bundle built during a request is linked on the app until a build takes it in', async () => {
  const dir = fixtureProject();
  fs.rmSync(path.join(dir, 'static/bad'), { recursive: true });
  write(path.join(dir, 'templates/page.njk'), '{% carpool css %}\ncss/a.css\ncss/sub/b.css\n{% endcarpool %}<img src="{% convoy \'img/dot.png\' %}">');
  const options = { root: dir, sources: ['static'], staticRoot: 'out', staticUrl: 'https://cdn.example.com/static/', templates: ['templates'], publish: { bucket: 'assets' }, logger: memoryLogger() };
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  const convoy = install(env, options);
  const during = env.render('page.njk', {});
  const bundle = /href="(\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css)"/.exec(during);
  assert.ok(bundle, during);
  assert.match(during, /<img src="\/static\/img\/dot\.[0-9a-f]{12}\.png">/);
  assert.doesNotMatch(during, /cdn\.example\.com/);
  assert.ok(fs.existsSync(path.join(dir, 'out', bundle[1]!.slice('/static/'.length))));
  convoy.flush();

  // The deploy's build takes the request's outputs in; after it, pages link the CDN.
  const report = await build(options, { parseTemplates: true });
  assert.deepEqual(report.errors, []);
  const fresh = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  install(fresh, options);
  const after = fresh.render('page.njk', {});
  assert.match(after, /href="https:\/\/cdn\.example\.com\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css"/);
  assert.match(after, /<img src="https:\/\/cdn\.example\.com\/static\/img\/dot\.[0-9a-f]{12}\.png">/);

  // Without publish the CDN URL is printed at once (the app's staticRoot is the CDN's origin).
  const plain = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  install(plain, { ...options, staticRoot: 'out2', publish: {} });
  assert.match(plain.render('page.njk', {}), /href="https:\/\/cdn\.example\.com\/static\/CARPOOL\/css\//);
});
