import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Eleventy from '@11ty/eleventy';
import convoyPlugin from '../../src/adapters/eleventy.ts';
import { memoryLogger, tmpDir, write } from '../helpers.ts';

/** Eleventy's watch API (not in the shared type stub). */
type Watching = { init(): Promise<unknown>; watch(): Promise<unknown>; stopWatch(): Promise<unknown> };

test('Eleventy in watch mode rebuilds when a Sass partial in a source root outside its input changes', async (t) => {
  const dir = tmpDir('convoy-eleventy-watch-');
  write(path.join(dir, 'assets/scss/_colors.scss'), '$brand: #123456;\n');
  write(path.join(dir, 'assets/scss/site.scss'), "@use 'colors';\n.brand { color: colors.$brand; }\n");
  write(path.join(dir, 'src/index.njk'), `<link rel="stylesheet" href="{% scss 'scss/site.scss' %}">\n`);
  const output = path.join(dir, '_site');
  const cssOf = () => {
    const html = fs.readFileSync(path.join(output, 'index.html'), 'utf8');
    const url = /href="\/static\/(scss\/site\.[0-9a-f]{12}\.cmin\.css)"/.exec(html)?.[1];
    return url ? fs.readFileSync(path.join(output, 'static', url), 'utf8') : `no stylesheet in ${html}`;
  };
  const cwd = process.cwd();
  process.chdir(dir);
  const elev = new Eleventy('src', '_site', {
    quietMode: true,
    config(eleventyConfig: Parameters<typeof convoyPlugin>[0] & { addPlugin(p: unknown, o: unknown): void }) {
      eleventyConfig.addPlugin(convoyPlugin, { root: dir, sources: ['assets'], logger: memoryLogger() });
    },
  }) as unknown as Watching;
  t.after(async () => {
    await elev.stopWatch();
    process.chdir(cwd);
  });
  await elev.init();
  await elev.watch();
  assert.match(cssOf(), /#123456/);

  // Eleventy's watcher takes a moment to arm after watch() resolves: the edit is saved again
  // every 2 s (same content) until the page changes, for at most 30 s.
  const end = Date.now() + 30_000;
  while (Date.now() < end && !/#abcdef/.test(cssOf())) {
    fs.writeFileSync(path.join(dir, 'assets/scss/_colors.scss'), '$brand: #abcdef;\n');
    for (let i = 0; i < 20 && !/#abcdef/.test(cssOf()); i++) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(cssOf(), /#abcdef/);
});
