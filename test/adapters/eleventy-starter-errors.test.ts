import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Eleventy from '@11ty/eleventy';
import convoyPlugin from '../../src/adapters/eleventy.ts';
import { getConvoy } from '../../src/install.ts';
import { memoryLogger } from '../helpers.ts';
import { eleventyBuild, starter } from './eleventy-starter.ts';

test('Eleventy: a failure in a layout names _includes/layouts/base.njk and its line in the file, and fails the build', async () => {
  const dir = starter();
  // Line 10 of the layout file (the entry inside the carpool on line 8) (front matter included) names a file that does not exist.
  const base = path.join(dir, '_includes/layouts/base.njk');
  fs.writeFileSync(base, fs.readFileSync(base, 'utf8').replace('css/message-box.css', 'css/missing.css'));
  const logger = memoryLogger();
  const { error } = await eleventyBuild(dir, { logger });
  assert.ok(error, 'the Eleventy build fails');
  assert.match(String((error as Error).message ?? error), /_includes\/layouts\/base\.njk:10/);
  assert.ok(logger.warnings.concat(logger.errors).some((m) => m.startsWith('_includes/layouts/base.njk:10:')), [...logger.warnings, ...logger.errors].join('\n'));
  assert.ok(!logger.warnings.concat(logger.errors).some((m) => m.includes('(string)')));
});

test('Eleventy under --serve: the same failure is logged with the layout name and line, and pages still render', async () => {
  const dir = starter();
  const base = path.join(dir, '_includes/layouts/base.njk');
  fs.writeFileSync(base, fs.readFileSync(base, 'utf8').replace('css/message-box.css', 'css/missing.css'));
  const logger = memoryLogger();
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const elev = new Eleventy('content', '_site', {
      quietMode: true,
      runMode: 'serve',
      config(eleventyConfig: Parameters<typeof convoyPlugin>[0] & { addPlugin(p: unknown, o: unknown): void; setIncludesDirectory(d: string): void; addShortcode(n: string, f: () => string): void }) {
        eleventyConfig.addShortcode('currentBuildDate', () => '2026-11-22');
        eleventyConfig.addPlugin(convoyPlugin, { root: dir, sources: ['assets'], logger });
        eleventyConfig.setIncludesDirectory('../_includes');
      },
    } as ConstructorParameters<typeof Eleventy>[2]);
    await elev.write();
  } finally {
    process.chdir(cwd);
  }
  const home = fs.readFileSync(path.join(dir, '_site/index.html'), 'utf8');
  // The carpool fell back to individual tags: the page keeps the stylesheet that exists.
  assert.match(home, /href="\/static\/css\/a\.[0-9a-f]{12}\.cmin\.css"/);
  const messages = [...logger.warnings, ...logger.errors];
  assert.ok(messages.some((m) => /^_includes\/layouts\/base\.njk:10: /.test(m)), messages.join('\n'));
});
