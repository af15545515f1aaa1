import fs from 'node:fs';
import path from 'node:path';
import { compilerFor } from './compilers.ts';
import { joinCss, type Part } from './bundle.ts';
import { outputName } from './fingerprint.ts';
import { outputsOf, type FileEntry, type OutputEntry } from './manifest.ts';
import { isEsModule } from './js-module.ts';
import { rewriteModuleImports } from './js-imports.ts';
import { mapSource, stripMapComment, type SourceMap } from './sourcemaps.ts';
import type { MinifyInput } from './minify.ts';
import { assetKind, isMinName } from './asset-kind.ts';
import type { BuildContext } from './build-steps.ts';

/** A `.min` twin beside the source, used as the minified form (useExistingMinFiles); not for a module, whose imports are rewritten. */
/** Whether a script is an ES module (`.mjs`, or import/export in its code): its imports are rewritten, it is never minified from a `.min` twin. */
const isModuleScript = (rel: string, code: string) => /\.mjs$/i.test(rel) || isEsModule(code);

function minTwinOf(ctx: BuildContext, rel: string, esm: boolean) {
  return !compilerFor(rel) && !isMinName(rel) && !esm && ctx.config.useExistingMinFiles ? ctx.finder.tryFind(rel.replace(/\.(css|js)$/i, '.min.$1')) : undefined;
}

/** What a source's minification is given: a plain file is its own source; processed code gets an intermediate name chained away. */
function minifyInputOf(ctx: BuildContext, rel: string, abs: string, processed: { code: string; map?: SourceMap }, sourceName: string): MinifyInput {
  const name = processed.map ? mapSource(`${ctx.inputs.inputName(abs)}.__processed__`) : sourceName;
  return { rel, name, code: processed.code, ...(processed.map ? { map: processed.map } : {}) };
}

/**
 * The input `buildAsset` will minify a plain JavaScript source from, or undefined when it will
 * not minify it or the guess would need work a build does once (compiling): the build hands
 * these to a worker ahead of time (see minify-ahead.ts). Throws what loading the source throws.
 */
export function jsMinifyInputAhead(ctx: BuildContext, rel: string, abs: string): MinifyInput | undefined {
  if (assetKind(rel) !== 'js' || compilerFor(rel) || isMinName(rel)) return undefined;
  const source = ctx.steps.part(rel, abs);
  if (isModuleScript(rel, source.code) || minTwinOf(ctx, rel, false)) return undefined;
  return minifyInputOf(ctx, rel, abs, source, source.name);
}

/**
 * Builds the processed (minified, fingerprinted) form of one source and, with `plain`, its
 * unminified copy; returns the manifest entry (the caller records it).
 */
export function buildAsset(ctx: BuildContext, requested: string, plain: boolean): FileEntry {
  const { config, finder, steps, outputs, inputs } = ctx;
  const found = finder.find(requested);
  const rel = found.rel;
  const kind = assetKind(rel);
  if (kind === 'other') {
    const bytes = fs.readFileSync(found.abs);
    const out = outputs.write((h) => outputName(rel, h, false), bytes, 'other');
    return { ...out, source: rel, inputs: inputs.inputsOf([found.abs]) };
  }
  const deps = new Set<string>([found.abs]);
  const alreadyMin = isMinName(rel);
  const source = steps.part(rel, found.abs);
  source.dependencies.forEach((d) => deps.add(d));
  // CoffeeScript with import/export compiles to an unwrapped module: its output is what counts.
  const esm = kind === 'js' && isModuleScript(rel, source.code);
  const twin = minTwinOf(ctx, rel, esm);
  // CSS gets its url()s rewritten for the output's folder (a file joined with itself).
  const urls = (p: Part): { code: string; map?: SourceMap } => {
    // Nothing to rewrite and no map to carry: skip the parse (css-urls rewrites only these).
    if (!steps.maps && !/url\(|@import|@charset/i.test(p.code)) return { code: stripMapComment(p.code) };
    const j = joinCss([p], steps.cssContext(path.posix.dirname(rel), false, deps), steps.maps);
    const map = steps.chained(j);
    return { code: j.code, ...(map ? { map } : {}) };
  };
  const processed: { code: string; map?: SourceMap } =
    kind === 'css' ? urls(source) : esm ? { ...source, code: rewriteModuleImports(source.code, rel, steps.cssContext(path.posix.dirname(rel), false, deps)) } : source;
  let plainOut: OutputEntry | undefined;
  if (plain && !alreadyMin) {
    plainOut = outputs.write((h) => outputName(rel, h, false), processed.code, kind, processed.map, 'plain');
  }
  let minified: { code: string; map?: SourceMap };
  if (alreadyMin) {
    minified = processed;
  } else if (twin) {
    deps.add(twin.abs);
    const twinPart = steps.part(twin.rel, twin.abs);
    minified = kind === 'css' ? urls(twinPart) : { code: twinPart.code };
  } else {
    ctx.stats.minifies++;
    const input = minifyInputOf(ctx, rel, found.abs, processed, source.name);
    minified = kind === 'css' ? steps.minifiedCss(input) : steps.minifiedJs(input);
  }
  const out = outputs.write((h) => outputName(rel, h, !alreadyMin), minified.code, kind, minified.map);
  const entry: FileEntry = { ...out, source: rel, inputs: inputs.inputsOf(deps), ...(plainOut ? { plain: plainOut.path } : {}), ...(esm ? { module: true as const } : {}) };
  // The plain copy's twins land after it is written (off the main thread): read them when saved.
  const plainCopy = plainOut;
  if (plainCopy) Object.defineProperty(entry, 'plainFiles', { enumerable: true, configurable: true, get: () => outputsOf(plainCopy).slice(1) });
  return entry;
}
