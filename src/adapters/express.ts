import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import send from 'send';
import mime from 'mime-types';
import Negotiator from 'negotiator';
import type nunjucks from 'nunjucks';
import { loadNunjucks } from '../nunjucks-copy.ts';
import type { ConvoyOptions } from '../config.ts';
import { safeRelative } from '../core/finder.ts';
import { compilerFor } from '../core/compilers.ts';
import { ConvoyError } from '../errors.ts';
import { install } from '../install.ts';
import { Convoy } from '../tags/runtime.ts';
import { resolveConfig } from '../config.ts';
import { createPipeline } from '../core/pipeline.ts';
import { injectReloadClient, liveReloadOf, uncached } from './live-reload.ts';

/** A connect-style middleware. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Request as Express extends it (originalUrl survives mounting). */
type Req = IncomingMessage & { originalUrl?: string };

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The compiled outputs a debug request may name: `site.css` from `site.scss`. */
const SOURCE_FOR: Record<string, string[]> = { '.css': ['.scss', '.sass', '.less'], '.js': ['.coffee', '.litcoffee'] };

function handleFor(options: ConvoyOptions): Convoy {
  const config = resolveConfig(options);
  return new Convoy(config, createPipeline(config));
}

/**
 * The asset name a request path stands for, decoded exactly once. Encoded separators and NULs,
 * a `%` left after decoding (it would be decoded again further on), `..`, absolute paths,
 * backslashes and dotfiles are refused (thrown as E_PATH_ESCAPE).
 */
export function requestedName(raw: string): string {
  const refuse = (why: string): never => {
    throw new ConvoyError('E_PATH_ESCAPE', `request path ${JSON.stringify(raw)} ${why}`);
  };
  if (/%2f|%5c|%00/i.test(raw)) refuse('encodes a separator or NUL');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return refuse('has malformed percent-encoding');
  }
  if (decoded.includes('%')) refuse('is encoded twice');
  const rel = safeRelative(decoded);
  if (rel.split('/').some((seg) => seg.startsWith('.'))) refuse('names a dotfile');
  return rel;
}

/** The real path of `rel` under `root` if it is a regular file whose real location stays inside the root's. */
function realFileIn(root: string, rel: string): string | undefined {
  let realRoot: string;
  let real: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(path.join(root, ...rel.split('/')));
    if (!fs.statSync(real).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return real.startsWith(realRoot + path.sep) ? real : undefined;
}

/**
 * Serves staticRoot under staticUrl: every file the manifest names (outputs, bundles, twins, maps,
 * the last build's replaced files) cached for a year (`immutable`), others for `maxAge` seconds;
 * `.br`/`.gz` twins chosen by Accept-Encoding (with the original's Content-Type and `Vary`); ETag,
 * conditional GET, HEAD and ranges through `send`. A source name (`css/base.css`) is answered with
 * its processed output, or, when it has none (it failed to process: a tag's fallback URL), with
 * the source itself. In debug it also compiles `scss`/`coffee`/`less` on demand. A path whose real
 * location leaves staticRoot (or a source root) gets 404, as do dotfiles and malformed paths.
 */
export function serve(optionsOrConvoy: ConvoyOptions | Convoy = {}): Middleware {
  const convoy = optionsOrConvoy instanceof Convoy ? optionsOrConvoy : handleFor(optionsOrConvoy);
  const { config, pipeline } = convoy;
  const prefix = pipeline.staticPath;
  const manifestRel = path.relative(config.staticRoot, config.manifest).split(path.sep).join('/');
  // In debug, the live-reload event stream lives under staticUrl too.
  const live = config.debug ? liveReloadOf(convoy) : undefined;

  const notFound = (res: ServerResponse) => {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('Not Found');
  };

  // Names the manifest lists, rebuilt on a miss when the manifest changed (here or on disk).
  let named = new Set<string>();
  let namedFor: unknown;
  let namedAt = 0;
  let namedMark = -1;
  // Work done in this process (a request built something) or a second gone by: the list may be old.
  const mark = () => pipeline.stats.writes + pipeline.stats.bundles + pipeline.stats.compiles;
  const isNamed = (rel: string): boolean => {
    if (named.has(rel) && namedFor === pipeline.manifest) return true;
    const changedOnDisk = pipeline.manifest.refresh();
    if (changedOnDisk || namedFor !== pipeline.manifest || namedMark !== mark() || Date.now() - namedAt > 1000) {
      named = pipeline.manifest.outputs();
      for (const p of pipeline.manifest.data.previous) named.add(p);
      namedFor = pipeline.manifest;
      namedAt = Date.now();
      namedMark = mark();
    }
    return named.has(rel);
  };

  const answer = (req: Req, res: ServerResponse, next: (err?: unknown) => void, rel: string): void => {
    if (rel === manifestRel) return notFound(res); // the renderer's, not the public's
    let file: string | undefined;
    let immutable = false;
    let noCache = false;
    if (realFileIn(config.staticRoot, rel)) {
      file = rel;
      immutable = isNamed(rel);
    } else {
      const entry = pipeline.manifest.data.files[rel];
      if (entry && !config.debug) {
        file = entry.plain ?? entry.path;
      } else if (config.debug) {
        noCache = true;
        const found = pipeline.finder.tryFind(rel);
        if (found && !compilerFor(rel)) return serveSource(req, res, next, found.abs, rel);
        const ext = path.posix.extname(rel);
        for (const srcExt of SOURCE_FOR[ext] ?? []) {
          const source = rel.slice(0, -ext.length) + srcExt;
          if (!pipeline.finder.tryFind(source)) continue;
          try {
            file = pipeline.compile(source).path;
          } catch (err) {
            file = pipeline.errorAsset(source, err);
          }
          break;
        }
      } else {
        // No processed form (it failed, or is new since the build): the tag printed this source URL.
        const found = pipeline.finder.tryFind(rel);
        if (found) return serveSource(req, res, next, found.abs, rel);
      }
    }
    const real = file && realFileIn(config.staticRoot, file);
    if (!file || !real) return notFound(res);
    const twins: Twins = {};
    for (const enc of ['br', 'gzip'] as const) {
      const twin = realFileIn(config.staticRoot, file + (enc === 'br' ? '.br' : '.gz'));
      if (twin) twins[enc] = twin;
    }
    const cacheControl = immutable ? IMMUTABLE : noCache ? 'no-cache' : `public, max-age=${config.maxAge}`;
    return serveFile(req, res, next, real, file, { cacheControl, twins });
  };

  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (live?.handle(req, res)) return;
    const url = (req as Req).originalUrl ?? req.url ?? '/';
    const rawPath = url.split('?')[0]!;
    if (!rawPath.startsWith(prefix)) return next();
    try {
      answer(req as Req, res, next, requestedName(rawPath.slice(prefix.length)));
    } catch (err) {
      // A bad or escaping path is a missing file to the client, never a server error.
      if (err instanceof ConvoyError && (err.code === 'E_PATH_ESCAPE' || err.code === 'E_NOT_FOUND')) return notFound(res);
      next(err);
    }
  };
}

/** A source file, served as it is (debug, or a production fallback): revalidated on every use. */
function serveSource(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, abs: string, rel: string): void {
  // The finder checked the real location stays in its root; send gets that real path.
  serveFile(req, res, next, fs.realpathSync(abs), rel, { cacheControl: 'no-cache', twins: {}, source: true });
}

/** Real paths of the compressed twins of a file, by encoding. */
type Twins = { br?: string; gzip?: string };

function serveFile(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, abs: string, name: string, opts: { cacheControl: string; twins: Twins; source?: boolean }): void {
  let target = abs;
  let encoding: string | undefined;
  const encodings = (['br', 'gzip'] as const).filter((enc) => opts.twins[enc]);
  if (encodings.length) {
    res.setHeader('Vary', 'Accept-Encoding');
    const choice = (new Negotiator(req) as unknown as { encoding(a: string[], o: { preferred: string[] }): string | undefined }).encoding([...encodings, 'identity'], {
      preferred: ['br', 'gzip', 'identity'],
    });
    if (choice === 'br' || choice === 'gzip') {
      encoding = choice;
      target = opts.twins[choice]!;
    }
  }
  // Outputs are UTF-8; a source file served as it is may not be (a latin-1 @charset, a
  // <script charset>), and an HTTP charset would override what it declares: none for sources.
  const type = (opts.source ? mime.lookup(path.posix.extname(name)) : mime.contentType(path.posix.extname(name))) || 'application/octet-stream';
  send(req, target, { etag: true, lastModified: true, cacheControl: false, dotfiles: 'allow' })
    .on('headers', (r: ServerResponse) => {
      r.setHeader('Cache-Control', opts.cacheControl);
      r.setHeader('Content-Type', type);
      if (encoding) r.setHeader('Content-Encoding', encoding);
      r.setHeader('X-Content-Type-Options', 'nosniff');
    })
    .on('error', (err: { status?: number }) => {
      if (err.status === 404) {
        res.statusCode = 404;
        res.end('Not Found');
      } else next(err);
    })
    .pipe(res);
}

/** What `convoyExpress` wires up. */
export interface ExpressSetup {
  env: nunjucks.Environment;
  convoy: Convoy;
  /** Resolves once the debug watcher is armed (at once when not watching). */
  ready: Promise<void>;
  /** Stops the debug watcher and ends live-reload streams. */
  close(): Promise<void>;
}

/** Options of `convoyExpress` beyond the pipeline's own. */
export interface ExpressOptions {
  /** In debug, watch the source and template roots for live reload (default: true in debug). */
  watch?: boolean;
  /** In debug, put the live-reload client on every HTML page sent, with no `convoy_reload` tag (default: false). */
  injectReloadClient?: boolean;
}

/** The part of an Express app the helper uses. */
export interface ExpressApp {
  use(...handlers: unknown[]): unknown;
  set(name: string, value: unknown): unknown;
  get(name: string): unknown;
}

/**
 * Wires Nunjucks and the pipeline into an Express app: a Nunjucks Environment over the template
 * roots (or `env`), the tags installed with `options`, `res.render` using it, the static
 * middleware at staticUrl, and each request's Accept-Encoding exposed to the tags as
 * `convoyAcceptEncoding` (for gzipInTemplate).
 */
export function convoyExpress(app: ExpressApp, allOptions: ConvoyOptions & ExpressOptions = {}, env?: nunjucks.Environment): ExpressSetup {
  const { watch, injectReloadClient: inject, ...options } = allOptions;
  const config = resolveConfig(options);
  // The app's own copy of nunjucks (npm link, pnpm and nested installs may keep another one beside ours).
  const nj = loadNunjucks(config.root).module;
  const environment = env ?? new nj.Environment(new nj.FileSystemLoader(config.templates), config.nunjucks);
  const convoy = install(environment, options);
  // Debug: edited templates show on reload, and changes reach open pages (live reload).
  if (config.debug) uncached(environment);
  const watcher = config.debug && watch !== false ? liveReloadOf(convoy).watch(environment) : undefined;
  if (config.debug && inject) app.use(injectReloadClient(convoy));
  environment.express(app as never);
  if (!app.get('view engine')) app.set('view engine', 'njk');
  app.use((req: IncomingMessage, res: ServerResponse & { locals?: Record<string, unknown> }, next: () => void) => {
    if (res.locals) res.locals.convoyAcceptEncoding = req.headers['accept-encoding'] ?? '';
    next();
  });
  app.use(serve(convoy));
  return { env: environment, convoy, ready: watcher?.ready ?? Promise.resolve(), close: () => liveReloadOf(convoy).close() };
}

export { liveReloadOf, injectReloadClient } from './live-reload.ts';
export default serve;
