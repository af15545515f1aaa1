import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { build } from '../src/build.ts';
import { memoryLogger, tmpDir, write } from './helpers.ts';

function project(): string {
  const dir = tmpDir();
  write(path.join(dir, 'static/scss/_vars.scss'), '$c: #123456;\n');
  write(path.join(dir, 'static/scss/extra.scss'), '@use "vars" as v;\n.extra { color: v.$c; }\n');
  write(path.join(dir, 'static/scss/site.scss'), '@use "vars" as v;\n.site { color: v.$c; }\n');
  write(path.join(dir, 'static/js/big.js'), `var big = [${Array.from({ length: 3000 }, (_, i) => i).join(', ')}];\n`);
  write(path.join(dir, 'static/js/app.js'), 'function hello(name) { return "hi " + name; }\nwindow.hello = hello;\n');
  write(path.join(dir, 'static/css/a.css'), '.a { color: red; }\n');
  write(path.join(dir, 'static/img/x.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  write(path.join(dir, 'templates/page.njk'), "{% carpool js %}\njs/app.js\n{% endcarpool %}\n{% scss 'scss/site.scss' %}{% convoy 'css/a.css' %}\n");
  return dir;
}
const options = (dir: string) => ({ root: dir, sources: ['static'], staticRoot: 'out', templates: ['templates'], logger: memoryLogger() });

test('a worker starts before the template scan with the compiled/minified sources no template mentions, and the build equals a one-thread build', async () => {
  const dir = project();
  const report = await build(options(dir), { parseTemplates: true, jobs: 2, workers: 1 });
  assert.deepEqual(report.errors, []);
  assert.equal(report.workers, 1);
  // Sass entries first, then by size; what the templates name (and non-code files) stay with the scan.
  assert.deepEqual(report.early, ['js/big.js', 'scss/extra.scss']);
  const one = project();
  const single = await build(options(one), { parseTemplates: true, jobs: 1 });
  assert.deepEqual(single.early, []);
  assert.equal(fs.readFileSync(path.join(dir, 'out/convoy-manifest.json'), 'utf8'), fs.readFileSync(path.join(one, 'out/convoy-manifest.json'), 'utf8'));
  const extra = JSON.parse(fs.readFileSync(path.join(dir, 'out/convoy-manifest.json'), 'utf8')).files['scss/extra.scss'];
  assert.equal(fs.readFileSync(path.join(dir, 'out', extra.path), 'utf8'), '.extra{color:#123456}');
});
