import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, tmpDir, write } from '../helpers.ts';

/** A project where one partial is loaded by one of two entries and by a bundle; another partial by nothing. */
function project(): string {
  const dir = tmpDir('convoy-watch-');
  write(path.join(dir, 'static/scss/_colors.scss'), '$brand: #123456;\n');
  write(path.join(dir, 'static/scss/_unused.scss'), '$nothing: 1px;\n');
  write(path.join(dir, 'static/scss/a.scss'), "@use 'colors';\n.a { color: colors.$brand; }\n");
  write(path.join(dir, 'static/scss/b.scss'), '.b { color: #654321; }\n');
  write(path.join(dir, 'static/css/plain.css'), '.plain { margin: 0; }\n');
  write(path.join(dir, 'templates/page.njk'), '{% carpool css %}\ncss/plain.css\nscss/a.scss\n{% endcarpool %}\n{% carpool css %}\ncss/plain.css\nscss/b.scss\n{% endcarpool %}\n');
  write(path.join(dir, 'convoy.config.json'), JSON.stringify({ sources: ['static'], staticRoot: 'public/static', templates: ['templates'] }));
  return dir;
}

/** `convoy watch` as a child process, with its output collected and a bounded wait for a line. */
function watchProcess(cwd: string) {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(REPO, 'src/cli/run.ts'), 'watch', '--parse-templates'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    /** Output printed after `from` (a length of the output). */
    since: (from: number) => out.slice(from),
    get length() {
      return out.length;
    },
    /** Resolves with the output after `from` once it matches `re`; rejects after `ms`. */
    async waitFor(re: RegExp, from: number, ms = 30_000): Promise<string> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (re.test(out.slice(from))) return out.slice(from);
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${re} in the output of convoy watch:\n${out.slice(from)}\nstderr:\n${err}`);
    },
    async stop(): Promise<number | null> {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

test('convoy watch rebuilds exactly the entries a partial touches, nothing for an unrelated file, and shows errors until fixed', async (t) => {
  const dir = project();
  const w = watchProcess(dir);
  t.after(() => w.stop());
  const start = await w.waitFor(/^watching static, templates/m, 0, 60_000);
  assert.match(start, /templates: 1 scanned, 2 tag\(s\) prebuilt/);
  const manifest = () => JSON.parse(fs.readFileSync(path.join(dir, 'public/static/convoy-manifest.json'), 'utf8'));
  const before = manifest();

  // The partial: a.scss and the bundle holding it; not b.scss, not the other bundle, not plain.css.
  let from = w.length;
  fs.writeFileSync(path.join(dir, 'static/scss/_colors.scss'), '$brand: #abcdef;\n');
  let seen = await w.waitFor(/^done in/m, from);
  const rebuilt = seen.split('\n').filter((l) => l.startsWith('rebuilt ')).map((l) => l.replace(/ → .*/, '')).sort();
  assert.deepEqual(rebuilt, ['rebuilt bundle css/plain.css + scss/a.scss', 'rebuilt scss/a.scss'], seen);
  const after = manifest();
  assert.notEqual(after.files['scss/a.scss'].path, before.files['scss/a.scss'].path);
  assert.equal(after.files['scss/b.scss'].path, before.files['scss/b.scss'].path);
  assert.equal(after.files['css/plain.css'].path, before.files['css/plain.css'].path);
  assert.match(fs.readFileSync(path.join(dir, 'public/static', after.files['scss/a.scss'].path), 'utf8'), /#abcdef/);
  const aBundle = after.bundles['css:css/plain.css+++scss/a.scss'];
  assert.notEqual(aBundle.path, before.bundles['css:css/plain.css+++scss/a.scss'].path);
  assert.match(fs.readFileSync(path.join(dir, 'public/static', aBundle.path), 'utf8'), /#abcdef/);
  assert.equal(after.bundles['css:css/plain.css+++scss/b.scss'].path, before.bundles['css:css/plain.css+++scss/b.scss'].path);

  // A partial nothing loads: nothing rebuilt, the manifest untouched.
  from = w.length;
  const text = JSON.stringify(manifest());
  fs.writeFileSync(path.join(dir, 'static/scss/_unused.scss'), '$nothing: 2px;\n');
  seen = await w.waitFor(/nothing rebuilt/, from);
  assert.doesNotMatch(seen, /^rebuilt /m);
  assert.equal(JSON.stringify(manifest()), text);

  // A new source is built as `convoy build` would.
  from = w.length;
  fs.writeFileSync(path.join(dir, 'static/css/new.css'), '.new { padding: 0; }\n');
  seen = await w.waitFor(/^done in/m, from);
  assert.deepEqual(seen.split('\n').filter((l) => l.startsWith('rebuilt ')).map((l) => l.replace(/[0-9a-f]{12}/, 'H')), ['rebuilt css/new.css → css/new.H.cmin.css']);
  assert.ok(manifest().files['css/new.css']);

  // A syntax error: printed with file and line, and again after later changes until fixed.
  from = w.length;
  fs.writeFileSync(path.join(dir, 'static/scss/_colors.scss'), '$brand: #abcdef\n.x { color: red; }\n');
  seen = await w.waitFor(/error\(s\) until fixed/, from);
  assert.match(seen, /^error scss\/a\.scss: static\/scss\/_colors\.scss:\d+:\d+: Sass error/m);
  from = w.length;
  fs.writeFileSync(path.join(dir, 'static/scss/b.scss'), '.b { color: #111111; }\n');
  seen = await w.waitFor(/error\(s\) until fixed/, from);
  assert.match(seen, /^rebuilt scss\/b\.scss → scss\/b\.[0-9a-f]{12}\.cmin\.css$/m);
  assert.match(seen, /^ {2}error scss\/a\.scss: static\/scss\/_colors\.scss:\d+/m);
  from = w.length;
  // Fixed by restoring the last good content: nothing to write, but the error is over.
  fs.writeFileSync(path.join(dir, 'static/scss/_colors.scss'), '$brand: #abcdef;\n');
  seen = await w.waitFor(/^done in/m, from);
  assert.match(seen, /^fixed scss\/a\.scss$/m);
  assert.match(seen, /^unchanged scss\/a\.scss: back to scss\/a\.[0-9a-f]{12}\.cmin\.css$/m);
  assert.doesNotMatch(seen, /until fixed/);

  // With --parse-templates, an edited template is scanned again and its new tags prebuilt.
  from = w.length;
  fs.appendFileSync(path.join(dir, 'templates/page.njk'), "{% carpool css %}\nscss/b.scss\ncss/new.css\n{% endcarpool %}\n");
  seen = await w.waitFor(/^done in/m, from);
  assert.match(seen, /^rescanned the templates after page\.njk changed: 3 tag\(s\) prebuilt$/m);
  assert.ok(manifest().bundles['css:scss/b.scss+++css/new.css']);
  assert.equal(await w.stop(), 0);
});
