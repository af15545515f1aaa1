import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { resolveConfig } from '../../src/config.ts';
import { createPipeline } from '../../src/core/pipeline.ts';
import { fixtureProject, memoryLogger } from '../helpers.ts';

// The faster engines are optional for users; they are devDependencies here so this runs.
test('engines swc + lightningcss + sass-embedded: outputs behave like the defaults, maps still exact', () => {
  const dir = fixtureProject();
  const run = (engines: object, out: string) => {
    const p = createPipeline(resolveConfig({ root: dir, sources: ['static', 'vendor'], staticRoot: out, engines, sourceMaps: true, logger: memoryLogger() }));
    const js = p.bundle('js', ['js/one.js', 'js/two.js', 'js/three.js', 'coffee/app.coffee'].map((rel) => ({ type: 'file' as const, rel })));
    const css = p.bundle('css', [{ type: 'file', rel: 'scss/site.scss' }, { type: 'file', rel: 'css/sub/b.css' }]);
    const ctx = vm.createContext({});
    vm.runInContext(fs.readFileSync(path.join(dir, out, js.path), 'utf8'), ctx);
    return { log: JSON.stringify(ctx.log), css: fs.readFileSync(path.join(dir, out, css.path), 'utf8'), js, out };
  };
  const base = run({}, 'out-default');
  const fast = run({ js: 'swc', css: 'lightningcss', sass: 'sass-embedded' }, 'out-fast');
  assert.equal(fast.log, base.log);
  assert.equal(fast.log, '["one","two:42","three","coffee:49"]');
  assert.match(fast.css, /\.panel\{color:#0a7d32;padding:8px\}/);
  assert.match(fast.css, /\.panel \.title\{font-weight:700\}/);
  // lightningcss may order declarations differently; both are there, the url() rewritten.
  const b = /\.b\{([^}]*)\}/.exec(fast.css)![1]!.split(';').sort();
  assert.match(b[0]!, /^border-image:url\(\.\.\/\.\.\/img\/dot\.[0-9a-f]{12}\.png\) 30 round$/);
  assert.equal(b[1], 'color:#123456');
  const code = fs.readFileSync(path.join(dir, fast.out, fast.js.path), 'utf8');
  const i = code.indexOf('"two:"');
  const before = code.slice(0, i);
  const pos = originalPositionFor(new TraceMap(fs.readFileSync(path.join(dir, fast.out, fast.js.map!), 'utf8')), { line: before.split('\n').length, column: i - (before.lastIndexOf('\n') + 1) });
  assert.deepEqual([pos.source, pos.line, pos.column], ['static/js/two.js', 2, 11]);
});
