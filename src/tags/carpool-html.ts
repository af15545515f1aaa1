import type { ConvoyConfig } from '../config.ts';
import { compilerFor } from '../core/compilers.ts';
import { safeRelative } from '../core/finder.ts';
import type { BundleEntry } from '../core/manifest.ts';
import type { BundleItem, Pipeline } from '../core/pipeline.ts';
import type { ConvoyError } from '../errors.ts';
import { entryWhere, type BundleLines, type Fail } from './bundle-lines.ts';
import { MODULE_GROUP, markModules, parseCarpoolBody, toRuns, type BodyAsset, type Run } from './carpool-body.ts';
import { addAttrs, escapeAttr, fill } from './html-attrs.ts';
import { chooseUrl, integrityAttrs } from './output-urls.ts';
import type { Printed, ResolveMode, UrlTag, Where } from './runtime-types.ts';

/** What assembling a carpool's HTML needs of the Convoy: its settings, URL resolution, and bundle building. */
export interface CarpoolHost {
  readonly config: ConvoyConfig;
  readonly pipeline: Pipeline;
  readonly lines: BundleLines;
  readonly fail: Fail;
  rebuildsAny(): boolean;
  resolveUrl(tag: UrlTag, path: unknown, where: Where, mode: ResolveMode, acceptEncoding?: string): Printed | undefined;
  /** Builds a bundle not in the manifest, or undefined when requests may build no more of them. */
  newBundle(kind: 'css' | 'js', items: BundleItem[], where: Where, mode: ResolveMode): BundleEntry | undefined;
}

const safeRelativeOr = (rel: string): string => {
  try {
    return safeRelative(rel);
  } catch {
    return rel;
  }
};

/** The asset of a run a build error is about (the file it names), if any. */
function culprit(run: Extract<Run, { type: 'run' }>, err: unknown): BodyAsset | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const file = (e as ConvoyError).file;
    const hit = file && run.assets.find((a) => a.item.type === 'file' && (a.item.rel === file || safeRelativeOr(a.item.rel) === file));
    if (hit) return hit;
  }
  return undefined;
}

/** Whether a carpool js file is an ES module (unreadable: not one, and the bundle reports why). */
function isModule(pipeline: Pipeline, rel: string, build: boolean): boolean {
  try {
    return pipeline.isModule(rel, build);
  } catch {
    return false;
  }
}

/** One asset of a carpool printed on its own, as the `convoy` (or `scss`/`coffee`) tag would. */
function individualTag(host: CarpoolHost, kind: 'css' | 'js', asset: BodyAsset, where: Where, acceptEncoding?: string): string {
  if (asset.item.type === 'inline') return asset.html ?? '';
  const rel = asset.item.rel;
  // The tag a template would use for this file on its own.
  const printed = host.resolveUrl(compilerFor(rel) ?? 'convoy', rel, where, 'render', acceptEncoding) ?? { url: host.config.staticUrl + rel };
  if (asset.group === MODULE_GROUP) return fill('<script type="module" src="%s"></script>', escapeAttr(printed.url), integrityAttrs(host.config, printed), asset.attrs);
  if (asset.html && asset.url !== undefined) {
    const attr = kind === 'css' ? 'href' : 'src';
    const withUrl = asset.html.replace(new RegExp(`(\\s${attr}\\s*=\\s*)(["']?)[^"'\\s>]*\\2`, 'i'), (_m, pre: string, q: string) => `${pre}${q || '"'}${escapeAttr(printed.url)}${q || '"'}`);
    return /\sintegrity=/i.test(withUrl) ? withUrl : addAttrs(withUrl, integrityAttrs(host.config, printed));
  }
  return fill(kind === 'css' ? host.config.carpoolCssTemplate : host.config.carpoolJsTemplate, printed.url, integrityAttrs(host.config, printed), asset.attrs);
}

/**
 * The HTML for a carpool body (uncached): bundle tags between comments, or the individual tags
 * (debug, a missing bundle with carpoolCombineDuringRequest off, a failure). In `lookup` mode
 * undefined unless every bundle is in the manifest.
 */
export function carpoolHtml(host: CarpoolHost, kind: 'css' | 'js', body: string, where: Where, mode: ResolveMode, acceptEncoding?: string): string | undefined {
  const c = host.config;
  const pipeline = host.pipeline;
  const segments = host.lines.expandGlobLines(parseCarpoolBody(body, kind, (u) => pipeline.sourceOfUrl(u)), kind, where, mode);
  if (!segments) return undefined;
  const runs = toRuns(kind === 'js' ? markModules(segments, (rel) => isModule(pipeline, rel, mode !== 'lookup')) : segments);
  const individual = (run: Extract<Run, { type: 'run' }>) => run.assets.map((a) => individualTag(host, kind, a, entryWhere(where, a), acceptEncoding)).join('\n');
  if (c.debug && !c.carpoolCombineDuringDebug) {
    if (mode === 'lookup') return undefined;
    return runs.map((r) => (r.type === 'raw' ? r.html : individual(r))).join('\n');
  }
  let html = '';
  for (const run of runs) {
    if (run.type === 'raw') {
      html += run.html;
      continue;
    }
    if (run.group === MODULE_GROUP) {
      if (mode === 'lookup' && run.assets.some((a) => a.item.type === 'file' && !pipeline.manifest.data.files[a.item.rel])) return undefined;
      // The template scan builds each module as the convoy tag would (full compression), then prints it.
      if (mode === 'build') for (const a of run.assets) if (a.item.type === 'file') host.resolveUrl('convoy', a.item.rel, where, 'build');
      html += individual(run);
      continue;
    }
    const items: BundleItem[] = run.assets.map((a) => a.item);
    let entry: BundleEntry | undefined;
    try {
      if (mode === 'lookup') {
        entry = pipeline.findBundle(kind, items);
        if (!entry) return undefined;
      } else {
        const rebuild = c.debug || host.rebuildsAny() || mode === 'build';
        entry = rebuild ? undefined : pipeline.findBundle(kind, items);
        if (!entry && (rebuild || c.carpoolCombineDuringRequest)) entry = host.newBundle(kind, items, where, mode);
      }
    } catch (err) {
      if (mode === 'lookup') return undefined;
      host.fail(entryWhere(where, culprit(run, err)), `carpool ${kind}`, err);
      // The scan reports the block as not prebuilt (the build fails); a render falls back.
      if (mode === 'build') return undefined;
    }
    if (!entry) {
      html += individual(run);
      continue;
    }
    const list = entry.sources.join('+++');
    const tag = fill(kind === 'css' ? c.carpoolCssTemplate : c.carpoolJsTemplate, chooseUrl(host.config, pipeline, entry, acceptEncoding), integrityAttrs(host.config, entry), run.attrs);
    html += (c.carpoolStartComment ? c.carpoolStartComment.replace(/%s/g, list) : '') + tag + (c.carpoolEndComment ? c.carpoolEndComment.replace(/%s/g, list) : '');
  }
  return html;
}
