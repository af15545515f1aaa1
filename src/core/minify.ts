import { createRequire } from 'node:module';
import { minify_sync as terserMinify } from 'terser';
import CleanCSS from 'clean-css';
import { ConvoyError } from '../errors.ts';
import type { Engines } from '../config.ts';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { chainMaps, displayName, type SourceMap } from './sourcemaps.ts';

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

/**
 * Minifies CSS. clean-css repairs broken CSS and only *warns*; those warnings are failures here,
 * since the repaired output would not be what the author wrote.
 */
export function minifyCss(input: MinifyInput, engine: Engines['css'] = 'clean-css', wantMap = true, sourcesContent = true): Minified {
  if (engine === 'lightningcss') {
    type LightningCss = { transform(o: object): { code: Uint8Array; map?: Uint8Array; warnings: { message: string; loc: { line: number; column: number } }[] } };
    const lcss = optional<LightningCss>('lightningcss', 'engines.css');
    try {
      // Without targets lightningcss rewrites (min-width: X) as (width >= X), which older browsers ignore.
      const out = lcss.transform({ filename: input.name, code: Buffer.from(input.code), minify: true, sourceMap: wantMap, targets: { chrome: 80 << 16, firefox: 78 << 16, safari: 13 << 16 } });
      if (!wantMap || !out.map) return { code: Buffer.from(out.code).toString() };
      const map = JSON.parse(Buffer.from(out.map).toString()) as SourceMap;
      map.sourcesContent = map.sources.map(() => input.code);
      return finish(input, Buffer.from(out.code).toString(), map, sourcesContent);
    } catch (cause) {
      const c = cause as { message: string; loc?: { line: number; column: number } };
      throw new ConvoyError('E_MINIFY', `CSS error: ${c.message}`, { ...located(input, c.loc?.line, c.loc?.column), cause });
    }
  }
  const minifier = wantMap
    ? (cleanCssMapped ??= new CleanCSS({ ...CLEAN_CSS_OPTIONS, sourceMap: true, sourceMapInlineSources: true }))
    : (cleanCss ??= new CleanCSS(CLEAN_CSS_OPTIONS));
  // A name without folders: clean-css rebases @import URLs from the input's folder even with rebase off.
  const out = minifier.minify({ [CLEAN_CSS_NAME]: { styles: input.code } });
  const problems = [...out.errors, ...out.warnings];
  if (problems.length) {
    const first = problems[0]!;
    const at = /at (?:[^ ]*:)?(\d+):(\d+)/.exec(first);
    throw new ConvoyError('E_MINIFY', `CSS that clean-css had to repair: ${problems.join('; ')}`, {
      ...located(input, at ? Number(at[1]) : undefined, at ? Number(at[2]) + 1 : undefined),
    });
  }
  if (!wantMap || !out.sourceMap) return { code: out.styles };
  const map = JSON.parse(String(out.sourceMap)) as SourceMap;
  map.sources = map.sources.map((s) => (s === CLEAN_CSS_NAME ? input.name : s));
  return finish(input, out.styles, map, sourcesContent);
}
