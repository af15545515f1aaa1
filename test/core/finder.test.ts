import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Finder, safeRelative } from '../../src/core/finder.ts';
import { ConvoyError } from '../../src/errors.ts';
import { fixtureProject, tmpDir } from '../helpers.ts';

test('several roots are searched in order; the first match wins', () => {
  const dir = fixtureProject();
  const f = new Finder([path.join(dir, 'static'), path.join(dir, 'vendor')]);
  assert.equal(f.find('img/dot.png').abs, path.join(dir, 'static/img/dot.png'));
  assert.equal(f.find('css/c.css').abs, path.join(dir, 'vendor/css/c.css'));
  assert.equal(f.tryFind('css/none.css'), undefined);
  const err = (() => {
    try {
      f.find('css/none.css');
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ConvoyError && err.code === 'E_NOT_FOUND' && err.file === 'css/none.css');
  // Globs cover every root, shadowed names once.
  const pngs = f.glob('**/*.png');
  assert.deepEqual(pngs.map((p) => [p.rel, path.relative(dir, p.root)]), [['img/dot.png', 'static']]);
  assert.ok(f.glob('**/*.js').some((p) => p.rel === 'js/lib.js'));
});

test('paths that leave the roots are refused with E_PATH_ESCAPE', () => {
  const dir = fixtureProject();
  const outside = tmpDir();
  fs.writeFileSync(path.join(outside, 'secret.css'), 'body{}');
  fs.symlinkSync(path.join(outside, 'secret.css'), path.join(dir, 'static/css/link.css'));
  const f = new Finder([path.join(dir, 'static')]);
  for (const bad of ['../secret.css', 'css/../../secret.css', '/etc/passwd', 'css/%2e%2e/%2e%2e/x.css', '%2e%2e%2fsecret.css', 'css\\..\\..\\x.css', 'css/a.css\0.png', 'C:/x.css', 'css/link.css', '%zz']) {
    assert.throws(() => f.find(bad), (e: unknown) => e instanceof ConvoyError && e.code === 'E_PATH_ESCAPE', bad);
  }
  assert.equal(safeRelative('./css//a.css'), 'css/a.css');
  assert.equal(safeRelative('css/my%20file.css'), 'css/my file.css');
});
