import os from 'node:os';
import path from 'node:path';
import { messageOf } from './errors.ts';
import { resolveConfig, type ConvoyConfig, type ConvoyOptions, type Logger } from './config.ts';
import { install } from './install.ts';
import { assetKind, type Pipeline } from './core/pipeline.ts';
import { defaultLimits, type CompressionLimits, type CompressionStats } from './core/outputs.ts';
import type { ScanReport } from './scan/scanner.ts';
import { isPartial } from './core/bundles.ts';
import { loadNunjucks } from './nunjucks-copy.ts';
import { earlyBatches, runWorkers, statSize, type PlainOptions, type WorkerResult } from './build-workers.ts';
import { prebuildTemplates } from './build-templates.ts';
import { startMinifyAhead } from './build-minify-ahead.ts';
import type { MinifyAhead, MinifyAheadStats } from './core/minify-ahead.ts';

// Moved to their own modules; re-exported so importers of this module keep working.
export type { WorkerMessage } from './build-workers.ts';
export { clean, cleanReport, type CleanReport } from './clean.ts';

/** How `build` runs. */
export interface BuildOptions {
  /** Also scan the templates and prebuild every tag found. */
  parseTemplates?: boolean;
  /** Globs (relative to each template root) replacing `templateGlob`. */
  templates?: string[];
  /** Tags the renderer's other extensions define (Eleventy's shortcodes): the scan skips them without a warning. */
  foreignTags?: string[];
  /** Rebuild everything, ignoring the manifest. */
  force?: boolean;
  /**
   * Threads the build may keep busy (default: every core). 1 does everything in this thread,
   * compression included; more hands compressions to libuv's pool (8 per job at a time).
   */
  jobs?: number;
  /** Worker threads that compile and minify (default: jobs − 1, at most 4, above 2 cores when at least 2 MB of CSS/JS sources are to be processed; else none). */
  workers?: number;
  /**
   * Minify JavaScript ahead in a worker thread while this thread compiles and minifies CSS and
   * scans templates (default: with jobs > 1 and no build workers, when at least AHEAD_MIN_BYTES
   * of JavaScript is to be minified; true forces it, even beside build workers).
   */
  jsWorker?: boolean;
  /** Told after each step: files done out of total, and the current name. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** What happened to one source. */
export interface FileReport {
  rel: string;
  status: 'built' | 'fresh' | 'failed';
  /** Source bytes, and the served (minified) output's bytes and compressed twins' bytes. */
  sourceBytes: number;
  outputBytes?: number;
  gzipBytes?: number;
  brBytes?: number;
  output?: string;
  error?: string;
}

/** The result of a build: what was written, skipped and reported. */
export interface BuildReport {
  files: FileReport[];
  /** Bundles in the manifest after the build, with whether this build made them. */
  bundles: { key: string; path: string; sources: string[]; size: number; built: boolean }[];
  scan?: ScanReport;
  /** The nunjucks the scan parsed with: the project's own copy when it has one (entry file). */
  nunjucks: string;
  warnings: string[];
  errors: string[];
  /** Outputs the build replaced (kept for pages still cached; `convoy clean` removes them next time). */
  replaced: string[];
  manifestWritten: boolean;
  milliseconds: number;
  /** Time of each phase: processing files, scanning templates (and building their bundles), waiting for compression to finish. */
  phases: { files: number; scan: number; compress: number };
  /** Threads the build used (`BuildOptions.jobs`), and worker threads among them. */
  jobs: number;
  workers: number;
  /** Sources handed to workers before the template scan (no template or named bundle mentions them). */
  early: string[];
  /** How the JavaScript minified ahead in the worker thread was used (absent when it was not started). */
  jsAhead?: MinifyAheadStats;
  /** What compression did in this thread (workers count their own). */
  compression: CompressionStats;
  config: ConvoyConfig;
}

/** A logger that also records warnings and errors for the report. */
function recording(into: { warnings: string[]; errors: string[] }, inner?: Logger): Logger {
  return {
    warn: (m) => {
      into.warnings.push(m);
      inner?.warn(m);
    },
    error: (m) => {
      into.errors.push(m);
      inner?.error(m);
    },
    info: (m) => inner?.info(m),
  };
}

/** Processes sources in this thread, recording what failed. */
export function processSources(pipeline: Pipeline, rels: string[], onEach?: (rel: string) => void): Record<string, string> {
  const failures: Record<string, string> = {};
  for (const rel of rels) {
    try {
      pipeline.asset(rel, 'check', true);
    } catch (err) {
      failures[rel] = messageOf(err);
    }
    onEach?.(rel);
  }
  return failures;
}

/**
 * Post-processes every file under the source roots into staticRoot (like collectstatic with a
 * manifest storage) and, with `parseTemplates`, prebuilds every tag the templates hold, so
 * production renders read the manifest and never compile. Only stale entries are rebuilt.
 */
export async function build(options: ConvoyOptions, opts: BuildOptions = {}): Promise<BuildReport> {
  const started = performance.now();
  const sink = { warnings: [] as string[], errors: [] as string[] };
  const { logger: userLogger, ...plain } = options;
  // A build is for production: debug settings of the environment do not apply.
  const buildOptions: PlainOptions = { ...plain, debug: false, strict: false, scssRebuild: false, coffeeRebuild: false, lessRebuild: false };
  const logger = recording(sink, userLogger);
  const config = resolveConfig({ ...buildOptions, logger });
  const nunjucks = loadNunjucks(config.root);
  const env = new nunjucks.module.Environment(new nunjucks.module.FileSystemLoader(config.templates), config.nunjucks);
  const convoy = install(env, { ...buildOptions, logger });
  const pipeline = convoy.pipeline;
  const before = pipeline.manifest.outputs();
  const previousReplaced = pipeline.manifest.data.previous;
  if (opts.force) {
    pipeline.manifest.data.files = {};
    pipeline.manifest.data.bundles = {};
    pipeline.manifest.data.dev = {};
  }
  const oldFiles = { ...pipeline.manifest.data.files };

  const sources = pipeline.finder.glob('**/*').filter((f) => !isPartial(f.rel));
  const isDone = (rel: string) => {
    const entry = pipeline.manifest.data.files[rel];
    return !!entry && !pipeline.isStale(entry) && (!!entry.plain || assetKind(rel) === 'other' || /\.min\.(css|js)$/i.test(rel));
  };
  const stale = sources.filter((f) => !isDone(f.rel));
  // Compression leaves this thread for libuv's pool (see `limits`); compiling and minifying stay
  // here unless there are workers. Workers start before the template scan (see `earlyBatches`).
  // On 2 cores none by default: started after the scan one measured ×0.72–0.94, started before it
  // ×0.79–1.39 (median ×1.01 over 6 pairs at load 7–10), as each warms up sass, terser and
  // clean-css again. Below ~2 MB of CSS/JS to process that warm-up cannot pay back anywhere.
  const cores = os.availableParallelism();
  const jobs = Math.max(1, opts.jobs ?? cores);
  const codeBytes = opts.workers === undefined ? stale.reduce((n, f) => n + (assetKind(f.rel) === 'other' ? 0 : (statSize(f.abs) ?? 0)), 0) : 0;
  const workers = Math.max(0, Math.min(opts.workers ?? (cores > 2 && codeBytes >= 2 * 2 ** 20 ? Math.min(4, jobs - 1) : 0), stale.length));
  // libuv's pool runs 4 compressions at a time; more are handed to it than it runs, so it keeps
  // compressing while this thread is inside a long synchronous step (a whole carpool) and cannot
  // hand out the next one. With only `jobs` handed out, the pool sat idle through the scan and
  // the build then waited 9–14 s for compression at its end (bench corpus, 2 cores).
  const limits: CompressionLimits = jobs === 1 ? { ...defaultLimits(), concurrency: 0 } : { ...defaultLimits(), concurrency: 8 * jobs };
  pipeline.outputs.limits = limits;
  let done = 0;
  const total = sources.length;
  const progress = (label: string) => opts.onProgress?.(++done, total, label);
  const staleSet = new Set(stale);
  for (const f of sources) if (!staleSet.has(f)) progress(f.rel);

  let failures: Record<string, string> = {};
  let filesMs = 0;
  // Workers start before the template scan (which runs in this thread and holds most of the
  // work: the bundles' parts), each with a batch of sources no template names, so compiling and
  // minifying overlap the scan; after it they share what is left with this thread.
  let next = 0;
  let take: () => string | undefined = () => undefined;
  let startWorkers: () => void = () => {};
  const handedEarly = new Set<string>();
  const share = { ...limits, maxBytesInFlight: Math.ceil(limits.maxBytesInFlight / (workers + 1)) };
  let fromWorkers: Promise<WorkerResult[]> = Promise.resolve([]);
  if (workers > 0) {
    const early = earlyBatches(stale, config, workers);
    for (const batch of early) for (const rel of batch) handedEarly.add(rel);
    const ready = new Promise<void>((resolve) => (startWorkers = resolve));
    fromWorkers = runWorkers(buildOptions, { ...pipeline.manifest.data.files }, () => take(), workers, share, progress, early, ready);
    // Awaited after this thread's share; a worker failing meanwhile must not count as unhandled.
    fromWorkers.catch(() => undefined);
  }
  const processFiles = async () => {
    const filesStarted = performance.now();
    // Largest first; what the templates' bundles built meanwhile is skipped.
    const todo = stale
      .filter((f) => !isDone(f.rel) && !handedEarly.has(f.rel))
      .map((f) => ({ rel: f.rel, size: statSize(f.abs) ?? 0 }))
      .sort((a, b) => b.size - a.size);
    for (const f of stale) if (!handedEarly.has(f.rel) && !todo.some((t) => t.rel === f.rel)) progress(f.rel);
    next = 0;
    take = () => (next < todo.length ? todo[next++]!.rel : undefined);
    startWorkers();
    // This thread takes sources too, going back to the event loop after each one so finished
    // compressions are replaced by queued ones and workers get their next source.
    for (let rel = take(); rel !== undefined; rel = take()) {
      Object.assign(failures, processSources(pipeline, [rel], progress));
      if (jobs > 1) await new Promise((resolve) => setImmediate(resolve));
    }
    for (const r of await fromWorkers) {
      pipeline.adopt(r.files);
      Object.assign(failures, r.failures);
      for (const w of r.warnings) pipeline.warn(w);
    }
    for (const [rel, message] of Object.entries(failures)) logger.error(message.includes(rel) ? message : `${rel}: ${message}`);
    filesMs = performance.now() - filesStarted;
  };
  // The templates' bundles go first: their large compressions then run while the files are
  // processed instead of after them, and every part they build (plain copy included) is fresh
  // for the files phase (workers are given those entries).
  pipeline.plainCopies = true;

  const scanStarted = performance.now();
  const oldBundles = { ...pipeline.manifest.data.bundles };
  let scan: ScanReport | undefined;
  let scanMs = 0;
  // Terser is the largest single cost of a cold build and the only tool whose work is known
  // before the scan; with it in another thread, each thread warms up only its own tools. Not
  // beside build workers: they already take the sources it would (and it would do them twice).
  let ahead: MinifyAhead | undefined;
  try {
    if (opts.jsWorker || (opts.jsWorker === undefined && jobs > 1 && workers === 0)) {
      ahead = startMinifyAhead(pipeline, stale, config, !!opts.jsWorker);
      pipeline.steps.ahead = ahead;
    }
    scan = prebuildTemplates(convoy, config, nunjucks, opts, logger);
    scanMs = performance.now() - scanStarted;
    await processFiles();
  } finally {
    ahead?.close();
    pipeline.steps.ahead = undefined;
  }
  // Twins a request made quickly are redone at full quality from the stored outputs; then every
  // queued twin must be on disk before the manifest names it.
  const compressStarted = performance.now();
  pipeline.requalify();
  for (const message of await pipeline.flush()) logger.error(message);
  const compressMs = performance.now() - compressStarted;
  const after = pipeline.manifest.outputs();
  pipeline.manifest.data.previous = [...before].filter((p) => !after.has(p)).sort();
  if (!pipeline.manifest.data.previous.length && !Object.keys(failures).length) {
    // Nothing replaced this time: the last build's leftovers still wait for `convoy clean`.
    pipeline.manifest.data.previous = previousReplaced.filter((p) => !after.has(p));
  }
  // What this build made, decided before the save merges in entries other processes wrote meanwhile.
  const builtFiles = new Set(Object.keys(pipeline.manifest.data.files).filter((rel) => pipeline.manifest.data.files[rel] !== oldFiles[rel]));
  const builtBundles = new Set(Object.keys(pipeline.manifest.data.bundles).filter((key) => pipeline.manifest.data.bundles[key] !== oldBundles[key]));
  const manifestWritten = pipeline.save();

  const files: FileReport[] = sources.map((f) => {
    const entry = pipeline.manifest.data.files[f.rel];
    const sourceBytes = statSize(f.abs) ?? 0;
    if (failures[f.rel] || !entry) return { rel: f.rel, status: 'failed', sourceBytes, error: failures[f.rel] ?? 'not built' };
    const out = (p?: string) => (p ? statSize(path.join(config.staticRoot, p)) : undefined);
    return {
      rel: f.rel,
      status: builtFiles.has(f.rel) ? 'built' : 'fresh',
      sourceBytes,
      output: entry.path,
      outputBytes: entry.size,
      gzipBytes: out(entry.variants.gz),
      brBytes: out(entry.variants.br),
    };
  });
  const bundles = Object.entries(pipeline.manifest.data.bundles).map(([key, b]) => ({ key, path: b.path, sources: b.sources, size: b.size, built: builtBundles.has(key) }));
  return {
    files,
    bundles,
    ...(scan ? { scan } : {}),
    nunjucks: nunjucks.path,
    warnings: sink.warnings,
    errors: sink.errors,
    replaced: pipeline.manifest.data.previous,
    manifestWritten,
    milliseconds: performance.now() - started,
    phases: { files: filesMs, scan: scanMs, compress: compressMs },
    jobs,
    workers,
    early: [...handedEarly].sort(),
    compression: { ...pipeline.outputs.compression },
    ...(ahead ? { jsAhead: { ...ahead.stats } } : {}),
    config,
  };
}
