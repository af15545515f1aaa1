import fs from 'node:fs';
import path from 'node:path';
import { ConvoyError, messageOf } from '../errors.ts';
import type { ConvoyConfig } from '../config.ts';
import { Finder, safeRelative } from './finder.ts';
import { compileSource, compilerFor, type Compiled } from './compilers.ts';
import { joinCss, joinJs, type Joined, type Part } from './bundle.ts';
import { minifyCss, minifyJs } from './minify.ts';
import { decodeSource } from './decode.ts';
import { digest, outputExt, outputName } from './fingerprint.ts';
import { OutputWriter, type TwinUse } from './outputs.ts';
import { overlayCss, overlayJs } from './error-overlay.ts';
import { FileStorage, type Storage } from './storage.ts';
import { Manifest, bundleKey, outputsOf, type BundleEntry, type FileEntry, type OutputEntry } from './manifest.ts';
import { isEsModule } from './js-module.ts';
import { rewriteModuleImports } from './js-imports.ts';
import { chainable, chainMaps, mapSource, stripMapComment, type SourceMap } from './sourcemaps.ts';

/** What a bundle is made of: a source file, or the text of an inline <style>/<script>. */
export type BundleItem = { type: 'file'; rel: string; /** Declared encoding (`<script charset>`). */ charset?: string } | { type: 'inline'; code: string };

/** How much to trust the manifest: `trust` answers from it, `check` compares input digests first. */
export type Freshness = 'trust' | 'check';

/** Counters of real work done, for tests and the CLI summary. */
export interface PipelineStats {
  compiles: number;
  minifies: number;
  bundles: number;
  writes: number;
}

type AssetKind = 'css' | 'js' | 'other';

/** CSS, JS or anything else, by the output a source produces. */
export function assetKind(rel: string): AssetKind {
  const ext = outputExt(rel).toLowerCase();
  if (ext === '.css') return 'css';
  if (ext === '.js' || ext === '.mjs') return 'js';
  return 'other';
}

const isMinName = (rel: string) => /\.min\.(css|js)$/i.test(rel);

/**
 * The one pipeline behind the tags, the CLI and the middleware: finds sources, compiles, joins,
 * minifies, fingerprints, compresses, writes atomically and records each output in the manifest.
 * Every method is synchronous so tags work in synchronous renders.
 */
export class Pipeline {
  readonly finder: Finder;
  readonly storage: Storage;
  manifest: Manifest;
  readonly stats: PipelineStats = { compiles: 0, minifies: 0, bundles: 0, writes: 0 };
  /** Every asset built writes its plain copy too (a build: a bundle's parts are then done once). */
  plainCopies = false;
  /** Writes outputs and queues their compressed twins off the main thread. */
  readonly outputs: OutputWriter;
  /** Compress quickly (brotli 5, not 11): set while building inside a request. */
  get fastCompression(): boolean {
    return this.outputs.fast;
  }
  set fastCompression(fast: boolean) {
    this.outputs.fast = fast;
  }
  /** Output URL path → source, for mapping URLs printed inside a carpool back to their sources. */
  private readonly urlSources = new Map<string, string>();
  /** URLs of the error stylesheets/scripts shown in debug (see errorAsset). */
  private readonly errorUrls = new Set<string>();
  private readonly digests = new Map<string, { mtimeMs: number; size: number; digest: string }>();
  private readonly inProgress: string[] = [];
  private readonly warned = new Set<string>();
  readonly staticPath: string;

  constructor(readonly config: ConvoyConfig, storage?: Storage) {
    this.finder = new Finder(config.sourceRoots);
    this.storage = storage ?? new FileStorage(config.staticRoot);
    this.staticPath = /^[a-z]+:\/\//i.test(config.staticUrl) ? new URL(config.staticUrl).pathname : config.staticUrl;
    this.manifest = new Manifest(config.manifest);
    this.outputs = new OutputWriter(this.storage, config, this.stats, (m) => this.warn(m));
    this.reload();
  }

  /** How many warnings were raised (logged or not): lets callers tell a clean answer from a fallback. */
  warnings = 0;

  /** The template (`pages/home.njk:12`) whose tag is being served, named by warnings raised meanwhile. */
  private warnContext: string | undefined;

  /** Runs `fn` with warnings prefixed by `where` (the template and line of the tag that asked). */
  withWarnContext<T>(where: string, fn: () => T): T {
    const outer = this.warnContext;
    this.warnContext = where;
    try {
      return fn();
    } finally {
      this.warnContext = outer;
    }
  }

  /**
   * Logs a warning once per cause: `key`, or the text itself, naming the template of the first tag
   * that met it. At most `maxWarnings` causes are remembered (the oldest is forgotten first), so
   * distinct request paths cannot grow memory without bound.
   */
  warn(text: string, key = text): void {
    // A message that already names the template (at a line of its own, e.g. a carpool's entry) keeps it.
    const template = this.warnContext?.replace(/:\d+$/, '');
    const message = this.warnContext && !text.startsWith(`${template}:`) ? `${this.warnContext}: ${text}` : text;
    this.warnings++;
    if (this.warned.has(key)) return;
    if (this.warned.size >= this.config.maxWarnings) {
      const oldest = this.warned.values().next();
      if (!oldest.done) this.warned.delete(oldest.value);
      if (!this.warnedFull) {
        this.warnedFull = true;
        this.config.logger.warn(`more than ${this.config.maxWarnings} distinct warnings (maxWarnings): older ones may be logged again`);
      }
    }
    this.warned.add(key);
    this.config.logger.warn(message);
  }

  private warnedFull = false;

  /** How many items the pipeline's bounded memories hold (distinct warnings, remembered failures). */
  retained(): { warnings: number; failures: number } {
    return { warnings: this.warned.size, failures: this.failures.size };
  }

  // ---------------------------------------------------------------- remembered failures

  /** Failures by build key, with the digests of the files they depended on. */
  private readonly failures = new Map<string, { error: unknown; inputs: [string, string | undefined][] }>();

  /**
   * Runs a build step unless the same step failed before and none of its inputs changed since:
   * then it throws the remembered error without building again (no rebuild, no relocation re-run,
   * per request). `inputs` names the files that could change the outcome.
   */
  private remembered<T>(key: string, inputs: () => Iterable<string>, step: () => T): T {
    const known = this.failures.get(key);
    if (known) {
      if (known.inputs.every(([abs, d]) => this.fileDigest(abs) === d)) throw known.error;
      this.failures.delete(key);
    }
    try {
      return step();
    } catch (err) {
      const files = new Set(inputs());
      if (err instanceof ConvoyError && err.file) {
        for (const candidate of [path.resolve(this.config.root, err.file), ...this.finder.roots.map((r) => path.join(r, err.file!))]) files.add(candidate);
      }
      if (this.failures.size >= this.config.maxWarnings) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(key, { error: err, inputs: [...files].map((abs) => [abs, this.fileDigest(abs)]) });
      throw err;
    }
  }

  /** Where a source could be, in every root (its `.min` twin too), plus what its last good build read. */
  private candidates(rel: string, known?: { inputs: Record<string, string> }): string[] {
    const out = this.finder.roots.map((r) => path.join(r, ...rel.split('/')));
    try {
      const found = this.finder.tryFind(rel);
      if (found) out.push(found.abs);
    } catch {
      // An unsafe path fails the same way every time: nothing to watch.
    }
    if (!isMinName(rel) && /\.(css|js)$/i.test(rel)) out.push(...this.finder.roots.map((r) => path.join(r, ...rel.replace(/\.(css|js)$/i, '.min.$1').split('/'))));
    return [...out, ...this.knownInputs(known)];
  }

  /** The files a manifest entry was built from (partials, url() targets included). */
  private knownInputs(known?: { inputs: Record<string, string> }): string[] {
    return Object.keys(known?.inputs ?? {}).filter((n) => !n.startsWith('inline:')).map((n) => path.resolve(this.config.root, n));
  }

  /** The public URL of an output path. */
  url(outputPath: string): string {
    return this.config.staticUrl + outputPath;
  }

  /** The source a URL printed by a tag (or a plain staticUrl path) stands for, if any. */
  sourceOfUrl(url: string): string | undefined {
    const bare = url.replace(/[?#].*$/, '');
    const known = this.urlSources.get(bare);
    if (known) return known;
    // A debug error stylesheet/script stands for no source: a carpool keeps it as written.
    if (this.errorUrls.has(bare)) return undefined;
    for (const prefix of [this.config.staticUrl, this.staticPath]) {
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

  private rememberUrl(entry: OutputEntry, rel: string): void {
    for (const p of [entry.path, entry.variants.gz, entry.variants.br]) if (p) this.urlSources.set(this.url(p), rel);
  }

  // ---------------------------------------------------------------- inputs and freshness

  /** Root-relative name of an absolute path (how inputs are recorded, the same in any checkout). */
  inputName(abs: string): string {
    return path.relative(this.config.root, abs).split(path.sep).join('/');
  }

  /** Content digest of a file, cached by mtime and size; undefined when it is gone. */
  fileDigest(abs: string): string | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      return undefined;
    }
    const cached = this.digests.get(abs);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.digest;
    const d = digest(fs.readFileSync(abs));
    this.digests.set(abs, { mtimeMs: st.mtimeMs, size: st.size, digest: d });
    return d;
  }

  private inputsOf(absPaths: Iterable<string>, extra: Record<string, string> = {}): Record<string, string> {
    const out: Record<string, string> = { ...extra };
    for (const abs of absPaths) out[this.inputName(abs)] = this.fileDigest(abs) ?? 'missing';
    return out;
  }

  /** Whether an entry's inputs changed since it was built, or one of its outputs is gone. */
  isStale(entry: FileEntry | BundleEntry): boolean {
    for (const [name, d] of Object.entries(entry.inputs)) {
      if (name.startsWith('inline:')) continue;
      if (this.fileDigest(path.resolve(this.config.root, name)) !== d) return true;
    }
    return !this.storage.exists(entry.path, entry.size);
  }

  /** Whether the processed form of a source is out of date (Sass partials and url() targets included). */
  isSourceStale(rel: string): boolean {
    const entry = this.manifest.data.files[safeRelative(rel)];
    return !entry || this.isStale(entry);
  }

  // ---------------------------------------------------------------- writing

  /** Writes one output, its map and (queued) its twins: see OutputWriter. */
  private writeOutput(name: (hash: string) => string, body: string | Buffer, kind: AssetKind, map?: SourceMap, use: TwinUse = 'page'): OutputEntry {
    return this.outputs.write(name, body, kind, map, use);
  }

  /** Writes unless a file of that name and size is there already (names are fingerprints). */
  private put(rel: string, bytes: Buffer): void {
    this.outputs.put(rel, bytes);
  }

  /**
   * Queues full-quality twins for every entry a request marked quick (from its stored output, no
   * rebuild); returns how many. A build calls it, then `flush()`.
   */
  requalify(): number {
    let n = 0;
    for (const group of [this.manifest.data.files, this.manifest.data.bundles]) {
      for (const entry of Object.values(group)) if (this.outputs.requalify(entry)) n++;
    }
    return n;
  }

  /** Waits for every queued compressed twin to be written; returns what failed. */
  flush(): Promise<string[]> {
    return this.outputs.flush();
  }

  // ---------------------------------------------------------------- compiling

  /** A source as CSS/JS code with its map and every file read to make it. */
  private load(rel: string, abs: string, charset?: string): Compiled & { name: string } {
    const lang = compilerFor(rel);
    const opts = { root: this.config.root, loadPaths: this.sassLoadPaths(), sassEngine: this.config.engines.sass, sourceMap: this.maps, silenceDeprecations: this.config.sass.silenceDeprecations, quietDeps: this.config.sass.quietDeps };
    if (lang) {
      this.stats.compiles++;
      const out = compileSource(lang, abs, rel, opts);
      if (out.warnings.length) {
        this.warn(`${rel}: ${out.warnings.length} Sass warning(s), the first: ${out.warnings[0]}`);
      }
      for (const notice of out.notices ?? []) this.warn(notice);
      // Compiled code gets its own map name, chained to the real sources later.
      return { ...out, name: mapSource(`${this.inputName(abs)}.__compiled__`) };
    }
    // Decoded by its declared charset or as strict UTF-8 (never a silent U+FFFD); its own
    // sourceMappingURL would name a file that is not beside the output: ours replaces it.
    const code = stripMapComment(decodeSource(fs.readFileSync(abs), rel, assetKind(rel), charset).text);
    return { code, dependencies: [abs], warnings: [], name: mapSource(this.inputName(abs)) };
  }

  /** Source roots mounted at the top (a prefixed root's files have other names than Sass would use), then `sass.loadPaths`. */
  private sassLoadPaths(): string[] {
    return [...this.config.sourceRoots.filter((r) => !r.prefix).map((r) => r.dir), ...this.config.sass.loadPaths];
  }

  private part(rel: string, abs: string, charset?: string): Part & { dependencies: string[] } {
    const loaded = this.load(rel, abs, charset);
    return { rel, name: loaded.name, code: loaded.code, ...(loaded.map ? { map: loaded.map } : {}), dependencies: loaded.dependencies };
  }

  private withCycleGuard<T>(key: string, fn: () => T): T {
    if (this.inProgress.includes(key)) {
      throw new ConvoyError('E_BUNDLE', `reference cycle: ${[...this.inProgress, key].join(' → ')}`, { file: key });
    }
    this.inProgress.push(key);
    try {
      return fn();
    } finally {
      this.inProgress.pop();
    }
  }

  private cssContext(outDir: string, inlineImports: boolean, deps: Set<string>) {
    return {
      outDir,
      inlineImports,
      staticPath: this.staticPath,
      resolveTarget: (target: string): string | undefined => {
        const found = this.finder.tryFind(target);
        if (!found) return undefined;
        deps.add(found.abs);
        return this.asset(found.rel, 'check').path;
      },
      loadCss: (target: string): Part => {
        const found = this.finder.find(target);
        const p = this.part(found.rel, found.abs);
        for (const d of p.dependencies) deps.add(d);
        return p;
      },
      warn: (m: string) => this.warn(m),
      absoluteUrl: (out: string) => this.url(out),
    };
  }

  private chained(joined: Joined): SourceMap | undefined {
    return joined.map && chainMaps(joined.map, joined.inner, true);
  }

  private mapsForErrors = false;

  /** Whether maps are made at all: when none is written, skipping them saves much of the work. */
  private get maps(): boolean {
    return this.mapsForErrors || this.config.sourceMaps !== false;
  }

  /**
   * Runs a build step; if it fails while maps are off, runs it again with maps so the error
   * names the original file and line instead of a position in joined code.
   */
  private located<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      if (this.maps || !(err instanceof ConvoyError) || err.line === undefined) throw err;
      this.mapsForErrors = true;
      try {
        step();
      } catch (precise) {
        throw precise instanceof ConvoyError ? precise : err;
      } finally {
        this.mapsForErrors = false;
      }
      throw err;
    }
  }

  /** Minified CSS; valid CSS the minifier cannot read is still served, with one warning. */
  private minifiedCss(input: Parameters<typeof minifyCss>[0]): { code: string; map?: SourceMap } {
    const out = minifyCss(input, this.config.engines.css, this.maps);
    if (out.fallback) this.warn(`${input.rel}: ${out.fallback}`);
    return out;
  }

  // ---------------------------------------------------------------- single assets

  /**
   * The processed (minified, fingerprinted) form of a source, built if the manifest lacks it or
   * (with `check`) if its inputs changed. `plain` also writes the fingerprinted unminified copy.
   */
  asset(requested: string, freshness: Freshness = 'check', plain = this.plainCopies): FileEntry {
    const rel = safeRelative(requested);
    const known = this.manifest.data.files[rel];
    if (known && (freshness === 'trust' || !this.isStale(known)) && (!plain || known.plain || assetKind(rel) === 'other' || isMinName(rel))) return known;
    return this.remembered(`file\0${rel}\0${plain}`, () => this.candidates(rel, known), () => this.withCycleGuard(rel, () => this.located(() => this.buildAsset(rel, plain))));
  }

  private buildAsset(requested: string, plain: boolean): FileEntry {
    const found = this.finder.find(requested);
    const rel = found.rel;
    const kind = assetKind(rel);
    let entry: FileEntry;
    if (kind === 'other') {
      const bytes = fs.readFileSync(found.abs);
      const out = this.writeOutput((h) => outputName(rel, h, false), bytes, 'other');
      entry = { ...out, source: rel, inputs: this.inputsOf([found.abs]) };
    } else {
      const deps = new Set<string>([found.abs]);
      const alreadyMin = isMinName(rel);
      const source = this.part(rel, found.abs);
      source.dependencies.forEach((d) => deps.add(d));
      // CoffeeScript with import/export compiles to an unwrapped module: its output is what counts.
      const esm = kind === 'js' && (/\.mjs$/i.test(rel) || isEsModule(source.code));
      // A `.min` twin beside the source is used as the minified form (useExistingMinFiles); not for a module, whose imports are rewritten.
      const twin = !compilerFor(rel) && !alreadyMin && !esm && this.config.useExistingMinFiles ? this.finder.tryFind(rel.replace(/\.(css|js)$/i, '.min.$1')) : undefined;
      // CSS gets its url()s rewritten for the output's folder (a file joined with itself).
      const urls = (p: Part): { code: string; map?: SourceMap } => {
        // Nothing to rewrite and no map to carry: skip the parse (css-urls rewrites only these).
        if (!this.maps && !/url\(|@import|@charset/i.test(p.code)) return { code: stripMapComment(p.code) };
        const j = joinCss([p], this.cssContext(path.posix.dirname(rel), false, deps), this.maps);
        const map = this.chained(j);
        return { code: j.code, ...(map ? { map } : {}) };
      };
      const processed: { code: string; map?: SourceMap } =
        kind === 'css' ? urls(source) : esm ? { ...source, code: rewriteModuleImports(source.code, rel, this.cssContext(path.posix.dirname(rel), false, deps)) } : source;
      let plainOut: OutputEntry | undefined;
      if (plain && !alreadyMin) {
        plainOut = this.writeOutput((h) => outputName(rel, h, false), processed.code, kind, processed.map, 'plain');
      }
      let minified: { code: string; map?: SourceMap };
      if (alreadyMin) {
        minified = processed;
      } else if (twin) {
        deps.add(twin.abs);
        const twinPart = this.part(twin.rel, twin.abs);
        minified = kind === 'css' ? urls(twinPart) : { code: twinPart.code };
      } else {
        this.stats.minifies++;
        // A plain file is its own source; processed code gets an intermediate name chained away.
        const name = processed.map ? mapSource(`${this.inputName(found.abs)}.__processed__`) : source.name;
        const input = { rel, name, code: processed.code, ...(processed.map ? { map: processed.map } : {}) };
        minified = kind === 'css' ? this.minifiedCss(input) : minifyJs(input, this.config.engines.js, this.maps);
      }
      const out = this.writeOutput((h) => outputName(rel, h, !alreadyMin), minified.code, kind, minified.map);
      entry = { ...out, source: rel, inputs: this.inputsOf(deps), ...(plainOut ? { plain: plainOut.path } : {}), ...(esm ? { module: true as const } : {}) };
      // The plain copy's twins land after it is written (off the main thread): read them when saved.
      const plainCopy = plainOut;
      if (plainCopy) Object.defineProperty(entry, 'plainFiles', { enumerable: true, configurable: true, get: () => outputsOf(plainCopy).slice(1) });
    }
    this.manifest.data.files[rel] = entry;
    this.rememberUrl(entry, rel);
    return entry;
  }

  /**
   * The debug form of a compiled source (`scss`/`coffee` in rebuild mode): unminified, with a
   * source map, url()s left as written (the file sits in its source's folder), recompiled when
   * the entry or any partial it loaded changes.
   */
  compile(requested: string): FileEntry {
    const rel = safeRelative(requested);
    const known = this.manifest.data.dev[rel];
    if (known && !this.isStale(known)) return known;
    const found = this.finder.find(rel);
    const source = this.part(found.rel, found.abs);
    const kind = assetKind(found.rel);
    const out = this.writeOutput((h) => outputName(found.rel, h, false), source.code, kind, source.map);
    const esm = kind === 'js' && isEsModule(source.code);
    const entry: FileEntry = { ...out, source: found.rel, inputs: this.inputsOf(source.dependencies), ...(esm ? { module: true as const } : {}) };
    this.manifest.data.dev[found.rel] = entry;
    this.rememberUrl(entry, found.rel);
    return entry;
  }

  /** A stylesheet or script that shows a build error on the page (debug fallback for scss/coffee). */
  errorAsset(requested: string, err: unknown): string {
    const rel = safeRelative(requested);
    const text = messageOf(err);
    const kind = assetKind(rel);
    // An overlay above everything (fixed navbars included), and the console for scripts.
    const body = kind === 'css' ? overlayCss(`convoy: ${text}`) : overlayJs(`convoy: ${text}`);
    const stem = rel.slice(0, rel.length - path.posix.extname(rel).length);
    const out = this.writeOutput((h) => `${stem}.error.${h}${kind === 'css' ? '.css' : '.js'}`, body, kind);
    this.errorUrls.add(this.url(out.path));
    return out.path;
  }

  // ---------------------------------------------------------------- bundles

  private readonly moduleFlags = new Map<string, { mtimeMs: number; size: number; module: boolean }>();

  /**
   * Whether a JS source is an ES module, which must keep its own `type="module"` tag: from the
   * manifest when the file was built (a production server may hold no sources), else read.
   * A compiled source is known from its output; with `build` off it is never compiled for this.
   */
  isModule(requested: string, build = true): boolean {
    const rel = safeRelative(requested);
    if (assetKind(rel) !== 'js') return false;
    const known = this.manifest.data.files[rel];
    if (compilerFor(rel)) {
      if (!build || (known && !this.config.debug && !this.config.coffeeRebuild)) return known?.module === true;
      return (this.config.debug ? this.compile(rel) : this.asset(rel, 'check')).module === true;
    }
    if (known && (!this.config.debug || !this.isStale(known))) return known.module === true;
    const found = this.finder.tryFind(rel);
    if (!found) return false;
    const st = fs.statSync(found.abs);
    const cached = this.moduleFlags.get(found.abs);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.module;
    const module = /\.mjs$/i.test(rel) || isEsModule(fs.readFileSync(found.abs, 'utf8'));
    this.moduleFlags.set(found.abs, { mtimeMs: st.mtimeMs, size: st.size, module });
    return module;
  }

  /** The manifest entry of a bundle, with no I/O (a production render). */
  findBundle(kind: 'css' | 'js', items: BundleItem[]): BundleEntry | undefined {
    return this.manifest.data.bundles[bundleKey(kind, this.bundleSources(items))];
  }

  /** The source list that keys a bundle (inline pieces by digest). */
  bundleSources(items: BundleItem[]): string[] {
    return items.map((i) => (i.type === 'file' ? safeRelative(i.rel) : `inline:${digest(i.code).slice(0, 16)}`));
  }

  /** A carpool bundle of `items` in order, built unless the manifest has it (fresh, with `check`). */
  bundle(kind: 'css' | 'js', items: BundleItem[], freshness: Freshness = 'check'): BundleEntry {
    const sources = this.bundleSources(items);
    const key = bundleKey(kind, sources);
    const known = this.manifest.data.bundles[key];
    if (known && (freshness === 'trust' || !this.isStale(known))) return known;
    const files = () => [...items.flatMap((i) => (i.type === 'file' ? this.candidates(i.rel) : [])), ...this.knownInputs(known)];
    return this.remembered(`bundle\0${key}`, files, () => this.located(() => this.buildBundle(kind, items, sources, key)));
  }

  private buildBundle(kind: 'css' | 'js', items: BundleItem[], sources: string[], key: string): BundleEntry {
    this.stats.bundles++;
    const deps = new Set<string>();
    const inline: Record<string, string> = {};
    const combineOriginals = this.config.carpoolCombineOriginals;
    const parts: Part[] = items.map((item, i) => {
      if (item.type === 'inline') {
        inline[sources[i]!] = digest(item.code);
        const p: Part = { rel: `inline <${kind === 'css' ? 'style' : 'script'}> #${i + 1}`, name: mapSource(`${sources[i]}.${kind}`), code: item.code };
        if (kind === 'js' && !combineOriginals) {
          this.stats.minifies++;
          return { ...p, ...minifyJs(p, this.config.engines.js, this.maps) };
        }
        return p;
      }
      const found = this.finder.find(item.rel);
      if (assetKind(found.rel) !== kind) {
        throw new ConvoyError('E_BUNDLE', `a ${kind} carpool cannot hold ${found.rel}`, { file: found.rel });
      }
      deps.add(found.abs);
      if (kind === 'js' && this.isModule(found.rel)) {
        throw new ConvoyError('E_BUNDLE', `${found.rel} is an ES module (import/export): joined into a classic script it is a SyntaxError; give it its own <script type="module">`, { file: found.rel });
      }
      if (item.charset && !/^utf-?8$/i.test(item.charset)) {
        // A declared non-UTF-8 file is decoded by its label here, not shared with `convoy` tags.
        const p = this.part(found.rel, found.abs, item.charset);
        if (kind === 'js' && !combineOriginals) {
          this.stats.minifies++;
          return { ...p, ...minifyJs(p, this.config.engines.js, this.maps) };
        }
        return p;
      }
      if (kind === 'js' && !combineOriginals) {
        // Join the per-file minified outputs: each is cached and shared with `convoy` tags.
        const entry = this.asset(found.rel, 'check');
        for (const input of Object.keys(entry.inputs)) deps.add(path.resolve(this.config.root, input));
        const code = this.storage.read(entry.path)?.toString('utf8') ?? '';
        const mapText = entry.map ? this.storage.read(entry.map)?.toString('utf8') : undefined;
        return { rel: found.rel, name: mapSource(found.rel), code, ...(mapText ? { map: chainable(JSON.parse(mapText) as SourceMap) } : {}) };
      }
      const twin = kind === 'css' && !combineOriginals && this.config.useExistingMinFiles && !compilerFor(found.rel) && !isMinName(found.rel)
        ? this.finder.tryFind(found.rel.replace(/\.css$/i, '.min.css'))
        : undefined;
      const p = twin ? this.part(twin.rel, twin.abs) : this.part(found.rel, found.abs);
      if (twin) deps.add(twin.abs);
      p.dependencies.forEach((d) => deps.add(d));
      return p;
    });
    const outDir = `${this.config.carpoolPathFragment}/${kind}`;
    const joined = kind === 'css' ? joinCss(parts, this.cssContext(outDir, true, deps), this.maps) : joinJs(parts, this.maps);
    const joinedMap = this.chained(joined);
    let result: { code: string; map?: SourceMap } = { code: joined.code, ...(joinedMap ? { map: joinedMap } : {}) };
    if (kind === 'css' || combineOriginals) {
      this.stats.minifies++;
      const input = { rel: `${kind} carpool of ${sources.join(', ')}`, name: mapSource(`${key}.__joined__`), code: result.code, ...(result.map ? { map: result.map } : {}) };
      result = kind === 'css' ? this.minifiedCss(input) : minifyJs(input, this.config.engines.js, this.maps);
    }
    const out = this.writeOutput((h) => `${outDir}/${h}.cmin.${kind}`, result.code, kind, result.map);
    const entry: BundleEntry = { ...out, kind, sources, inputs: this.inputsOf(deps, inline) };
    this.manifest.data.bundles[key] = entry;
    return entry;
  }

  /** Reads the manifest again (after a build in another pipeline or process). */
  reload(): void {
    this.manifest = new Manifest(this.config.manifest, this.storage instanceof FileStorage ? this.config.staticRoot : undefined);
    this.outputs.trust(this.manifest.data);
    for (const [rel, e] of Object.entries(this.manifest.data.files)) this.rememberUrl(e, rel);
    for (const [rel, e] of Object.entries(this.manifest.data.dev)) this.rememberUrl(e, rel);
  }

  /** Takes entries built elsewhere (a build worker) into this pipeline's manifest. */
  adopt(files: Record<string, FileEntry>): void {
    for (const [rel, entry] of Object.entries(files)) {
      this.manifest.data.files[rel] = entry;
      this.rememberUrl(entry, rel);
    }
  }

  /**
   * Saves the manifest if it changed, merged under the lock with what other processes saved;
   * entries whose files another process removed meanwhile are dropped (and built again when needed).
   */
  save(): boolean {
    const wrote = this.manifest.save(() => this.storage.settle?.());
    for (const key of this.manifest.dropped) this.warn(`manifest: ${key} was not saved, its output was removed meanwhile (convoy clean?); it is built again when needed`);
    return wrote;
  }
}

/** The pipeline for a resolved configuration. */
export function createPipeline(config: ConvoyConfig, storage?: Storage): Pipeline {
  return new Pipeline(config, storage);
}
