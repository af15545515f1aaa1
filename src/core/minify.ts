import { createRequire } from 'node:module';
import { minify_sync as terserMinify } from 'terser';
import CleanCSS from 'clean-css';
import { ConvoyError } from '../errors.ts';
import type { Engines } from '../config.ts';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { chainMaps, displayName, identityMap, type SourceMap } from './sourcemaps.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postcss, { type ChildNode } from 'postcss';

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

type LightningCss = { transform(o: object): { code: Uint8Array; map?: Uint8Array; warnings: { message: string; loc: { line: number; column: number } }[] } };

function lightning(lcss: LightningCss, input: MinifyInput, wantMap: boolean, sourcesContent: boolean): Minified {
  // Without targets lightningcss rewrites (min-width: X) as (width >= X), which older browsers ignore.
  const out = lcss.transform({ filename: input.name, code: Buffer.from(input.code), minify: true, sourceMap: wantMap, targets: { chrome: 80 << 16, firefox: 78 << 16, safari: 13 << 16 } });
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

/**
 * Whether every clean-css warning points into valid syntax clean-css 5 does not know (CSS
 * nesting, `@starting-style`, …) rather than into broken CSS: the code must parse, and each
 * warning must fall inside a rule that nests rules or inside an at-rule clean-css cannot read.
 */
export function unsupportedSyntaxOnly(code: string, warnings: string[]): boolean {
  let root;
  try {
    root = postcss.parse(code);
  } catch {
    return false;
  }
  const ranges: { from: [number, number]; to: [number, number] }[] = [];
  const add = (node: ChildNode) => {
    const s = node.source?.start;
    const e = node.source?.end;
    if (s && e) ranges.push({ from: [s.line, s.column], to: [e.line, e.column] });
  };
  root.walk((node) => {
    if (node.type === 'atrule' && UNKNOWN_TO_CLEAN_CSS.test(node.name)) add(node);
    if ((node.type === 'rule' || (node.type === 'atrule' && node.nodes)) && node.parent?.type === 'rule') {
      // The outermost style rule holding a nested one: clean-css loses track up to its end.
      let top: ChildNode = node.parent as ChildNode;
      while (top.parent && top.parent.type === 'rule') top = top.parent as ChildNode;
      add(top);
    }
  });
  if (!ranges.length) return false;
  const before = (a: [number, number], b: [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]);
  return warnings.every((w) => {
    const at = /at (?:[^ ]*:)?(\d+):(\d+)/.exec(w);
    if (!at) return false;
    const pos: [number, number] = [Number(at[1]), Number(at[2]) + 1];
    return ranges.some((r) => before(r.from, pos) && before(pos, r.to));
  });
}

/**
 * Minifies CSS. clean-css repairs broken CSS and only *warns*; those warnings are failures here,
 * since the repaired output would not be what the author wrote. Valid CSS clean-css 5 cannot read
 * (nesting, `@starting-style`) is never refused: lightningcss minifies it when installed, else it
 * is served as it is; `fallback` says which, for the one warning the caller logs.
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
  const minifier = wantMap
    ? (cleanCssMapped ??= new CleanCSS({ ...CLEAN_CSS_OPTIONS, sourceMap: true, sourceMapInlineSources: true }))
    : (cleanCss ??= new CleanCSS(CLEAN_CSS_OPTIONS));
  const marked = input.code.search(EMPTY_URL) !== -1;
  const styles = marked ? input.code.replace(EMPTY_URL, EMPTY_URL_MARK) : input.code;
  // A name without folders: clean-css rebases @import URLs from the input's folder even with rebase off.
  const out = minifier.minify({ [CLEAN_CSS_NAME]: { styles } });
  const problems = [...out.errors, ...out.warnings];
  if (problems.length) {
    if (!out.errors.length && unsupportedSyntaxOnly(input.code, out.warnings)) {
      const why = `clean-css 5 cannot read valid CSS here (${out.warnings[0]})`;
      const lcss = lightningIfInstalled();
      if (lcss) {
        try {
          return { ...lightning(lcss, input, wantMap, sourcesContent), fallback: `${why}; minified with lightningcss instead` };
        } catch {
          // lightningcss refuses some valid legacy syntax (`*zoom` hacks): serve the file as it is.
        }
      }
      const map = wantMap ? (input.map ?? identityMap(input.code, input.name, input.code)) : undefined;
      return { code: input.code, ...(map ? { map } : {}), fallback: `${why}; served unminified` };
    }
    const first = problems[0]!;
    const at = /at (?:[^ ]*:)?(\d+):(\d+)/.exec(first);
    throw new ConvoyError('E_MINIFY', `CSS that clean-css had to repair: ${problems.join('; ')}`, {
      ...located(input, at ? Number(at[1]) : undefined, at ? Number(at[2]) + 1 : undefined),
    });
  }
  const code = marked ? out.styles.split(EMPTY_URL_MARK).join('url()') : out.styles;
  if (!wantMap || !out.sourceMap) return { code };
  const map = JSON.parse(String(out.sourceMap)) as SourceMap;
  map.sources = map.sources.map((s) => (s === CLEAN_CSS_NAME ? input.name : s));
  return finish(input, code, map, sourcesContent);
}
