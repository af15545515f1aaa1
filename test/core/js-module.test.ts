import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isEsModule } from '../../src/core/js-module.ts';
import { resolveConfig } from '../../src/config.ts';
import { createPipeline } from '../../src/core/pipeline.ts';
import { ConvoyError } from '../../src/errors.ts';
import { REPO, memoryLogger, tmpDir, write } from '../helpers.ts';

test('ES modules are told from classic scripts by the parser, not by the words', () => {
  for (const code of ["import { a } from './a.js';", "import './side.js'", 'export default 1', 'export{a}', 'console.log(import.meta.url)', 'await fetch("/x");']) {
    assert.equal(isEsModule(code), true, code);
  }
  for (const code of ["const m = import('./x.js')", "var s = 'import x from \"y\"';", '// export const x = 1\nvar a', 'async function f() { await g(); }', 'var a = 1 +;', 'window.exports = {}; var important = 1;']) {
    assert.equal(isEsModule(code), false, code);
  }
  assert.equal(isEsModule(fs.readFileSync(path.join(REPO, 'node_modules/bootstrap/dist/js/bootstrap.esm.js'), 'utf8')), true);
  assert.equal(isEsModule(fs.readFileSync(path.join(REPO, 'node_modules/bootstrap/dist/js/bootstrap.bundle.js'), 'utf8')), false);
});

test('a processed module imports the fingerprinted outputs; a classic bundle refuses a module; the manifest remembers which files are modules', () => {
  const dir = tmpDir();
  write(path.join(dir, 'static/js/app.js'), "import { x } from './lib/x.js';\nimport y from '/static/js/y.js?v=2';\nimport { z } from 'bare-package';\nimport { w } from './missing.js';\nconsole.log(x, y, z, w);\n");
  write(path.join(dir, 'static/js/lib/x.js'), 'export const x = 1;\n');
  write(path.join(dir, 'static/js/y.js'), 'export default 2;\n');
  write(path.join(dir, 'static/js/classic.js'), 'var c = 1;\n');
  write(path.join(dir, 'static/js/plain.mjs'), 'globalThis.m = 1;\n');
  const logger = memoryLogger();
  const p = createPipeline(resolveConfig({ root: dir, staticRoot: 'out', logger }));
  const entry = p.asset('js/app.js');
  const code = fs.readFileSync(path.join(dir, 'out', entry.path), 'utf8');
  const x = p.manifest.data.files['js/lib/x.js']!.path;
  const y = p.manifest.data.files['js/y.js']!.path;
  assert.ok(code.includes(`"./${path.posix.relative('js', x)}"`), code);
  assert.ok(code.includes(`"./${path.posix.relative('js', y)}?v=2"`), code);
  assert.ok(code.includes('"bare-package"') && code.includes('"./missing.js"'), code);
  assert.match(logger.warnings.join('\n'), /js\/app\.js: import \.\/missing\.js: js\/missing\.js not found/);
  assert.equal(entry.module, true);
  assert.equal(p.asset('js/classic.js').module, undefined);
  assert.equal(p.isModule('js/app.js'), true);
  assert.equal(p.isModule('js/classic.js'), false);
  // .mjs is a module by its name, whatever it holds.
  assert.equal(p.isModule('js/plain.mjs'), true);
  assert.equal(p.asset('js/plain.mjs').module, true);
  assert.throws(
    () => p.bundle('js', [{ type: 'file', rel: 'js/classic.js' }, { type: 'file', rel: 'js/app.js' }]),
    (e: unknown) => e instanceof ConvoyError && e.code === 'E_BUNDLE' && /js\/app\.js is an ES module/.test(e.message),
  );
});
