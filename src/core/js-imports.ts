import path from 'node:path';
import { relativeUrl, urlTarget } from './css-urls.ts';

/** What rewriting a module's imports needs from the pipeline (the same resolver CSS url()s use). */
export interface ImportContext {
  /** URL path of staticRoot (`/static/`), so root-relative specifiers map to sources. */
  staticPath: string;
  /** The output path of a source, built if needed, or undefined when it does not exist. */
  resolveTarget(rel: string): string | undefined;
  warn(message: string): void;
}

// `import … from '…'` / `export … from '…'`, `import('…')`, `import '…'` (in that order of trial).
const SPECIFIER = /(\b(?:import|export)\s*[\w$*{][^;'"`]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)(['"])([^'"\n]+)\2/g;

/**
 * Rewrites the relative and staticUrl specifiers of an ES module's static imports, re-exports
 * and literal dynamic imports to the fingerprinted outputs of their targets (as Django's
 * ManifestStaticFilesStorage does for JS modules), so the processed module still finds them.
 * Bare specifiers (import maps, packages) are left alone. Lines keep their count, so maps stay
 * exact to the line.
 */
export function rewriteModuleImports(code: string, rel: string, ctx: ImportContext): string {
  const outDir = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
  return code.replace(SPECIFIER, (whole, head: string, quote: string, spec: string) => {
    if (!/^(\.{1,2}\/|\/)/.test(spec)) return whole;
    const target = urlTarget(spec, rel, ctx.staticPath);
    if (target === undefined) return whole;
    if (target === 'escapes') {
      ctx.warn(`${rel}: import ${spec} leaves the source roots; left as written`);
      return whole;
    }
    const out = ctx.resolveTarget(target.rel);
    if (!out) {
      ctx.warn(`${rel}: import ${spec}: ${target.rel} not found in the source roots; left as written`);
      return whole;
    }
    const url = relativeUrl(outDir, out);
    // A module specifier must start with ./ or ../ to be relative (a bare name is a package).
    return `${head}${quote}${url.startsWith('../') ? url : `./${url}`}${target.suffix}${quote}`;
  });
}
