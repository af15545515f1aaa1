import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../helpers.ts';

test('npm run demo -- --serve: the built example site is served on 127.0.0.1 with its bundles', { timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'examples/demo.ts'), '--serve', '--port', '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const base = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Serving the demo at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
    });
    assert.match(out, /0 compiles, 0 minifications, 0 bundles during render/);
    const page = await fetch(base);
    assert.equal(page.status, 200);
    const html = await page.text();
    const css = /<link rel="stylesheet" href="(\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css)"/.exec(html);
    const js = /<script type="text\/javascript" src="(\/static\/CARPOOL\/js\/[0-9a-f]{12}\.cmin\.js)"/.exec(html);
    assert.ok(css && js, html);
    const cssRes = await fetch(new URL(css[1]!, base));
    assert.equal(cssRes.status, 200);
    assert.match(cssRes.headers.get('cache-control') ?? '', /immutable/);
    // Bootstrap and the site's own rules are both in the bundle.
    const body = await cssRes.text();
    assert.match(body, /Bootstrap/);
    assert.match(body, /\.content\{/);
    assert.equal((await fetch(new URL(js[1]!, base))).status, 200);
    assert.equal((await fetch(new URL('about.html', base))).status, 200);
  } finally {
    child.kill('SIGTERM');
  }
});
