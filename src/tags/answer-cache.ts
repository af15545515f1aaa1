import type { Pipeline } from '../core/pipeline.ts';
import type { UrlTag } from './runtime-types.ts';

/**
 * Production answers of the tags, kept until the manifest is reloaded: a render-time argument then
 * costs one map lookup after the first render. Only answers given without a warning are kept.
 */
export class AnswerCache {
  /** Answers by key (and gzip choice), for `cached`. */
  private readonly printed = new Map<string, unknown>();
  private printedOf: unknown;
  /**
   * The hot path of a printed tag with a render-time path (gzipInTemplate off): URL by raw path,
   * one map per tag, so a hit is a single Map lookup with no key to build. Valid for `urlsOf`.
   */
  private readonly urls: Record<UrlTag, Map<string, string>> = { convoy: new Map(), scss: new Map(), coffee: new Map(), less: new Map() };
  private urlsOf: unknown;

  constructor(private readonly pipeline: Pipeline) {}

  /**
   * A production answer kept per key (and gzip choice) until the manifest is reloaded. Fallbacks
   * are not kept: the next render tries again (the warning is still logged once).
   */
  cached<T>(key: string, gzip: boolean, make: () => T): T {
    if (this.printedOf !== this.pipeline.manifest || this.printed.size > 10_000) {
      this.printed.clear();
      this.printedOf = this.pipeline.manifest;
    }
    const full = `${gzip ? 'gz' : ''}\0${key}`;
    if (this.printed.has(full)) return this.printed.get(full) as T;
    const warnedBefore = this.pipeline.warnings;
    const value = make();
    if (value !== undefined && this.pipeline.warnings === warnedBefore) this.printed.set(full, value);
    return value;
  }

  /** The URL kept for a printed `tag` and raw `path` under the current manifest, if any. */
  knownUrl(tag: UrlTag, path: string): string | undefined {
    if (this.urlsOf !== this.pipeline.manifest) return undefined;
    return this.urls[tag].get(path);
  }

  /** Keeps a URL for `knownUrl` (the caller has checked that it cannot change until the manifest does). */
  keepUrl(tag: UrlTag, path: string, url: string): void {
    if (this.urlsOf !== this.pipeline.manifest) {
      for (const m of Object.values(this.urls)) m.clear();
      this.urlsOf = this.pipeline.manifest;
    }
    const urls = this.urls[tag];
    if (urls.size >= 10_000) urls.clear();
    urls.set(path, url);
  }
}
