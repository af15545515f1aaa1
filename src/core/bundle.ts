import postcss, { type AtRule, type ChildNode, type Root } from 'postcss';
import valueParser from 'postcss-value-parser';
import { ConvoyError } from '../errors.ts';
import { rewriteUrls, urlTarget, type Locate, type UrlContext } from './css-urls.ts';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { MAP_SCHEME, concatMaps, displayName, identityMap, stripMapComment, type SourceMap } from './sourcemaps.ts';

/** One input of a join: its source name, its code and (for compiled code) the map to its sources. */
export interface Part {
  /** The source it came from (relative to its root), for messages and url() resolution. */
  rel: string;
  /** Its name in source maps: the root-relative path of the original, or of a compiled intermediate. */
  name: string;
  code: string;
  map?: SourceMap;
}

/** Joined code with its map to the parts' names, and the maps of compiled parts to chain on. */
export interface Joined {
  code: string;
  /** Absent when maps are off. */
  map?: SourceMap;
  inner: Map<string, SourceMap>;
}

/** What joining CSS needs from the pipeline. */
export interface CssJoinContext extends UrlContext {
  /** Inline local @imports (bundles) instead of rewriting them to fingerprinted URLs (single files). */
  inlineImports: boolean;
  /** Loads (compiling if needed) a stylesheet an @import names; the pipeline records it as an input. */
  loadCss(rel: string): Part;
}

// postcss needs file names; a virtual folder keeps the map's sources equal to the parts' names.
const VIRTUAL = '/__convoy__/';

/** `file:line` of a node: the original's line when the part was compiled (through its map). */
function locator(part: Part): Locate {
  let traced: TraceMap | undefined;
  return (node) => {
    const line = node.source?.start?.line;
    if (line === undefined) return part.rel;
    if (!part.map) return `${part.rel}:${line}`;
    traced ??= new TraceMap(part.map as never);
    const pos = originalPositionFor(traced, { line, column: Math.max(0, (node.source?.start?.column ?? 1) - 1) });
    return pos.source && pos.line ? `${displayName(pos.source)}:${pos.line}` : part.rel;
  };
}

/**
 * The blocks that give inlined rules the meaning an `@import … layer(x) supports(y) media` had,
 * outermost first: `@layer x {}` (anonymous `layer` → `@layer {}`), `@supports y {}`, `@media {}`.
 */
function importConditions(rest: valueParser.Node[], at: AtRule): AtRule[] {
  const out: AtRule[] = [];
  const args = [...rest];
  while (args[0]?.type === 'space') args.shift();
  let i = 0;
  const skip = () => {
    while (args[i]?.type === 'space') i++;
  };
  const first = args[0];
  if (first && first.value.toLowerCase() === 'layer' && (first.type === 'word' || first.type === 'function')) {
    const name = first.type === 'function' ? valueParser.stringify(first.nodes).trim() : '';
    out.push(postcss.atRule({ name: 'layer', params: name, source: at.source }));
    i++;
  }
  skip();
  const cond = args[i];
  if (cond && cond.type === 'function' && cond.value.toLowerCase() === 'supports') {
    const inner = valueParser.stringify(cond.nodes).trim();
    // supports(display: grid) holds a declaration, which @supports writes in parentheses.
    const declaration = cond.nodes.some((n) => n.type === 'div' && n.value === ':');
    out.push(postcss.atRule({ name: 'supports', params: declaration ? `(${inner})` : inner, source: at.source }));
    i++;
  }
  skip();
  const media = valueParser.stringify(args.slice(i)).trim();
  if (media) out.push(postcss.atRule({ name: 'media', params: media, source: at.source }));
  return out;
}

/** Counts of work done by joins, for tests that check large inputs cost linear time. */
export const joinWork = { detached: 0 };

/**
 * The nodes of a parsed root, taken out of it. postcss's `append` removes a node from its old
 * parent with an index search and a splice, which made joining N rules O(N²) (80k rules: 11 s);
 * detached nodes move in O(1) each.
 */
function detach(root: Root): ChildNode[] {
  const nodes = root.nodes;
  root.nodes = [];
  for (const node of nodes) node.parent = undefined;
  joinWork.detached += nodes.length;
  return nodes;
}

/**
 * Joins stylesheets into one, keeping the cascade: url()s are rewritten for the output's folder,
 * local @imports inlined in place (wrapped in @media when they had a media list), a single
 * @charset kept at the top; an @import's layer()/supports()/media become @layer/@supports/@media
 * blocks around what it inlines. Anything that cannot keep its meaning in one file (an external
 * @import after rules, an @import left inside such a block, a cycle) refuses the join with E_BUNDLE.
 */
export function joinCss(parts: Part[], ctx: CssJoinContext, wantMap = true): Joined {
  const inner = new Map<string, SourceMap>();
  let charset = false;
  let emitted = false;

  const collect = (part: Part, stack: string[]): ChildNode[] => {
    if (stack.includes(part.rel)) {
      throw new ConvoyError('E_BUNDLE', `@import cycle: ${[...stack, part.rel].join(' → ')}`, { file: part.rel });
    }
    if (part.map) inner.set(part.name, part.map);
    let root;
    try {
      root = postcss.parse(stripMapComment(part.code), { from: VIRTUAL + part.name.replace(MAP_SCHEME, ''), map: { prev: false } });
    } catch (cause) {
      const c = cause as { reason?: string; line?: number; column?: number };
      throw new ConvoyError('E_MINIFY', `CSS syntax error: ${c.reason ?? String(cause)}`, { file: displayName(part.name), line: c.line, column: c.column, cause });
    }
    // The code is text already: the pipeline decoded it by its @charset (decode.ts), so any
    // @charset left here is stale and the output, UTF-8, declares that once at the top.
    root.each((node) => {
      if (node.type === 'atrule' && node.name.toLowerCase() === 'charset') {
        charset = true;
        node.remove();
      }
    });
    rewriteUrls(root, part.rel, ctx, !ctx.inlineImports, locator(part));
    const out: ChildNode[] = [];
    // Whether this file had a rule before: browsers ignore any @import after one (only @charset
    // and `@layer a, b;` statements may precede), so the bundle leaves such an @import out too.
    let ruleBefore = false;
    for (const node of detach(root)) {
      if (node.type === 'atrule' && node.name.toLowerCase() === 'import' && ctx.inlineImports && ruleBefore) {
        ctx.warn(`${part.rel}:${node.source?.start?.line ?? '?'}: @import ${node.params} follows other rules, so browsers ignore it; left out of the bundle too`);
        continue;
      }
      if (node.type !== 'comment' && !(node.type === 'atrule' && (node.name.toLowerCase() === 'import' || (node.name.toLowerCase() === 'layer' && !node.nodes)))) {
        ruleBefore = true;
      }
      if (node.type === 'atrule' && node.name.toLowerCase() === 'import' && ctx.inlineImports) {
        // Spaces stay in `rest`: a media query needs them (`screen and (…)`).
        const all = valueParser(node.params).nodes;
        const at = all.findIndex((n) => n.type !== 'space');
        const first = all[at];
        const rest = all.slice(at + 1);
        const url = first?.type === 'string' ? first.value : first?.type === 'function' && first.value.toLowerCase() === 'url' ? first.nodes[0]?.value : undefined;
        const conditions = valueParser.stringify(rest).trim();
        const target = url === undefined ? undefined : urlTarget(url, part.rel, ctx.staticPath);
        const line = node.source?.start?.line;
        if (target && target !== 'escapes') {
          const imported = ctx.loadCss(target.rel);
          const nodes = collect(imported, [...stack, part.rel]);
          const wrappers = importConditions(rest, node);
          if (wrappers.length) {
            // Browsers ignore an @import inside a block: such a file cannot be wrapped.
            const kept = nodes.find((n) => n.type === 'atrule' && n.name.toLowerCase() === 'import');
            if (kept) {
              throw new ConvoyError('E_BUNDLE', `${target.rel} keeps an @import (${(kept as AtRule).params}) that cannot sit inside the @${wrappers[0]!.name} its @import ${conditions} needs`, { file: part.rel, line });
            }
            let content: ChildNode[] = nodes;
            for (const wrapper of [...wrappers].reverse()) {
              wrapper.raws.semicolon = true;
              wrapper.append(content);
              content = [wrapper];
            }
            out.push(content[0]!);
          } else {
            // No spread: an imported file may hold more rules than call arguments allow.
            for (const n of nodes) out.push(n);
          }
          emitted = true;
          continue;
        }
        if (emitted) {
          throw new ConvoyError('E_BUNDLE', `@import ${node.params} would follow other rules in the bundle, where browsers ignore it`, { file: part.rel, line });
        }
      } else if (node.type !== 'comment') {
        emitted = true;
      }
      out.push(node);
    }
    return out;
  };

  const bundle = postcss.root();
  // Each part's last statement keeps its `;` (`@import url(x)` at the end of a main.css).
  bundle.raws.semicolon = true;
  for (const part of parts) bundle.append(collect(part, []));
  const result = bundle.toResult(wantMap ? { to: VIRTUAL + 'out.css', map: { inline: false, annotation: false, sourcesContent: true } } : { map: false });
  let code = result.css;
  const map = wantMap ? (result.map.toJSON() as unknown as SourceMap) : undefined;
  if (map) map.sources = map.sources.map((s) => MAP_SCHEME + s);
  if (charset) {
    code = `@charset "UTF-8";\n${code}`;
    if (map) map.mappings = `;${map.mappings}`;
  }
  return { code, ...(map ? { map } : {}), inner };
}

/**
 * Joins scripts so each runs as it did in its own <script>: every part ends on its own line and
 * with a `;`, so a trailing line comment or a missing semicolon cannot swallow or call into the
 * next part (`a = b` followed by `(function(){})()`).
 */
export function joinJs(parts: Part[], wantMap = true): Joined {
  const inner = new Map<string, SourceMap>();
  const pieces: { line: number; map: SourceMap }[] = [];
  let code = '';
  let line = 0;
  for (const part of parts) {
    let text = stripMapComment(part.code).replace(/\s+$/, '');
    const lastLine = text.slice(text.lastIndexOf('\n') + 1);
    // A `;` that may sit inside a trailing line comment does not count.
    text += text.endsWith(';') && !lastLine.includes('//') ? '\n' : '\n;\n';
    if (wantMap) pieces.push({ line, map: part.map ?? identityMap(part.code, part.name, part.code) });
    code += text;
    line += text.split('\n').length - 1;
  }
  return { code, ...(wantMap ? { map: concatMaps(pieces) } : {}), inner };
}
