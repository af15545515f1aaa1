import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { build } from '../../src/build.ts';
import { REPO, STYLES, fixtureProject, memoryLogger } from '../helpers.ts';
import { makeEnv } from '../tags/env.ts';

for (const style of ['curly', 'angle'] as const) {
  test(`${style}: the scan prebuilds what the renderer asks for, so a production render compiles nothing`, async () => {
    const dir = fixtureProject();
    const report = await build(
      { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: [path.join(REPO, 'templates-test', style)], templateGlob: '{page,layout,carpool-list,carpool-html,partials/nav}.njk', nunjucks: STYLES[style], logger: memoryLogger() },
      { parseTemplates: true, jobs: 1 },
    );
    assert.ok(report.scan);
    assert.deepEqual(report.scan.problems, []);
    assert.ok(report.scan.events.filter((e) => e.status === 'built').length >= 10);
    assert.ok(report.scan.events.every((e) => e.status === 'built'), JSON.stringify(report.scan.events.filter((e) => e.status !== 'built')));
    const prod = makeEnv(style, { carpoolCombineDuringRequest: false }, dir);
    for (const name of ['page.njk', 'carpool-list.njk', 'carpool-html.njk']) {
      const html = prod.env.render(name, { title: 't', nav: [] });
      assert.match(html, /CARPOOL\/(css|js)\/[0-9a-f]{12}\.cmin\.(css|js)/, name);
    }
    assert.deepEqual(prod.convoy.pipeline.stats, { compiles: 0, minifies: 0, bundles: 0, writes: 0 });
    assert.deepEqual(prod.logger.warnings, []);
  });
}
