import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { builtSite, convoy, isWrite, keyOf, manifestNames, startS3, type S3Server } from './s3.ts';
import path from 'node:path';

// Some S3-compatible servers (s3rver among them) keep the part of a PUT body received before the
// client died. These tests leave the inventory that way by hand, as a publish killed mid-write does.
const BUCKET = 'journal';
const PREFIX = 'static/';
const INVENTORY = `${PREFIX}.convoy/inventory.json`;
const JOURNAL = `${PREFIX}.convoy/inventory.journal.json`;
const ENV = { CONVOY_S3_BUCKET: BUCKET };

let s3: S3Server;
let dir: string;
let client: S3Client;

const put = (key: string, body: Buffer) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const body = async (key: string) => (await s3.get(BUCKET, key)).body;

before(async () => {
  s3 = await startS3([BUCKET]);
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

test('prune repairs a damaged inventory from its journal and deletes nothing a kept release names', async () => {
  const keys = s3.keys(BUCKET);
  await put(INVENTORY, Buffer.from('{"version":1,"obj'));
  const run = await convoy(dir, ['prune', '--keep', '1'], ENV);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /restored from its journal and written again/);
  assert.match(run.stdout, / 0 object\(s\) deleted/);
  assert.deepEqual(s3.keys(BUCKET), keys);
  assert.deepEqual(await body(INVENTORY), await body(JOURNAL));
  JSON.parse((await body(INVENTORY)).toString());
});

test('a missing inventory with a journal (a first publish killed between the two) is restored; both damaged stops with the inventory named and writes nothing', async () => {
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: INVENTORY }));
  const restored = await convoy(dir, ['publish'], ENV);
  assert.equal(restored.status, 0, restored.stderr);
  assert.match(restored.stderr, /restored from its journal/);
  assert.match(restored.stdout, /0 object\(s\) uploaded/);

  await put(INVENTORY, Buffer.from('{"version":1,'));
  await put(JOURNAL, Buffer.from('{"vers'));
  const keys = s3.keys(BUCKET);
  const mark = s3.requests.length;
  for (const command of ['publish', 'prune']) {
    const run = await convoy(dir, [command], ENV);
    assert.equal(run.status, 1, `${command}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, new RegExp(`${INVENTORY.replace(/\./g, '\\.')}: the inventory in the bucket is not JSON .*delete it and its journal to re-upload everything`));
  }
  assert.deepEqual(s3.since(mark).filter(isWrite), []);
  assert.deepEqual(s3.keys(BUCKET), keys);
});
