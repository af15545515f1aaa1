import path from 'node:path';
import { checkSetup } from './config-checks.ts';
import { checkOptions } from './config-validate.ts';
import type { PublishOptions } from './publish/settings.ts';

export type { PublishOptions } from './publish/settings.ts';
export { configFromEnv } from './config-env.ts';
export { settingNames } from './config-schema.ts';

/** A console-like sink for the library's warnings and progress. */
export interface Logger {
  warn(message: string): void;
  error(message: string): void;
  info(message: string): void;
}

/** A compression format written as a twin of each text output. */
export type CompressFormat = 'gzip' | 'br';

/** Which implementation runs each step; the faster ones are used only when installed. */
export interface Engines {
  js: 'terser' | 'swc';
  css: 'clean-css' | 'lightningcss';
  sass: 'sass' | 'sass-embedded';
}

/**
 * A source root in full: a folder, optionally mounted under a URL path (`prefix`, as Django's
 * `('bootstrap', 'node_modules/bootstrap/dist')`) and limited to the files `include` matches and
 * `exclude` does not (globs relative to `dir`).
 */
export interface SourceRoot {
  /** The folder (relative paths resolve from `root`). */
  dir: string;
  /** URL path the folder's files appear under (`bootstrap` → `bootstrap/css/x.css`). */
  prefix?: string;
  /** Globs of the files this root publishes (default: all). */
  include?: string | string[];
  /** Globs of files this root never publishes. */
  exclude?: string | string[];
}

/** A source root as resolved: absolute folder, normalised prefix (`''` for none), glob lists. */
export interface ResolvedSourceRoot {
  dir: string;
  prefix: string;
  include?: string[];
  exclude?: string[];
}

/** Sass settings beyond the source roots and `node_modules`, which are always searched. */
export interface SassOptions {
  /** Extra folders `@use`/`@import` search (after the source roots, before `node_modules`). */
  loadPaths?: string[];
  /** Deprecation ids Sass should not report (e.g. `['import', 'global-builtin']`). */
  silenceDeprecations?: string[];
  /** Drop warnings from stylesheets loaded through load paths (`node_modules` packages included). */
  quietDeps?: boolean;
}

/** Delimiters and other options for the Nunjucks Environment the CLI builds. */
export interface NunjucksEnvOptions {
  autoescape?: boolean;
  throwOnUndefined?: boolean;
  trimBlocks?: boolean;
  lstripBlocks?: boolean;
  tags?: {
    blockStart?: string;
    blockEnd?: string;
    variableStart?: string;
    variableEnd?: string;
    commentStart?: string;
    commentEnd?: string;
  };
}

/** The options object handed to `install`, `serve`, the CLI and `defineConfig` (DESIGN §3). */
export interface ConvoyOptions {
  /** Folder relative paths resolve from (default: the config file's folder or the cwd). */
  root?: string;
  /** Source roots (folders or `{ dir, prefix, include, exclude }`), searched in order; the first match wins. */
  sources?: (string | SourceRoot)[];
  /** Where processed files are written. */
  staticRoot?: string;
  /** URL prefix of staticRoot, or a CDN origin. */
  staticUrl?: string;
  /** Development mode: individual files, compile on demand, source maps. */
  debug?: boolean;
  /** Throw ConvoyError instead of falling back. */
  strict?: boolean;
  /** In debug, still print processed URLs from `convoy`. */
  convoyDuringDebug?: boolean;
  /** Use `x.min.css` beside `x.css` instead of minifying again. */
  useExistingMinFiles?: boolean;
  /** Print the `.gz` URL when the request accepts gzip (for hosts that cannot negotiate). */
  gzipInTemplate?: boolean;
  /** Compressed twins to write. */
  compress?: CompressFormat[];
  /** Recompile `scss` tags when their sources change. */
  scssRebuild?: boolean;
  /** Recompile `coffee` tags when their sources change. */
  coffeeRebuild?: boolean;
  /** Recompile `less` tags when their sources (or anything they import) change. */
  lessRebuild?: boolean;
  /** Named bundles declared in one place: name → paths or globs of every kind (`carpool css 'name'`). */
  bundles?: Record<string, string[]>;
  /** Folder (under staticRoot) that holds carpool bundles. */
  carpoolPathFragment?: string;
  /** Join the original sources and minify the bundle, rather than joining minified files. */
  carpoolCombineOriginals?: boolean;
  /** Build a missing bundle during the render that needs it. */
  carpoolCombineDuringRequest?: boolean;
  /** In debug, still combine carpools. */
  carpoolCombineDuringDebug?: boolean;
  /** Markup of a CSS bundle tag (`%s` URL, `%i` integrity attributes). */
  carpoolCssTemplate?: string;
  /** Markup of a JS bundle tag (`%s` URL, `%i` integrity attributes). */
  carpoolJsTemplate?: string;
  /** Comment before a bundle tag (`%s` the sources joined by `+++`); empty disables. */
  carpoolStartComment?: string;
  /** Comment after a bundle tag; empty disables. */
  carpoolEndComment?: string;
  /** Path of the manifest. */
  manifest?: string;
  /** Template roots, for the scan and the CLI's loader. */
  templates?: string[];
  /** Which files under the template roots are templates. */
  templateGlob?: string;
  /** Options for the Environment the CLI builds. */
  nunjucks?: NunjucksEnvOptions;
  /** Source maps: written and referenced, off, or written but not referenced. */
  sourceMaps?: boolean | 'hidden';
  /** Embed the sources' text in source maps. */
  sourcesContent?: boolean;
  /** Print `integrity="sha384-…"` on tags. */
  integrity?: boolean;
  /** Which implementation runs each step. */
  engines?: Partial<Engines>;
  /** max-age in seconds for files without a fingerprint (the Express middleware). */
  maxAge?: number;
  /** Where warnings go; default: stderr, once per cause. */
  logger?: Logger;
  /** Sass load paths and deprecation handling. */
  sass?: SassOptions;
  /** Where `convoy publish` uploads (S3-compatible bucket behind a CDN); `{}`: not configured. */
  publish?: PublishOptions;
  /** Distinct warnings (and remembered failures) kept to say each once; the oldest is forgotten past it. */
  maxWarnings?: number;
  /** Bundles one process builds during requests; past it, carpools print their individual tags (one warning). */
  maxRequestBundles?: number;
}

/**
 * Every option filled in, paths absolute. `sources` lists the root folders in order (what a
 * watcher or loader needs); `sourceRoots` holds them in full, prefixes and globs included.
 */
export type ConvoyConfig = Required<Omit<ConvoyOptions, 'engines' | 'sources' | 'sass'>> & {
  engines: Engines;
  sources: string[];
  sourceRoots: ResolvedSourceRoot[];
  sass: Required<SassOptions>;
};

/** Identity helper that types a config file's default export. */
export function defineConfig(options: ConvoyOptions): ConvoyOptions {
  return options;
}

function resolveSourceRoot(entry: string | SourceRoot, abs: (p: string) => string): ResolvedSourceRoot {
  if (typeof entry === 'string') return { dir: abs(entry), prefix: '' };
  const list = (v: string | string[] | undefined) => (v === undefined ? undefined : typeof v === 'string' ? [v] : [...v]);
  const include = list(entry.include);
  const exclude = list(entry.exclude);
  return {
    dir: abs(entry.dir),
    prefix: (entry.prefix ?? '').split('/').filter(Boolean).join('/'),
    ...(include ? { include } : {}),
    ...(exclude ? { exclude } : {}),
  };
}

/** A logger that writes to stderr and says each distinct message once (remembering at most `limit`, oldest forgotten first), each behind `prefix`. */
export function onceLogger(sink: Pick<Logger, 'warn' | 'error' | 'info'> = console, limit = 1000, prefix = 'convoy: '): Logger {
  const seen = new Set<string>();
  const once = (fn: (m: string) => void) => (m: string) => {
    if (seen.has(m)) return;
    if (seen.size >= limit) seen.delete(seen.values().next().value!);
    seen.add(m);
    fn(m);
  };
  return { warn: once((m) => sink.warn(`${prefix}${m}`)), error: once((m) => sink.error(`${prefix}${m}`)), info: (m) => sink.info(m) };
}

/** Validates options (unknown names and wrong types are errors naming the option) and fills in defaults. */
export function resolveConfig(options: ConvoyOptions = {}): ConvoyConfig {
  checkOptions(options);
  const root = path.resolve(options.root ?? process.cwd());
  const abs = (p: string) => path.resolve(root, p);
  const debug = options.debug ?? false;
  const staticRoot = abs(options.staticRoot ?? 'public/static');
  const sourceRoots = (options.sources ?? ['static']).map((s) => resolveSourceRoot(s, abs));
  let staticUrl = options.staticUrl ?? '/static/';
  if (!staticUrl.endsWith('/')) staticUrl += '/';
  const logger = options.logger ?? onceLogger(console, options.maxWarnings ?? 1000);
  const sourceDirs = (options.sources ?? ['static']).map((s) => abs(typeof s === 'string' ? s : (s as { dir: string }).dir));
  checkSetup({ given: options, root, staticRoot, sourceDirs, logger });
  return {
    root,
    sources: sourceRoots.map((r) => r.dir),
    sourceRoots,
    staticRoot,
    staticUrl,
    debug,
    strict: options.strict ?? false,
    convoyDuringDebug: options.convoyDuringDebug ?? false,
    useExistingMinFiles: options.useExistingMinFiles ?? true,
    gzipInTemplate: options.gzipInTemplate ?? false,
    compress: options.compress ?? ['gzip', 'br'],
    scssRebuild: options.scssRebuild ?? debug,
    coffeeRebuild: options.coffeeRebuild ?? debug,
    lessRebuild: options.lessRebuild ?? debug,
    bundles: options.bundles ?? {},
    carpoolPathFragment: (options.carpoolPathFragment ?? 'CARPOOL').replace(/^\/+|\/+$/g, ''),
    carpoolCombineOriginals: options.carpoolCombineOriginals ?? false,
    carpoolCombineDuringRequest: options.carpoolCombineDuringRequest ?? true,
    carpoolCombineDuringDebug: options.carpoolCombineDuringDebug ?? false,
    carpoolCssTemplate: options.carpoolCssTemplate ?? '<link rel="stylesheet" href="%s" >\n',
    carpoolJsTemplate: options.carpoolJsTemplate ?? '<script type="text/javascript" src="%s" ></script>\n',
    carpoolStartComment: options.carpoolStartComment ?? '\n<!-- %s -->\n',
    carpoolEndComment: options.carpoolEndComment ?? '\n<!-- %s -->\n',
    manifest: options.manifest ? abs(options.manifest) : path.join(staticRoot, 'convoy-manifest.json'),
    templates: (options.templates ?? ['templates']).map(abs),
    templateGlob: options.templateGlob ?? '**/*.{njk,nunjucks,html}',
    nunjucks: options.nunjucks ?? {},
    sourceMaps: options.sourceMaps ?? debug,
    sourcesContent: options.sourcesContent ?? true,
    integrity: options.integrity ?? false,
    engines: { js: 'terser', css: 'clean-css', sass: 'sass', ...options.engines },
    maxAge: options.maxAge ?? 60,
    logger,
    sass: {
      loadPaths: (options.sass?.loadPaths ?? []).map(abs),
      silenceDeprecations: options.sass?.silenceDeprecations ?? [],
      quietDeps: options.sass?.quietDeps ?? false,
    },
    publish: options.publish ?? {},
    maxWarnings: options.maxWarnings ?? 1000,
    maxRequestBundles: options.maxRequestBundles ?? 200,
  };
}
