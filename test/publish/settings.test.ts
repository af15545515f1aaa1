import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { configFromEnv, resolveConfig } from '../../src/config.ts';
import { install } from '../../src/install.ts';
import { objectHeaders } from '../../src/publish/headers.ts';
import { releaseFiles } from '../../src/publish/release.ts';
import { REPO, tmpDir, write } from '../helpers.ts';
import { convoy } from './s3.ts';

test('configFromEnv reads CONVOY_S3_* and CONVOY_AWS_HEADERS into the publish setting; bad values name the option', () => {
  const env = { CONVOY_S3_BUCKET: 'assets', CONVOY_S3_PREFIX: 'static/', CONVOY_S3_ENDPOINT: 'http://127.0.0.1:9000', CONVOY_S3_REGION: 'eu-west-1', CONVOY_AWS_HEADERS: '{"Cache-Control":"max-age=600"}' };
  assert.deepEqual(configFromEnv(env).publish, { bucket: 'assets', prefix: 'static/', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', headers: { 'Cache-Control': 'max-age=600' } });
  assert.equal(configFromEnv({ STATIC_URL: '/s/' }).publish, undefined);
  assert.throws(() => configFromEnv({ CONVOY_AWS_HEADERS: 'max-age=600' }), /CONVOY_AWS_HEADERS must be a JSON object/);
  assert.throws(() => configFromEnv({ CONVOY_AWS_HEADERS: '{"Expires": 3}' }), /publish\.headers/);
  assert.deepEqual(resolveConfig({ publish: { bucket: 'b', keep: 2 } }).publish, { bucket: 'b', keep: 2 });
  assert.throws(() => install(new nunjucks.Environment(), { publish: { bucket: 'b', keep: 0 } }), /option "publish\.keep" expects a whole number ≥ 1, got 0/);
  assert.throws(() => install(new nunjucks.Environment(), { publish: { bucket: 'b', bukcet: 'c' } as never }), /unknown option "publish\.bukcet"/);
});

test('object headers: the type from the name without .gz/.br, charset on text, immutable, encoding and no-transform on twins, publish.headers last', () => {
  assert.deepEqual(objectHeaders('css/a.0123456789ab.cmin.css', 'gzip'), {
    'Content-Type': 'text/css; charset=utf-8',
    'Cache-Control': 'public, max-age=31536000, immutable, no-transform',
    'Content-Encoding': 'gzip',
  });
  assert.deepEqual(objectHeaders('img/logo.0123456789ab.png', undefined, { 'cache-control': 'public, max-age=600', 'x-amz-meta-team': 'web' }), {
    'Content-Type': 'image/png',
    'cache-control': 'public, max-age=600',
    'x-amz-meta-team': 'web',
  });
  // Twins are known from the manifest: a source that is itself a .gz file is no twin.
  const files = releaseFiles({
    files: {
      'data/set.tar.gz': { source: 'data/set.tar.gz', path: 'data/set.tar.0123456789ab.gz', hash: '0123456789ab', integrity: '', size: 1, variants: {}, inputs: {} },
      'js/a.js': { source: 'js/a.js', path: 'js/a.111111111111.cmin.js', hash: '111111111111', integrity: '', size: 1, variants: { br: 'js/a.111111111111.cmin.js.br' }, map: 'js/a.111111111111.cmin.js.map', plain: 'js/a.222222222222.js', inputs: {} },
    },
    bundles: {},
  });
  assert.deepEqual(files, [
    { rel: 'data/set.tar.0123456789ab.gz', typeName: 'data/set.tar.0123456789ab.gz', hash: '0123456789ab' },
    { rel: 'js/a.111111111111.cmin.js', typeName: 'js/a.111111111111.cmin.js', hash: '111111111111' },
    { rel: 'js/a.111111111111.cmin.js.br', typeName: 'js/a.111111111111.cmin.js', encoding: 'br' },
    { rel: 'js/a.111111111111.cmin.js.map', typeName: 'js/a.111111111111.cmin.js.map' },
    { rel: 'js/a.222222222222.js', typeName: 'js/a.222222222222.js' },
  ]);
  assert.equal(objectHeaders(files[0]!.typeName, files[0]!.encoding)['Content-Type'], 'application/gzip');
});

test('without @aws-sdk/client-s3 installed, build still works and publish/prune exit 2 naming the package', async () => {
  // A copy of the package whose node_modules holds everything but @aws-sdk.
  const pkg = tmpDir('convoy-nosdk-');
  fs.cpSync(path.join(REPO, 'src'), path.join(pkg, 'src'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(pkg, 'package.json'));
  const modules = fs.realpathSync(path.join(REPO, 'node_modules'));
  fs.mkdirSync(path.join(pkg, 'node_modules'));
  for (const name of fs.readdirSync(modules)) if (name !== '@aws-sdk') fs.symlinkSync(path.join(modules, name), path.join(pkg, 'node_modules', name));
  const project = tmpDir();
  write(path.join(project, 'static/css/a.css'), 'body { color: red; }\n');
  fs.writeFileSync(path.join(project, 'convoy.config.json'), JSON.stringify({ sources: ['static'], publish: { bucket: 'assets', endpoint: 'http://127.0.0.1:9' } }));
  const cli = path.join(pkg, 'src/cli/run.ts');

  const built = await convoy(project, ['build', '--quiet'], {}, cli);
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stdout, /files: 1 \(1 built/);
  assert.ok(fs.existsSync(path.join(project, 'public/static/convoy-manifest.json')));
  for (const command of ['publish', 'prune']) {
    const run = await convoy(project, [command], {}, cli);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /convoy publish and prune need the optional package @aws-sdk\/client-s3, which could not be loaded .*npm install --save-dev @aws-sdk\/client-s3@3\.1169\.0/);
  }
});
