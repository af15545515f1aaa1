import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import express from 'express';
import { convoyExpress, serve } from '../../src/adapters/express.ts';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { memoryLogger, siteCopy, write } from '../helpers.ts';
import { listen, request } from './http.ts';

async function builtSite(extra: ConvoyOptions = {}) {
  const dir = siteCopy();
  const options: ConvoyOptions = { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], logger: memoryLogger(), ...extra };
  const report = await build(options, { parseTemplates: true, jobs: 1 });
  assert.deepEqual(report.errors, []);
  const app = express();
  const { convoy } = convoyExpress(app, options);
  app.get('/:page', (req, res) => res.render(`pages/${req.params.page}.njk`, { siteName: 'Test' }));
  const server = await listen(app);
  return { dir, convoy, server, out: path.join(dir, 'public/static') };
}

test('headers over HTTP: immutable fingerprints, br/gzip/identity by Accept-Encoding, ETag 304, HEAD', async (t) => {
  const { server, convoy, out } = await builtSite();
  t.after(server.close);
  const entry = convoy.pipeline.manifest.data.files['css/layout.css']!;
  const url = `/static/${entry.path}`;
  const plain = fs.readFileSync(path.join(out, entry.path));

  const br = await request(server.port, url, { 'Accept-Encoding': 'gzip, deflate, br' });
  assert.equal(br.status, 200);
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(String(br.headers.vary), /Accept-Encoding/);
  assert.deepEqual(zlib.brotliDecompressSync(br.body), plain);

  const gz = await request(server.port, url, { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.deepEqual(zlib.gunzipSync(gz.body), plain);
  assert.equal(gz.headers['content-type'], 'text/css; charset=utf-8');

  const identity = await request(server.port, url);
  assert.equal(identity.headers['content-encoding'], undefined);
  assert.deepEqual(identity.body, plain);
  const refused = await request(server.port, url, { 'Accept-Encoding': 'br;q=0, gzip;q=0' });
  assert.equal(refused.headers['content-encoding'], undefined);

  const etag = br.headers.etag!;
  assert.ok(etag);
  const again = await request(server.port, url, { 'Accept-Encoding': 'gzip, deflate, br', 'If-None-Match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);

  const head = await request(server.port, url, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(Number(head.headers['content-length']), plain.length);

  // A source name is answered with its processed output, cached briefly.
  const byName = await request(server.port, '/static/css/layout.css');
  assert.equal(byName.status, 200);
  assert.equal(byName.headers['cache-control'], 'public, max-age=60');
  assert.match(byName.body.toString(), /\.site-header \{[\s\S]*url\("?\.\.\/img\/pattern\.[0-9a-f]{12}\.svg/, 'the fingerprinted unminified copy');
  // Images: no twin, right type.
  const svg = convoy.pipeline.manifest.data.files['img/logo.svg']!;
  const img = await request(server.port, `/static/${svg.path}`, { 'Accept-Encoding': 'identity' });
  assert.equal(img.headers['content-type'], 'image/svg+xml');
  assert.equal((await request(server.port, '/static/css/none.css')).status, 404);
});

test('traversal attempts get 404 without reading outside the root', async (t) => {
  const { server, dir } = await builtSite();
  t.after(server.close);
  write(path.join(dir, 'public/secret.txt'), 'secret');
  for (const p of [
    '/static/../secret.txt',
    '/static/../../package.json',
    '/static/%2e%2e/secret.txt',
    '/static/%2E%2E%2Fsecret.txt',
    '/static/css%2f..%2f..%2fsecret.txt',
    '/static/..%5csecret.txt',
    '/static/..\\secret.txt',
    '/static/css/layout.css%00.png',
    '/static/%00',
    '/static/.convoy-manifest.json',
    '/static/%252e%252e/secret.txt',
    '/static/convoy-manifest.json',
  ]) {
    const res = await request(server.port, p);
    assert.equal(res.status, 404, p);
    assert.doesNotMatch(res.body.toString(), /secret/, p);
  }
});

test('debug: compiles scss on demand and serves the source roots; a change shows on the next request', async (t) => {
  const dir = siteCopy();
  const app = express();
  app.use(serve({ root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', debug: true, logger: memoryLogger() }));
  const server = await listen(app);
  t.after(server.close);
  const css = await request(server.port, '/static/css/site.css');
  assert.equal(css.status, 200);
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(css.body.toString(), /\.site-title \{\n  color: #3a0ca3;/);
  write(path.join(dir, 'static/css/partials/_colors.scss'), '$brand: #123456;\n$accent: #f72585;\n');
  const next = await request(server.port, '/static/css/site.css');
  assert.match(next.body.toString(), /color: #123456;/);
  const src = await request(server.port, '/static/js/util.js');
  assert.equal(src.status, 200);
  assert.equal(src.headers['cache-control'], 'no-cache');
  assert.deepEqual(src.body, fs.readFileSync(path.join(dir, 'static/js/util.js')));
  assert.equal((await request(server.port, '/static/../convoy.config.json')).status, 404);
});

test('gzipInTemplate: the page printed for a gzip-accepting request names .gz files', async (t) => {
  const { server } = await builtSite({ gzipInTemplate: true });
  t.after(server.close);
  const gz = (await request(server.port, '/index', { 'Accept-Encoding': 'gzip' })).body.toString();
  assert.match(gz, /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css\.gz"/);
  const plain = (await request(server.port, '/index')).body.toString();
  assert.match(plain, /href="\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css"/);
});
