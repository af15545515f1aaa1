import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { REPO } from './helpers.ts';

// Importing the package (and the Express adapter) must not load the compilers and minifiers: a
// server that renders from the manifest never uses them, and sass alone costs ~0.3 s at startup.
test('importing the package loads no compiler or minifier until one is needed', () => {
  const script = `
    import { createRequire } from 'node:module';
    const heavy = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules\\/(sass|terser|clean-css|coffeescript)\\//.test(k)).map((k) => k.replace(/.*node_modules\\//, '').split('/')[0]);
    await import('./src/index.ts');
    await import('./src/adapters/express.ts');
    const atImport = [...new Set(heavy())];
    const { compileScss } = await import('./src/core/compilers.ts');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const os = await import('node:os');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convoy-startup-'));
    fs.writeFileSync(path.join(dir, 'a.scss'), '$c: red; .a { color: $c; }');
    const css = compileScss(path.join(dir, 'a.scss'), 'a.scss', { root: dir, loadPaths: [] }).code;
    fs.rmSync(dir, { recursive: true });
    console.log(JSON.stringify({ atImport, afterCompile: [...new Set(heavy())].sort(), css }));
  `;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { atImport: string[]; afterCompile: string[]; css: string };
  assert.deepEqual(out.atImport, []);
  assert.deepEqual(out.afterCompile, ['sass']);
  assert.match(out.css, /\.a \{\n\s+color: red;\n\}/);
});
