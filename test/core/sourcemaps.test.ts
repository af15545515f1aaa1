import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { resolveConfig, type ConvoyOptions } from '../../src/config.ts';
import { createPipeline } from '../../src/core/pipeline.ts';
import type { OutputEntry } from '../../src/core/manifest.ts';
import { fixtureProject, memoryLogger, tmpDir, write } from '../helpers.ts';

function setup(extra: ConvoyOptions = {}) {
  const dir = fixtureProject();
  const p = createPipeline(resolveConfig({ root: dir, sources: ['static', 'vendor'], staticRoot: 'out', sourceMaps: true, logger: memoryLogger(), ...extra }));
  return { dir, p, out: path.join(dir, 'out') };
}

/** Where `token` in the served output comes from, through the written map. */
function origin(out: string, entry: OutputEntry, token: string) {
  const code = fs.readFileSync(path.join(out, entry.path), 'utf8');
  const i = code.indexOf(token);
  assert.ok(i >= 0, `${token} is in the output`);
  const before = code.slice(0, i);
  const map = new TraceMap(fs.readFileSync(path.join(out, entry.map!), 'utf8'));
  const pos = originalPositionFor(map, { line: before.split('\n').length, column: i - (before.lastIndexOf('\n') + 1) });
  return { source: pos.source, line: pos.line, column: pos.column };
}

/** Line and column (1-based line, 0-based column, as maps count) of `token` in a source file. */
function at(dir: string, file: string, token: string) {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const i = text.indexOf(token);
  const before = text.slice(0, i);
  return { source: file, line: before.split('\n').length, column: i - (before.lastIndexOf('\n') + 1) };
}

for (const combineOriginals of [false, true]) {
  test(`a bundle of two SCSS files with partials maps back to the exact .scss line and column (combineOriginals=${combineOriginals})`, () => {
    const { dir, p, out } = setup({ carpoolCombineOriginals: combineOriginals });
    const entry = p.bundle('css', [{ type: 'file', rel: 'scss/maps/one.scss' }, { type: 'file', rel: 'scss/maps/two.scss' }, { type: 'file', rel: 'css/sub/b.css' }]);
    assert.match(fs.readFileSync(path.join(out, entry.path), 'utf8'), new RegExp(`\\n/\\*# sourceMappingURL=${path.posix.basename(entry.map!).replace(/\./g, '\\.')} \\*/$`));
    assert.deepEqual(origin(out, entry, '.alpha-token'), at(dir, 'static/scss/maps/_tokens.scss', '.alpha-token'));
    assert.deepEqual(origin(out, entry, 'color:#010203'), at(dir, 'static/scss/maps/_tokens.scss', 'color: #010203'));
    assert.deepEqual(origin(out, entry, '.one-token'), at(dir, 'static/scss/maps/one.scss', '.one-token'));
    assert.deepEqual(origin(out, entry, '.two-token'), at(dir, 'static/scss/maps/two.scss', '.two-token'));
    assert.deepEqual(origin(out, entry, 'color:#123456'), at(dir, 'static/css/sub/b.css', 'color: #123456'));
  });

  test(`a bundle of CoffeeScript and plain JS maps back to the exact original (combineOriginals=${combineOriginals})`, () => {
    const { dir, p, out } = setup({ carpoolCombineOriginals: combineOriginals });
    const entry = p.bundle('js', [{ type: 'file', rel: 'coffee/app.coffee' }, { type: 'file', rel: 'js/one.js' }, { type: 'file', rel: 'js/two.js' }]);
    assert.deepEqual(origin(out, entry, '`coffee:'), at(dir, 'static/coffee/app.coffee', '"coffee:'));
    assert.deepEqual(origin(out, entry, '"one"'), at(dir, 'static/js/one.js', "'one'"));
    assert.deepEqual(origin(out, entry, '"two:"'), at(dir, 'static/js/two.js', "'two:'"));
    assert.deepEqual(origin(out, entry, 'push("two'), at(dir, 'static/js/two.js', "push('two"));
  });
}

test('maps: recorded in the manifest, named by their content, sources relative to the project, sourcesContent optional', () => {
  const { p, out } = setup();
  const entry = p.asset('scss/maps/one.scss');
  assert.match(entry.map!, /^scss\/maps\/one\.[0-9a-f]{12}\.cmin\.css\.map$/);
  const mapBytes = fs.readFileSync(path.join(out, entry.map!));
  assert.equal(createHash('md5').update(mapBytes).digest('hex').slice(0, 12), /\.([0-9a-f]{12})\.cmin/.exec(entry.map!)![1]);
  const map = JSON.parse(mapBytes.toString()) as { sources: string[]; sourcesContent?: string[] };
  assert.deepEqual([...map.sources].sort(), ['static/scss/maps/_tokens.scss', 'static/scss/maps/one.scss']);
  assert.equal(map.sourcesContent?.length, 2);
  // The comment is part of the fingerprinted bytes: the name is the MD5 of everything served.
  const served = fs.readFileSync(path.join(out, entry.path));
  assert.match(served.toString(), /sourceMappingURL=one\.[0-9a-f]{12}\.cmin\.css\.map \*\/$/);
  assert.equal(createHash('md5').update(served).digest('hex').slice(0, 12), entry.hash);
  const lean = setup({ sourcesContent: false });
  const leanMap = JSON.parse(fs.readFileSync(path.join(lean.out, lean.p.asset('scss/site.scss').map!), 'utf8')) as { sourcesContent?: unknown };
  assert.equal(leanMap.sourcesContent, undefined);
});

test("sourceMaps 'hidden' writes the map without referencing it; false writes none", () => {
  const hidden = setup({ sourceMaps: 'hidden' });
  const h = hidden.p.asset('coffee/app.coffee');
  assert.ok(h.map && fs.existsSync(path.join(hidden.out, h.map)));
  assert.doesNotMatch(fs.readFileSync(path.join(hidden.out, h.path), 'utf8'), /sourceMappingURL/);
  const none = setup({ sourceMaps: false });
  const n = none.p.asset('coffee/app.coffee');
  assert.equal(n.map, undefined);
  assert.ok(!fs.readdirSync(path.join(none.out, 'coffee')).some((f) => f.endsWith('.map')));
});

/** A project whose sources lie outside its root: a sibling folder, another temp dir, and node_modules (mounted with a prefix). */
function outsideRoot(combineOriginals: boolean) {
  const base = tmpDir();
  const root = path.join(base, 'app');
  const elsewhere = tmpDir();
  write(path.join(base, 'shared/js/app.coffee'), 'square = (x) -> x * x\nglobalThis.log ?= []\nglobalThis.log.push "coffee:#{square 7}"\n');
  write(path.join(base, 'shared/js/plain.js'), "var plain = 'plain-token';\n");
  write(path.join(elsewhere, 'scss/_tokens.scss'), '.alpha-token {\n  color: #010203;\n}\n');
  write(path.join(elsewhere, 'scss/site.scss'), "@use 'tokens';\n\n.site-token {\n  margin: 4px;\n}\n");
  write(path.join(root, 'node_modules/widgets/dist/widget.coffee'), 'globalThis.widget = ->\n  "widget-token"\n');
  const p = createPipeline(
    resolveConfig({
      root,
      sources: ['../shared', elsewhere, { dir: 'node_modules/widgets/dist', prefix: 'widgets' }],
      staticRoot: 'out',
      sourceMaps: true,
      carpoolCombineOriginals: combineOriginals,
      logger: memoryLogger(),
    }),
  );
  /** Where `token` is in a source, named as written maps name sources (relative to root). */
  const src = (abs: string, token: string) => ({ ...at(path.dirname(abs), path.basename(abs), token), source: path.relative(root, abs).split(path.sep).join('/') });
  return { base, root, elsewhere, p, out: path.join(root, 'out'), src };
}

for (const combineOriginals of [false, true]) {
  test(`sources outside root (sibling folder, temp dir, node_modules) map to the .coffee/.scss line, not the compiled code (combineOriginals=${combineOriginals})`, () => {
    const { base, root, elsewhere, p, out, src } = outsideRoot(combineOriginals);
    const js = p.bundle('js', [{ type: 'file', rel: 'js/app.coffee' }, { type: 'file', rel: 'js/plain.js' }, { type: 'file', rel: 'widgets/widget.coffee' }]);
    assert.deepEqual(origin(out, js, '`coffee:'), src(path.join(base, 'shared/js/app.coffee'), '"coffee:'));
    assert.deepEqual(origin(out, js, '"plain-token"'), src(path.join(base, 'shared/js/plain.js'), "'plain-token'"));
    assert.deepEqual(origin(out, js, '"widget-token"'), src(path.join(root, 'node_modules/widgets/dist/widget.coffee'), '"widget-token"'));
    assert.equal(origin(out, js, '`coffee:').source, '../shared/js/app.coffee');
    const css = p.bundle('css', [{ type: 'file', rel: 'scss/site.scss' }]);
    assert.deepEqual(origin(out, css, '.alpha-token'), src(path.join(elsewhere, 'scss/_tokens.scss'), '.alpha-token'));
    assert.deepEqual(origin(out, css, '.site-token'), src(path.join(elsewhere, 'scss/site.scss'), '.site-token'));
    // The single asset too.
    const one = p.asset('js/app.coffee');
    assert.deepEqual(origin(out, one, '`coffee:'), src(path.join(base, 'shared/js/app.coffee'), '"coffee:'));
    // Written maps name no absolute path and no compile intermediate.
    for (const e of [js, css, one]) {
      const map = JSON.parse(fs.readFileSync(path.join(out, e.map!), 'utf8')) as { sources: string[] };
      assert.ok(map.sources.every((s) => !path.isAbsolute(s) && !/__|convoy:/.test(s) && /\.(coffee|scss|js)$/.test(s)), map.sources.join(', '));
    }
  });
}
