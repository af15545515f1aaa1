import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as SassApi from 'sass';
import type CoffeeScriptApi from 'coffeescript';
import { ConvoyError } from '../errors.ts';
import { lazy } from './lazy.ts';
import { mapSource, portableSources, type SourceMap } from './sourcemaps.ts';
import { sassWarning, summarizeSassWarnings, type SassWarning } from './sass-warnings.ts';

// Loaded on first compile: a production server reading the manifest never pays for them.
const sass = lazy<typeof SassApi>('sass');
const coffeescript = lazy<typeof CoffeeScriptApi>('coffeescript');

/** The result of compiling one source. */
export interface Compiled {
  code: string;
  /** Absent when maps are off. */
  map?: SourceMap;
  /** Absolute paths of every file read, the entry included (Sass partials too). */
  dependencies: string[];
  /** Compiler warnings (Sass deprecations), in order. */
  warnings: string[];
  /** Warnings about installed packages, each logged as it is and once, whichever file triggered it. */
  notices?: string[];
}

/** What a compiler needs to know. */
export interface CompileOptions {
  /** Folder map sources are made relative to. */
  root: string;
  /** Extra folders `@use`/`@import` search (the source roots). */
  loadPaths: string[];
  /** Which Sass implementation. */
  sassEngine?: 'sass' | 'sass-embedded';
  /** Produce source maps (skipped when no map will be written: they cost time on large inputs). */
  sourceMap?: boolean;
  /** Sass deprecation ids not to report. */
  silenceDeprecations?: string[];
  /** Drop Sass warnings from stylesheets loaded through load paths. */
  quietDeps?: boolean;
}

/** A compiled language: the tag that takes it and the compiler that reads it. */
export type Language = 'scss' | 'coffee' | 'less';

/** Which compiled language an extension belongs to, if any. */
export function compilerFor(file: string): Language | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.scss' || ext === '.sass') return 'scss';
  if (ext === '.coffee' || ext === '.litcoffee') return 'coffee';
  if (ext === '.less') return 'less';
  return undefined;
}

/** Compiles a source with the compiler of its language. */
export function compileSource(lang: Language, abs: string, rel: string, opts: CompileOptions): Compiled {
  if (lang === 'scss') return compileScss(abs, rel, opts);
  if (lang === 'less') return compileLess(abs, rel, opts);
  return compileCoffee(abs, rel, opts);
}

type SassModule = typeof sass;
const requireHere = createRequire(import.meta.url);
let embedded: SassModule | undefined;

function sassModule(engine: CompileOptions['sassEngine']): SassModule {
  if (engine !== 'sass-embedded') return sass;
  if (!embedded) {
    try {
      embedded = requireHere(requireHere.resolve('sass-embedded', { paths: [process.cwd()] })) as SassModule;
    } catch (cause) {
      throw new ConvoyError('E_CONFIG', 'engines.sass is "sass-embedded" but the package is not installed (npm install sass-embedded)', { cause });
    }
  }
  return embedded;
}

const nodeModulesCache = new Map<string, string[]>();

/**
 * Every `node_modules` folder from `root` up to the file system's root, nearest first: what an app
 * gives the sass CLI as `--load-path=node_modules`, and where Node itself would find a package.
 */
export function nodeModulesPaths(root: string): string[] {
  let found = nodeModulesCache.get(root);
  if (!found) {
    found = [];
    for (let dir = path.resolve(root); ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules');
      if (path.basename(dir) !== 'node_modules' && fs.existsSync(candidate)) found.push(candidate);
      if (path.dirname(dir) === dir) break;
    }
    nodeModulesCache.set(root, found);
  }
  return found;
}

/**
 * Compiles a `.scss`/`.sass` file to expanded CSS with a source map and its dependency set.
 * `@use`/`@import` search the load paths, then every `node_modules` above the root (so
 * `@use "bootstrap/scss/bootstrap"` works as it does for the sass CLI); `pkg:` URLs work too.
 */
export function compileScss(abs: string, rel: string, opts: CompileOptions): Compiled {
  const reported: SassWarning[] = [];
  const impl = sassModule(opts.sassEngine);
  try {
    const result = impl.compile(abs, {
      style: 'expanded',
      sourceMap: opts.sourceMap !== false,
      sourceMapIncludeSources: true,
      loadPaths: [...opts.loadPaths, ...nodeModulesPaths(opts.root)],
      importers: [new impl.NodePackageImporter(opts.root)],
      ...(opts.silenceDeprecations?.length ? { silenceDeprecations: opts.silenceDeprecations as SassApi.DeprecationOrId[] } : {}),
      ...(opts.quietDeps ? { quietDeps: true } : {}),
      logger: {
        warn(message, options) {
          reported.push(sassWarning(message, options));
        },
      },
    });
    const { own: warnings, packages: notices } = summarizeSassWarnings(reported, opts.root);
    const dependencies = result.loadedUrls.filter((u) => u.protocol === 'file:').map((u) => fileURLToPath(u));
    const base = { code: result.css, dependencies, warnings, ...(notices.length ? { notices } : {}) };
    if (!result.sourceMap) return base;
    return { ...base, map: portableSources(result.sourceMap as unknown as SourceMap, opts.root) };
  } catch (cause) {
    const err = cause as { sassMessage?: string; span?: { url?: URL; start: { line: number; column: number } }; message: string };
    if (err.span) {
      const file = err.span.url ? path.relative(opts.root, fileURLToPath(err.span.url)).split(path.sep).join('/') : rel;
      throw new ConvoyError('E_COMPILE', `Sass error: ${err.sassMessage ?? err.message}`, {
        file,
        line: err.span.start.line + 1,
        column: err.span.start.column + 1,
        cause,
      });
    }
    throw new ConvoyError('E_COMPILE', `Sass error: ${err.message}`, { file: rel, cause });
  }
}

/** Compiles a `.coffee` file to JavaScript (wrapped in a closure, as `coffee -c` does) with a source map. */
export function compileCoffee(abs: string, rel: string, opts: CompileOptions): Compiled {
  const src = fs.readFileSync(abs, 'utf8');
  const source = path.relative(opts.root, abs).split(path.sep).join('/');
  try {
    const wantMap = opts.sourceMap !== false;
    const result = coffeescript.compile(src, {
      filename: abs,
      sourceMap: wantMap,
      sourceFiles: [mapSource(source)],
      generatedFile: path.basename(rel).replace(/\.(lit)?coffee$/, '.js'),
      literate: abs.endsWith('.litcoffee'),
    }) as unknown as { js: string; v3SourceMap: string } | string;
    if (typeof result === 'string') return { code: result, dependencies: [abs], warnings: [] };
    const map = JSON.parse(result.v3SourceMap) as SourceMap;
    map.sourcesContent = [src];
    delete map.sourceRoot;
    return { code: result.js, map, dependencies: [abs], warnings: [] };
  } catch (cause) {
    const loc = (cause as { location?: { first_line: number; first_column: number } }).location;
    throw new ConvoyError('E_COMPILE', `CoffeeScript error: ${(cause as Error).message}`, {
      file: source,
      ...(loc ? { line: loc.first_line + 1, column: loc.first_column + 1 } : {}),
      cause,
    });
  }
}

// ---------------------------------------------------------------- LESS (optional peer dependency)

/** The part of the `less` package used here. */
interface LessModule {
  render(input: string, options: object, callback: (err: LessError | null, output?: { css: string; map?: string; imports: string[] }) => void): void;
}

/** What `less.render` reports on failure (line 1-based, column 0-based). */
interface LessError {
  type?: string;
  message?: string;
  filename?: string;
  line?: number | null;
  column?: number;
  extract?: (string | undefined)[];
}

let lessModule: LessModule | undefined;

/** Loads `less` on first use: an optional peer, installed beside this package or in the project. */
function loadLess(root: string): LessModule {
  if (lessModule) return lessModule;
  let cause: unknown;
  for (const from of [undefined, root, process.cwd()]) {
    try {
      lessModule = requireHere(from === undefined ? 'less' : requireHere.resolve('less', { paths: [from] })) as LessModule;
      return lessModule;
    } catch (err) {
      cause ??= err;
    }
  }
  throw new ConvoyError('E_CONFIG', 'compiling .less files needs the "less" package, an optional peer dependency that is not installed (npm install less)', { cause });
}

/**
 * Compiles a `.less` file to CSS with a source map; its dependencies are the entry and every file
 * it imported. `less.render` runs synchronously with `syncImport` and the callback form.
 */
export function compileLess(abs: string, rel: string, opts: CompileOptions): Compiled {
  const less = loadLess(opts.root);
  const src = fs.readFileSync(abs, 'utf8');
  const fromRoot = (file: string) => path.relative(opts.root, path.resolve(path.dirname(abs), file)).split(path.sep).join('/');
  const wantMap = opts.sourceMap !== false;
  let result: { css: string; map?: string; imports: string[] } | undefined;
  let failure: LessError | undefined;
  let called = false;
  less.render(
    src,
    {
      filename: abs,
      paths: [path.dirname(abs), ...opts.loadPaths],
      syncImport: true,
      ...(wantMap ? { sourceMap: { outputSourceFiles: true, sourceMapBasepath: path.dirname(abs), disableSourcemapAnnotation: true } } : {}),
    },
    (err, output) => {
      called = true;
      if (err) failure = err;
      else result = output;
    },
  );
  if (!called) {
    throw new ConvoyError('E_COMPILE', 'LESS did not finish synchronously (a plugin or an import over the network?)', { file: fromRoot(abs) });
  }
  if (failure || !result) {
    const err = failure ?? {};
    // With syncImport a missing @import comes back without a message.
    const message = err.message ?? (err.extract?.some((l) => l?.includes('@import')) ? 'an @import could not be loaded (file not found?)' : `${err.type ?? 'unknown'} error`);
    throw new ConvoyError('E_COMPILE', `LESS ${err.type ? `${err.type} ` : ''}error: ${message}`, {
      file: err.filename ? fromRoot(err.filename) : fromRoot(abs),
      ...(typeof err.line === 'number' ? { line: err.line, ...(typeof err.column === 'number' ? { column: err.column + 1 } : {}) } : {}),
      cause: failure,
    });
  }
  const dependencies = [abs, ...result.imports.filter((f) => path.isAbsolute(f) && fs.existsSync(f))];
  if (!wantMap || !result.map) return { code: result.css, dependencies, warnings: [] };
  const map = portableSources(JSON.parse(result.map) as SourceMap, opts.root, path.dirname(abs));
  return { code: result.css, map, dependencies, warnings: [] };
}
