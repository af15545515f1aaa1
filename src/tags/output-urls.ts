import type { ConvoyConfig } from '../config.ts';
import { safeRelative } from '../core/finder.ts';
import type { OutputEntry } from '../core/manifest.ts';
import type { Pipeline } from '../core/pipeline.ts';
import type { Printed, UrlTag } from './runtime-types.ts';

/** The URL an output prints as: its gzip twin when the template picks encodings, the app's copy while a bucket lacks it. */
export function chooseUrl(config: ConvoyConfig, pipeline: Pipeline, entry: OutputEntry, acceptEncoding: string | undefined): string {
  const file = config.gzipInTemplate && entry.variants.gz && acceptEncoding && /\bgzip\b/i.test(acceptEncoding) ? entry.variants.gz : entry.path;
  // Built by this request while assets live in a bucket: the bucket has no such object until the
  // next build and publish, so the page links the app's own copy (served by `serve()`) meanwhile.
  if (entry.quick && config.publish.bucket) return pipeline.staticPath + file;
  return pipeline.url(file);
}

/** ` integrity="…"` (and `crossorigin` when assets come from another origin), or nothing. */
export function integrityAttrs(config: ConvoyConfig, entry: { integrity?: string } | undefined): string {
  if (!config.integrity || !entry?.integrity) return '';
  // Same-origin requests are checked without CORS; a CDN origin needs crossorigin for SRI to apply.
  const crossOrigin = /^([a-z][a-z0-9+.-]*:)?\/\//i.test(config.staticUrl);
  return ` integrity="${entry.integrity}"${crossOrigin ? ' crossorigin="anonymous"' : ''}`;
}

/** What a failed tag prints: the source URL (convoy), or the last good build / an error asset (scss, coffee). */
export function fallbackUrl(config: ConvoyConfig, pipeline: Pipeline, tag: UrlTag, path: string): Printed {
  let rel: string;
  try {
    rel = safeRelative(path);
  } catch {
    return { url: '' };
  }
  if (tag === 'convoy') return { url: config.staticUrl + rel };
  const lastGood = pipeline.manifest.data.files[rel];
  if (lastGood && !config.debug) return { url: pipeline.url(lastGood.path), integrity: lastGood.integrity };
  let error: unknown;
  try {
    pipeline.compile(rel);
  } catch (e) {
    error = e;
  }
  return { url: pipeline.url(pipeline.errorAsset(rel, error ?? 'build failed')) };
}
