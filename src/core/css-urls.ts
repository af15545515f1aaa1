import path from 'node:path';
import type { Node, Root } from 'postcss';
import valueParser from 'postcss-value-parser';

/** What rewriting needs from the pipeline. */
export interface UrlContext {
  /** Folder of the output (relative to staticRoot, `/`-separated) that URLs become relative to. */
  outDir: string;
  /** URL path of staticRoot (`/static/`), so root-relative references to it map to sources. */
  staticPath: string;
  /** The output path (relative to staticRoot) of a source, or undefined when it does not exist; the pipeline records it as an input. */
  resolveTarget(rel: string): string | undefined;
  /** Told about each reference left as it was because its target is missing. */
  warn(message: string): void;
  /** The absolute URL of an output (for references resolved against the page, not the stylesheet). */
  absoluteUrl?(outputPath: string): string;
}

/** A reference split into the source it names and the query/fragment that travel with it. */
export interface UrlTarget {
  rel: string;
  suffix: string;
}

/**
 * The source a CSS reference points at, or undefined for references that are not ours to rewrite
 * (data:, other schemes, protocol-relative, fragments, root paths outside staticUrl).
 */
export function urlTarget(url: string, fromRel: string, staticPath: string): UrlTarget | undefined | 'escapes' {
  const trimmed = url.trim();
  if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith('//') || /^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return undefined;
  const cut = trimmed.search(/[?#]/);
  const bare = cut === -1 ? trimmed : trimmed.slice(0, cut);
  const suffix = cut === -1 ? '' : trimmed.slice(cut);
  let decoded: string;
  try {
    decoded = decodeURI(bare);
  } catch {
    return undefined;
  }
  let rel: string;
  if (decoded.startsWith('/')) {
    if (!decoded.startsWith(staticPath)) return undefined;
    rel = path.posix.normalize(decoded.slice(staticPath.length));
  } else {
    rel = path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), decoded));
  }
  if (rel.startsWith('../') || rel === '..' || rel.startsWith('/')) return 'escapes';
  return { rel, suffix };
}

/** The URL of `outputPath` as written in a file that lives in `outDir`. */
export function relativeUrl(outDir: string, outputPath: string): string {
  const rel = path.posix.relative(outDir || '.', outputPath);
  return encodeURI(rel);
}

/** Where a node came from, for messages (`css/a.css:12`, through the part's map when compiled). */
export type Locate = (node: Node) => string;

/**
 * Rewrites every `url()` in declarations (and `@import` with `rewriteImports`) of a stylesheet
 * that came from `fromRel`, so it names the fingerprinted output relative to `ctx.outDir`. The
 * `src=` of old IE `filter: progid:…(src=…)` values is resolved against the page, not the
 * stylesheet, so it becomes the absolute URL (as django-compressor's CssAbsoluteFilter does).
 */
export function rewriteUrls(root: Root, fromRel: string, ctx: UrlContext, rewriteImports: boolean, locate?: Locate): void {
  let at = fromRel;
  const rewrite = (url: string, absolute = false): string | undefined => {
    const target = urlTarget(url, fromRel, ctx.staticPath);
    if (target === undefined) return undefined;
    if (target === 'escapes') {
      ctx.warn(`${at}: url(${url}) points outside the source roots; left as it is`);
      return undefined;
    }
    const out = ctx.resolveTarget(target.rel);
    if (out === undefined) {
      // In a file that moved (a bundle), the reference still names the URL it named before.
      const moved = !absolute && ctx.outDir !== path.posix.dirname(fromRel) && !url.trim().startsWith('/');
      ctx.warn(`${at}: url(${url}) names ${target.rel}, which is in no source root; ${moved ? 'kept pointing at the same URL' : 'left as it is'}`);
      return moved ? relativeUrl(ctx.outDir, target.rel) + target.suffix : undefined;
    }
    return (absolute && ctx.absoluteUrl ? ctx.absoluteUrl(out) : relativeUrl(ctx.outDir, out)) + target.suffix;
  };
  const rewriteValue = (value: string, alsoBareStrings: boolean): string => {
    const parsed = valueParser(value);
    let changed = false;
    parsed.walk((node) => {
      if (node.type === 'function' && node.value.toLowerCase() === 'url') {
        const arg = node.nodes[0];
        if (arg && (arg.type === 'word' || arg.type === 'string')) {
          const next = rewrite(arg.value);
          if (next !== undefined) {
            arg.value = next;
            changed = true;
          }
        }
        return false;
      }
      if (alsoBareStrings && node.type === 'string') {
        const next = rewrite(node.value);
        if (next !== undefined) {
          node.value = next;
          changed = true;
        }
      }
      return undefined;
    });
    return changed ? parsed.toString() : value;
  };
  const place = (node: Node) => {
    at = locate ? locate(node) : node.source?.start ? `${fromRel}:${node.source.start.line}` : fromRel;
  };
  root.walkDecls((decl) => {
    if (/url\(/i.test(decl.value)) {
      place(decl);
      decl.value = rewriteValue(decl.value, false);
    }
    if (/filter$/i.test(decl.prop) && /\bsrc\s*=/i.test(decl.value)) {
      place(decl);
      decl.value = decl.value.replace(/(\bsrc\s*=\s*)(['"]?)([^'",)\s]+)\2/gi, (whole, eq: string, q: string, url: string) => {
        const next = rewrite(url, true);
        return next === undefined ? whole : `${eq}${q}${next}${q}`;
      });
    }
  });
  if (rewriteImports) {
    root.walkAtRules(/^import$/i, (rule) => {
      place(rule);
      rule.params = rewriteValue(rule.params, true);
    });
  }
}
