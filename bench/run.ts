// `npm run bench`: render overhead, build cost, incremental builds, output size and engines, on a
// corpus of published packages. Prints a table and writes bench/results/latest.json. Every figure
// that matters is a ratio of two measurements taken in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import nunjucks from 'nunjucks';
import * as sass from 'sass';
import coffeescript from 'coffeescript';
import { minify_sync as terser } from 'terser';
import CleanCSS from 'clean-css';
import * as esbuild from 'esbuild';
import swc from '@swc/core';
import { transform as lightningcss } from 'lightningcss';
import { minify as csso } from 'csso';
import { install, type ConvoyOptions } from '../src/index.ts';
import { build } from '../src/build.ts';
import { TERSER_OPTIONS } from '../src/core/minify.ts';
import { CSS, JS, PARTIAL, REPO, SCSS_ENTRY, SVGS, dynamicTemplate, makeCorpus } from './corpus.ts';
import { compare, timed } from './timing.ts';

const quiet = { warn: () => {}, error: (m: string) => console.error(m), info: () => {} };
const rows: { section: string; metric: string; value: string; note?: string }[] = [];
const json: Record<string, unknown> = {};
const row = (section: string, metric: string, value: string, note?: string) => {
  rows.push({ section, metric, value, ...(note ? { note } : {}) });
  console.error(`  ${section} · ${metric}: ${value}${note ? ` (${note})` : ''}`);
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const gz = (b: Buffer | string) => zlib.gzipSync(b, { level: 9 }).length;
const br = (b: Buffer | string) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

// `npm run bench -- render size` runs only those sections (the build they need still runs).
const only = new Set(process.argv.slice(2));
const wanted = (section: string) => only.size === 0 || only.has(section);
const dir = makeCorpus();
const options = (staticRoot: string, extra: ConvoyOptions = {}): ConvoyOptions => ({
  root: dir,
  sources: ['static'],
  staticRoot,
  templates: ['templates'],
  // The corpus has no .min twins; this keeps every file going through the minifier.
  useExistingMinFiles: false,
  logger: quiet,
  ...extra,
});
const cores = os.availableParallelism();
console.error(`corpus in ${dir}; ${cores} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);

// ------------------------------------------------------------------ build cost
console.error('build cost');
const load = () => os.loadavg()[0]!.toFixed(1);
const loadBefore = load();
// A first build warms the JIT for sass/terser/clean-css, so pipeline and raw loop are compared warm.
const warm = await timed(() => build(options('out-warm'), { parseTemplates: true, jobs: 1 }));
if (warm.value.errors.length) throw new Error(warm.value.errors.join('\n'));
// The JavaScript worker thread lives as long as the process: warm it the same way.
if (wanted('build')) await build(options('out-warm-worker'), { parseTemplates: true });
const outDir = path.join(dir, 'out-warm');

// The default engines' cold build time, for the engines section (the warm build when 'build' is skipped).
let defaultColdMs = warm.ms;
if (wanted('build')) {
// The essential work with the raw tools, one after another in one thread: compile the SCSS,
// minify each CSS/JS (and the CSS carpool), brotli-11 and gzip-9 twins of each served output.
const rawParts: Record<string, number> = { sass: 0, cleancss: 0, terser: 0, coffee: 0, zlib: 0 };
const part = <T>(k: string, fn: () => T): T => {
  const t = performance.now();
  const v = fn();
  rawParts[k]! += performance.now() - t;
  return v;
};
const warmManifest = JSON.parse(fs.readFileSync(path.join(outDir, 'convoy-manifest.json'), 'utf8')) as { files: Record<string, { path: string }>; bundles: Record<string, { path: string }> };
const served = [...Object.values(warmManifest.files), ...Object.values(warmManifest.bundles)].map((e) => e.path).filter((p) => /\.(css|js|svg|json)$/.test(p));
const raw = await timed(() => {
  const clean = new CleanCSS({ level: 1, rebase: false, inline: false, returnPromise: false });
  const minCss: string[] = [];
  for (const f of fs.readdirSync(path.join(dir, 'static/scss/bootstrap')).filter((n) => /^[^_].*\.scss$/.test(n))) {
    const css = part('sass', () => sass.compile(path.join(dir, 'static/scss/bootstrap', f), { style: 'expanded', logger: sass.Logger.silent }).css);
    minCss.push(part('cleancss', () => clean.minify(css).styles));
  }
  const site = part('sass', () => sass.compile(path.join(dir, 'static', SCSS_ENTRY), { style: 'expanded', logger: sass.Logger.silent }).css);
  minCss.push(part('cleancss', () => clean.minify(site).styles));
  for (const [, to] of CSS) minCss.push(part('cleancss', () => clean.minify(fs.readFileSync(path.join(dir, 'static', to), 'utf8')).styles));
  part('cleancss', () => clean.minify(CSS.map(([, to]) => fs.readFileSync(path.join(dir, 'static', to), 'utf8')).join('\n')));
  for (const [, to] of JS) part('terser', () => terser(fs.readFileSync(path.join(dir, 'static', to), 'utf8'), TERSER_OPTIONS));
  const coffee = part('coffee', () => coffeescript.compile(fs.readFileSync(path.join(dir, 'static/js/app.coffee'), 'utf8')) as string);
  part('terser', () => terser(coffee, TERSER_OPTIONS));
  for (const f of served) {
    const bytes = fs.readFileSync(path.join(outDir, f));
    part('zlib', () => zlib.gzipSync(bytes, { level: 9 }));
    part('zlib', () => zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT } }));
  }
  return minCss.length;
});
const cpu0 = process.cpuUsage();
const cold1 = await timed(() => build(options('out-1'), { parseTemplates: true, jobs: 1 }));
const cpu1 = process.cpuUsage(cpu0);
const busy1 = (cpu1.user + cpu1.system) / 1000 / cold1.ms;
const cpuN0 = process.cpuUsage();
const coldN = await timed(() => build(options('out-n'), { parseTemplates: true }));
const cpuN = process.cpuUsage(cpuN0);
const busyN = (cpuN.user + cpuN.system) / 1000 / coldN.ms;
if (coldN.value.errors.length) throw new Error(coldN.value.errors.join('\n'));
const coldOff = await timed(() => build(options('out-nojs'), { parseTemplates: true, jsWorker: false }));
// The same with one worker thread, started before the template scan (the default above 2 cores).
const cold0 = await timed(() => build(options('out-1w'), { parseTemplates: true, workers: 1 }));
// As `convoy build` runs: a fresh process, JIT warm-up (on V8's background threads too) included.
const once = (opts: object) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench/build-once.ts'), dir, JSON.stringify(opts)], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-once failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { ms: number; cpuMs: number; errors: number };
};
const fresh1 = once({ jobs: 1 });
const freshN = once({});
const c = coldN.value.compression;
defaultColdMs = coldN.ms;
const desc = (b: typeof coldN.value) => `${b.files.length} files, ${b.bundles.length} bundles; ${b.jobs} thread(s), ${b.workers} worker(s)`;
row('build', 'raw tools one after another in one thread, same inputs', `${(raw.ms / 1000).toFixed(2)} s`, Object.entries(rawParts).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', '));
row('build', 'cold build, all cores (the default)', `${(coldN.ms / 1000).toFixed(2)} s`, `${desc(coldN.value)}; ${busyN.toFixed(2)} cores busy; ${c.jobs} compressions, ${c.reused} shared, up to ${c.maxInFlight} at once (${c.maxFilesInFlight} files)`);
const ah = coldN.value.jsAhead;
row('build', 'JavaScript minified ahead in a worker thread', ah ? `${ah.fromWorker} of ${ah.jobs} taken from it` : 'not started', ah ? `${ah.here} done here instead, ${(ah.waitedMs / 1000).toFixed(2)} s waited for it; without it the build took ${(coldOff.ms / 1000).toFixed(2)} s (×${(coldOff.ms / coldN.ms).toFixed(2)})` : undefined);
row('build', 'cold build / raw tools', `×${(coldN.ms / raw.ms).toFixed(2)}`, 'target ≤ 0.75');
row('build', 'cold build, 1 thread', `${(cold1.ms / 1000).toFixed(2)} s`, `${desc(cold1.value)}; ${busy1.toFixed(2)} cores busy (V8 GC)`);
row('build', 'speedup, all cores / 1 thread', `×${(cold1.ms / coldN.ms).toFixed(2)}`, `on ${cores} cores; target ≥ 1.7`);
row('build', 'cold build, all cores + 1 worker thread', `${(cold0.ms / 1000).toFixed(2)} s`, `×${(cold1.ms / cold0.ms).toFixed(2)} faster than 1 thread, ×${(coldN.ms / cold0.ms).toFixed(2)} than the default; ${desc(cold0.value)}`);
row('build', 'fresh process (as `convoy build`), 1 thread / all cores', `${(fresh1.ms / 1000).toFixed(2)} s / ${(freshN.ms / 1000).toFixed(2)} s`, `×${(fresh1.ms / freshN.ms).toFixed(2)}; cores busy ${(fresh1.cpuMs / fresh1.ms).toFixed(2)} / ${(freshN.cpuMs / freshN.ms).toFixed(2)} (the 1-thread build's JIT and GC run on V8's own threads)`);
row('build', 'first cold build in this process (1 thread)', `${(warm.ms / 1000).toFixed(2)} s`, 'includes the JIT warm-up of sass, terser and clean-css');

const again = await timed(() => build(options('out-n'), { parseTemplates: true }));
row('build', 'second build, nothing changed', `${again.ms.toFixed(0)} ms`, `${pct(again.ms / coldN.ms)} of cold (target ≤ 3%); manifest ${again.value.manifestWritten ? 'rewritten' : 'untouched'}`);
fs.appendFileSync(path.join(dir, 'static', PARTIAL), '\n// touched\n$convoy-bench: 1px;\n');
const touched = await timed(() => build(options('out-n'), { parseTemplates: true }));
row('build', 'after touching one Bootstrap partial', `${(touched.ms / 1000).toFixed(2)} s`, `${touched.value.files.filter((f) => f.status === 'built').length} entries rebuilt, ${pct(touched.ms / coldN.ms)} of cold`);

// The demo site (examples/site: our files plus Bootstrap's distribution, maps and .min twins
// included), built by a fresh process as `npm run demo` does: JIT warm-up included.
const demo = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench/demo-build.ts')], { cwd: REPO, encoding: 'utf8' });
if (demo.status !== 0) throw new Error(`demo build failed: ${demo.stderr}`);
const demoResult = JSON.parse(demo.stdout) as { ms: number; files: number; errors: number; compression: { jobs: number; reused: number } };
row('build', "the demo's cold build (fresh process)", `${(demoResult.ms / 1000).toFixed(2)} s`, `${demoResult.files} files, ${demoResult.compression.jobs} compressions, ${demoResult.compression.reused} shared; target ≤ 8 s`);
json.build = {
  loadBefore,
  loadAfter: load(),
  rawMs: raw.ms,
  rawParts,
  coldMs: coldN.ms,
  coldOverRaw: coldN.ms / raw.ms,
  oneThreadMs: cold1.ms,
  speedup: cold1.ms / coldN.ms,
  oneWorkerMs: cold0.ms,
  withoutJsWorkerMs: coldOff.ms,
  jsAhead: ah,
  fresh: { oneThread: fresh1, allCores: freshN },
  busyCores: { one: busy1, all: busyN },
  compression: c,
  firstColdMs: warm.ms,
  noChangeMs: again.ms,
  noChangeOverCold: again.ms / coldN.ms,
  touchedPartialMs: touched.ms,
  demoColdMs: demoResult.ms,
};
row('build', 'machine load (1-minute average) before / after', `${loadBefore} / ${load()}`, `${cores} cores shared with other work`);
}

// ------------------------------------------------------------------ render overhead
if (wanted('render')) {
console.error('render overhead');
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
const convoy = install(env, options('out-warm'));
const ctx = { title: 'Bench', items: Array.from({ length: 20 }, (_, i) => ({ name: `item ${i}`, price: i * 3 })) };
const page = env.getTemplate('page.njk', true);
const html = page.render(ctx);
// The literal page: every tag replaced by what it printed, in the same environment.
const literalSrc = fs
  .readFileSync(path.join(dir, 'templates/page.njk'), 'utf8')
  .replace(/\{% carpool (css|js) %\}([\s\S]*?)\{% endcarpool %\}/g, (_m, kind: 'css' | 'js', body: string) => convoy.carpool(kind, body, { template: 'bench', line: 0 }, 'lookup')!)
  .replace(/\{% (scss|convoy) '([^']+)' %\}/g, (_m, tag: 'scss' | 'convoy', p: string) => convoy.resolveUrl(tag, p, { template: 'bench', line: 0 }, 'lookup')!.url);
const literal = new nunjucks.Template(literalSrc, env, 'literal.njk', true);
if (literal.render(ctx) !== html) throw new Error('the literal page differs from the rendered one');
const dynamic = new nunjucks.Template(dynamicTemplate(), env, 'dynamic.njk', true);
const assets = Object.fromEntries(SVGS.map((s) => [s, s]));
if (dynamic.render({ ...ctx, assets }) !== html) throw new Error('the dynamic page differs');
// Its baseline does the same variable lookups and prints the final URLs from a plain map.
const urls = Object.fromEntries(SVGS.map((s) => [s, convoy.resolveUrl('convoy', s, { template: 'bench', line: 0 }, 'lookup')!.url]));
const lookups = new nunjucks.Template(dynamicTemplate().replace(/\{% convoy assets\["([^"]+)"\] %\}/g, '{{ urls["$1"] }}'), env, 'lookups.njk', true);
const lookupsCtx = { ...ctx, urls };

const before = { ...convoy.pipeline.stats };
const sync = await compare(() => page.render(ctx), () => literal.render(ctx), 11);
const renderAsync = (t: nunjucks.Template, c: object) => new Promise<string>((res, rej) => t.render(c, (e, r) => (e ? rej(e) : res(r!))));
const asyncR = await compare(() => renderAsync(page, ctx), () => renderAsync(literal, ctx), 11, true);
const dyn = await compare(() => dynamic.render({ ...ctx, assets }), () => lookups.render(lookupsCtx), 11);
if (JSON.stringify(convoy.pipeline.stats) !== JSON.stringify(before)) throw new Error('a steady-state render did pipeline work');
row('render', 'sync: convoy page / literal page', `${sync.ratio.toFixed(3)}`, `${sync.a.toFixed(0)} vs ${sync.b.toFixed(0)} renders/s; target ≥ 0.9`);
row('render', 'async: convoy page / literal page', `${asyncR.ratio.toFixed(3)}`, `${asyncR.a.toFixed(0)} vs ${asyncR.b.toFixed(0)} renders/s`);
row('render', 'sync, 10 convoy tags with variable paths / the same lookups printed plainly', `${dyn.ratio.toFixed(3)}`, `${dyn.a.toFixed(0)} vs ${dyn.b.toFixed(0)} renders/s`);
json.render = { sync, async: asyncR, dynamic: dyn };

// ------------------------------------------------------------------ first render of a missing bundle
console.error('first render');
await build(options('out-fr'), { jobs: 1 });
const frEnv = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(dir, 'templates')));
install(frEnv, options('out-fr'));
const first = await timed(() => frEnv.render('page.njk', ctx));
await build(options('out-cli'), { jobs: 1 });
const cliBundles = await timed(() => build(options('out-cli'), { parseTemplates: true, jobs: 1 }));
row('render', 'first render building both bundles', `${first.ms.toFixed(0)} ms`, 'brotli quality 5 inside a request');
row('render', 'the same bundles built by the CLI', `${cliBundles.ms.toFixed(0)} ms`, `brotli 11; first render = ×${(first.ms / cliBundles.ms).toFixed(2)} of it`);
json.firstRender = { renderMs: first.ms, cliMs: cliBundles.ms };
}

// ------------------------------------------------------------------ output size against other minifiers
const manifest = (JSON.parse(fs.readFileSync(path.join(outDir, 'convoy-manifest.json'), 'utf8')) as { bundles: Record<string, { kind: string; path: string }> });
const cssBundle = Object.values(manifest.bundles).find((b) => b.kind === 'css')!;
const jsBundle = Object.values(manifest.bundles).find((b) => b.kind === 'js')!;
const ours = { css: fs.readFileSync(path.join(outDir, cssBundle.path)), js: fs.readFileSync(path.join(outDir, jsBundle.path)) };
const jsIn = JS.map(([, to]) => fs.readFileSync(path.join(dir, 'static', to), 'utf8')).join('\n;\n');
const cssIn = CSS.map(([, to]) => fs.readFileSync(path.join(dir, 'static', to), 'utf8')).join('\n');
if (wanted('size')) {
console.error('output size');
const sizes: Record<string, { bytes: number; gzip: number; br: number; ms: number }> = {};
const measure = async (name: string, fn: () => string | Buffer | Promise<string | Buffer>) => {
  const t = await timed(fn);
  sizes[name] = { bytes: Buffer.byteLength(t.value), gzip: gz(t.value), br: br(t.value), ms: t.ms };
};
await measure('js: nunjucks-convoy (terser per file, joined)', () => ours.js);
await measure('js: terser, passes 1 (the default)', () => terser(jsIn, TERSER_OPTIONS).code!);
await measure('js: terser, passes 2', () => terser(jsIn, { ...TERSER_OPTIONS, compress: { passes: 2 } }).code!);
await measure('js: esbuild', () => esbuild.transformSync(jsIn, { minify: true }).code);
await measure('js: @swc/core', () => swc.minifySync(jsIn, { compress: { passes: 2 }, mangle: true }).code);
await measure('css: nunjucks-convoy (clean-css level 1)', () => ours.css);
await measure('css: clean-css level 1', () => new CleanCSS({ level: 1, rebase: false, inline: false }).minify(cssIn).styles);
await measure('css: clean-css level 2', () => new CleanCSS({ level: 2, rebase: false, inline: false }).minify(cssIn).styles);
await measure('css: lightningcss', () => lightningcss({ filename: 'a.css', code: Buffer.from(cssIn), minify: true, targets: { chrome: 80 << 16 } }).code.toString());
await measure('css: csso', () => csso(cssIn).css);
for (const [name, s] of Object.entries(sizes)) {
  row('size', name, `${kb(s.bytes)} · gzip ${kb(s.gzip)} · br ${kb(s.br)}`, `${s.ms.toFixed(0)} ms`);
}
json.sizes = sizes;
}

// ------------------------------------------------------------------ faster engines
if (wanted('engines')) {
console.error('engines');
const fast = await timed(() => build(options('out-fast', { engines: { js: 'swc', css: 'lightningcss', sass: 'sass-embedded' } }), { parseTemplates: true }));
if (fast.value.errors.length) throw new Error(fast.value.errors.join('\n'));
const fastManifest = JSON.parse(fs.readFileSync(path.join(dir, 'out-fast/convoy-manifest.json'), 'utf8')) as typeof manifest;
const fb = (k: 'css' | 'js') => fs.readFileSync(path.join(dir, 'out-fast', Object.values(fastManifest.bundles).find((b) => b.kind === k)!.path));
row('engines', 'cold build with swc + lightningcss + sass-embedded', `${(fast.ms / 1000).toFixed(2)} s`, `×${(defaultColdMs / fast.ms).toFixed(2)} faster than the defaults`);
row('engines', 'JS bundle gzip, swc / terser', (gz(fb('js')) / gz(ours.js)).toFixed(3));
row('engines', 'CSS bundle gzip, lightningcss / clean-css', (gz(fb('css')) / gz(ours.css)).toFixed(3));
json.engines = { ms: fast.ms, speedup: defaultColdMs / fast.ms, jsGzipRatio: gz(fb('js')) / gz(ours.js), cssGzipRatio: gz(fb('css')) / gz(ours.css) };
}

// ------------------------------------------------------------------ report
json.machine = { cores, memGiB: os.totalmem() / 2 ** 30, cpu: os.cpus()[0]?.model, node: process.version, date: new Date().toISOString().slice(0, 10) };
const table = ['| section | metric | value | note |', '|---|---|---|---|', ...rows.map((r) => `| ${r.section} | ${r.metric} | ${r.value} | ${r.note ?? ''} |`)].join('\n');
console.log(table);
fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(REPO, 'bench/results/latest.json'), `${JSON.stringify({ ...json, rows }, null, 2)}\n`);
fs.writeFileSync(path.join(REPO, 'bench/results/latest.md'), `${table}\n`);
fs.rmSync(dir, { recursive: true, force: true });
