import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { publish } from '../../src/publish/index.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger } from '../helpers.ts';
import { builtSite, convoy, convoyAsync, keyOf, manifestNames, rebuild, startS3, type S3Server } from './s3.ts';

const TRIALS = 5;
const PREFIX = 'static/';

let s3: S3Server;
let dirA: string;
let dirB: string;
let namesA: string[];
let namesB: string[];

const optionsOf = (dir: string, bucket: string): ConvoyOptions => {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'convoy.config.json'), 'utf8')) as ConvoyOptions;
  return { ...config, root: dir, logger: memoryLogger(), publish: { ...config.publish, bucket } };
};

before(async () => {
  s3 = await startS3(Array.from({ length: TRIALS }, (_, i) => `killed-${i}`));
  dirA = await builtSite({ endpoint: s3.endpoint, prefix: PREFIX });
  dirB = path.join(path.dirname(dirA), `${path.basename(dirA)}-b`);
  fs.cpSync(dirA, dirB, { recursive: true });
  fs.appendFileSync(path.join(dirB, 'static/css/reset.css'), '\n.killed { margin: 1px; }\n');
  fs.appendFileSync(path.join(dirB, 'static/js/util.js'), '\nwindow.killedOnce = 1;\n');
  fs.appendFileSync(path.join(dirB, 'static/css/partials/_colors.scss'), '\n$killed: #123456;\n.killed-scss { color: $killed; }\n');
  await rebuild(dirB);
  namesA = manifestNames(path.join(dirA, 'public/static'));
  namesB = manifestNames(path.join(dirB, 'public/static'));
});
after(() => {
  fs.rmSync(dirB, { recursive: true, force: true });
  return s3.close();
});

test('a publish killed (SIGKILL) at random points is completed by the next one; the previous release is never touched', async () => {
  const fresh = namesB.filter((n) => !namesA.includes(n));
  assert.ok(fresh.length >= 8, fresh.join());
  // PUTs of an uninterrupted publish of B: the pending inventory (journal, inventory), the new
  // objects, the record, the inventory (journal, inventory).
  const total = fresh.length + 5;
  // Spread over the uploads, then each of the last three writes: the record, the journal and the
  // inventory itself (a server that keeps a partial body leaves a cut-off inventory there).
  const spread = TRIALS - 3;
  const points = Array.from({ length: TRIALS }, (_, i) => (i >= spread ? total - (TRIALS - 1 - i) : 1 + Math.floor(((i + Math.random()) * (total - 5)) / spread)));
  const staticB = path.join(dirB, 'public/static');
  const staticA = path.join(dirA, 'public/static');
  for (const [trial, point] of points.entries()) {
    const bucket = `killed-${trial}`;
    const why = `trial ${trial}, killed at PUT ${point} of ${total}`;
    await publish(optionsOf(dirA, bucket));
    const mark = s3.requests.length;

    const run = convoyAsync(dirB, ['publish', '--concurrency', '2'], { CONVOY_S3_BUCKET: bucket });
    let seen = 0;
    const stop = s3.onRequest((r) => {
      if (r.method === 'PUT' && ++seen === point) run.child.kill('SIGKILL');
    });
    const killed = await run.done;
    stop();
    assert.equal(killed.signal, 'SIGKILL', `${why}: ${killed.stdout}${killed.stderr}`);
    // Release A is whole while B is half-published.
    for (const name of namesA) assert.deepEqual((await s3.get(bucket, PREFIX + name)).body, fs.readFileSync(path.join(staticA, name)), `${why}: ${name}`);

    const done = await convoy(dirB, ['publish'], { CONVOY_S3_BUCKET: bucket });
    assert.equal(done.status, 0, `${why}: ${done.stderr}`);
    for (const name of namesB) {
      const res = await s3.get(bucket, PREFIX + name);
      assert.equal(res.status, 200, `${why}: ${name}`);
      assert.deepEqual(res.body, fs.readFileSync(path.join(staticB, name)), `${why}: ${name}`);
    }
    for (const name of namesA) assert.deepEqual((await s3.get(bucket, PREFIX + name)).body, fs.readFileSync(path.join(staticA, name)), `${why}: ${name}`);
    const touched = s3.since(mark).filter((r) => r.method !== 'GET' && r.method !== 'HEAD').map((r) => keyOf(r, bucket));
    assert.deepEqual(touched.filter((k) => namesA.some((n) => PREFIX + n === k)), [], `${why}: no object of release A written or deleted`);

    const inventory = JSON.parse((await s3.get(bucket, `${PREFIX}.convoy/inventory.json`)).body.toString()) as { releases: { key: string }[]; pending: string[] };
    assert.equal(inventory.releases.length, 2, why);
    assert.deepEqual(inventory.pending, [], why);
    assert.deepEqual((await s3.get(bucket, inventory.releases[1]!.key)).body, fs.readFileSync(path.join(staticB, 'convoy-manifest.json')), why);
    const again = await publish(optionsOf(dirB, bucket));
    assert.equal(again.nothingNew, true, why);
  }
});

test('a rolled-back release becomes the latest and prune keeps it; a prune killed while deleting is finished by the next', async () => {
  const bucket = 'killed-0'; // holds A, then B (the first trial)
  const staticA = path.join(dirA, 'public/static');
  const rollback = await publish(optionsOf(dirA, bucket));
  assert.equal(rollback.nothingNew, false);
  assert.deepEqual(rollback.uploaded, []);
  assert.equal(rollback.recordWritten, false);

  const onlyB = namesB.filter((n) => !namesA.includes(n)).map((n) => PREFIX + n);
  const run = convoyAsync(dirA, ['prune', '--keep', '1'], { CONVOY_S3_BUCKET: bucket });
  const stop = s3.onRequest((r) => r.method === 'POST' && run.child.kill('SIGKILL'));
  const killed = await run.done;
  stop();
  assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
  const half = JSON.parse((await s3.get(bucket, `${PREFIX}.convoy/inventory.json`)).body.toString()) as { objects: Record<string, number>; pending: string[] };
  assert.deepEqual(onlyB.filter((k) => k in half.objects), [], 'the inventory no longer claims what is being deleted');

  const done = await convoy(dirA, ['prune', '--keep', '1'], { CONVOY_S3_BUCKET: bucket });
  assert.equal(done.status, 0, done.stderr);
  for (const key of onlyB) assert.equal((await s3.get(bucket, key)).status, 404, key);
  for (const name of namesA) assert.deepEqual((await s3.get(bucket, PREFIX + name)).body, fs.readFileSync(path.join(staticA, name)), name);
  const inventory = JSON.parse((await s3.get(bucket, `${PREFIX}.convoy/inventory.json`)).body.toString()) as { releases: { hash: string }[]; pending: string[] };
  assert.deepEqual(inventory.pending, []);
  assert.deepEqual(inventory.releases.map((r) => r.hash), [rollback.release]);
});
