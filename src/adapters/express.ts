import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import send from 'send';
import mime from 'mime-types';
import Negotiator from 'negotiator';
import nunjucks from 'nunjucks';
import type { ConvoyOptions } from '../config.ts';
import { safeRelative } from '../core/finder.ts';
import { compilerFor } from '../core/compilers.ts';
import { isFingerprinted } from '../core/fingerprint.ts';
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
 * Serves staticRoot under staticUrl: fingerprinted names cached for a year (`immutable`), others
 * for `maxAge` seconds; `.br`/`.gz` twins chosen by Accept-Encoding (with the original's
 * Content-Type and `Vary`); ETag, conditional GET, HEAD and ranges through `send`. A source name
 * (`css/base.css`) is answered with its processed output. In debug it also compiles
 * `scss`/`coffee`/`less` on demand and serves the source roots. Paths that leave the root get 404.
 */
export function serve(optionsOrConvoy: ConvoyOptions | Convoy = {}): Middleware {
  const convoy = optionsOrConvoy instanceof Convoy ? optionsOrConvoy : handleFor(optionsOrConvoy);
  const { config, pipeline } = convoy;
  const prefix = pipeline.staticPath;
  // In debug, the live-reload event stream lives under staticUrl too.
  const live = config.debug ? liveReloadOf(convoy) : undefined;

  const notFound = (res: ServerResponse) => {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('Not Found');
  };

  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (live?.handle(req, res)) return;
    const url = (req as Req).originalUrl ?? req.url ?? '/';
    const rawPath = url.split('?')[0]!;
    if (!rawPath.startsWith(prefix)) return next();
    const raw = rawPath.slice(prefix.length);
    // Encoded separators and NULs are never part of an asset name; everything else is checked
    // after decoding by safeRelative (.., absolute, backslash).
    if (/%2f|%5c|%00/i.test(raw)) return notFound(res);
    let rel: string;
    try {
      rel = safeRelative(raw);
    } catch {
      return notFound(res);
    }
    if (rel.split('/').some((s) => s.startsWith('.'))) return notFound(res);
    // The manifest maps every source name: it is for the renderer, not for the public.
    if (path.join(config.staticRoot, ...rel.split('/')) === config.manifest) return notFound(res);

    let file: string | undefined;
    let immutable = false;
    let noCache = false;
    if (pipeline.storage.exists(rel)) {
      file = rel;
      immutable = isFingerprinted(rel);
    } else {
      const entry = pipeline.manifest.data.files[rel];
      if (entry && !config.debug) {
        file = entry.plain ?? entry.path;
      } else if (config.debug) {
        noCache = true;
        const found = pipeline.finder.tryFind(rel);
        if (found && !compilerFor(rel)) {
          return serveFile(req, res, next, found.abs, rel, { cacheControl: 'no-cache', encodings: [], source: true });
        }
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
      }
    }
    if (!file) return notFound(res);
    const encodings = ['br', 'gzip'].filter((enc) => pipeline.storage.exists(file + (enc === 'br' ? '.br' : '.gz')));
    const cacheControl = immutable ? IMMUTABLE : noCache ? 'no-cache' : `public, max-age=${config.maxAge}`;
    return serveFile(req, res, next, path.join(config.staticRoot, file), file, { cacheControl, encodings });
  };
}

function serveFile(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, abs: string, name: string, opts: { cacheControl: string; encodings: string[]; source?: boolean }): void {
  let target = abs;
  let encoding: string | undefined;
  if (opts.encodings.length) {
    res.setHeader('Vary', 'Accept-Encoding');
    const choice = (new Negotiator(req) as unknown as { encoding(a: string[], o: { preferred: string[] }): string | undefined }).encoding([...opts.encodings, 'identity'], {
      preferred: ['br', 'gzip', 'identity'],
    });
    if (choice && choice !== 'identity') {
      encoding = choice;
      target = abs + (choice === 'br' ? '.br' : '.gz');
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
  const environment = env ?? new nunjucks.Environment(new nunjucks.FileSystemLoader(config.templates), config.nunjucks);
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
