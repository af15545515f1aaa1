import { ConvoyError, messageOf } from '../errors.ts';
import type { ConvoyConfig } from '../config.ts';
import { compilerFor } from '../core/compilers.ts';
import { safeRelative } from '../core/finder.ts';
import type { BundleEntry, FileEntry } from '../core/manifest.ts';
import type { BundleItem, Pipeline } from '../core/pipeline.ts';
import { chooseUrl, fallbackUrl, integrityAttrs } from './output-urls.ts';
import { AnswerCache } from './answer-cache.ts';
import { BundleLines, type RequireCheck } from './bundle-lines.ts';
import { carpoolHtml, type CarpoolHost } from './carpool-html.ts';
import { RequestSaver } from './request-save.ts';
import type { Printed, ResolveMode, UrlTag, Where } from './runtime-types.ts';

export { ConvoyUrl, type Printed, type ResolveMode, type UrlTag, type Where } from './runtime-types.ts';
export { escapeAttr } from './html-attrs.ts';

/** Thrown by `lookup` resolution when the answer is not in the manifest: the tag stays dynamic. */
class NotStatic extends Error {}

/**
 * What the tags do, apart from parsing: resolve a path to the URL to print, turn a carpool body
 * into bundle tags, and fall back (logging once, or throwing in strict mode) when anything fails.
 * The tags, the template scanner and the adapters all call this one object.
 */
export class Convoy {
  /** Production answers for tags with render-time arguments: one map lookup each after the first. */
  private readonly answers: AnswerCache;
  /** Renders are part of a build (Eleventy): what they make is compressed at full strength, not quickly. */
  rendersAreBuilds = false;
  private readonly saver: RequestSaver;
  /** Bundles built during requests by this handle (limited by `maxRequestBundles`). */
  requestBundles = 0;
  private bundleLimitSaid = false;
  /** Glob lines, named bundles and the declared set for `require`. */
  private readonly lines: BundleLines;
  /** What carpool assembly calls back into. */
  private readonly host: CarpoolHost;

  constructor(
    readonly config: ConvoyConfig,
    readonly pipeline: Pipeline,
  ) {
    this.answers = new AnswerCache(pipeline);
    this.saver = new RequestSaver(config, pipeline, () => this.flush());
    this.lines = new BundleLines(config, pipeline, () => this.rebuilds('any'), (where, what, err) => this.fail(where, what, err));
    this.host = {
      config,
      pipeline,
      lines: this.lines,
      fail: (where, what, err) => this.fail(where, what, err),
      rebuildsAny: () => this.rebuilds('any'),
      resolveUrl: (tag, path, where, mode, acceptEncoding) => this.resolveUrl(tag, path, where, mode, acceptEncoding),
      newBundle: (kind, items, where, mode) => this.newBundle(kind, items, where, mode),
    };
  }

  /**
   * Saves what requests built, merged under the lock with what other processes saved. Called by
   * the timer, before the process exits, and by anyone who wants it now (tests, graceful shutdown).
   */
  flush(): boolean {
    return this.saver.flush();
  }

  /** Whether a tag recompiles when its sources change (`scssRebuild`, `coffeeRebuild`, `lessRebuild`). */
  private rebuilds(tag: UrlTag | 'any'): boolean {
    const c = this.config;
    if (tag === 'any') return c.scssRebuild || c.coffeeRebuild || c.lessRebuild;
    return tag === 'scss' ? c.scssRebuild : tag === 'coffee' ? c.coffeeRebuild : tag === 'less' ? c.lessRebuild : false;
  }

  /** Whether answers can be kept: production with rebuilds off, where the manifest does not change. */
  private cacheable(tag: UrlTag): boolean {
    return !this.config.debug && !this.rebuilds(tag);
  }

  /** Whether compile-time resolution from the manifest is allowed for this tag. */
  canResolveStatically(tag: UrlTag | 'carpool'): boolean {
    const c = this.config;
    if (c.debug || c.gzipInTemplate || !this.pipeline.manifest.loaded) return false;
    return tag === 'carpool' || !this.rebuilds(tag);
  }

  private fail(where: Where, what: string, err: unknown): void {
    const cause = messageOf(err);
    const message = `${where.template}${where.line ? `:${where.line}` : ''}: ${what}: ${cause}`;
    if (this.config.strict) {
      // Same text as the warning; the original error (with its file and line) is the cause.
      throw new ConvoyError(err instanceof ConvoyError ? err.code : 'E_TEMPLATE', message, { cause: err });
    }
    // One cause at one place is said once, whichever tag met it first: a failed carpool and the
    // individual tag it falls back to meet the same missing file.
    this.pipeline.warn(message, `${where.template}:${where.line}\0${cause}`);
  }

  /** ` integrity="…"` (and `crossorigin` when assets come from another origin), or nothing. */
  integrityAttrs(entry: { integrity?: string } | undefined): string {
    return integrityAttrs(this.config, entry);
  }

  /** The processed entry of a source for production, per mode (lookup never builds). */
  private productionEntry(rel: string, mode: ResolveMode, rebuild: boolean): FileEntry {
    const known = this.pipeline.manifest.data.files[safeRelative(rel)];
    if (mode === 'lookup') {
      if (!known) throw new NotStatic();
      return known;
    }
    this.pipeline.fastCompression = mode === 'render' && !this.rendersAreBuilds;
    return this.pipeline.asset(rel, rebuild || mode === 'build' ? 'check' : 'trust');
  }

  /**
   * The URL a `convoy`/`scss`/`coffee` tag prints for `path` (see DESIGN §2), or undefined in
   * `lookup` mode when the manifest cannot answer.
   */
  resolveUrl(tag: UrlTag, path: unknown, where: Where, mode: ResolveMode, acceptEncoding?: string): Printed | undefined {
    // Django's {% static %}: a query or fragment (`x.woff?v=4#iefix`) stays on the hashed name.
    const suffix = typeof path === 'string' ? /^([^?#]+)([?#].*)$/s.exec(path) : null;
    if (suffix) {
      const printed = this.resolveUrl(tag, suffix[1], where, mode, acceptEncoding);
      return printed && { ...printed, url: printed.url + suffix[2] };
    }
    // Warnings raised while building (a missing url() target) name the template too.
    const uncached = () => this.saver.persisting(mode, () => this.pipeline.withWarnContext(`${where.template}:${where.line}`, () => this.resolveUncached(tag, path, where, mode, acceptEncoding)));
    if (mode !== 'render' || typeof path !== 'string' || !this.cacheable(tag)) return uncached();
    return this.cached(`${tag}\0${path}`, acceptEncoding, uncached);
  }

  /**
   * The URL a printed `tag` gives for a render-time `path` when an earlier render resolved it
   * cleanly in production (same manifest), else undefined: the caller then resolves in full and
   * hands the answer to `keepUrl`.
   */
  knownUrl(tag: UrlTag, path: string): string | undefined {
    return this.answers.knownUrl(tag, path);
  }

  /** Keeps what `resolveUrl` printed for `knownUrl`, when it is an answer that cannot change until the manifest does. */
  keepUrl(tag: UrlTag, path: string, url: string, warnedBefore: number): void {
    if (this.config.gzipInTemplate || !this.cacheable(tag) || this.pipeline.warnings !== warnedBefore) return;
    this.answers.keepUrl(tag, path, url);
  }

  /**
   * A production answer kept per key (and gzip choice) until the manifest is reloaded. Fallbacks
   * are not kept: the next render tries again (the warning is still logged once).
   */
  private cached<T>(key: string, acceptEncoding: string | undefined, make: () => T): T {
    const gzip = this.config.gzipInTemplate && !!acceptEncoding && /\bgzip\b/i.test(acceptEncoding);
    return this.answers.cached(key, gzip, make);
  }

  private resolveUncached(tag: UrlTag, path: unknown, where: Where, mode: ResolveMode, acceptEncoding?: string): Printed | undefined {
    const c = this.config;
    if (typeof path !== 'string' || !path.trim()) {
      const err = new ConvoyError('E_TEMPLATE', `${tag} needs a path, got ${JSON.stringify(path) ?? String(path)}`, { file: where.template, line: where.line });
      if (mode === 'lookup') return undefined;
      this.fail(where, tag, err);
      return mode === 'build' ? undefined : { url: '' };
    }
    if (tag !== 'convoy' && compilerFor(path) !== tag) {
      const err = new ConvoyError('E_TEMPLATE', `the ${tag} tag takes ${{ scss: '.scss/.sass', coffee: '.coffee', less: '.less' }[tag]} files, not ${path}`, { file: where.template, line: where.line });
      if (mode === 'lookup') return undefined;
      this.fail(where, tag, err);
      return mode === 'build' ? undefined : { url: c.staticUrl + path };
    }
    try {
      // A folder (`convoy 'fonts/'`) has no fingerprint: its URL keeps the trailing slash, as in Django.
      if (tag === 'convoy' && path.endsWith('/')) return { url: `${c.staticUrl}${safeRelative(path)}/` };
      if (tag === 'convoy') {
        if (c.debug && !c.convoyDuringDebug) {
          if (mode === 'lookup') return undefined;
          const rel = safeRelative(path);
          const lang = compilerFor(rel);
          // A compiled source cannot be served as it is: give its debug build.
          if (lang) return this.resolveUrl(lang, rel, where, mode, acceptEncoding);
          if (!this.pipeline.finder.tryFind(rel)) this.fail(where, `convoy '${rel}'`, new ConvoyError('E_NOT_FOUND', 'not found in the source roots', { file: rel }));
          return { url: c.staticUrl + rel };
        }
        const entry = this.productionEntry(path, mode, c.debug);
        return { url: chooseUrl(this.config, this.pipeline, entry, acceptEncoding), integrity: entry.integrity };
      }
      const rebuild = this.rebuilds(tag);
      if (c.debug && rebuild && mode !== 'build') {
        const entry = this.pipeline.compile(path);
        return { url: c.staticUrl + entry.path, integrity: entry.integrity };
      }
      const entry = this.productionEntry(path, mode, rebuild);
      return { url: chooseUrl(this.config, this.pipeline, entry, acceptEncoding), integrity: entry.integrity };
    } catch (err) {
      if (err instanceof NotStatic) return undefined;
      if (mode === 'lookup') return undefined;
      this.fail(where, `${tag} '${path}'`, err);
      // The scan reports the tag as not prebuilt (the build fails); a render falls back.
      if (mode === 'build') return undefined;
      return fallbackUrl(this.config, this.pipeline, tag, path);
    }
  }

  /**
   * The HTML for a carpool block whose body rendered to `body`: bundle tags between comments, or
   * the individual tags (debug, a missing bundle with carpoolCombineDuringRequest off, a failure).
   * In `lookup` mode returns undefined unless every bundle is in the manifest.
   */
  carpool(kind: 'css' | 'js', body: string, where: Where, mode: ResolveMode, acceptEncoding?: string): string | undefined {
    const c = this.config;
    const uncached = () => this.saver.persisting(mode, () => this.pipeline.withWarnContext(`${where.template}:${where.line}`, () => carpoolHtml(this.host, kind, body, where, mode, acceptEncoding)));
    // A body known only at render time: in production the same body always gives the same HTML.
    if (mode === 'render' && !c.debug && !this.rebuilds('any')) {
      return this.cached(`carpool\0${kind}\0${body}`, acceptEncoding, uncached);
    }
    return uncached();
  }

  /** A carpool's bundle not in the manifest, built now; undefined once requests have built `maxRequestBundles`. */
  private newBundle(kind: 'css' | 'js', items: BundleItem[], where: Where, mode: ResolveMode): BundleEntry | undefined {
    const c = this.config;
    if (mode === 'render' && this.requestBundles >= c.maxRequestBundles) {
      // Bodies that vary per request would otherwise fill the disk: individual tags from here on.
      if (!this.bundleLimitSaid) {
        this.bundleLimitSaid = true;
        this.config.logger.warn(
          `${where.template}:${where.line}: ${c.maxRequestBundles} bundles were built during requests (maxRequestBundles): further new carpools print their individual tags until the next \`convoy build --parse-templates\` or restart`,
        );
      }
      return undefined;
    }
    this.pipeline.fastCompression = mode === 'render' && !this.rendersAreBuilds;
    const before = this.pipeline.stats.bundles;
    const entry = this.pipeline.bundle(kind, items, 'check');
    if (mode === 'render' && this.pipeline.stats.bundles !== before) this.requestBundles++;
    return entry;
  }

  // ---------------------------------------------------------------- named bundles, require

  /**
   * `carpool css 'site'`: the part of kind `kind` of the named bundle `name` (DESIGN §6), printed as
   * a carpool of its lines. Nothing for a bundle with no file of that kind.
   */
  namedCarpool(kind: 'css' | 'js', name: string, where: Where, mode: ResolveMode, acceptEncoding?: string): string | undefined {
    let lines: string[] | undefined;
    try {
      lines = this.lines.namedLines(name, kind, mode);
    } catch (err) {
      if (mode === 'lookup') return undefined;
      this.fail(where, `carpool ${kind} '${name}'`, err);
      return '';
    }
    if (!lines) return undefined;
    if (!lines.length) return '';
    return this.carpool(kind, lines.join('\n'), where, mode, acceptEncoding);
  }

  /**
   * Builds the `kind` part of a named bundle for `convoy build` (no template needed), under the key
   * `carpool css 'name'` looks up; throws what fails. Undefined when it has no file of that kind.
   */
  buildNamedBundle(name: string, kind: 'css' | 'js'): BundleEntry | undefined {
    return this.lines.buildNamedBundle(name, kind);
  }

  /**
   * Every source the declared bundles hold, with the bundles holding it; undefined in `lookup` mode
   * when a glob is not recorded. Kept per manifest when expansions come from the record.
   */
  declared(mode: ResolveMode): Map<string, string[]> | undefined {
    return this.lines.declared(mode);
  }

  /** The bundles declared (for messages) and whether `path` is in one; undefined in `lookup` mode when a glob is not recorded. */
  checkRequire(path: string, mode: ResolveMode): RequireCheck | undefined {
    return this.lines.checkRequire(path, mode);
  }


  /** Whether `require` can be decided when the template compiles: not in debug, where files come and go. */
  requireIsStatic(): boolean {
    return !this.config.debug;
  }

  /**
   * `require 'css/widget.css'` / `requireAsset(env, path)`: asserts the asset is in a declared
   * bundle. Prints nothing; otherwise warns naming `where` (throws E_NOT_DECLARED in strict mode).
   */
  requireAsset(path: unknown, where: Where, mode: ResolveMode = 'render'): boolean {
    try {
      if (typeof path !== 'string' || !path.trim()) throw new ConvoyError('E_TEMPLATE', `require needs a path, got ${JSON.stringify(path) ?? String(path)}`);
      const result = this.checkRequire(path, mode)!;
      if (result.declared) return true;
      const searched = result.searched.length ? `searched: ${result.searched.join(', ')}` : 'no bundles are declared: set the bundles option';
      throw new ConvoyError('E_NOT_DECLARED', `${result.rel} is in no declared bundle (${searched})`);
    } catch (err) {
      this.fail(where, `require '${String(path)}'`, err);
      return false;
    }
  }
}
