import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Eleventy from '@11ty/eleventy';
import convoyPlugin from '../../src/adapters/eleventy.ts';
import { getConvoy } from '../../src/install.ts';
import { memoryLogger } from '../helpers.ts';
import { eleventyBuild, starter } from './eleventy-starter.ts';

test('Eleventy starter shape: the Eleventy build prebuilds every bundle of layouts in _includes, pages render with 0 request-time builds', async () => {
  const dir = starter();
  const logger = memoryLogger();
  const { env, error } = await eleventyBuild(dir, { logger });
  assert.equal(error, undefined);
  const stats = getConvoy(env!)!.pipeline.stats;
  // The scan before the render built every bundle; the renders only read the manifest.
  assert.equal(stats.bundles, 0, 'bundles built during the render');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, '_site/static/convoy-manifest.json'), 'utf8')) as { bundles: Record<string, { path: string; quick?: boolean }> };
  assert.deepEqual(Object.keys(manifest.bundles).sort(), ['css:css/a.css+++css/message-box.css', 'css:css/prism-diff.css', 'js:js/one.js']);
  assert.ok(Object.values(manifest.bundles).every((b) => !b.quick), 'no quick (brotli 5) twins');

  const post = fs.readFileSync(path.join(dir, '_site/blog/firstpost/index.html'), 'utf8');
  const home = fs.readFileSync(path.join(dir, '_site/index.html'), 'utf8');
  assert.match(home, /<li>First post<\/li><li>Second post<\/li>|<li>Second post<\/li><li>First post<\/li>/);
  // The post layout's stylesheet was hoisted out of <main> into <head>, after the base layout's.
  const head = post.slice(0, post.indexOf('</head>'));
  const main = post.slice(post.indexOf('<main'), post.indexOf('</main>'));
  assert.equal((head.match(/<link rel="stylesheet" href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css" >/g) ?? []).length, 2, head);
  assert.ok(head.indexOf(manifest.bundles['css:css/a.css+++css/message-box.css']!.path) < head.indexOf(manifest.bundles['css:css/prism-diff.css']!.path));
  assert.doesNotMatch(main, /<link/);
  // The bundle's comments moved with it: nothing of it is left in <main>.
  assert.doesNotMatch(main, /<!--/);
  assert.match(head, /<!-- css\/prism-diff\.css -->\n<link[^>]+>\n*<!-- css\/prism-diff\.css -->/);
  assert.match(post, /<!-- built 2026-11-22 -->/);
  assert.match(main, /<h1>First post<\/h1>/);
  const second = fs.readFileSync(path.join(dir, '_site/blog/secondpost/index.html'), 'utf8');
  assert.match(second, /<img src="\/static\/img\/dot\.[0-9a-f]{12}\.png">/);
  assert.deepEqual(logger.warnings, []);
});

