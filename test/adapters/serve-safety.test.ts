import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { convoyExpress, serve } from '../../src/adapters/express.ts';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { fixtureProject, memoryLogger, siteCopy, tmpDir, write } from '../helpers.ts';
import { listen, request } from './http.ts';

const SECRET = 'TOP-SECRET-do-not-serve';

/** A project with secrets next to and inside the roots, and links pointing at them. */
function hostile(): { dir: string; outside: string } {
  const dir = fixtureProject();
  const outside = tmpDir('convoy-outside-');
  write(path.join(outside, 'secret.css'), `/* ${SECRET} */`);
  write(path.join(dir, 'secret.txt'), SECRET);
  write(path.join(dir, 'static/.git/config'), `[core] ${SECRET}`);
  write(path.join(dir, 'static/.env'), `KEY=${SECRET}`);
  write(path.join(dir, 'static/css/.hidden.css'), `/* ${SECRET} */`);
  fs.symlinkSync(path.join(outside, 'secret.css'), path.join(dir, 'static/css/linked.css'));
  fs.symlinkSync(outside, path.join(dir, 'static/linkdir'));
  return { dir, outside };
}

const ATTACKS = [
  '/static/../secret.txt',
  '/static/%2e%2e/secret.txt',
  '/static/%252e%252e/secret.txt',
  '/static/%252e%252e%252fsecret.txt',
  '/static/css/%2e%2e/%2e%2e/secret.txt',
  '/static/css/%252e%252e/%252e%252e/secret.txt',
  '/static/%2e%2e%5csecret.txt',
  '/static/..%5c..%5csecret.txt',
  '/static/%5c..%5csecret.txt',
  '/static/css/a.css%00',
  '/static/css/a.css%2500',
  '/static/%00',
  '/static/.git/config',
  '/static/%2egit/config',
  '/static/%252egit/config',
  '/static/.env',
  '/static/%2eenv',
  '/static/css/.hidden.css',
  '/static/css/linked.css',
  '/static/linkdir/secret.css',
  '/static/linked.css',
  '/static/%E0%A4%A',
  '/static/css/%',
  '/static/convoy-manifest.json',
  '/static/.convoy-manifest.json.lock',
  '/static/.convoy-pending/x',
];

for (const debug of [false, true]) {
  test(`${debug ? 'debug' : 'production'}: links out of the roots, encoded and double-encoded dot segments, %5c, NUL and dotfiles get 404 and no byte from outside`, async (t) => {
    const { dir, outside } = hostile();
    const options: ConvoyOptions = { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', debug, logger: memoryLogger() };
    await build({ ...options, debug: false }, { jobs: 1 });
    const out = path.join(dir, 'public/static');
    // A link planted in staticRoot (a file, a twin and a folder) pointing outside.
    fs.symlinkSync(path.join(outside, 'secret.css'), path.join(out, 'linked.css'));
    fs.symlinkSync(outside, path.join(out, 'linkdir'));
    const a = JSON.parse(fs.readFileSync(path.join(out, 'convoy-manifest.json'), 'utf8')).files['css/a.css'].path as string;
    fs.rmSync(path.join(out, `${a}.br`));
    fs.symlinkSync(path.join(outside, 'secret.css'), path.join(out, `${a}.br`));
    const app = express();
    app.use(serve(options));
    app.use((err: unknown, _req: unknown, res: express.Response, _next: unknown) => res.status(500).end(`500 ${String(err)}`));
    const server = await listen(app);
    t.after(server.close);
    for (const p of ATTACKS) {
      const res = await request(server.port, p, { 'Accept-Encoding': 'br, gzip' });
      assert.equal(res.status, 404, p);
      assert.ok(!res.body.toString().includes(SECRET), p);
    }
    // The twin that is a link is ignored; the file itself is served.
    const ok = await request(server.port, `/static/${a}`, { 'Accept-Encoding': 'br, gzip' });
    assert.equal(ok.status, 200);
    assert.notEqual(ok.headers['content-encoding'], 'br');
    assert.ok(!ok.body.toString().includes(SECRET));
  });
}

test('serve() answers a carpool bundle with immutable caching, whether the build or a request made it; twins of plain copies too', async (t) => {
  const dir = siteCopy();
  const options: ConvoyOptions = { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], logger: memoryLogger() };
  const report = await build(options, { parseTemplates: true, jobs: 1 });
  assert.deepEqual(report.errors, []);
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
  const app = express();
  const { convoy } = convoyExpress(app, options, env);
  app.get('/dyn', (req, res) => res.send(env.renderString('{% carpool js %}{{ a }}\n{{ b }}\n{% endcarpool %}', { a: 'js/util.js', b: 'js/main.js' })));
  const server = await listen(app);
  t.after(server.close);
  const built = Object.values(convoy.pipeline.manifest.data.bundles)[0]!;
  assert.match(built.path, /^CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css$|^CARPOOL\/js\//);
  for (const p of [built.path, built.variants.br!, built.variants.gz!]) {
    const res = await request(server.port, `/static/${p}`);
    assert.equal(res.status, 200, p);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', p);
  }
  const plain = convoy.pipeline.manifest.data.files['css/layout.css']!;
  for (const p of [plain.plain!, ...plain.plainFiles!]) {
    assert.equal((await request(server.port, `/static/${p}`)).headers['cache-control'], 'public, max-age=31536000, immutable', p);
  }
  const page = (await request(server.port, '/dyn')).body.toString();
  const url = /src="(\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js)"/.exec(page)?.[1];
  assert.ok(url, page);
  const res = await request(server.port, url);
  assert.equal(res.status, 200);
  assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  // A file in staticRoot that no build names is not cached for ever.
  write(path.join(dir, 'public/static/css/stray.0123456789ab.css'), 'a{}');
  assert.equal((await request(server.port, '/static/css/stray.0123456789ab.css')).headers['cache-control'], 'public, max-age=60');
});

test('production: a page whose asset fails to process prints the fallback URL, and that URL answers 200 with the source', async (t) => {
  const dir = fixtureProject();
  const logger = memoryLogger();
  const options: ConvoyOptions = { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], logger };
  write(path.join(dir, 'templates/page.njk'), "<script src=\"{% convoy 'bad/broken.js' %}\"></script>\n<link rel=stylesheet href=\"{% convoy 'bad/broken.css' %}\">\n{% carpool js %}\njs/one.js\nbad/broken.js\n{% endcarpool %}\n");
  await build(options, { jobs: 1 });
  const app = express();
  convoyExpress(app, options);
  app.get('/', (_req, res) => res.render('page.njk'));
  const server = await listen(app);
  t.after(server.close);
  const page = (await request(server.port, '/')).body.toString();
  const urls = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(urls.includes('/static/bad/broken.js'), page);
  assert.ok(urls.includes('/static/bad/broken.css'), page);
  assert.ok(urls.length >= 4, page);
  for (const u of urls) {
    const res = await request(server.port, u);
    assert.equal(res.status, 200, u);
    if (u === '/static/bad/broken.js') assert.deepEqual(res.body, fs.readFileSync(path.join(dir, 'static/bad/broken.js')));
  }
  assert.ok(logger.warnings.some((w) => /page\.njk:1: convoy 'bad\/broken\.js'/.test(w)), logger.warnings.join('\n'));
});
