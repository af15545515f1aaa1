import path from 'node:path';
import { fileURLToPath } from 'node:url';
import remapping from '@jridgewell/remapping';
import { FlattenMap, TraceMap, encodedMappings, type SectionedSourceMap } from '@jridgewell/trace-mapping';

/** A version 3 source map as JSON. */
export interface SourceMap {
  version: 3;
  file?: string;
  sourceRoot?: string;
  sources: string[];
  sourcesContent?: (string | null)[];
  names: string[];
  mappings: string;
}

/** A piece of generated code with the map back to its sources (absent: the code is its own source). */
export interface Mapped {
  code: string;
  map?: SourceMap;
}

/**
 * While maps are chained, every source is named `convoy:///<path from root>`: an absolute URL, so
 * chaining never resolves one name against another's folder. Written maps drop the prefix.
 */
export const MAP_SCHEME = 'convoy:///';

/**
 * Stands for a `..` segment inside chain names: URL resolution inside the map libraries drops a
 * leading `..` (`convoy:///../x` → `convoy:///x`), so a source outside the root would lose its
 * name and its compiled map would no longer chain.
 */
const UP = '__convoy_up__';

/** The in-chain name of a file (`static/css/a.css` → `convoy:///static/css/a.css`; `../x` kept via UP). */
export function mapSource(rootRelative: string): string {
  return MAP_SCHEME + rootRelative.split('/').map((s) => (s === '..' ? UP : s)).join('/');
}

/** A map as written: sources relative to the project root, as in the manifest. */
export function finalMap(map: SourceMap): SourceMap {
  return { ...map, sources: map.sources.map((s) => displayName(s)) };
}

/** A written map brought back into a chain. */
export function chainable(map: SourceMap): SourceMap {
  return { ...map, sources: map.sources.map((s) => (s.startsWith(MAP_SCHEME) ? s : mapSource(s))) };
}

/**
 * Rewrites a map's sources (file URLs, absolute paths) as chain names relative to `root`, so maps
 * are the same in any checkout folder.
 */
export function portableSources(map: SourceMap, root: string, fromDir = root): SourceMap {
  const sources = map.sources.map((s) => {
    let abs: string;
    if (s.startsWith('file://')) abs = fileURLToPath(s);
    else if (path.isAbsolute(s)) abs = s;
    else if (/^[a-z]+:/i.test(s)) return s;
    else abs = path.resolve(fromDir, map.sourceRoot ?? '', s);
    return mapSource(path.relative(root, abs).split(path.sep).join('/'));
  });
  const { sourceRoot: _drop, ...rest } = map;
  return { ...rest, sources };
}

/**
 * An identity map naming `source`: every line of `code` maps to itself, token by token; with
 * `offset` (0-based), `code` is a slice of `source` starting at that line and column.
 */
export function identityMap(code: string, source: string, content?: string, offset = { line: 0, column: 0 }): SourceMap {
  // Segments at every token start keep columns exact for any identifier a consumer looks up.
  let mappings = '';
  let prevCol = 0;
  let prevLine = 0;
  const lines = code.split('\n');
  for (let line = 0; line < lines.length; line++) {
    if (line > 0) mappings += ';';
    let genCol = 0;
    let first = true;
    const re = /[A-Za-z_$][\w$]*|\d+|[^\s\w$]/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(lines[line]!))) {
      const col = m.index;
      const srcLine = line + offset.line;
      const srcCol = col + (line === 0 ? offset.column : 0);
      mappings += (first ? '' : ',') + vlq(col - genCol) + vlq(0) + vlq(srcLine - prevLine) + vlq(srcCol - prevCol);
      genCol = col;
      prevLine = srcLine;
      prevCol = srcCol;
      first = false;
    }
  }
  return { version: 3, sources: [source], names: [], mappings, ...(content !== undefined ? { sourcesContent: [content] } : {}) };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function vlq(n: number): string {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = '';
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v > 0) digit |= 32;
    out += B64[digit];
  } while (v > 0);
  return out;
}

/** Joins the maps of concatenated pieces (each starting at `line`) into one flat map. */
export function concatMaps(pieces: { line: number; map: SourceMap }[], file?: string): SourceMap {
  const sectioned: SectionedSourceMap = {
    version: 3,
    sections: pieces.map(({ line, map }) => ({ offset: { line, column: 0 }, map: map as never })),
  };
  return toSourceMap(new FlattenMap(sectioned), file);
}

function toSourceMap(tm: TraceMap, file?: string): SourceMap {
  return {
    version: 3,
    ...(file ? { file } : {}),
    sources: tm.sources.map((s) => s ?? ''),
    sourcesContent: tm.sourcesContent ?? undefined,
    names: tm.names,
    mappings: encodedMappings(tm),
  } as SourceMap;
}

/**
 * Chains maps: `outer` maps the final code to an intermediate, each of whose sources may have a
 * map of its own in `inner` (by source name). The result maps the final code to the originals.
 */
export function chainMaps(outer: SourceMap, inner: Map<string, SourceMap>, sourcesContent: boolean): SourceMap {
  const result = remapping(outer as never, (source) => (inner.get(source) as never) ?? null, { excludeContent: !sourcesContent });
  const out = JSON.parse(result.toString()) as SourceMap;
  return out;
}

/** Drops `sourcesContent` when it is not wanted. */
export function withContent(map: SourceMap, sourcesContent: boolean): SourceMap {
  if (sourcesContent) return map;
  const { sourcesContent: _drop, ...rest } = map;
  return rest;
}

/**
 * Removes every `sourceMappingURL` comment a source brought along, wherever it sits (first line,
 * last line, tabs or trailing blanks around it): it would name a map that is not beside the
 * output, so the output's own map comment (or none) replaces it. Line breaks stay, so lines keep
 * their numbers. Like browsers and Django, only the exact spelling `sourceMappingURL` counts.
 */
export function stripMapComment(code: string): string {
  if (!code.includes('sourceMappingURL=')) return code;
  return code
    .replace(/^[ \t]*\/\/[#@][ \t]+sourceMappingURL=[^\r\n]*/gm, '')
    .replace(/\/\*[#@][ \t]+sourceMappingURL=[^*]*\*+\//g, '')
    .replace(/\s+$/, (tail) => (tail.includes('\n') ? '\n' : ''));
}

/** The file an intermediate map name stands for (`x.scss.__compiled__` → `x.scss`). */
export function displayName(name: string): string {
  const bare = name.replace(MAP_SCHEME, '').replace(/\.__(processed|compiled|joined)__$/, '');
  return bare.split('/').map((s) => (s === UP ? '..' : s)).join('/');
}
