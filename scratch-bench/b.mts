import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '/work/wt/seeds/src/index.ts';
import { build } from '/work/wt/seeds/src/build.ts';
import { fixtureProject, memoryLogger, write } from '/work/wt/seeds/test/helpers.ts';
import fs from 'node:fs';
const dir = fixtureProject();
fs.rmSync(path.join(dir, 'static/bad'), { recursive: true });
const bundles = { site: ['css/a.css', 'css/sub/*.css', 'js/*.js'] };
write(path.join(dir, 'templates/lit.njk'), '<p>{% require "css/a.css" %}</p>{% carpool css "site" %}');
write(path.join(dir, 'templates/dyn.njk'), '<p>{% require p %}</p>{% carpool css "site" %}');
write(path.join(dir, 'templates/plain.njk'), '<p>{{ p2 }}</p>{{ p2 }}');
await build({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', templates: ['templates'], bundles, logger: memoryLogger() }, { parseTemplates: true, jobs: 1 });
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
const convoy = install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', bundles, logger: memoryLogger(), carpoolCombineDuringRequest: false });
const rate = (name: string) => { const ctx = { p: 'css/a.css', p2: 'x' }; for (let i = 0; i < 20000; i++) env.render(name, ctx); const t = performance.now(); let n = 0; while (performance.now() - t < 1500) { env.render(name, ctx); n++; } return n / ((performance.now() - t) / 1000); };
for (let round = 0; round < 2; round++) console.log({ plain: Math.round(rate('plain.njk')), literal: Math.round(rate('lit.njk')), dynamic: Math.round(rate('dyn.njk')) });
console.log(convoy.pipeline.stats);
// LESS: compile time of the site's file vs sass for similar input
for (const n of ['lit.njk', 'dyn.njk']) { const t = env.getTemplate(n) as any; t.compile(); console.log(n, t.rootRenderFunc.toString()); }
console.log(JSON.stringify(convoy.namedCarpool('css', 'site', { template: 'x', line: 1 }, 'lookup')), convoy.pipeline.manifest.data.globs, Object.keys(convoy.pipeline.manifest.data.bundles));
console.log(convoy.namedCarpool('css', 'site', { template: 'x', line: 1 }, 'render'));
{ const t = performance.now(); for (let i = 0; i < 1e6; i++) convoy.requireAsset('css/a.css', { template: 'x', line: 1 }); console.log('requireAsset µs', (performance.now() - t) / 1e6 * 1000); }
{ const t = performance.now(); for (let i = 0; i < 1e6; i++) convoy.declared('render'); console.log('declared µs', (performance.now() - t) / 1e6 * 1000); }
import { safeRelative } from '/work/wt/seeds/src/core/finder.ts';
{ const t = performance.now(); for (let i = 0; i < 1e6; i++) safeRelative('css/a.css'); console.log('safeRelative µs', (performance.now() - t) / 1e6 * 1000); }
{ const t = performance.now(); for (let i = 0; i < 1e6; i++) convoy.checkRequire('css/a.css', 'render'); console.log('checkRequire µs', (performance.now() - t) / 1e6 * 1000); }
