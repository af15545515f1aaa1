import { safeRelative } from './finder.ts';
import type { OutputEntry } from './manifest.ts';

/**
 * Which source a public URL stands for: outputs remembered as they are built or loaded from the
 * manifest, debug error assets (standing for none), else a plain path under the static URL.
 */
export class UrlSources {
  /** Output URL path → source, for mapping URLs printed inside a carpool back to their sources. */
  private readonly sources = new Map<string, string>();
  /** URLs of the error stylesheets/scripts shown in debug. */
  private readonly errorUrls = new Set<string>();

  constructor(
    private readonly staticUrl: string,
    private readonly staticPath: string,
  ) {}

  /** The public URL of an output path. */
  url(outputPath: string): string {
    return this.staticUrl + outputPath;
  }

  /** Records an output (and its compressed twins) as standing for `rel`. */
  remember(entry: OutputEntry, rel: string): void {
    for (const p of [entry.path, entry.variants.gz, entry.variants.br]) if (p) this.sources.set(this.url(p), rel);
  }

  /** Records a debug error asset's output path: it stands for no source. */
  rememberError(outputPath: string): void {
    this.errorUrls.add(this.url(outputPath));
  }

  /** The source a URL printed by a tag (or a plain staticUrl path) stands for, if any. */
  sourceOf(url: string): string | undefined {
    const bare = url.replace(/[?#].*$/, '');
    const known = this.sources.get(bare);
    if (known) return known;
    // A debug error stylesheet/script stands for no source: a carpool keeps it as written.
    if (this.errorUrls.has(bare)) return undefined;
    for (const prefix of [this.staticUrl, this.staticPath]) {
      if (bare.startsWith(prefix)) {
        try {
          return safeRelative(bare.slice(prefix.length));
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }
}
