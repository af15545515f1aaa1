import fs from 'node:fs';
import path from 'node:path';
import { compilerFor } from './compilers.ts';
import { joinCss, type Part } from './bundle.ts';
import { minifyJs } from './minify.ts';
import { outputName } from './fingerprint.ts';
import { outputsOf, type FileEntry, type OutputEntry } from './manifest.ts';
import { isEsModule } from './js-module.ts';
import { rewriteModuleImports } from './js-imports.ts';
import { mapSource, stripMapComment, type SourceMap } from './sourcemaps.ts';
import { assetKind, isMinName } from './asset-kind.ts';
import type { BuildContext } from './build-steps.ts';

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
  const esm = kind === 'js' && (/\.mjs$/i.test(rel) || isEsModule(source.code));
  // A `.min` twin beside the source is used as the minified form (useExistingMinFiles); not for a module, whose imports are rewritten.
  const twin = !compilerFor(rel) && !alreadyMin && !esm && config.useExistingMinFiles ? finder.tryFind(rel.replace(/\.(css|js)$/i, '.min.$1')) : undefined;
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
    // A plain file is its own source; processed code gets an intermediate name chained away.
    const name = processed.map ? mapSource(`${inputs.inputName(found.abs)}.__processed__`) : source.name;
    const input = { rel, name, code: processed.code, ...(processed.map ? { map: processed.map } : {}) };
    minified = kind === 'css' ? steps.minifiedCss(input) : minifyJs(input, config.engines.js, steps.maps);
  }
  const out = outputs.write((h) => outputName(rel, h, !alreadyMin), minified.code, kind, minified.map);
  const entry: FileEntry = { ...out, source: rel, inputs: inputs.inputsOf(deps), ...(plainOut ? { plain: plainOut.path } : {}), ...(esm ? { module: true as const } : {}) };
  // The plain copy's twins land after it is written (off the main thread): read them when saved.
  const plainCopy = plainOut;
  if (plainCopy) Object.defineProperty(entry, 'plainFiles', { enumerable: true, configurable: true, get: () => outputsOf(plainCopy).slice(1) });
  return entry;
}
