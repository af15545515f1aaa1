import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { outputsOf, type ManifestData } from '../../src/core/manifest.ts';
import { fixtureProject, listFiles, siteCopy, write } from '../helpers.ts';
import { request as rawRequest } from '../adapters/http.ts';
import { finished, runScript, startAppServer } from '../adapters/processes.ts';
import { convoyCli } from './run.ts';

// No keep-alive: the synchronous CLI runs below block this process past the servers' idle timeout.
const request = (port: number, url: string, headers: Record<string, string> = {}) => rawRequest(port, url, { Connection: 'close', ...headers });
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex').slice(0, 12);
const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'public/static/convoy-manifest.json'), 'utf8')) as ManifestData;
const named = (m: ManifestData) => new Set([...[m.files, m.dev, m.bundles].flatMap((g) => Object.values(g).flatMap((e) => outputsOf(e)))]);

/** The fixture roots without the deliberately broken files, with templates and a config file. */
function project(): string {
  const dir = fixtureProject();
  fs.rmSync(path.join(dir, 'static/bad'), { recursive: true });
  write(path.join(dir, 'templates/dynamic.njk'), '{% carpool js %}{% for f in files %}{{ f }}\n{% endfor %}{% endcarpool %}');
  write(path.join(dir, 'templates/home.njk'), "<link rel=stylesheet href=\"{% convoy 'css/a.css' %}\">\n{% carpool css %}\ncss/a.css\ncss/sub/b.css\n{% endcarpool %}\n");
  write(path.join(dir, 'convoy.config.json'), JSON.stringify({ sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'] }));
  return dir;
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`gave up waiting: ${what}`);
}

test('two app servers build different bundles during requests; every printed URL still answers with its bytes after `build --parse-templates` and `clean`', async (t) => {
  const dir = project();
  const first = convoyCli(dir, ['build']);
  assert.equal(first.status, 0, first.all);
  const servers = await Promise.all([startAppServer(dir), startAppServer(dir)]);
  t.after(() => Promise.all(servers.map((s) => s.stop())));
  t.after(() => {
    for (const s of servers) if (s.child.exitCode !== null || s.child.signalCode !== null) console.error(`server exited ${s.child.exitCode ?? s.child.signalCode}: ${s.log()}`);
  });
  const lists = permutations(['js/one.js', 'js/two.js', 'js/three.js', 'js/lib.js']).slice(0, 16);
  const printed = await Promise.all(
    lists.map(async (files, i) => {
      const server = servers[i % 2]!;
      const page = await request(server.port, `/page?js=${files.join(',')}`);
      assert.equal(page.status, 200, server.log());
      const url = /src="(\/static\/CARPOOL\/js\/([0-9a-f]{12})\.cmin\.js)"/.exec(page.body.toString());
      assert.ok(url, page.body.toString());
      const served = await request(server.port, url[1]!);
      assert.equal(served.status, 200);
      return { key: `js:${files.join('+++')}`, url: url[1]!, hash: url[2]!, bytes: served.body };
    }),
  );
  assert.equal(new Set(printed.map((p) => p.url)).size, 16, 'sixteen different bundles');
  const file = path.join(dir, 'public/static/convoy-manifest.json');
  await until('every bundle built during a request is saved', () => printed.every((p) => manifestOf(dir).bundles[p.key]));
  assert.ok(fs.existsSync(file));
  for (const p of printed) assert.equal(`/static/${manifestOf(dir).bundles[p.key]!.path}`, p.url);

  // The documented deploy step, while both servers stay up.
  const deploy = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(deploy.status, 0, deploy.all);
  const cleaned = convoyCli(dir, ['clean']);
  assert.equal(cleaned.status, 0, cleaned.all);
  for (const p of printed) {
    for (const server of servers) {
      const res = await request(server.port, p.url, { 'Accept-Encoding': 'identity' });
      assert.equal(res.status, 200, `${p.url} after deploy`);
      assert.deepEqual(res.body, p.bytes);
      assert.equal(md5(res.body), p.hash, 'the name is the MD5 of the bytes served');
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    }
  }
  // Pages rendered after the deploy print URLs that answer too.
  for (const [i, files] of lists.entries()) {
    const page = (await request(servers[(i + 1) % 2]!.port, `/page?js=${files.join(',')}`)).body.toString();
    const url = /src="(\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js)"/.exec(page)![1]!;
    assert.equal((await request(servers[i % 2]!.port, url)).status, 200);
  }
});

test('`clean` right after a build removes nothing; after two changed builds it removes exactly the outputs of the build before the previous one', () => {
  const dir = siteCopy();
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'convoy.config.json'), 'utf8')) as Record<string, unknown>;
  // Maps too: the plain copies' maps and twins must be named as well.
  fs.writeFileSync(path.join(dir, 'convoy.config.json'), JSON.stringify({ ...config, sourceMaps: true }));
  const out = path.join(dir, 'public/static');
  const b1 = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(b1.status, 0, b1.all);
  const files1 = listFiles(out);
  assert.ok(files1.some((f) => /^css\/layout\.[0-9a-f]{12}\.css\.map$/.test(f)), 'the plain copy has a map');
  assert.ok(files1.some((f) => /^css\/layout\.[0-9a-f]{12}\.css\.br$/.test(f)), 'the plain copy has twins');
  const c1 = convoyCli(dir, ['clean']);
  assert.equal(c1.status, 0, c1.all);
  assert.match(c1.stdout, /^removed 0 file\(s\)$/m);
  assert.deepEqual(listFiles(out), files1);

  const m1 = manifestOf(dir);
  fs.appendFileSync(path.join(dir, 'static/css/layout.css'), '\n.second { color: blue; }\n');
  assert.equal(convoyCli(dir, ['build', '--parse-templates']).status, 0);
  const m2 = manifestOf(dir);
  fs.appendFileSync(path.join(dir, 'static/css/layout.css'), '\n.third { color: green; }\n');
  assert.equal(convoyCli(dir, ['build', '--parse-templates']).status, 0);
  const m3 = manifestOf(dir);
  const kept = new Set([...named(m2), ...named(m3)]);
  const expected = [...named(m1)].filter((f) => !kept.has(f)).sort();
  assert.ok(expected.some((f) => f.startsWith('css/layout.')) && expected.some((f) => f.startsWith('CARPOOL/css/')), expected.join(' '));
  const c3 = convoyCli(dir, ['clean']);
  assert.equal(c3.status, 0, c3.all);
  const removed = [...c3.stdout.matchAll(/^removed (?!\d)(\S+)$/gm)].map((m) => m[1]!).sort();
  assert.deepEqual(removed, expected);
  for (const f of named(m3)) assert.ok(fs.existsSync(path.join(out, f)), f);
  for (const f of m3.previous) assert.ok(fs.existsSync(path.join(out, f)), f);
});

test('`build` and `clean` running at the same time, again and again: the manifest never names a missing file', async () => {
  const dir = siteCopy();
  const out = path.join(dir, 'public/static');
  assert.equal(convoyCli(dir, ['build', '--parse-templates']).status, 0);
  for (let round = 1; round <= 4; round++) {
    fs.appendFileSync(path.join(dir, 'static/css/layout.css'), `\n.round-${round} { color: red; }\n`);
    fs.appendFileSync(path.join(dir, 'static/js/util.js'), `\nwindow.round${round} = ${round};\n`);
    const [b, c] = await Promise.all([
      finished(runScript('src/cli/run.ts', ['build', '--parse-templates'], dir)),
      finished(runScript('src/cli/run.ts', ['clean'], dir)),
    ]);
    assert.equal(b.code, 0, b.err);
    assert.equal(c.code, 0, c.err);
    const m = manifestOf(dir);
    const missing = [...named(m), ...m.previous].filter((f) => !fs.existsSync(path.join(out, f)));
    assert.deepEqual(missing, [], `round ${round}`);
    assert.match(fs.readFileSync(path.join(out, m.files['css/layout.css']!.path), 'utf8'), new RegExp(`\\.round-${round}`));
  }
  // A temp file of a process killed long ago goes; a fresh one (a write in progress) stays.
  write(path.join(out, 'css/.layout.css.99999.deadbeef.tmp'), 'half');
  const old = new Date(Date.now() - 3_600_000);
  fs.utimesSync(path.join(out, 'css/.layout.css.99999.deadbeef.tmp'), old, old);
  write(path.join(out, 'css/.fresh.css.99998.deadbeef.tmp'), 'half');
  const c = convoyCli(dir, ['clean']);
  assert.match(c.stdout, /removed leftover css\/\.layout\.css\.99999\.deadbeef\.tmp/);
  assert.ok(!fs.existsSync(path.join(out, 'css/.layout.css.99999.deadbeef.tmp')));
  assert.ok(fs.existsSync(path.join(out, 'css/.fresh.css.99998.deadbeef.tmp')));
});

test('the CLI exits 1 when template tags could not be prebuilt, and its summary counts them as such', () => {
  const dir = project();
  write(path.join(dir, 'templates/broken.njk'), "{% convoy 'css/nowhere.css' %}\n{% carpool js %}\njs/one.js\njs/nowhere.js\n{% endcarpool %}\n{% convoy page.css %}\n");
  const r = convoyCli(dir, ['build', '--parse-templates']);
  assert.equal(r.status, 1, r.all);
  assert.match(r.stdout, /templates: 3 scanned, 2 tag\(s\) prebuilt, 2 could not be prebuilt, 2 left to render time/);
  assert.match(r.stdout, /could not prebuild: broken\.njk:1: convoy css\/nowhere\.css/);
  assert.match(r.stdout, /could not prebuild: broken\.njk:2: carpool js$/m);
  assert.match(r.stdout, /errors: 2$/m);
  assert.match(r.stderr, /^error: broken\.njk:2: carpool js: could not be prebuilt/m);
});
