import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Eleventy from '@11ty/eleventy';
import convoyPlugin from '../../src/adapters/eleventy.ts';
import { FIXTURES, memoryLogger, tmpDir, write } from '../helpers.ts';

test('the Eleventy plugin builds a small site whose carpool tags point to bundles in the output', async () => {
  const dir = tmpDir('convoy-eleventy-');
  fs.cpSync(path.join(FIXTURES, 'static'), path.join(dir, 'assets'), { recursive: true });
  // A working site: the fixtures' deliberately broken files would fail the Eleventy build.
  fs.rmSync(path.join(dir, 'assets/bad'), { recursive: true });
  write(path.join(dir, 'src/_includes/base.njk'), [
    '<!doctype html><html><head>',
    '{% carpool css %}',
    'css/a.css',
    'css/sub/b.css',
    '{% endcarpool %}',
    '<link rel="stylesheet" href="{% scss \'scss/site.scss\' %}">',
    '</head><body>{{ content | safe }}',
    '{% carpool js %}',
    '<script src="/static/js/one.js"></script>',
    '<script src="{% coffee \'coffee/app.coffee\' %}"></script>',
    '{% endcarpool %}',
    '</body></html>',
  ].join('\n'));
  write(path.join(dir, 'src/index.njk'), '---\nlayout: base.njk\ntitle: Home\n---\n<h1>{{ title }}</h1><img src="{% convoy \'img/dot.png\' %}">\n');
  write(path.join(dir, 'src/about.njk'), '---\nlayout: base.njk\n---\n<p>About</p>\n');
  const output = path.join(dir, '_site');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const elev = new Eleventy('src', '_site', {
      quietMode: true,
      config(eleventyConfig: Parameters<typeof convoyPlugin>[0] & { addPlugin(p: unknown, o: unknown): void }) {
        eleventyConfig.addPlugin(convoyPlugin, { root: dir, sources: ['assets'], logger: memoryLogger() });
      },
    });
    await elev.write();
  } finally {
    process.chdir(cwd);
  }
  const index = fs.readFileSync(path.join(output, 'index.html'), 'utf8');
  const about = fs.readFileSync(path.join(output, 'about/index.html'), 'utf8');
  for (const html of [index, about]) {
    const css = /<link rel="stylesheet" href="\/static\/(CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css)" >/.exec(html);
    const js = /<script type="text\/javascript" src="\/static\/(CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js)" ><\/script>/.exec(html);
    assert.ok(css && js, html);
    assert.match(fs.readFileSync(path.join(output, 'static', css[1]!), 'utf8'), /\.logo\{[\s\S]*\.b\{/);
    assert.match(fs.readFileSync(path.join(output, 'static', js[1]!), 'utf8'), /coffee:/);
    assert.match(html, /<!-- css\/a\.css\+\+\+css\/sub\/b\.css -->/);
  }
  const img = /<img src="\/static\/(img\/dot\.[0-9a-f]{12}\.png)">/.exec(index);
  assert.ok(img, index);
  assert.ok(fs.existsSync(path.join(output, 'static', img[1]!)));
  assert.ok(fs.existsSync(path.join(output, 'static/convoy-manifest.json')));
});
