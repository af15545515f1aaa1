import fs from 'node:fs';
import path from 'node:path';
import { messageOf } from '../errors.ts';
import type { ConvoyConfig } from '../config.ts';
import { Finder, safeRelative } from './finder.ts';
import { compilerFor } from './compilers.ts';
import { digest, outputName } from './fingerprint.ts';
import { OutputWriter } from './outputs.ts';
import { overlayCss, overlayJs } from './error-overlay.ts';
import { FileStorage, type Storage } from './storage.ts';
import { Manifest, bundleKey, type BundleEntry, type FileEntry } from './manifest.ts';
import { isEsModule } from './js-module.ts';
import { assetKind, isMinName } from './asset-kind.ts';
import { InputDigests } from './freshness.ts';
import { WarningLog } from './warnings.ts';
import { FailureMemory } from './failures.ts';
import { BuildSteps, type BuildContext, type PipelineStats } from './build-steps.ts';
import { buildAsset } from './asset-build.ts';
import { UrlSources } from './url-sources.ts';
import { buildBundle, type BundleItem } from './bundle-build.ts';

// Moved names stay importable from here, where the rest of the code base looks for them.
export { assetKind } from './asset-kind.ts';
export type { BundleItem } from './bundle-build.ts';
export type { PipelineStats } from './build-steps.ts';

/** How much to trust the manifest: `trust` answers from it, `check` compares input digests first. */
export type Freshness = 'trust' | 'check';

/**
 * The one pipeline behind the tags, the CLI and the middleware: finds sources, compiles, joins,
 * minifies, fingerprints, compresses, writes atomically and records each output in the manifest.
 * Every method is synchronous so tags work in synchronous renders.
 */
export class Pipeline implements BuildContext {
  readonly finder: Finder;
  readonly storage: Storage;
  manifest: Manifest;
  readonly stats: PipelineStats = { compiles: 0, minifies: 0, bundles: 0, writes: 0 };
  /** Every asset built writes its plain copy too (a build: a bundle's parts are then done once). */
  plainCopies = false;
  /** Writes outputs and queues their compressed twins off the main thread. */
  readonly outputs: OutputWriter;
  /** Digests of input files, and whether a manifest entry's inputs changed. */
  readonly inputs: InputDigests;
  /** The steps single assets and bundles share (loading, url() context, minifying, error relocation). */
  readonly steps: BuildSteps;
  /** Compress quickly (brotli 5, not 11): set while building inside a request. */
  get fastCompression(): boolean {
    return this.outputs.fast;
  }
  set fastCompression(fast: boolean) {
    this.outputs.fast = fast;
  }
  /** Output URLs → the sources they stand for. */
  private readonly urls: UrlSources;
  private readonly moduleFlags = new Map<string, { mtimeMs: number; size: number; module: boolean }>();
  private readonly warningLog: WarningLog;
  private readonly failures: FailureMemory;
  readonly staticPath: string;

  constructor(readonly config: ConvoyConfig, storage?: Storage) {
    this.finder = new Finder(config.sourceRoots);
    this.storage = storage ?? new FileStorage(config.staticRoot);
    this.staticPath = /^[a-z]+:\/\//i.test(config.staticUrl) ? new URL(config.staticUrl).pathname : config.staticUrl;
    this.manifest = new Manifest(config.manifest);
    this.urls = new UrlSources(config.staticUrl, this.staticPath);
    this.warningLog = new WarningLog(config);
    this.inputs = new InputDigests(config.root);
    this.failures = new FailureMemory(config.root, this.finder, () => config.maxWarnings, (abs) => this.inputs.fileDigest(abs));
    this.steps = new BuildSteps({
      config,
      finder: this.finder,
      stats: this.stats,
      staticPath: this.staticPath,
      inputName: (abs) => this.inputName(abs),
      warn: (m) => this.warn(m),
      url: (p) => this.url(p),
      assetPath: (rel) => this.asset(rel, 'check').path,
    });
    this.outputs = new OutputWriter(this.storage, config, this.stats, (m) => this.warn(m));
    this.reload();
  }

  // ---------------------------------------------------------------- warnings

  /** How many warnings were raised (logged or not): lets callers tell a clean answer from a fallback. */
  get warnings(): number {
    return this.warningLog.count;
  }

  /** Runs `fn` with warnings prefixed by `where` (the template and line of the tag that asked). */
  withWarnContext<T>(where: string, fn: () => T): T {
    return this.warningLog.withContext(where, fn);
  }

  /** Logs a warning once per cause (`key`, or the text itself): see WarningLog. */
  warn(text: string, key = text): void {
    this.warningLog.warn(text, key);
  }

  /** How many items the pipeline's bounded memories hold (distinct warnings, remembered failures). */
  retained(): { warnings: number; failures: number } {
    return { warnings: this.warningLog.size, failures: this.failures.size };
  }

  // ---------------------------------------------------------------- URLs

  /** The public URL of an output path. */
  url(outputPath: string): string {
    return this.urls.url(outputPath);
  }

  /** The source a URL printed by a tag (or a plain staticUrl path) stands for, if any. */
  sourceOfUrl(url: string): string | undefined {
    return this.urls.sourceOf(url);
  }

  // ---------------------------------------------------------------- inputs and freshness

  /** Root-relative name of an absolute path (how inputs are recorded, the same in any checkout). */
  inputName(abs: string): string {
    return this.inputs.inputName(abs);
  }

  /** Content digest of a file, cached by mtime and size; undefined when it is gone. */
  fileDigest(abs: string): string | undefined {
    return this.inputs.fileDigest(abs);
  }

  /** Whether an entry's inputs changed since it was built, or one of its outputs is gone. */
  isStale(entry: FileEntry | BundleEntry): boolean {
    return this.inputs.changed(entry.inputs) || !this.storage.exists(entry.path, entry.size);
  }

  /** Whether the processed form of a source is out of date (Sass partials and url() targets included). */
  isSourceStale(rel: string): boolean {
    const entry = this.manifest.data.files[safeRelative(rel)];
    return !entry || this.isStale(entry);
  }

  // ---------------------------------------------------------------- writing

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

  // ---------------------------------------------------------------- single assets

  /**
   * The processed (minified, fingerprinted) form of a source, built if the manifest lacks it or
   * (with `check`) if its inputs changed. `plain` also writes the fingerprinted unminified copy.
   */
  asset(requested: string, freshness: Freshness = 'check', plain = this.plainCopies): FileEntry {
    const rel = safeRelative(requested);
    const known = this.manifest.data.files[rel];
    if (known && (freshness === 'trust' || !this.isStale(known)) && (!plain || known.plain || assetKind(rel) === 'other' || isMinName(rel))) return known;
    return this.failures.run(`file\0${rel}\0${plain}`, () => this.failures.candidates(rel, known), () =>
      this.steps.withCycleGuard(rel, () =>
        this.steps.located(() => {
          const entry = buildAsset(this, rel, plain);
          this.manifest.data.files[entry.source] = entry;
          this.urls.remember(entry, entry.source);
          return entry;
        }),
      ),
    );
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
    const source = this.steps.part(found.rel, found.abs);
    const kind = assetKind(found.rel);
    const out = this.outputs.write((h) => outputName(found.rel, h, false), source.code, kind, source.map);
    const esm = kind === 'js' && isEsModule(source.code);
    const entry: FileEntry = { ...out, source: found.rel, inputs: this.inputs.inputsOf(source.dependencies), ...(esm ? { module: true as const } : {}) };
    this.manifest.data.dev[found.rel] = entry;
    this.urls.remember(entry, found.rel);
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
    const out = this.outputs.write((h) => `${stem}.error.${h}${kind === 'css' ? '.css' : '.js'}`, body, kind);
    this.urls.rememberError(out.path);
    return out.path;
  }

  // ---------------------------------------------------------------- bundles

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
    const files = () => [...items.flatMap((i) => (i.type === 'file' ? this.failures.candidates(i.rel) : [])), ...this.failures.knownInputs(known)];
    return this.failures.run(`bundle\0${key}`, files, () =>
      this.steps.located(() => {
        const entry = buildBundle(this, kind, items, sources, key);
        this.manifest.data.bundles[key] = entry;
        return entry;
      }),
    );
  }

  /** Reads the manifest again (after a build in another pipeline or process). */
  reload(): void {
    this.manifest = new Manifest(this.config.manifest, this.storage instanceof FileStorage ? this.config.staticRoot : undefined);
    this.outputs.trust(this.manifest.data);
    for (const [rel, e] of Object.entries(this.manifest.data.files)) this.urls.remember(e, rel);
    for (const [rel, e] of Object.entries(this.manifest.data.dev)) this.urls.remember(e, rel);
  }

  /** Takes entries built elsewhere (a build worker) into this pipeline's manifest. */
  adopt(files: Record<string, FileEntry>): void {
    for (const [rel, entry] of Object.entries(files)) {
      this.manifest.data.files[rel] = entry;
      this.urls.remember(entry, rel);
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
