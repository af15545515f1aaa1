import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { builtSite, convoy, isWrite, keyOf, manifestNames, rebuild, startS3, type S3Server } from './s3.ts';

// Some S3-compatible servers (s3rver among them) keep the part of a PUT body received before the
// client died. These tests leave the inventory that way by hand, as a publish killed mid-write does.
const BUCKET = 'journal';
const PREFIX = 'static/';
const INVENTORY = `${PREFIX}.convoy/inventory.json`;
const JOURNAL = `${PREFIX}.convoy/inventory.journal.json`;
const ENV = { CONVOY_S3_BUCKET: BUCKET };
const FIRST = 'journal-first';
const FRESH = 'journal-fresh';

let s3: S3Server;
let dir: string;
let client: S3Client;

const put = (key: string, body: Buffer) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const body = async (key: string) => (await s3.get(BUCKET, key)).body;

before(async () => {
  s3 = await startS3([BUCKET, FIRST, FRESH]);
  client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true });
  dir = await builtSite({ endpoint: s3.endpoint, prefix: PREFIX });
  const first = await convoy(dir, ['publish'], ENV);
  assert.equal(first.status, 0, first.stderr);
});
after(() => {
  client.destroy();
  return s3.close();
});

test('a truncated inventory is restored from its journal: nothing uploaded again, the inventory rewritten whole, then nothing new', async () => {
  const whole = await body(INVENTORY);
  await put(INVENTORY, whole.subarray(0, Math.floor(whole.length / 2)));

  let mark = s3.requests.length;
  const run = await convoy(dir, ['publish'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`the inventory in s3://${BUCKET}/${PREFIX} was damaged or missing; restored from its journal and written again`));
  assert.match(run.stdout, /0 object\(s\) uploaded .*, \d+ skipped/);
  const writes = s3.since(mark).filter(isWrite).map((r) => keyOf(r, BUCKET));
  assert.deepEqual(writes, [JOURNAL, INVENTORY], 'only the inventory (and its journal) written');
  const repaired = JSON.parse((await body(INVENTORY)).toString()) as { objects: Record<string, number>; releases: unknown[]; pending: string[] };
  assert.equal(repaired.releases.length, 1);
  assert.deepEqual(repaired.pending, []);
  const named = manifestNames(path.join(dir, 'public/static')).map((n) => PREFIX + n);
  assert.deepEqual(named.filter((k) => !(k in repaired.objects)), [], 'every object of the release is still listed');

  mark = s3.requests.length;
  const again = await convoy(dir, ['publish'], ENV);
  assert.match(again.stdout, /nothing new/);
  assert.doesNotMatch(again.stderr, /journal/);
  assert.deepEqual(s3.since(mark).filter(isWrite), []);
});

test('prune repairs a cut-off inventory from its journal and deletes nothing; a dry run only says so', async () => {
  const keys = s3.keys(BUCKET);
  const whole = await body(INVENTORY);
  await put(INVENTORY, whole.subarray(0, 17));
  let mark = s3.requests.length;
  const dry = await convoy(dir, ['publish', '--dry-run'], ENV);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stderr, /restored from its journal\n/);
  assert.deepEqual(s3.since(mark).filter(isWrite), []);

  mark = s3.requests.length;
  const run = await convoy(dir, ['prune', '--keep', '1'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /restored from its journal and written again/);
  assert.match(run.stdout, / 0 object\(s\) deleted/);
  assert.deepEqual(s3.since(mark).filter((r) => r.method === 'DELETE' || r.method === 'POST'), []);
  assert.deepEqual(s3.keys(BUCKET), keys);
  assert.deepEqual(await body(INVENTORY), await body(JOURNAL));
  JSON.parse((await body(INVENTORY)).toString());
});

test('the journal is trusted only for what an interrupted save leaves: other damage, or an inventory deleted by hand, stops with what to do and writes nothing', async () => {
  const keys = s3.keys(BUCKET);
  const writesOf = async (command: string) => {
    const mark = s3.requests.length;
    const run = await convoy(dir, [command], ENV);
    assert.equal(run.status, 1, `${command}: ${run.stdout}${run.stderr}`);
    assert.deepEqual(s3.since(mark).filter(isWrite), [], command);
    return run.stderr;
  };
  // Not a prefix of the journal: someone else's bytes, not a cut-off write.
  await put(INVENTORY, Buffer.from('{"version":1,'));
  for (const command of ['publish', 'prune']) {
    assert.match(await writesOf(command), new RegExp(`${INVENTORY.replace(/\./g, '\\.')}: the inventory in the bucket is not JSON .*delete it and its journal to re-upload everything`));
  }
  // Deleted by hand while the journal lists a whole release: restoring it would skip the re-upload asked for.
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: INVENTORY }));
  assert.match(await writesOf('publish'), /the inventory is missing but its journal lists \d+ object\(s\) and 1 release\(s\): was it deleted by hand\? To re-upload everything delete static\/\.convoy\/inventory\.journal\.json too/);
  assert.deepEqual(s3.keys(BUCKET), keys.filter((k) => k !== INVENTORY));
  // What it says to do works: without the journal everything is uploaded again.
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: JOURNAL }));
  const again = await convoy(dir, ['publish'], ENV);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`${manifestNames(path.join(dir, 'public/static')).length} object\\(s\\) uploaded`));
});

test('a first publish killed between the journal and the inventory, or inside the journal, is completed by the next one', async () => {
  for (const [bucket, journal] of [
    [FIRST, (keys: string[]) => Buffer.from(JSON.stringify({ version: 1, objects: {}, pending: keys, releases: [] }))],
    [FRESH, () => Buffer.from('{\n "version": 1,\n "obj')],
  ] as const) {
    const names = manifestNames(path.join(dir, 'public/static'));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: JOURNAL, Body: journal(names.map((n) => PREFIX + n)) }));
    const run = await convoy(dir, ['publish'], { CONVOY_S3_BUCKET: bucket });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /restored from its journal and written again/, bucket);
    assert.match(run.stdout, new RegExp(`${names.length} object\\(s\\) uploaded`), bucket);
    for (const name of names) assert.equal((await s3.get(bucket, PREFIX + name)).status, 200, `${bucket}: ${name}`);
    const inventory = JSON.parse((await s3.get(bucket, INVENTORY)).body.toString()) as { pending: string[]; releases: unknown[] };
    assert.deepEqual(inventory.pending, []);
    assert.equal(inventory.releases.length, 1);
  }
});

test('a damaged journal beside a whole inventory is ignored, and the next save rewrites it', async () => {
  await put(JOURNAL, Buffer.from('{"vers'));
  const run = await convoy(dir, ['publish'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /journal/);
  fs.appendFileSync(path.join(dir, 'static/js/main.js'), '\nwindow.journalled = 1;\n');
  await rebuild(dir);
  const next = await convoy(dir, ['publish'], ENV);
  assert.equal(next.status, 0, next.stderr);
  assert.deepEqual(await body(JOURNAL), await body(INVENTORY));
});
