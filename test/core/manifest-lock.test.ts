import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Manifest } from '../../src/core/manifest.ts';
import { manifestLockFile, withLock } from '../../src/core/lock.ts';
import { ConvoyError } from '../../src/errors.ts';
import { fixtureProject, tmpDir, write } from '../helpers.ts';
import { finished, runScript, startAppServer } from '../adapters/processes.ts';
import { request } from '../adapters/http.ts';

const readManifest = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { bundles: Record<string, { path: string }>; files: Record<string, unknown> };

test('four processes saving one manifest at once lose no entry (lock + merge with what is on disk)', async () => {
  const root = tmpDir();
  write(path.join(root, 'shared.js'), 'x');
  const file = path.join(root, 'convoy-manifest.json');
  const writers = ['a', 'b', 'c', 'd'].map((name) => finished(runScript('test/core/manifest-writer.ts', [file, root, name, '40'])));
  for (const r of await Promise.all(writers)) assert.equal(r.code, 0, r.err);
  const keys = Object.keys(readManifest(file).bundles);
  assert.equal(keys.length, 160, `lost ${160 - keys.length} entries`);
  assert.ok(!fs.existsSync(manifestLockFile(file)), 'the lock is released');
});

test('a save keeps entries another process saved since this one read the manifest, and an entry it replaced stays on `previous`', () => {
  const root = tmpDir();
  for (const f of ['one.js', 'two.js', 'old.js', 'new.js']) write(path.join(root, f), f);
  const file = path.join(root, 'convoy-manifest.json');
  const entry = (p: string) => ({ kind: 'js' as const, sources: [p], inputs: {}, path: p, hash: '000000000000', integrity: '', size: 1, variants: {} });
  const seed = new Manifest(file, root);
  seed.data.bundles['js:shared'] = entry('old.js');
  seed.save();
  const a = new Manifest(file, root);
  const b = new Manifest(file, root);
  a.data.bundles['js:one'] = entry('one.js');
  a.save();
  b.data.bundles['js:two'] = entry('two.js');
  b.data.bundles['js:shared'] = entry('new.js');
  b.save();
  const disk = JSON.parse(fs.readFileSync(file, 'utf8')) as { bundles: Record<string, { path: string }>; previous: string[] };
  assert.deepEqual(Object.keys(disk.bundles).sort(), ['js:one', 'js:shared', 'js:two']);
  assert.equal(disk.bundles['js:shared']!.path, 'new.js');
  assert.deepEqual(disk.previous, ['old.js'], 'pages printed with the old entry keep working until the next clean after a build');
  // The first process sees the second's work on its next save, and a save with nothing new writes nothing.
  const stamp = fs.statSync(file).mtimeMs;
  assert.equal(a.save(), false);
  assert.equal(fs.statSync(file).mtimeMs, stamp);
  assert.equal(a.data.bundles['js:two']!.path, 'two.js');
});

test('a save never names a file that is gone: the entry is dropped', () => {
  const root = tmpDir();
  const file = path.join(root, 'convoy-manifest.json');
  const m = new Manifest(file, root);
  m.data.bundles['js:gone'] = { kind: 'js', sources: ['x.js'], inputs: {}, path: 'CARPOOL/js/000000000000.cmin.js', hash: '000000000000', integrity: '', size: 1, variants: {} };
  m.save();
  assert.deepEqual(m.dropped, ['js:gone']);
  assert.deepEqual(readManifest(file).bundles, {});
});

test('a lock left by a dead process is recovered; one held by a live process makes a writer give up with E_LOCK', async () => {
  const dir = tmpDir();
  const lock = path.join(dir, '.m.lock');
  // A real process that has ended: its pid names no live process.
  const dead = spawn(process.execPath, ['-e', '']);
  const deadPid = dead.pid!;
  await finished(dead);
  fs.writeFileSync(lock, JSON.stringify({ pid: deadPid, host: os.hostname(), token: 'x' }));
  assert.equal(withLock(lock, () => 'ran', { timeoutMs: 2000 }), 'ran');
  assert.ok(!fs.existsSync(lock));
  // Half-written by a process killed mid-write, and old: taken over by age.
  fs.writeFileSync(lock, '{"pid":');
  const old = new Date(Date.now() - 120_000);
  fs.utimesSync(lock, old, old);
  assert.equal(withLock(lock, () => 'ran again', { timeoutMs: 2000 }), 'ran again');
  // Held by a live process (the test runner that started us): wait, then fail clearly.
  fs.writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: os.hostname(), token: 'y' }));
  assert.throws(
    () => withLock(lock, () => 'never', { timeoutMs: 200 }),
    (err: unknown) => err instanceof ConvoyError && err.code === 'E_LOCK',
  );
  assert.ok(fs.existsSync(lock), "another holder's lock is not removed");
});

test('a bundle built during a request reaches the manifest on disk even when the server is stopped at once (SIGTERM)', async () => {
  const dir = fixtureProject();
  write(path.join(dir, 'templates/dynamic.njk'), '{% carpool js %}{% for f in files %}{{ f }}\n{% endfor %}{% endcarpool %}');
  const server = await startAppServer(dir);
  try {
    const page = await request(server.port, '/page?js=js/one.js,js/two.js');
    assert.equal(page.status, 200, server.log());
    const url = /\/static\/(CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js)/.exec(page.body.toString())?.[1];
    assert.ok(url, page.body.toString());
  } finally {
    await server.stop();
  }
  const m = readManifest(path.join(dir, 'public/static/convoy-manifest.json'));
  assert.deepEqual(Object.keys(m.bundles), ['js:js/one.js+++js/two.js']);
  assert.ok(!fs.existsSync(path.join(dir, 'public/static/.convoy-pending', `${os.hostname()}-${server.child.pid}`)), 'its pending list is settled');
});
