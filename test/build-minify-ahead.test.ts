import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from '../src/build.ts';
import { MinifyAhead, type MinifyJob } from '../src/core/minify-ahead.ts';
import { minifyJs } from '../src/core/minify.ts';
import { REPO, memoryLogger, tmpDir, write } from './helpers.ts';

// Real third-party code (devDependencies), not ours.
const THIRD_PARTY: [string, string][] = [
  ['jquery/dist/jquery.js', 'js/jquery.js'],
  ['lodash/lodash.js', 'js/lodash.js'],
  ['bootstrap/dist/js/bootstrap.js', 'js/bootstrap.js'],
  ['moment/moment.js', 'js/moment.js'],
];
const read = (rel: string) => fs.readFileSync(path.join(REPO, 'node_modules', rel), 'utf8');

async function answeredAll(ahead: MinifyAhead, n: number): Promise<void> {
  for (const deadline = Date.now() + 120_000; ahead.answered() < n; await sleep(50)) {
    if (Date.now() > deadline) throw new Error(`the worker answered ${ahead.answered()} of ${n} jobs in 120 s`);
  }
}

test('the worker minifies exactly what this thread would: same bytes and maps, taken without minifying here; a syntax error comes back as no result', async () => {
  const jobs: MinifyJob[] = THIRD_PARTY.slice(0, 2).map(([from, rel]) => ({ input: { rel, name: `/static/${rel}`, code: read(from) }, engine: 'terser', wantMap: true }));
  jobs.push({ input: { rel: 'js/broken.js', name: '/static/js/broken.js', code: 'var ok = 1;\nfunction (' }, engine: 'terser', wantMap: false });
  const ahead = new MinifyAhead(jobs, memoryLogger());
  await answeredAll(ahead, jobs.length);
  for (const job of jobs.slice(0, 2)) {
    const got = ahead.take(job);
    assert.ok(got, job.input.rel);
    const here = minifyJs(job.input, job.engine, job.wantMap);
    assert.equal(got.code, here.code, job.input.rel);
    assert.deepEqual(got.map, here.map, job.input.rel);
    assert.ok(got.code.length < job.input.code.length / 2, job.input.rel);
  }
  assert.equal(ahead.take(jobs[2]!), undefined, 'a failed job is left to this thread, which raises its error');
  // Any other input (even one byte off) is not taken from the worker.
  assert.equal(ahead.take({ ...jobs[0]!, input: { ...jobs[0]!.input, code: `${jobs[0]!.input.code} ` } }), undefined);
  assert.deepEqual(ahead.stats, { ...ahead.stats, jobs: 3, fromWorker: 2, here: 0, unmatched: 1 });
  ahead.close();
});

test('jobs nobody started are done here; after close() the worker starts none', async () => {
  const jobs: MinifyJob[] = THIRD_PARTY.map(([from, rel]) => ({ input: { rel, name: `/static/${rel}`, code: read(from) }, engine: 'terser', wantMap: false }));
  const ahead = new MinifyAhead(jobs, memoryLogger());
  // The last job is the worker's last: asked for at once, this thread claims and does it.
  assert.equal(ahead.take(jobs.at(-1)!), undefined);
  assert.equal(ahead.stats.here, 1);
  ahead.close();
  const atClose = ahead.answered();
  // At most the one job the worker was on when close() came is answered after it.
  await sleep(3000);
  assert.ok(ahead.answered() <= atClose + 1, `${atClose} answered at close, ${ahead.answered()} later`);
  // The job this thread claimed stays its own: nothing from the worker for it.
  assert.equal(ahead.take(jobs.at(-1)!), undefined);
  assert.equal(ahead.stats.fromWorker, 0);
});

function site(): string {
  const dir = tmpDir('convoy-ahead-');
  for (const [from, rel] of THIRD_PARTY) write(path.join(dir, 'static', rel), read(from));
  write(path.join(dir, 'static/js/app.js'), 'window.app = function (a, b) { return a + b; };\n');
  write(path.join(dir, 'static/css/site.css'), 'body { color: red; }\n');
  write(path.join(dir, 'templates/page.njk'), `<head>{% carpool css %}<link rel="stylesheet" href="/static/css/site.css">{% endcarpool %}</head>\n<body>{% carpool js %}\n${THIRD_PARTY.map(([, rel]) => `<script src="/static/${rel}"></script>`).join('\n')}\n{% endcarpool %}</body>\n`);
  return dir;
}

const everyOutput = (staticRoot: string) =>
  Object.fromEntries(
    (fs.readdirSync(staticRoot, { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(staticRoot, f)).isFile() && !f.endsWith('convoy-manifest.json'))
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(staticRoot, f)).toString('base64')]),
  );

test('a build with the JavaScript worker writes byte for byte what a one-thread build writes, and says how the jobs were done', async () => {
  const dir = site();
  const options = (out: string) => ({ root: dir, sources: ['static'], staticRoot: out, templates: ['templates'], sourceMaps: true, useExistingMinFiles: false, logger: memoryLogger() });
  const one = await build(options('out-1'), { parseTemplates: true, jobs: 1 });
  const two = await build(options('out-2'), { parseTemplates: true, jobs: 2, jsWorker: true });
  assert.deepEqual(two.errors, []);
  assert.equal(one.jsAhead, undefined, 'one thread: no worker');
  const stats = two.jsAhead!;
  assert.equal(stats.jobs, THIRD_PARTY.length + 1, 'every plain script is a job');
  assert.equal(stats.fromWorker + stats.here, stats.jobs, JSON.stringify(stats));
  assert.equal(stats.unmatched, 0, JSON.stringify(stats));
  assert.deepEqual(everyOutput(path.join(dir, 'out-2')), everyOutput(path.join(dir, 'out-1')));
  const manifest = (out: string) => JSON.parse(fs.readFileSync(path.join(dir, out, 'convoy-manifest.json'), 'utf8')) as { bundles: Record<string, { path: string }>; files: Record<string, { path: string }> };
  assert.deepEqual(Object.values(manifest('out-2').bundles).map((b) => b.path), Object.values(manifest('out-1').bundles).map((b) => b.path));
  // Too little JavaScript: by default no worker is started.
  const small = tmpDir('convoy-ahead-small-');
  write(path.join(small, 'static/js/a.js'), 'window.a = 1;\n');
  const none = await build({ root: small, sources: ['static'], staticRoot: 'out', logger: memoryLogger() }, { jobs: 2 });
  assert.equal(none.jsAhead, undefined);
});

test('a script the minifier rejects fails the same way with the worker: its file and line named, the rest built', async () => {
  const dir = site();
  write(path.join(dir, 'static/js/broken.js'), 'var fine = 1;\nvar also = 2;\nfunction (\n');
  const report = await build({ root: dir, sources: ['static'], staticRoot: 'out', useExistingMinFiles: false, logger: memoryLogger() }, { jobs: 2, jsWorker: true });
  const broken = report.files.find((f) => f.rel === 'js/broken.js')!;
  assert.equal(broken.status, 'failed');
  assert.match(broken.error!, /broken\.js/);
  assert.match(report.errors.join('\n'), /js\/broken\.js.*:3|line 3/);
  assert.equal(report.files.filter((f) => f.rel.endsWith('.js') && f.status === 'built').length, THIRD_PARTY.length + 1);
});

test('two builds at once in one process each get their own answers and write what a one-thread build writes', async () => {
  const dir = site();
  const options = (out: string) => ({ root: dir, sources: ['static'], staticRoot: out, templates: ['templates'], useExistingMinFiles: false, logger: memoryLogger() });
  const [a, b] = await Promise.all([build(options('out-a'), { parseTemplates: true, jobs: 2, jsWorker: true }), build(options('out-b'), { parseTemplates: true, jobs: 2, jsWorker: true })]);
  await build(options('out-1'), { parseTemplates: true, jobs: 1 });
  for (const [name, report] of [['a', a], ['b', b]] as const) {
    assert.deepEqual(report.errors, [], name);
    assert.equal(report.jsAhead!.fromWorker + report.jsAhead!.here, report.jsAhead!.jobs, name);
    assert.deepEqual(everyOutput(path.join(dir, `out-${name}`)), everyOutput(path.join(dir, 'out-1')), name);
  }
});
