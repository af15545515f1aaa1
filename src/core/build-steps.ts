import fs from 'node:fs';
import { ConvoyError } from '../errors.ts';
import type { ConvoyConfig } from '../config.ts';
import type { Finder } from './finder.ts';
import { compileSource, compilerFor, type Compiled } from './compilers.ts';
import type { Joined, Part } from './bundle.ts';
import { minifyCss, minifyJs, type MinifyInput, type Minified } from './minify.ts';
import type { MinifyAhead } from './minify-ahead.ts';
import { decodeSource } from './decode.ts';
import { chainMaps, mapSource, stripMapComment, type SourceMap } from './sourcemaps.ts';
import { assetKind } from './asset-kind.ts';
import type { InputDigests } from './freshness.ts';
import type { OutputWriter } from './outputs.ts';
import type { Storage } from './storage.ts';
import type { FileEntry } from './manifest.ts';

/** Counters of real work done, for tests and the CLI summary. */
export interface PipelineStats {
  compiles: number;
  minifies: number;
  bundles: number;
  writes: number;
}

/** What the shared build steps need from the pipeline that runs them. */
export interface StepHost {
  readonly config: ConvoyConfig;
  readonly finder: Finder;
  readonly stats: PipelineStats;
  readonly staticPath: string;
  inputName(abs: string): string;
  warn(text: string): void;
  url(outputPath: string): string;
  /** The output path of a source's processed form (a url() target), built if needed. */
  assetPath(rel: string): string;
}

/** What building a single asset or a bundle reads from the pipeline (the Pipeline itself). */
export interface BuildContext {
  readonly config: ConvoyConfig;
  readonly finder: Finder;
  readonly stats: PipelineStats;
  readonly storage: Storage;
  readonly outputs: OutputWriter;
  readonly inputs: InputDigests;
  readonly steps: BuildSteps;
  isModule(rel: string): boolean;
  asset(rel: string, freshness: 'check'): FileEntry;
}

/** A source loaded as code, with its map and every file read to make it. */
export type LoadedPart = Part & { dependencies: string[] };

/**
 * The steps single assets and bundles share: loading (compiling or decoding) a source, the CSS
 * url() context, map chaining, minifying CSS with its fallback warning, the reference-cycle guard,
 * and re-running a failed step with maps on so its error names the original file and line.
 */
export class BuildSteps {
  private readonly inProgress: string[] = [];
  private mapsForErrors = false;
  /** During a build: JavaScript minified ahead in a worker thread. */
  ahead: MinifyAhead | undefined;

  constructor(private readonly host: StepHost) {}

  /** Whether maps are made at all: when none is written, skipping them saves much of the work. */
  get maps(): boolean {
    return this.mapsForErrors || this.host.config.sourceMaps !== false;
  }

  /** A source as CSS/JS code with its map and every file read to make it. */
  private load(rel: string, abs: string, charset?: string): Compiled & { name: string } {
    const { config, stats } = this.host;
    const lang = compilerFor(rel);
    const opts = { root: config.root, loadPaths: this.sassLoadPaths(), sassEngine: config.engines.sass, sourceMap: this.maps, silenceDeprecations: config.sass.silenceDeprecations, quietDeps: config.sass.quietDeps };
    if (lang) {
      stats.compiles++;
      const out = compileSource(lang, abs, rel, opts);
      if (out.warnings.length) {
        this.host.warn(`${rel}: ${out.warnings.length} Sass warning(s), the first: ${out.warnings[0]}`);
      }
      for (const notice of out.notices ?? []) this.host.warn(notice);
      // Compiled code gets its own map name, chained to the real sources later.
      return { ...out, name: mapSource(`${this.host.inputName(abs)}.__compiled__`) };
    }
    // Decoded by its declared charset or as strict UTF-8 (never a silent U+FFFD); its own
    // sourceMappingURL would name a file that is not beside the output: ours replaces it.
    const code = stripMapComment(decodeSource(fs.readFileSync(abs), rel, assetKind(rel), charset).text);
    return { code, dependencies: [abs], warnings: [], name: mapSource(this.host.inputName(abs)) };
  }

  /** Source roots mounted at the top (a prefixed root's files have other names than Sass would use), then `sass.loadPaths`. */
  private sassLoadPaths(): string[] {
    return [...this.host.config.sourceRoots.filter((r) => !r.prefix).map((r) => r.dir), ...this.host.config.sass.loadPaths];
  }

  /** A source loaded as a part to join or minify, with the files it read. */
  part(rel: string, abs: string, charset?: string): LoadedPart {
    const loaded = this.load(rel, abs, charset);
    return { rel, name: loaded.name, code: loaded.code, ...(loaded.map ? { map: loaded.map } : {}), dependencies: loaded.dependencies };
  }

  /** Runs `fn` unless `key` is already being built further up (a url() or import cycle). */
  withCycleGuard<T>(key: string, fn: () => T): T {
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

  /** How CSS url()s and @imports resolve for an output in `outDir`; every file they reach goes into `deps`. */
  cssContext(outDir: string, inlineImports: boolean, deps: Set<string>) {
    const host = this.host;
    return {
      outDir,
      inlineImports,
      staticPath: host.staticPath,
      resolveTarget: (target: string): string | undefined => {
        const found = host.finder.tryFind(target);
        if (!found) return undefined;
        deps.add(found.abs);
        return host.assetPath(found.rel);
      },
      loadCss: (target: string): Part => {
        const found = host.finder.find(target);
        const p = this.part(found.rel, found.abs);
        for (const d of p.dependencies) deps.add(d);
        return p;
      },
      warn: (m: string) => host.warn(m),
      absoluteUrl: (out: string) => host.url(out),
    };
  }

  /** The map of joined code chained back to the original sources. */
  chained(joined: Joined): SourceMap | undefined {
    return joined.map && chainMaps(joined.map, joined.inner, true);
  }

  /**
   * Runs a build step; if it fails while maps are off, runs it again with maps so the error
   * names the original file and line instead of a position in joined code.
   */
  located<T>(step: () => T): T {
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

  /** Minified JavaScript: the build's worker result when it made one (see minify-ahead.ts), else made here. */
  minifiedJs(input: MinifyInput): Minified {
    const job = { input, engine: this.host.config.engines.js, wantMap: this.maps };
    return this.ahead?.take(job) ?? minifyJs(input, job.engine, job.wantMap);
  }

  /** Minified CSS; valid CSS the minifier cannot read is still served, with one warning. */
  minifiedCss(input: Parameters<typeof minifyCss>[0]): { code: string; map?: SourceMap } {
    const out = minifyCss(input, this.host.config.engines.css, this.maps);
    if (out.fallback) this.host.warn(`${input.rel}: ${out.fallback}`);
    return out;
  }
}
