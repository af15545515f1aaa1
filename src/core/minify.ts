import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postcss, { type ChildNode } from 'postcss';
import type { minify_sync as TerserMinifySync } from 'terser';
import type CleanCSS from 'clean-css';
import { ConvoyError } from '../errors.ts';
import { lazy } from './lazy.ts';
import type { Engines } from '../config.ts';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { MAP_SCHEME, chainMaps, concatMaps, displayName, identityMap, type SourceMap } from './sourcemaps.ts';

// Loaded on first minification: a production server reading the manifest never pays for them.
const terserMinify = lazy<typeof TerserMinifySync>('terser', (m: typeof import('terser')) => m.minify_sync);
const CleanCss = lazy<typeof CleanCSS>('clean-css');

/** The original file and line of a position in `input`, through its map when it has one. */
function located(input: MinifyInput, line?: number, column?: number): { file: string; line?: number; column?: number } {
  if (input.map && line !== undefined) {
    const pos = originalPositionFor(new TraceMap(input.map as never), { line, column: Math.max(0, (column ?? 1) - 1) });
    if (pos.source) return { file: displayName(pos.source), line: pos.line ?? undefined, column: pos.column === null ? undefined : pos.column + 1 };
  }
  // Without a map, the input is the file itself: name it as maps do (root-relative).
  return { file: displayName(input.name), line, column };
}

/** Code to minify: `name` labels it in the map, `rel` in messages; `map` leads back to its sources. */
export interface MinifyInput {
  rel: string;
  name: string;
  code: string;
  map?: SourceMap;
}

/** Minified code and its map to the original sources (absent when maps are off). */
export interface Minified {
  code: string;
  map?: SourceMap;
}

const requireHere = createRequire(import.meta.url);
function optional<T>(pkg: string, option: string): T {
  try {
    return requireHere(requireHere.resolve(pkg, { paths: [process.cwd()] })) as T;
  } catch (cause) {
    throw new ConvoyError('E_CONFIG', `${option} names ${pkg}, which is not installed (npm install ${pkg})`, { cause });
  }
}

function finish(input: MinifyInput, code: string, map: SourceMap | undefined, sourcesContent: boolean): Minified {
  if (!map) return { code };
  const inner = new Map<string, SourceMap>();
  if (input.map) inner.set(input.name, input.map);
  return { code, map: chainMaps(map, inner, sourcesContent) };
}

/**
 * Terser's settings. One compress pass: bench/ measured a second pass at +46% time for 0.05%
 * fewer gzip bytes on the corpus.
 */
export const TERSER_OPTIONS = { compress: {}, mangle: true, format: { comments: 'some' as const } };

/** Minifies JavaScript; a syntax error is an E_MINIFY naming the file and line. */
export function minifyJs(input: MinifyInput, engine: Engines['js'] = 'terser', wantMap = true, sourcesContent = true): Minified {
  if (engine === 'swc') {
    const swc = optional<{ minifySync(code: string, opts: object): { code: string; map?: string } }>('@swc/core', 'engines.js');
    try {
      const out = swc.minifySync(input.code, { compress: { passes: 2 }, mangle: true, sourceMap: wantMap, format: { comments: 'some' }, inlineSourcesContent: true } as object);
      if (!wantMap || !out.map) return { code: out.code };
      const map = JSON.parse(out.map) as SourceMap;
      map.sources = map.sources.map(() => input.name);
      map.sourcesContent = [input.code];
      return finish(input, out.code, map, sourcesContent);
    } catch (cause) {
      if (cause instanceof ConvoyError) throw cause;
      throw new ConvoyError('E_MINIFY', `swc could not minify: ${String(cause).split('\n')[0]}`, { file: input.rel, cause });
    }
  }
  try {
    const out = terserMinify({ [input.name]: input.code }, { ...TERSER_OPTIONS, ...(wantMap ? { sourceMap: { asObject: true, includeSources: true } } : {}) });
    return finish(input, out.code ?? '', wantMap ? (out.map as unknown as SourceMap) : undefined, sourcesContent);
  } catch (cause) {
    const c = cause as { message: string; line?: number; col?: number };
    throw new ConvoyError('E_MINIFY', `JavaScript syntax error: ${c.message}`, { ...located(input, c.line, c.col !== undefined ? c.col + 1 : undefined), cause });
  }
}

/** clean-css settings: level 1 (level 2's few bytes, measured in bench/, are not worth its rule reordering). */
const CLEAN_CSS_OPTIONS = { level: 1, rebase: false, inline: false, returnPromise: false } as const;
let cleanCss: CleanCSS.MinifierOutput | undefined;
let cleanCssMapped: CleanCSS.MinifierOutput | undefined;
const CLEAN_CSS_NAME = 'convoy-input.css';

/** Minified CSS, and why it is not what the configured minifier made, when it is not. */
export interface MinifiedCss extends Minified {
  /** Set when clean-css could not handle valid CSS and another minifier (or none) served it. */
  fallback?: string;
}

const LIGHTNING_TARGETS = { chrome: 80 << 16, firefox: 78 << 16, safari: 13 << 16 };

type LightningCss = { transform(o: object): { code: Uint8Array; map?: Uint8Array; warnings: { message: string; loc: { line: number; column: number } }[] } };

function lightning(lcss: LightningCss, input: MinifyInput, wantMap: boolean, sourcesContent: boolean): Minified {
  // Without targets lightningcss rewrites (min-width: X) as (width >= X), which older browsers ignore.
  const out = lcss.transform({ filename: input.name, code: Buffer.from(input.code), minify: true, sourceMap: wantMap, targets: LIGHTNING_TARGETS });
  if (!wantMap || !out.map) return { code: Buffer.from(out.code).toString() };
  const map = JSON.parse(Buffer.from(out.map).toString()) as SourceMap;
  map.sourcesContent = map.sources.map(() => input.code);
  return finish(input, Buffer.from(out.code).toString(), map, sourcesContent);
}

/** lightningcss when it is installed (it is an optional engine), else undefined. */
function lightningIfInstalled(): LightningCss | undefined {
  try {
    return requireHere(requireHere.resolve('lightningcss', { paths: [process.cwd(), path.dirname(fileURLToPath(import.meta.url))] })) as LightningCss;
  } catch {
    return undefined;
  }
}

// clean-css 5 drops a declaration with an empty `url()` ("Broken URL"), which Django keeps and
// browsers treat as an invalid image: a placeholder carries it through unchanged.
const EMPTY_URL = /url\(\s*(?:""|'')?\s*\)/gi;
const EMPTY_URL_MARK = 'url(__convoy_empty_url__)';

// At-rules clean-css 5 does not parse, though they are valid CSS browsers apply.
const UNKNOWN_TO_CLEAN_CSS = /^(starting-style|scope|position-try|view-transition)$/i;

/** Whether a top-level node holds syntax clean-css 5 cannot read: nested rules, or an at-rule it does not know. */
function isModern(node: ChildNode): boolean {
  if (node.type !== 'rule' && node.type !== 'atrule') return false;
  if (node.type === 'atrule' && UNKNOWN_TO_CLEAN_CSS.test(node.name)) return true;
  let found = false;
  node.walk((inner) => {
    if (inner.type === 'atrule' && UNKNOWN_TO_CLEAN_CSS.test(inner.name)) found = true;
    if ((inner.type === 'rule' || (inner.type === 'atrule' && inner.nodes)) && inner.parent?.type === 'rule') found = true;
    return found ? false : undefined;
  });
  return found;
}

// postcss needs file names; a virtual folder keeps map sources equal to the input's name.
const VIRTUAL = '/__convoy_min__/';

/** One clean-css run on `styles`, with the empty-url() placeholder restored and the map named after `name`. */
function cleanCssRun(styles: string, name: string, wantMap: boolean): { code: string; map?: SourceMap; problems: string[] } {
  const minifier = wantMap
    ? (cleanCssMapped ??= new CleanCss({ ...CLEAN_CSS_OPTIONS, sourceMap: true, sourceMapInlineSources: true }))
    : (cleanCss ??= new CleanCss(CLEAN_CSS_OPTIONS));
  const marked = styles.search(EMPTY_URL) !== -1;
  // A name without folders: clean-css rebases @import URLs from the input's folder even with rebase off.
  const out = minifier.minify({ [CLEAN_CSS_NAME]: { styles: marked ? styles.replace(EMPTY_URL, EMPTY_URL_MARK) : styles } });
  const code = marked ? out.styles.split(EMPTY_URL_MARK).join('url()') : out.styles;
  const problems = [...out.errors, ...out.warnings];
  if (!wantMap || !out.sourceMap) return { code, problems };
  const map = JSON.parse(String(out.sourceMap)) as SourceMap;
  map.sources = map.sources.map((s) => (s === CLEAN_CSS_NAME ? name : s));
  return { code, map, problems };
}

/** A position in a slice of the input (1-based line, 1-based column) → the same in the input. */
type Shift = (line: number, column: number) => { line: number; column: number };
const NO_SHIFT: Shift = (line, column) => ({ line, column });

function repairError(input: MinifyInput, problems: string[], shift: Shift = NO_SHIFT): ConvoyError {
  const at = /at (?:[^ ]*:)?(\d+):(\d+)/.exec(problems[0]!);
  const pos = at ? shift(Number(at[1]), Number(at[2]) + 1) : undefined;
  return new ConvoyError('E_MINIFY', `CSS that clean-css had to repair: ${problems.join('; ')}`, {
    ...located(input, pos?.line, pos?.column),
  });
}

/**
 * clean-css warned: tells valid CSS it cannot read from broken CSS. The stylesheet is cut into
 * top-level pieces; pieces without nesting or unknown at-rules go through clean-css again, and a
 * warning there is real breakage (an E_MINIFY naming the line). Each modern piece is minified by
 * lightningcss when installed, else kept as written. Undefined: nothing modern, so the warnings
 * stand.
 */
function minifyModern(input: MinifyInput, wantMap: boolean, sourcesContent: boolean): MinifiedCss | undefined {
  let root;
  try {
    root = postcss.parse(input.code, { from: VIRTUAL + input.name.replace(MAP_SCHEME, ''), map: { prev: false } });
  } catch {
    return undefined;
  }
  if (!root.nodes.some(isModern)) return undefined;
  const pieces: { nodes: ChildNode[]; modern: boolean }[] = [];
  for (const node of root.nodes) {
    const modern = isModern(node);
    const last = pieces[pieces.length - 1];
    if (last && !last.modern && !modern) last.nodes.push(node);
    else pieces.push({ nodes: [node], modern });
  }
  const lcss = lightningIfInstalled();
  const outputs: { code: string; map?: SourceMap }[] = [];
  let byLightning = 0;
  let asIs = 0;
  let firstWarning = '';
  for (const [k, piece] of pieces.entries()) {
    const start = piece.nodes[0]!.source!.start!;
    const text = input.code.slice(start.offset, piece.nodes[piece.nodes.length - 1]!.source!.end!.offset);
    // Positions in the slice, and maps of it, are moved to the input's (linear: no padding).
    const shift: Shift = (line, column) => ({ line: start.line + line - 1, column: line === 1 ? start.column - 1 + column : column });
    const sliceName = `${MAP_SCHEME}__slice_${k}__`;
    const toInput = (map: SourceMap | undefined) =>
      map && chainMaps(map, new Map([[sliceName, identityMap(text, input.name, undefined, { line: start.line - 1, column: start.column - 1 })]]), false);
    const run = cleanCssRun(text, sliceName, wantMap);
    if (!run.problems.length) {
      const map = toInput(run.map);
      outputs.push({ code: run.code, ...(map ? { map } : {}) });
      continue;
    }
    if (!piece.modern) throw repairError(input, run.problems, shift);
    if (!firstWarning) {
      const where = located(input, start.line, start.column);
      firstWarning = `${where.file}${where.line ? `:${where.line}` : ''}: ${run.problems[0]!}`;
    }
    if (lcss) {
      try {
        const out = lcss.transform({ filename: sliceName, code: Buffer.from(text), minify: true, sourceMap: wantMap, targets: LIGHTNING_TARGETS });
        const raw = out.map ? (JSON.parse(Buffer.from(out.map).toString()) as SourceMap) : undefined;
        if (raw) raw.sources = raw.sources.map(() => sliceName);
        const map = toInput(raw);
        outputs.push({ code: Buffer.from(out.code).toString(), ...(map ? { map } : {}) });
        byLightning++;
        continue;
      } catch {
        // lightningcss refuses some valid legacy syntax (`*zoom` hacks): keep the piece as written.
      }
    }
    const kept = postcss.root();
    kept.raws.semicolon = true;
    kept.append(piece.nodes.map((n) => n.clone()));
    const res = kept.toResult(wantMap ? { to: VIRTUAL + 'out.css', map: { inline: false, annotation: false, sourcesContent: false } } : { map: false });
    const map = wantMap ? (res.map.toJSON() as unknown as SourceMap) : undefined;
    if (map) map.sources = map.sources.map(() => input.name);
    outputs.push({ code: res.css.trim(), ...(map ? { map } : {}) });
    asIs++;
  }
  const code = outputs.map((o) => o.code).join('\n');
  const how = [byLightning ? `${byLightning} rule(s) minified with lightningcss` : '', asIs ? `${asIs} rule(s) served unminified` : ''].filter(Boolean).join(', ');
  const fallback = `clean-css 5 cannot read valid CSS here (${firstWarning}); ${how}`;
  if (!wantMap) return { code, fallback };
  let line = 0;
  const sections = outputs.map((o) => {
    const piece = { line, map: o.map ?? identityMap(o.code, input.name) };
    line += o.code.split('\n').length;
    return piece;
  });
  // A sectioned map repeats the one source per section; a pass through remapping names it once,
  // so chaining to the input's map below loads that map once, not once per piece (which was
  // quadratic: 4000 pieces ran out of memory).
  const map = chainMaps(concatMaps(sections), new Map(), false);
  map.sourcesContent = map.sources.map(() => input.code);
  return { ...finish(input, code, map, sourcesContent), fallback };
}

/**
 * Minifies CSS. clean-css repairs broken CSS and only *warns*; those warnings are failures here,
 * since the repaired output would not be what the author wrote. Valid CSS clean-css 5 cannot read
 * (nesting, `@starting-style`) is never refused: lightningcss minifies those rules when installed,
 * else they are served as written; `fallback` says which, for the one warning the caller logs.
 */
export function minifyCss(input: MinifyInput, engine: Engines['css'] = 'clean-css', wantMap = true, sourcesContent = true): MinifiedCss {
  if (engine === 'lightningcss') {
    const lcss = optional<LightningCss>('lightningcss', 'engines.css');
    try {
      return lightning(lcss, input, wantMap, sourcesContent);
    } catch (cause) {
      const c = cause as { message: string; loc?: { line: number; column: number } };
      throw new ConvoyError('E_MINIFY', `CSS error: ${c.message}`, { ...located(input, c.loc?.line, c.loc?.column), cause });
    }
  }
  const run = cleanCssRun(input.code, input.name, wantMap);
  if (run.problems.length) {
    const modern = minifyModern(input, wantMap, sourcesContent);
    if (modern) return modern;
    throw repairError(input, run.problems);
  }
  if (!run.map) return { code: run.code };
  return finish(input, run.code, run.map, sourcesContent);
}
