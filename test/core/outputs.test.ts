import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import nunjucks from 'nunjucks';
import { resolveConfig, type ConvoyOptions } from '../../src/config.ts';
import { createPipeline } from '../../src/core/pipeline.ts';
import { compress } from '../../src/core/compress.ts';
import { POLICY, REQUEST_LEVELS } from '../../src/core/outputs.ts';
import { build } from '../../src/build.ts';
import { install } from '../../src/index.ts';
import type { ManifestData } from '../../src/core/manifest.ts';
import { memoryLogger, tmpDir, write } from '../helpers.ts';

// Text that compresses like real code: words from a small vocabulary in a fixed pseudo-random order.
function prose(seed: number, bytes: number): string {
  const words = ['color', 'margin', 'padding', 'border', 'display', 'flex', 'grid', 'width', 'height', 'auto', 'none', 'block', 'inline', 'solid', 'var', 'calc', 'rgba', 'transform', 'opacity', 'z-index'];
  let x = seed;
  let out = '';
  while (out.length < bytes) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out += words[x % words.length]! + (x % 7 === 0 ? '\n' : ' ');
  }
  return out;
}

const css = (seed: number, rules: number) =>
  Array.from({ length: rules }, (_, i) => `.c${seed}-${i} {\n  margin: ${(i * seed) % 97}px;\n  color: #${((i * 7919 + seed) % 0xffffff).toString(16).padStart(6, '0')};\n}\n`).join('');
const js = (seed: number, fns: number) =>
  Array.from({ length: fns }, (_, i) => `function f${seed}_${i}(alpha, beta) {\n  var total = alpha * ${i} + beta;\n  return total > ${seed} ? 'big ${i}' : total;\n}\n`).join('');

/** A project with a big data file (its compression takes a while), stylesheets, scripts, a copied map, a .min twin and a duplicate. */
function project(): string {
  const dir = tmpDir();
  write(path.join(dir, 'static/data/words.json'), JSON.stringify({ text: prose(1, 600_000) }));
  for (let i = 1; i <= 4; i++) write(path.join(dir, `static/css/s${i}.css`), css(i, 300 * i));
  for (let i = 1; i <= 3; i++) write(path.join(dir, `static/js/m${i}.js`), js(i, 200 * i));
  write(path.join(dir, 'static/css/copy.css'), css(1, 300));
  write(path.join(dir, 'static/css/s1.css.map'), JSON.stringify({ version: 3, sources: ['s1.scss'], names: [], mappings: 'AAAA;'.repeat(4000), sourcesContent: [prose(2, 40_000)] }));
  write(path.join(dir, 'static/vendor/lib.js'), js(9, 300));
  write(path.join(dir, 'static/vendor/lib.min.js'), js(9, 300).replace(/\n\s*/g, ''));
  write(path.join(dir, 'templates/page.njk'), '{% carpool css %}\ncss/s1.css\ncss/s2.css\n{% endcarpool %}\n{% convoy "css/s3.css" %}\n');
  return dir;
}

const options = (dir: string, extra: ConvoyOptions = {}): ConvoyOptions => ({ root: dir, sources: ['static'], staticRoot: 'out', templates: ['templates'], logger: memoryLogger(), ...extra });
const readManifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'out/convoy-manifest.json'), 'utf8')) as ManifestData;
const outFile = (dir: string, rel: string) => fs.readFileSync(path.join(dir, 'out', rel));

test('a build compresses several files at once, and every twin is on disk, named by the manifest, when it returns', async () => {
  const dir = project();
  const report = await build(options(dir), { parseTemplates: true, jobs: 4, workers: 0 });
  assert.deepEqual(report.errors, []);
  // The guard against losing the parallelism (whitenoise lost its pool in a refactor unnoticed).
  assert.ok(report.compression.maxFilesInFlight > 1, `compressions of several files overlapped: ${JSON.stringify(report.compression)}`);
  const manifest = readManifest(dir);
  const entries = [...Object.values(manifest.files), ...Object.values(manifest.bundles)];
  assert.ok(entries.length >= 10);
  for (const e of entries) {
    if (!/\.(css|js|json|map)$/.test(e.path)) continue;
    const served = outFile(dir, e.path);
    assert.ok(e.variants.gz && e.variants.br, `${e.path} has both twins`);
    assert.deepEqual(zlib.gunzipSync(outFile(dir, e.variants.gz)), served);
    assert.deepEqual(zlib.brotliDecompressSync(outFile(dir, e.variants.br)), served);
  }
  // One thread: compression inline, one at a time, and byte-identical results.
  const one = project();
  const single = await build(options(one), { parseTemplates: true, jobs: 1 });
  assert.equal(single.compression.maxInFlight, 1);
  assert.equal(fs.readFileSync(path.join(one, 'out/convoy-manifest.json'), 'utf8'), fs.readFileSync(path.join(dir, 'out/convoy-manifest.json'), 'utf8'));
  for (const f of fs.readdirSync(path.join(dir, 'out'), { recursive: true }) as string[]) {
    if (fs.statSync(path.join(dir, 'out', f)).isFile()) assert.deepEqual(outFile(one, f), outFile(dir, f), f);
  }
});

test('compression keeps a bounded number of bytes in flight and starts the largest first', async () => {
  const dir = project();
  const p = createPipeline(resolveConfig({ ...options(dir), useExistingMinFiles: false }));
  const sizes = ['css/s1.css', 'css/s2.css', 'css/s3.css', 'css/s4.css', 'js/m1.js', 'js/m2.js', 'js/m3.js'].map((rel) => p.asset(rel).size);
  await p.flush();
  // A fresh pipeline over the same outputs, with a budget of about two of the largest outputs.
  const q = createPipeline(resolveConfig({ ...options(dir), staticRoot: 'out2', useExistingMinFiles: false }));
  const budget = Math.max(...sizes) * 2;
  q.outputs.limits = { concurrency: 8, maxBytesInFlight: budget };
  for (const rel of ['css/s1.css', 'css/s2.css', 'css/s3.css', 'css/s4.css', 'js/m1.js', 'js/m2.js', 'js/m3.js']) q.asset(rel);
  assert.deepEqual(await q.flush(), []);
  assert.ok(q.outputs.compression.maxBytesInFlight <= budget, JSON.stringify(q.outputs.compression));
  assert.ok(q.outputs.compression.maxInFlight > 1);
});

test('policy: brotli 11 and gzip 9 for what pages fetch; plain copies and maps get level 6', async () => {
  const dir = project();
  await build(options(dir), { jobs: 2, workers: 0 });
  const manifest = readManifest(dir);
  const level = (twin: string, format: 'gzip' | 'br', bytes: Buffer, l: number) => assert.deepEqual(outFile(dir, twin), compress(format, bytes, l), `${twin} at ${format} ${l}`);
  const s4 = manifest.files['css/s4.css']!;
  level(s4.variants.br!, 'br', outFile(dir, s4.path), POLICY.page.br);
  level(s4.variants.gz!, 'gzip', outFile(dir, s4.path), POLICY.page.gzip);
  assert.equal(POLICY.page.br, 11);
  assert.ok(s4.plain);
  level(`${s4.plain}.br`, 'br', outFile(dir, s4.plain!), POLICY.plain.br);
  level(`${s4.plain}.gz`, 'gzip', outFile(dir, s4.plain!), POLICY.plain.gzip);
  const map = manifest.files['css/s1.css.map']!;
  level(map.variants.br!, 'br', outFile(dir, map.path), POLICY.map.br);
  assert.ok(POLICY.map.br < 11 && POLICY.plain.br < 11);
});

test('identical outputs are compressed once; a file with a .min twin shares its compression', async () => {
  const dir = project();
  const report = await build(options(dir), { jobs: 1 });
  const manifest = readManifest(dir);
  // css/copy.css has css/s1.css's text; vendor/lib.js is served as its .min twin, like lib.min.js.
  assert.equal(outFile(dir, manifest.files['css/copy.css']!.path).toString(), outFile(dir, manifest.files['css/s1.css']!.path).toString());
  assert.equal(outFile(dir, manifest.files['vendor/lib.js']!.path).toString(), outFile(dir, manifest.files['vendor/lib.min.js']!.path).toString());
  assert.ok(report.compression.reused >= 4, JSON.stringify(report.compression));
  assert.deepEqual(outFile(dir, manifest.files['css/copy.css']!.variants.br!), outFile(dir, manifest.files['css/s1.css']!.variants.br!));
});

test('a tag in a synchronous render builds during a request: the output first, its twins after; the next build brings them to full quality', async () => {
  const dir = project();
  const opts = { ...options(dir), scssRebuild: false, coffeeRebuild: false };
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  const convoy = install(env, opts);
  const html = env.render('page.njk', {});
  assert.equal(typeof html, 'string');
  const bundle = Object.values(convoy.pipeline.manifest.data.bundles)[0]!;
  const single = convoy.pipeline.manifest.data.files['css/s3.css']!;
  assert.ok(html.includes(bundle.path) && html.includes(single.path));
  assert.ok(fs.existsSync(path.join(dir, 'out', bundle.path)), 'the uncompressed output is there to serve at once');
  assert.deepEqual(await convoy.pipeline.flush(), []);
  assert.equal(bundle.quick, true);
  const served = outFile(dir, bundle.path);
  assert.deepEqual(outFile(dir, bundle.variants.br!), compress('br', served, REQUEST_LEVELS.br));
  // The server saved the bundle (quick) but never the single file: its twins are on disk unnamed.
  delete convoy.pipeline.manifest.data.files['css/s3.css'];
  convoy.pipeline.save();
  // A build without --parse-templates: the bundle is not rebuilt, its twins are redone from its bytes.
  const report = await build(opts, { jobs: 2, workers: 0 });
  assert.deepEqual(report.errors, []);
  const manifest = readManifest(dir);
  const rebuilt = Object.values(manifest.bundles)[0]!;
  assert.equal(rebuilt.path, bundle.path);
  assert.equal(rebuilt.quick, undefined);
  assert.deepEqual(outFile(dir, rebuilt.variants.br!), compress('br', served, 11));
  const file = manifest.files['css/s3.css']!;
  assert.equal(file.path, single.path, 'same bytes, same name');
  assert.deepEqual(outFile(dir, file.variants.br!), compress('br', outFile(dir, file.path), 11), 'an unnamed quick twin on disk is not trusted');
  // And nothing changed: the next build rewrites nothing.
  const again = await build(opts, { jobs: 2, workers: 0 });
  assert.equal(again.manifestWritten, false);
  assert.equal(again.compression.jobs, 0);
});

test('worker threads take sources one at a time and give the same outputs as one thread', async () => {
  const dir = project();
  const report = await build(options(dir), { parseTemplates: true, jobs: 3, workers: 2 });
  assert.equal(report.workers, 2);
  assert.deepEqual(report.errors, []);
  const one = project();
  await build(options(one), { parseTemplates: true, jobs: 1 });
  assert.equal(fs.readFileSync(path.join(dir, 'out/convoy-manifest.json'), 'utf8'), fs.readFileSync(path.join(one, 'out/convoy-manifest.json'), 'utf8'));
});

test('a build in a process whose request is still compressing the same output ends with full-quality twins', async () => {
  const dir = project();
  const p = createPipeline(resolveConfig(options(dir)));
  p.fastCompression = true;
  const entry = p.asset('css/s4.css');
  assert.equal(entry.quick, true);
  p.fastCompression = false;
  assert.equal(p.requalify(), 1);
  assert.deepEqual(await p.flush(), []);
  assert.equal(entry.quick, undefined);
  const served = outFile(dir, entry.path);
  assert.deepEqual(outFile(dir, entry.variants.br!), compress('br', served, 11));
  assert.deepEqual(outFile(dir, entry.variants.gz!), compress('gzip', served, 9));
});
