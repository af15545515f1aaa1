import fs from 'node:fs';
import { ConvoyError, messageOf } from '../errors.ts';
import type { ConvoyConfig } from '../config.ts';
import { compilerFor } from '../core/compilers.ts';
import { safeRelative } from '../core/finder.ts';
import type { BundleEntry, FileEntry, OutputEntry } from '../core/manifest.ts';
import type { BundleItem, Pipeline } from '../core/pipeline.ts';
import { declaredAssets, expandGlob, isGlob, namedBundleLines, resolveLines, type GlobSource } from '../core/bundles.ts';
import { MODULE_GROUP, markModules, parseCarpoolBody, toRuns, type BodyAsset, type BodySegment, type Run } from './carpool-body.ts';

/** The tags that print a single URL. */
export type UrlTag = 'convoy' | 'scss' | 'coffee' | 'less';

/** Where a tag stands, for messages: `template:line`. */
export interface Where {
  template: string;
  line: number;
}

/** How a tag may resolve: at render time (`render`), or at compile time from the manifest only (`lookup`) or by building (`build`, the template scan). */
export type ResolveMode = 'render' | 'lookup' | 'build';

/** A URL a tag printed, with the integrity of the bytes behind it when known. */
export interface Printed {
  url: string;
  integrity?: string;
}

/**
 * The value `{% convoy 'x' as name %}` sets: prints as the URL, and `{{ name.integrity }}` gives
 * the `sha384-…` of the bytes served (empty when unknown).
 */
export class ConvoyUrl extends String {
  constructor(
    readonly url: string,
    readonly integrity: string,
  ) {
    super(url);
  }
}

const safeRelativeOr = (rel: string): string => {
  try {
    return safeRelative(rel);
  } catch {
    return rel;
  }
};

/** Thrown by `lookup` resolution when the answer is not in the manifest: the tag stays dynamic. */
class NotStatic extends Error {}

/** Handles with request-time builds not yet saved: flushed before the process ends. */
const unsaved = new Set<Convoy>();
let exitHooked = false;

function flushAll(): void {
  for (const convoy of [...unsaved]) convoy.flush();
}

/**
 * Saves request-time builds when the process ends: on `exit`, and on SIGINT/SIGTERM/SIGHUP, after
 * which the signal is raised again when nobody else handles it, so the process still ends as it would.
 */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', flushAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      flushAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

const fill = (template: string, url: string, integrityAttrs: string, extra: Record<string, string>): string => {
  let out = template.replace(/%s/g, url);
  const extraAttrs = Object.entries(extra)
    .map(([k, v]) => (v === '' ? ` ${k}` : ` ${k}="${escapeAttr(v)}"`))
    .join('');
  const add = (out.includes('%i') ? '' : integrityAttrs) + extraAttrs;
  out = out.replace(/%i/g, integrityAttrs);
  return addAttrs(out, add);
};

/** Attributes with no placeholder go at the end of the first tag (before `>` or `/>`). */
const addAttrs = (html: string, attrs: string): string => (attrs ? html.replace(/\s*(\/?)>/, `${attrs}$1>`) : html);

/** Escapes a value for a double-quoted HTML attribute. */
export function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * What the tags do, apart from parsing: resolve a path to the URL to print, turn a carpool body
 * into bundle tags, and fall back (logging once, or throwing in strict mode) when anything fails.
 * The tags, the template scanner and the adapters all call this one object.
 */
export class Convoy {
  /** Production answers for tags with render-time arguments: one map lookup each after the first. */
  private readonly printedCache = new Map<string, unknown>();
  private cachedManifest: unknown;
  /**
   * The hot path of a printed tag with a render-time path (gzipInTemplate off): URL by raw path,
   * one map per tag, so a hit is a single Map lookup with no key to build. Valid for `urlsOf`.
   */
  private readonly urls: Record<UrlTag, Map<string, string>> = { convoy: new Map(), scss: new Map(), coffee: new Map(), less: new Map() };
  private urlsOf: unknown;
  /** Renders are part of a build (Eleventy): what they make is compressed at full strength, not quickly. */
  rendersAreBuilds = false;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bundles built during requests by this handle (limited by `maxRequestBundles`). */
  requestBundles = 0;
  private bundleLimitSaid = false;

  constructor(
    readonly config: ConvoyConfig,
    readonly pipeline: Pipeline,
  ) {}

  /** Real work done so far: a change means a request built something worth saving. */
  private workMark(): number {
    const s = this.pipeline.stats;
    return s.compiles + s.minifies + s.bundles + s.writes;
  }

  /** Runs a render-time step; what it built reaches the manifest on disk within a second. */
  private persisting<T>(mode: ResolveMode, step: () => T): T {
    if (mode !== 'render') return step();
    const mark = this.workMark();
    try {
      return step();
    } finally {
      if (this.workMark() !== mark) this.persistSoon();
    }
  }

  /** Schedules a save off the render path (an unref'd timer, so it never keeps the process alive). */
  private persistSoon(): void {
    if (this.config.debug) return;
    unsaved.add(this);
    hookExit();
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flush(), 1000);
    this.saveTimer.unref?.();
  }

  /**
   * Saves what requests built, merged under the lock with what other processes saved. Called by
   * the timer, before the process exits, and by anyone who wants it now (tests, graceful shutdown).
   */
  flush(): boolean {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    unsaved.delete(this);
    // The outputs are gone with their folder (a removed temp dir): nothing to name.
    if (!fs.existsSync(this.config.staticRoot)) return false;
    try {
      return this.pipeline.save();
    } catch (err) {
      this.config.logger.error(`could not save the manifest: ${messageOf(err)}`);
      return false;
    }
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

  /** Where a carpool's asset stands: the tag's line plus the lines of the body before the entry. */
  private entryWhere(where: Where, asset: BodyAsset | undefined): Where {
    return asset?.line ? { template: where.template, line: where.line + asset.line } : where;
  }

  /** The asset of a run a build error is about (the file it names), if any. */
  private culprit(run: Extract<Run, { type: 'run' }>, err: unknown): BodyAsset | undefined {
    for (let e: unknown = err; e instanceof Error; e = e.cause) {
      const file = (e as ConvoyError).file;
      const hit = file && run.assets.find((a) => a.item.type === 'file' && (a.item.rel === file || safeRelativeOr(a.item.rel) === file));
      if (hit) return hit;
    }
    return undefined;
  }

  private choose(entry: OutputEntry, acceptEncoding: string | undefined): string {
    const file = this.config.gzipInTemplate && entry.variants.gz && acceptEncoding && /\bgzip\b/i.test(acceptEncoding) ? entry.variants.gz : entry.path;
    // Built by this request while assets live in a bucket: the bucket has no such object until the
    // next build and publish, so the page links the app's own copy (served by `serve()`) meanwhile.
    if (entry.quick && this.config.publish.bucket) return this.pipeline.staticPath + file;
    return this.pipeline.url(file);
  }

  /** ` integrity="…"` (and `crossorigin` when assets come from another origin), or nothing. */
  integrityAttrs(entry: { integrity?: string } | undefined): string {
    if (!this.config.integrity || !entry?.integrity) return '';
    // Same-origin requests are checked without CORS; a CDN origin needs crossorigin for SRI to apply.
    const crossOrigin = /^([a-z][a-z0-9+.-]*:)?\/\//i.test(this.config.staticUrl);
    return ` integrity="${entry.integrity}"${crossOrigin ? ' crossorigin="anonymous"' : ''}`;
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
    const uncached = () => this.persisting(mode, () => this.pipeline.withWarnContext(`${where.template}:${where.line}`, () => this.resolveUncached(tag, path, where, mode, acceptEncoding)));
    if (mode !== 'render' || typeof path !== 'string' || !this.cacheable(tag)) return uncached();
    return this.cached(`${tag}\0${path}`, acceptEncoding, uncached);
  }

  /**
   * The URL a printed `tag` gives for a render-time `path` when an earlier render resolved it
   * cleanly in production (same manifest), else undefined: the caller then resolves in full and
   * hands the answer to `keepUrl`.
   */
  knownUrl(tag: UrlTag, path: string): string | undefined {
    if (this.urlsOf !== this.pipeline.manifest) return undefined;
    return this.urls[tag].get(path);
  }

  /** Keeps what `resolveUrl` printed for `knownUrl`, when it is an answer that cannot change until the manifest does. */
  keepUrl(tag: UrlTag, path: string, url: string, warnedBefore: number): void {
    if (this.config.gzipInTemplate || !this.cacheable(tag) || this.pipeline.warnings !== warnedBefore) return;
    if (this.urlsOf !== this.pipeline.manifest) {
      for (const m of Object.values(this.urls)) m.clear();
      this.urlsOf = this.pipeline.manifest;
    }
    const urls = this.urls[tag];
    if (urls.size >= 10_000) urls.clear();
    urls.set(path, url);
  }

  /**
   * A production answer kept per key (and gzip choice) until the manifest is reloaded. Fallbacks
   * are not kept: the next render tries again (the warning is still logged once).
   */
  private cached<T>(key: string, acceptEncoding: string | undefined, make: () => T): T {
    if (this.cachedManifest !== this.pipeline.manifest || this.printedCache.size > 10_000) {
      this.printedCache.clear();
      this.cachedManifest = this.pipeline.manifest;
    }
    const gzip = this.config.gzipInTemplate && !!acceptEncoding && /\bgzip\b/i.test(acceptEncoding);
    const full = `${gzip ? 'gz' : ''}\0${key}`;
    if (this.printedCache.has(full)) return this.printedCache.get(full) as T;
    const warnedBefore = this.pipeline.warnings;
    const value = make();
    if (value !== undefined && this.pipeline.warnings === warnedBefore) this.printedCache.set(full, value);
    return value;
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
        return { url: this.choose(entry, acceptEncoding), integrity: entry.integrity };
      }
      const rebuild = this.rebuilds(tag);
      if (c.debug && rebuild && mode !== 'build') {
        const entry = this.pipeline.compile(path);
        return { url: c.staticUrl + entry.path, integrity: entry.integrity };
      }
      const entry = this.productionEntry(path, mode, rebuild);
      return { url: this.choose(entry, acceptEncoding), integrity: entry.integrity };
    } catch (err) {
      if (err instanceof NotStatic) return undefined;
      if (mode === 'lookup') return undefined;
      this.fail(where, `${tag} '${path}'`, err);
      // The scan reports the tag as not prebuilt (the build fails); a render falls back.
      if (mode === 'build') return undefined;
      return this.fallbackUrl(tag, path);
    }
  }

  /** What a failed tag prints: the source URL (convoy), or the last good build / an error asset (scss, coffee). */
  private fallbackUrl(tag: UrlTag, path: string): Printed {
    let rel: string;
    try {
      rel = safeRelative(path);
    } catch {
      return { url: '' };
    }
    if (tag === 'convoy') return { url: this.config.staticUrl + rel };
    const lastGood = this.pipeline.manifest.data.files[rel];
    if (lastGood && !this.config.debug) return { url: this.pipeline.url(lastGood.path), integrity: lastGood.integrity };
    let error: unknown;
    try {
      this.pipeline.compile(rel);
    } catch (e) {
      error = e;
    }
    return { url: this.pipeline.url(this.pipeline.errorAsset(rel, error ?? 'build failed')) };
  }

  /**
   * The HTML for a carpool block whose body rendered to `body`: bundle tags between comments, or
   * the individual tags (debug, a missing bundle with carpoolCombineDuringRequest off, a failure).
   * In `lookup` mode returns undefined unless every bundle is in the manifest.
   */
  carpool(kind: 'css' | 'js', body: string, where: Where, mode: ResolveMode, acceptEncoding?: string): string | undefined {
    const c = this.config;
    const uncached = () => this.persisting(mode, () => this.pipeline.withWarnContext(`${where.template}:${where.line}`, () => this.carpoolUncached(kind, body, where, mode, acceptEncoding)));
    // A body known only at render time: in production the same body always gives the same HTML.
    if (mode === 'render' && !c.debug && !this.rebuilds('any')) {
      return this.cached(`carpool\0${kind}\0${body}`, acceptEncoding, uncached);
    }
    return uncached();
  }

  private carpoolUncached(kind: 'css' | 'js', body: string, where: Where, mode: ResolveMode, acceptEncoding?: string): string | undefined {
    const c = this.config;
    const segments = this.expandGlobLines(parseCarpoolBody(body, kind, (u) => this.pipeline.sourceOfUrl(u)), kind, where, mode);
    if (!segments) return undefined;
    const runs = toRuns(kind === 'js' ? markModules(segments, (rel) => this.isModule(rel, mode !== 'lookup')) : segments);
    const individual = (run: Extract<Run, { type: 'run' }>) => run.assets.map((a) => this.individualTag(kind, a, this.entryWhere(where, a), acceptEncoding)).join('\n');
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
        if (mode === 'lookup' && run.assets.some((a) => a.item.type === 'file' && !this.pipeline.manifest.data.files[a.item.rel])) return undefined;
        // The template scan builds each module as the convoy tag would (full compression), then prints it.
        if (mode === 'build') for (const a of run.assets) if (a.item.type === 'file') this.resolveUrl('convoy', a.item.rel, where, 'build');
        html += individual(run);
        continue;
      }
      const items: BundleItem[] = run.assets.map((a) => a.item);
      let entry: BundleEntry | undefined;
      try {
        if (mode === 'lookup') {
          entry = this.pipeline.findBundle(kind, items);
          if (!entry) return undefined;
        } else {
          const rebuild = c.debug || this.rebuilds('any') || mode === 'build';
          entry = rebuild ? undefined : this.pipeline.findBundle(kind, items);
          if (!entry && (rebuild || c.carpoolCombineDuringRequest)) {
            if (mode === 'render' && this.requestBundles >= c.maxRequestBundles) {
              // Bodies that vary per request would otherwise fill the disk: individual tags from here on.
              if (!this.bundleLimitSaid) {
                this.bundleLimitSaid = true;
                this.config.logger.warn(
                  `${where.template}:${where.line}: ${c.maxRequestBundles} bundles were built during requests (maxRequestBundles): further new carpools print their individual tags until the next \`convoy build --parse-templates\` or restart`,
                );
              }
            } else {
              this.pipeline.fastCompression = mode === 'render' && !this.rendersAreBuilds;
              const before = this.pipeline.stats.bundles;
              entry = this.pipeline.bundle(kind, items, 'check');
              if (mode === 'render' && this.pipeline.stats.bundles !== before) this.requestBundles++;
            }
          }
        }
      } catch (err) {
        if (mode === 'lookup') return undefined;
        this.fail(this.entryWhere(where, this.culprit(run, err)), `carpool ${kind}`, err);
        // The scan reports the block as not prebuilt (the build fails); a render falls back.
        if (mode === 'build') return undefined;
      }
      if (!entry) {
        html += individual(run);
        continue;
      }
      const list = entry.sources.join('+++');
      const tag = fill(kind === 'css' ? c.carpoolCssTemplate : c.carpoolJsTemplate, this.choose(entry, acceptEncoding), this.integrityAttrs(entry), run.attrs);
      html += (c.carpoolStartComment ? c.carpoolStartComment.replace(/%s/g, list) : '') + tag + (c.carpoolEndComment ? c.carpoolEndComment.replace(/%s/g, list) : '');
    }
    return html;
  }

  /** Whether a carpool js file is an ES module (unreadable: not one, and the bundle reports why). */
  private isModule(rel: string, build: boolean): boolean {
    try {
      return this.pipeline.isModule(rel, build);
    } catch {
      return false;
    }
  }

  /** One asset of a carpool printed on its own, as the `convoy` (or `scss`/`coffee`) tag would. */
  private individualTag(kind: 'css' | 'js', asset: BodyAsset, where: Where, acceptEncoding?: string): string {
    if (asset.item.type === 'inline') return asset.html ?? '';
    const rel = asset.item.rel;
    // The tag a template would use for this file on its own.
    const printed = this.resolveUrl(compilerFor(rel) ?? 'convoy', rel, where, 'render', acceptEncoding) ?? { url: this.config.staticUrl + rel };
    if (asset.group === MODULE_GROUP) return fill('<script type="module" src="%s"></script>', escapeAttr(printed.url), this.integrityAttrs(printed), asset.attrs);
    if (asset.html && asset.url !== undefined) {
      const attr = kind === 'css' ? 'href' : 'src';
      const withUrl = asset.html.replace(new RegExp(`(\\s${attr}\\s*=\\s*)(["']?)[^"'\\s>]*\\2`, 'i'), (_m, pre: string, q: string) => `${pre}${q || '"'}${escapeAttr(printed.url)}${q || '"'}`);
      return /\sintegrity=/i.test(withUrl) ? withUrl : addAttrs(withUrl, this.integrityAttrs(printed));
    }
    return fill(kind === 'css' ? this.config.carpoolCssTemplate : this.config.carpoolJsTemplate, printed.url, this.integrityAttrs(printed), asset.attrs);
  }

  // ---------------------------------------------------------------- globs, named bundles, require

  /**
   * Where glob expansions come from: the disk in debug, rebuild modes and the build (a new file
   * joins), else what the build recorded; compile-time lookups never touch the disk.
   */
  private globSource(mode: ResolveMode): GlobSource {
    if (mode === 'lookup') return 'recorded-only';
    return mode === 'build' || this.config.debug || this.rebuilds('any') ? 'disk' : 'recorded';
  }

  private expander(mode: ResolveMode): (pattern: string) => string[] | undefined {
    const source = this.globSource(mode);
    return (pattern) => expandGlob(this.pipeline.finder, this.pipeline.manifest, pattern, source);
  }

  /**
   * Replaces glob lines of a carpool body (`js/*.js`) by one asset per matching source of the
   * carpool's kind, sorted, leaving out files the body lists elsewhere. Undefined in `lookup` mode
   * when an expansion is not recorded.
   */
  private expandGlobLines(segments: BodySegment[], kind: 'css' | 'js', where: Where, mode: ResolveMode): BodySegment[] | undefined {
    const isGlobLine = (s: BodySegment) => s.type === 'asset' && s.item.type === 'file' && !s.html && isGlob(s.item.rel);
    if (!segments.some(isGlobLine)) return segments;
    const lines = segments.flatMap((s) => (s.type === 'asset' && s.item.type === 'file' && !s.html ? [s.item.rel] : []));
    const expand = this.expander(mode);
    const out: BodySegment[] = [];
    const taken = new Set<string>();
    for (const seg of segments) {
      if (!isGlobLine(seg) || seg.type !== 'asset' || seg.item.type !== 'file') {
        out.push(seg);
        continue;
      }
      const pattern = seg.item.rel;
      // Each glob is resolved against the whole list, so files listed by path keep their place.
      let rels: string[] | undefined;
      try {
        rels = resolveLines([...lines.filter((l) => !isGlob(l)), pattern], kind, expand)?.filter((r) => !lines.includes(r) && !taken.has(r));
      } catch (err) {
        if (mode === 'lookup') return undefined;
        this.fail(this.entryWhere(where, seg), `carpool ${kind}`, err);
        continue;
      }
      if (!rels) return undefined;
      for (const rel of rels) {
        taken.add(rel);
        out.push({ ...seg, item: { type: 'file', rel } });
      }
    }
    return out;
  }

  /**
   * `carpool css 'site'`: the part of kind `kind` of the named bundle `name` (DESIGN §6), printed as
   * a carpool of its lines. Nothing for a bundle with no file of that kind.
   */
  namedCarpool(kind: 'css' | 'js', name: string, where: Where, mode: ResolveMode, acceptEncoding?: string): string | undefined {
    let lines: string[] | undefined;
    try {
      lines = namedBundleLines(this.config.bundles, name, kind, this.expander(mode));
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
    const expand = this.expander('build');
    const lines = namedBundleLines(this.config.bundles, name, kind, expand) ?? [];
    if (!lines.length) return undefined;
    const rels = resolveLines(lines, kind, expand) ?? [];
    this.pipeline.fastCompression = false;
    return this.pipeline.bundle(kind, rels.map((rel) => ({ type: 'file', rel })), 'check');
  }

  /**
   * Every source the declared bundles hold, with the bundles holding it; undefined in `lookup` mode
   * when a glob is not recorded. Kept per manifest when expansions come from the record.
   */
  declared(mode: ResolveMode): Map<string, string[]> | undefined {
    const recorded = this.globSource(mode) !== 'disk';
    if (recorded && this.declaredCache?.manifest === this.pipeline.manifest) return this.declaredCache.held;
    const held = declaredAssets(this.config.bundles, this.expander(mode));
    if (recorded && held) this.declaredCache = { manifest: this.pipeline.manifest, held, answers: new Map() };
    return held;
  }

  /** The declared set while expansions come from the manifest, and the answers given from it (safeRelative costs µs). */
  private declaredCache: { manifest: unknown; held: Map<string, string[]>; answers: Map<string, { rel: string; declared: boolean; searched: string[] }> } | undefined;

  /** The bundles declared (for messages) and whether `path` is in one; undefined in `lookup` mode when a glob is not recorded. */
  checkRequire(path: string, mode: ResolveMode): { rel: string; declared: boolean; searched: string[] } | undefined {
    const held = this.declared(mode);
    if (!held) return undefined;
    const answers = this.declaredCache?.held === held && this.declaredCache.answers.size < 10_000 ? this.declaredCache.answers : undefined;
    const known = answers?.get(path);
    if (known) return known;
    const rel = safeRelative(path);
    const result = { rel, declared: held.has(rel), searched: Object.keys(this.config.bundles) };
    answers?.set(path, result);
    return result;
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
