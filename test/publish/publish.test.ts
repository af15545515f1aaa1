import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { builtSite, convoy, isListing, isWrite, keyOf, manifestNames, rebuild, startS3, type S3Server } from './s3.ts';

const BUCKET = 'assets-main';
const PREFIX = 'site/v1/';
// x-amz-meta-* travels as SDK metadata, Expires as a header set on the request itself.
const EXPIRES = 'Thu, 01 Jan 2037 00:00:00 GMT';
const ENV = { CONVOY_S3_PREFIX: 'site/v1', CONVOY_AWS_HEADERS: JSON.stringify({ 'x-amz-meta-deployed-by': 'ci', Expires: EXPIRES }) };

// Expected from the name alone, independently of the code under test.
const TYPES: Record<string, string> = {
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

let s3: S3Server;
let dir: string;
let staticRoot: string;
let release1: string[];
let release2: string[];
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex').slice(0, 12);
const recordOf = (root: string) => `${PREFIX}.convoy/releases/${md5(fs.readFileSync(path.join(root, 'convoy-manifest.json')))}.json`;
const INVENTORY = `${PREFIX}.convoy/inventory.json`;
const JOURNAL = `${PREFIX}.convoy/inventory.journal.json`;
const puts = (mark: number) => s3.since(mark).filter((r) => r.method === 'PUT').map((r) => keyOf(r, BUCKET));

before(async () => {
  s3 = await startS3([BUCKET, 'assets-other']);
  dir = await builtSite({ bucket: BUCKET, endpoint: s3.endpoint });
  staticRoot = path.join(dir, 'public/static');
});
after(() => s3.close());

test('publish puts every file the manifest names in the bucket with its bytes and headers; objects first, then the record, then the inventory', async () => {
  release1 = manifestNames(staticRoot);
  assert.ok(release1.some((n) => n.endsWith('.map')) && release1.some((n) => n.endsWith('.gz')) && release1.some((n) => n.startsWith('CARPOOL/')), release1.join());
  const mark = s3.requests.length;
  const run = await convoy(dir, ['publish'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`${release1.length} object\\(s\\) uploaded .*, 0 skipped`));
  assert.doesNotMatch(run.stderr, /Warning/, 'the pinned SDK says nothing on Node 20');

  for (const name of release1) {
    const res = await s3.get(BUCKET, PREFIX + name);
    assert.equal(res.status, 200, name);
    assert.deepEqual(res.body, fs.readFileSync(path.join(staticRoot, name)), `bytes of ${name}`);
    const twin = /\.(gz|br)$/.exec(name)?.[1];
    const ext = name.replace(/\.(gz|br)$/, '').split('.').pop()!;
    assert.equal(res.headers['content-type'], TYPES[ext], `type of ${name}`);
    assert.equal(res.headers['content-encoding'], twin === 'gz' ? 'gzip' : twin === 'br' ? 'br' : undefined, `encoding of ${name}`);
    assert.equal(res.headers['cache-control'], `public, max-age=31536000, immutable${twin ? ', no-transform' : ''}`, `caching of ${name}`);
    assert.equal(res.headers['x-amz-meta-deployed-by'], 'ci', `CONVOY_AWS_HEADERS on ${name}`);
    assert.equal(res.headers.expires, EXPIRES, `CONVOY_AWS_HEADERS on ${name}`);
  }
  const record = await s3.get(BUCKET, recordOf(staticRoot));
  assert.deepEqual(record.body, fs.readFileSync(path.join(staticRoot, 'convoy-manifest.json')));
  assert.deepEqual(s3.keys(BUCKET), [...release1.map((n) => PREFIX + n), recordOf(staticRoot), INVENTORY, JOURNAL].sort());

  const order = puts(mark);
  const lastAsset = Math.max(...release1.map((n) => order.indexOf(PREFIX + n)));
  assert.ok(order.indexOf(recordOf(staticRoot)) > lastAsset, 'the record follows every object it names');
  assert.deepEqual(order.slice(-2), [JOURNAL, INVENTORY], 'the inventory is written last, its journal just before');
  assert.deepEqual((await s3.get(BUCKET, JOURNAL)).body, (await s3.get(BUCKET, INVENTORY)).body);
  assert.equal(s3.since(mark).filter((r) => isListing(r, BUCKET)).length, 0);
});

test('a second publish with nothing changed writes nothing and does not list the bucket', async () => {
  const mark = s3.requests.length;
  const run = await convoy(dir, ['publish'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /nothing new/);
  assert.deepEqual(s3.since(mark), [{ method: 'GET', url: `/${BUCKET}/${INVENTORY}?x-id=GetObject` }]);
});

test('after an edit, --dry-run writes nothing; publish uploads only the new names and rewrites no object of the earlier release', async () => {
  fs.appendFileSync(path.join(dir, 'static/css/layout.css'), '\n.published { color: rgb(1, 2, 3); }\n');
  fs.appendFileSync(path.join(dir, 'static/js/main.js'), '\nwindow.publishedTwice = true;\n');
  await rebuild(dir);
  release2 = manifestNames(staticRoot);
  const fresh = release2.filter((n) => !release1.includes(n));
  assert.ok(fresh.length >= 6 && fresh.length < release2.length, fresh.join());

  let mark = s3.requests.length;
  const dry = await convoy(dir, ['publish', '--dry-run'], ENV);
  assert.equal(dry.status, 0, dry.stderr);
  assert.deepEqual(s3.since(mark).filter(isWrite), []);
  const would = [...dry.stdout.matchAll(/^would upload (\S+)/gm)].map((m) => m[1]!).sort();
  assert.deepEqual(would, fresh.map((n) => PREFIX + n));

  mark = s3.requests.length;
  const run = await convoy(dir, ['publish', '--concurrency', '3'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`${fresh.length} object\\(s\\) uploaded .*, ${release2.length - fresh.length} skipped`));
  const written = puts(mark);
  assert.deepEqual(written.filter((k) => !k.includes('/.convoy/')).sort(), fresh.map((n) => PREFIX + n));
  assert.deepEqual(written.filter((k) => release1.some((n) => PREFIX + n === k)), [], 'no object of release 1 was rewritten');
  for (const name of release2) assert.deepEqual((await s3.get(BUCKET, PREFIX + name)).body, fs.readFileSync(path.join(staticRoot, name)), name);
});

test('prune --keep 1: --dry-run deletes nothing; then exactly the objects only the older release named are gone', async () => {
  // Something convoy did not upload, under the same prefix: prune must leave it.
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true });
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}uploads/avatar.png`, Body: Buffer.from('not ours') }));
  client.destroy();
  const record1 = s3.keys(BUCKET).find((k) => k.includes('/.convoy/releases/') && k !== recordOf(staticRoot))!;
  const onlyOld = release1.filter((n) => !release2.includes(n)).map((n) => PREFIX + n);
  assert.ok(onlyOld.length > 0);
  const before = s3.keys(BUCKET);

  let mark = s3.requests.length;
  const dry = await convoy(dir, ['prune', '--keep', '1', '--dry-run'], ENV);
  assert.equal(dry.status, 0, dry.stderr);
  assert.deepEqual(s3.since(mark).filter(isWrite), []);
  assert.deepEqual(s3.keys(BUCKET), before);
  assert.deepEqual([...dry.stdout.matchAll(/^would delete (\S+)/gm)].map((m) => m[1]!).sort(), [...onlyOld, record1].sort());

  mark = s3.requests.length;
  const run = await convoy(dir, ['prune', '--keep', '1'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`dropped 1; ${onlyOld.length + 1} object\\(s\\) deleted`));
  assert.deepEqual(s3.keys(BUCKET), [...release2.map((n) => PREFIX + n), recordOf(staticRoot), INVENTORY, JOURNAL, `${PREFIX}uploads/avatar.png`].sort());
  for (const key of onlyOld) assert.equal((await s3.get(BUCKET, key)).status, 404, key);
  for (const name of release2) assert.deepEqual((await s3.get(BUCKET, PREFIX + name)).body, fs.readFileSync(path.join(staticRoot, name)), name);
  assert.equal(s3.since(mark).filter((r) => isListing(r, BUCKET)).length, 0);

  // The inventory agrees with the bucket: nothing new to publish, nothing more to prune.
  mark = s3.requests.length;
  assert.match((await convoy(dir, ['publish'], ENV)).stdout, /nothing new/);
  const again = await convoy(dir, ['prune', '--keep', '1'], ENV);
  assert.match(again.stdout, / 0 object\(s\) deleted/);
  assert.deepEqual(s3.since(mark).filter(isWrite), []);
});

test('a bucket from the environment; a missing bucket or manifest is a clear error with its exit status', async () => {
  const other = await builtSite({ endpoint: s3.endpoint });
  const none = await convoy(other, ['publish'], {});
  assert.equal(none.status, 2);
  assert.match(none.stderr, /no bucket to publish to: set publish\.bucket in the config or CONVOY_S3_BUCKET/);
  const run = await convoy(other, ['publish', '--quiet'], { CONVOY_S3_BUCKET: 'assets-other' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(s3.keys('assets-other').length, manifestNames(path.join(other, 'public/static')).length + 3);
  // Bytes that no longer match their name are refused before anything is written.
  fs.appendFileSync(path.join(dir, 'static/css/reset.css'), '\n.later { color: red; }\n');
  await rebuild(dir);
  const reset = manifestNames(staticRoot).find((n) => /^css\/reset\.[0-9a-f]{12}\.cmin\.css$/.test(n))!;
  fs.appendFileSync(path.join(staticRoot, reset), '/* edited */');
  const mark = s3.requests.length;
  const damaged = await convoy(dir, ['publish'], ENV);
  assert.equal(damaged.status, 1);
  assert.match(damaged.stderr, new RegExp(`1 file\\(s\\) no longer match the fingerprint the manifest records \\(${reset.replace(/\./g, '\\.')}\\)`));
  assert.deepEqual(s3.since(mark).filter(isWrite), []);

  fs.rmSync(path.join(other, 'public'), { recursive: true });
  const gone = await convoy(other, ['publish'], { CONVOY_S3_BUCKET: 'assets-other' });
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /no manifest to publish: run `convoy build` first/);
  const bad = await convoy(other, ['prune', '--keep', '0'], { CONVOY_S3_BUCKET: 'assets-other' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--keep expects a whole number ≥ 1/);
});
