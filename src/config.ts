import path from 'node:path';
import { ConvoyError } from './errors.ts';
import { checkSetup } from './config-checks.ts';
import { checkPublishOptions, publishFromEnv, type PublishOptions } from './publish/settings.ts';

export type { PublishOptions } from './publish/settings.ts';

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

type Kind = 'string' | 'boolean' | 'number' | 'count' | 'list' | 'sources' | 'compress' | 'sourceMaps' | 'object' | 'logger' | 'engines' | 'sass' | 'bundles' | 'publish';

// One row per option: its type and the seed's environment name (absent: not settable from env).
const SCHEMA: Record<keyof ConvoyOptions, { kind: Kind; env?: string }> = {
  root: { kind: 'string', env: 'CONVOY_ROOT' },
  sources: { kind: 'sources', env: 'CONVOY_SOURCES' },
  staticRoot: { kind: 'string', env: 'STATIC_ROOT' },
  staticUrl: { kind: 'string', env: 'STATIC_URL' },
  debug: { kind: 'boolean', env: 'DEBUG' },
  strict: { kind: 'boolean', env: 'CONVOY_STRICT' },
  convoyDuringDebug: { kind: 'boolean', env: 'CONVOY_DURING_DEBUG' },
  useExistingMinFiles: { kind: 'boolean', env: 'CONVOY_USE_EXISTING_MIN_FILES' },
  gzipInTemplate: { kind: 'boolean', env: 'CONVOY_GZIP_IN_TEMPLATE' },
  compress: { kind: 'compress', env: 'CONVOY_COMPRESS' },
  scssRebuild: { kind: 'boolean', env: 'SCSS_REBUILD' },
  coffeeRebuild: { kind: 'boolean', env: 'COFFEE_REBUILD' },
  lessRebuild: { kind: 'boolean', env: 'LESS_REBUILD' },
  bundles: { kind: 'bundles' },
  carpoolPathFragment: { kind: 'string', env: 'CARPOOL_CACHE_PATH_FRAGMENT' },
  carpoolCombineOriginals: { kind: 'boolean', env: 'CARPOOL_COMBINE_ORIGINALS' },
  carpoolCombineDuringRequest: { kind: 'boolean', env: 'CARPOOL_COMBINE_DURING_REQUEST' },
  carpoolCombineDuringDebug: { kind: 'boolean', env: 'CARPOOL_COMBINE_DURING_DEBUG' },
  carpoolCssTemplate: { kind: 'string', env: 'CARPOOL_CSS_TEMPLATE' },
  carpoolJsTemplate: { kind: 'string', env: 'CARPOOL_JS_TEMPLATE' },
  carpoolStartComment: { kind: 'string', env: 'CARPOOL_START_COMMENT_TEMPLATE' },
  carpoolEndComment: { kind: 'string', env: 'CARPOOL_END_COMMENT_TEMPLATE' },
  manifest: { kind: 'string', env: 'CONVOY_MANIFEST' },
  templates: { kind: 'list', env: 'CONVOY_TEMPLATES' },
  templateGlob: { kind: 'string', env: 'CONVOY_TEMPLATE_GLOB' },
  nunjucks: { kind: 'object' },
  sourceMaps: { kind: 'sourceMaps', env: 'CONVOY_SOURCE_MAPS' },
  sourcesContent: { kind: 'boolean', env: 'CONVOY_SOURCES_CONTENT' },
  integrity: { kind: 'boolean', env: 'CONVOY_INTEGRITY' },
  engines: { kind: 'engines', env: 'CONVOY_ENGINES' },
  maxAge: { kind: 'number', env: 'CONVOY_MAX_AGE' },
  logger: { kind: 'logger' },
  sass: { kind: 'sass' },
  // Several env names (CONVOY_S3_*, CONVOY_AWS_HEADERS): read by publishFromEnv.
  publish: { kind: 'publish' },
  maxWarnings: { kind: 'count', env: 'CONVOY_MAX_WARNINGS' },
  maxRequestBundles: { kind: 'count', env: 'CONVOY_MAX_REQUEST_BUNDLES' },
};

/** Every option with the environment name `configFromEnv` reads for it (the README's settings table lists them all). */
export function settingNames(): { option: string; env?: string }[] {
  return Object.entries(SCHEMA).map(([option, row]) => ({ option, ...(row.env ? { env: row.env } : {}) }));
}

const ENGINE_CHOICES: { [K in keyof Engines]: readonly Engines[K][] } = {
  js: ['terser', 'swc'],
  css: ['clean-css', 'lightningcss'],
  sass: ['sass', 'sass-embedded'],
};

/** Identity helper that types a config file's default export. */
export function defineConfig(options: ConvoyOptions): ConvoyOptions {
  return options;
}

function fail(option: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : typeof got === 'object' ? JSON.stringify(got) ?? String(got) : String(got);
  throw new ConvoyError('E_CONFIG', `option "${option}" expects ${expected}, got ${shown}`);
}

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return fail(name, 'one of 1/0/true/false/yes/no', raw);
}

function splitList(raw: string): string[] {
  return raw.split(/[:,]/).map((s) => s.trim()).filter(Boolean);
}

/**
 * Reads the seed's settings (CONVOY_*, CARPOOL_*, SCSS_REBUILD, DEBUG …) from an environment
 * object such as `process.env`; names that are absent are left out so defaults still apply.
 */
export function configFromEnv(env: Record<string, string | undefined>): ConvoyOptions {
  const out: Record<string, unknown> = {};
  for (const [option, { kind, env: name }] of Object.entries(SCHEMA)) {
    if (!name) continue;
    const raw = env[name];
    if (raw === undefined) continue;
    // DEBUG is also the `debug` package's variable (DEBUG=express:*): only boolean values are ours.
    if (name === 'DEBUG' && !/^\s*(1|0|true|false|yes|no|on|off)?\s*$/i.test(raw)) continue;
    switch (kind) {
      case 'boolean':
        out[option] = parseBool(name, raw);
        break;
      case 'number':
      case 'count':
        if (!/^\d+$/.test(raw.trim())) fail(name, 'a whole number', raw);
        out[option] = Number(raw);
        break;
      case 'list':
      case 'sources':
        // CONVOY_SOURCES stays a list of plain folders.
        out[option] = raw.split(':').map((s) => s.trim()).filter(Boolean);
        break;
      case 'compress':
        out[option] = splitList(raw);
        break;
      case 'sourceMaps':
        out[option] = raw.trim().toLowerCase() === 'hidden' ? 'hidden' : parseBool(name, raw);
        break;
      case 'engines': {
        // "js=swc,css=lightningcss"
        const engines: Record<string, string> = {};
        for (const pair of splitList(raw)) {
          const [k, v] = pair.split('=').map((s) => s.trim());
          if (!k || !v) fail(name, 'pairs like js=swc,css=lightningcss', raw);
          engines[k] = v;
        }
        out[option] = engines;
        break;
      }
      default:
        // Env strings may carry "\n" escapes (e.g. CARPOOL_CSS_TEMPLATE).
        out[option] = raw.replace(/\\n/g, '\n');
    }
  }
  const publish = publishFromEnv(env);
  if (publish) out.publish = publish;
  return out as ConvoyOptions;
}

function checkType(option: keyof ConvoyOptions, kind: Kind, value: unknown): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') fail(option, 'a string', value);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') fail(option, 'true or false', value);
      break;
    case 'count':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(option, 'a whole number ≥ 1', value);
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(option, 'a number of seconds ≥ 0', value);
      break;
    case 'list':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) fail(option, 'a list of non-empty strings', value);
      break;
    case 'sources':
      if (!Array.isArray(value)) fail(option, 'a list of folders or { dir, prefix?, include?, exclude? } objects', value);
      value.forEach((entry: unknown, i) => checkSourceRoot(`${option}[${i}]`, entry));
      break;
    case 'sass':
      if (!isObj(value)) fail(option, 'an object like { loadPaths, silenceDeprecations, quietDeps }', value);
      for (const [key, v] of Object.entries(value)) {
        if (key === 'quietDeps') {
          if (typeof v !== 'boolean') fail(`${option}.${key}`, 'true or false', v);
        } else if (key === 'loadPaths' || key === 'silenceDeprecations') {
          if (!isStringList(v)) fail(`${option}.${key}`, 'a list of non-empty strings', v);
        } else {
          fail(`${option}.${key}`, 'one of loadPaths, silenceDeprecations, quietDeps', key);
        }
      }
      break;
    case 'compress':
      if (!Array.isArray(value) || !value.every((v) => v === 'gzip' || v === 'br')) fail(option, "a list of 'gzip' and 'br'", value);
      break;
    case 'sourceMaps':
      if (typeof value !== 'boolean' && value !== 'hidden') fail(option, "true, false or 'hidden'", value);
      break;
    case 'object':
      if (!isObj(value)) fail(option, 'an object', value);
      break;
    case 'logger':
      if (!isObj(value) || !['warn', 'error', 'info'].every((m) => typeof value[m] === 'function')) {
        fail(option, 'an object with warn, error and info functions', value);
      }
      break;
    case 'engines':
      if (!isObj(value)) fail(option, 'an object like { js: "terser", css: "clean-css", sass: "sass" }', value);
      for (const [step, engine] of Object.entries(value)) {
        const choices = (ENGINE_CHOICES as Record<string, readonly string[]>)[step];
        if (!choices) fail(`${option}.${step}`, `one of the steps ${Object.keys(ENGINE_CHOICES).join(', ')}`, step);
        if (!choices.includes(engine as string)) fail(`${option}.${step}`, `one of ${choices.join(', ')}`, engine);
      }
      break;
    case 'publish':
      checkPublishOptions(value);
      break;
    case 'bundles':
      if (!isObj(value)) fail(option, "an object of named lists, like { site: ['css/reset.css', 'css/*.css'] }", value);
      for (const [name, list] of Object.entries(value)) {
        if (!name.trim()) fail(option, 'bundle names that are not empty', name);
        if (!Array.isArray(list) || !list.length || !list.every((v) => typeof v === 'string' && v.trim() !== '')) fail(`${option}.${name}`, 'a non-empty list of paths or globs', list);
      }
      break;
  }
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');

function checkSourceRoot(name: string, entry: unknown): void {
  if (typeof entry === 'string') {
    if (!entry) fail(name, 'a non-empty folder', entry);
    return;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(name, 'a folder or { dir, prefix?, include?, exclude? }', entry);
  const e = entry as Record<string, unknown>;
  if (typeof e.dir !== 'string' || !e.dir) fail(`${name}.dir`, 'a non-empty folder', e.dir);
  for (const [key, v] of Object.entries(e)) {
    if (key === 'dir') continue;
    if (key === 'prefix') {
      if (typeof v !== 'string' || v.split('/').some((seg) => seg === '..' || seg === '.') || v.includes('\\')) fail(`${name}.prefix`, 'a URL path without . or .. segments', v);
    } else if (key === 'include' || key === 'exclude') {
      if (!(typeof v === 'string' && v) && !isStringList(v)) fail(`${name}.${key}`, 'a glob or a list of globs', v);
    } else {
      fail(`${name}.${key}`, 'one of dir, prefix, include, exclude', key);
    }
  }
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
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  for (const [key, value] of Object.entries(options)) {
    const row = (SCHEMA as Record<string, { kind: Kind } | undefined>)[key];
    if (!row) {
      throw new ConvoyError('E_CONFIG', `unknown option "${key}" (known options: ${Object.keys(SCHEMA).join(', ')})`);
    }
    if (value !== undefined) checkType(key as keyof ConvoyOptions, row.kind, value);
  }
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
