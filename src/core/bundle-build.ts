import path from 'node:path';
import { ConvoyError } from '../errors.ts';
import { compilerFor } from './compilers.ts';
import { joinCss, joinJs, type Part } from './bundle.ts';
import { digest } from './fingerprint.ts';
import type { BundleEntry } from './manifest.ts';
import { chainable, mapSource, type SourceMap } from './sourcemaps.ts';
import { assetKind, isMinName } from './asset-kind.ts';
import type { BuildContext } from './build-steps.ts';

/** What a bundle is made of: a source file, or the text of an inline <style>/<script>. */
export type BundleItem = { type: 'file'; rel: string; /** Declared encoding (`<script charset>`). */ charset?: string } | { type: 'inline'; code: string };

/**
 * Builds a carpool bundle of `items` in order (`sources` keys them, `key` names the map's joined
 * stage); returns the manifest entry (the caller records it).
 */
export function buildBundle(ctx: BuildContext, kind: 'css' | 'js', items: BundleItem[], sources: string[], key: string): BundleEntry {
  const { config, finder, steps, stats } = ctx;
  stats.bundles++;
  const deps = new Set<string>();
  const inline: Record<string, string> = {};
  const combineOriginals = config.carpoolCombineOriginals;
  const parts: Part[] = items.map((item, i) => {
    if (item.type === 'inline') {
      inline[sources[i]!] = digest(item.code);
      const p: Part = { rel: `inline <${kind === 'css' ? 'style' : 'script'}> #${i + 1}`, name: mapSource(`${sources[i]}.${kind}`), code: item.code };
      if (kind === 'js' && !combineOriginals) {
        stats.minifies++;
        return { ...p, ...steps.minifiedJs(p) };
      }
      return p;
    }
    const found = finder.find(item.rel);
    if (assetKind(found.rel) !== kind) {
      throw new ConvoyError('E_BUNDLE', `a ${kind} carpool cannot hold ${found.rel}`, { file: found.rel });
    }
    deps.add(found.abs);
    if (kind === 'js' && ctx.isModule(found.rel)) {
      throw new ConvoyError('E_BUNDLE', `${found.rel} is an ES module (import/export): joined into a classic script it is a SyntaxError; give it its own <script type="module">`, { file: found.rel });
    }
    if (item.charset && !/^utf-?8$/i.test(item.charset)) {
      // A declared non-UTF-8 file is decoded by its label here, not shared with `convoy` tags.
      const p = steps.part(found.rel, found.abs, item.charset);
      if (kind === 'js' && !combineOriginals) {
        stats.minifies++;
        return { ...p, ...steps.minifiedJs(p) };
      }
      return p;
    }
    if (kind === 'js' && !combineOriginals) {
      // Join the per-file minified outputs: each is cached and shared with `convoy` tags.
      const entry = ctx.asset(found.rel, 'check');
      for (const input of Object.keys(entry.inputs)) deps.add(path.resolve(config.root, input));
      const code = ctx.storage.read(entry.path)?.toString('utf8') ?? '';
      const mapText = entry.map ? ctx.storage.read(entry.map)?.toString('utf8') : undefined;
      return { rel: found.rel, name: mapSource(found.rel), code, ...(mapText ? { map: chainable(JSON.parse(mapText) as SourceMap) } : {}) };
    }
    const twin = kind === 'css' && !combineOriginals && config.useExistingMinFiles && !compilerFor(found.rel) && !isMinName(found.rel)
      ? finder.tryFind(found.rel.replace(/\.css$/i, '.min.css'))
      : undefined;
    const p = twin ? steps.part(twin.rel, twin.abs) : steps.part(found.rel, found.abs);
    if (twin) deps.add(twin.abs);
    p.dependencies.forEach((d) => deps.add(d));
    return p;
  });
  const outDir = `${config.carpoolPathFragment}/${kind}`;
  const joined = kind === 'css' ? joinCss(parts, steps.cssContext(outDir, true, deps), steps.maps) : joinJs(parts, steps.maps);
  const joinedMap = steps.chained(joined);
  let result: { code: string; map?: SourceMap } = { code: joined.code, ...(joinedMap ? { map: joinedMap } : {}) };
  if (kind === 'css' || combineOriginals) {
    stats.minifies++;
    const input = { rel: `${kind} carpool of ${sources.join(', ')}`, name: mapSource(`${key}.__joined__`), code: result.code, ...(result.map ? { map: result.map } : {}) };
    result = kind === 'css' ? steps.minifiedCss(input) : steps.minifiedJs(input);
  }
  const out = ctx.outputs.write((h) => `${outDir}/${h}.cmin.${kind}`, result.code, kind, result.map);
  return { ...out, kind, sources, inputs: ctx.inputs.inputsOf(deps, inline) };
}
