import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Environment } from 'nunjucks';
import { messageOf } from '../errors.ts';
import type { ConvoyConfig } from '../config.ts';
import { assetKind } from '../core/pipeline.ts';
import { compilerFor } from '../core/compilers.ts';
import { dependentsOf, type EntryGroup } from '../core/dependents.ts';
import { isPartial } from '../core/bundles.ts';
import type { Convoy } from '../tags/runtime.ts';
import { CLIENT_MARK, EVENTS_PATH, reloadClient } from '../tags/reload-client.ts';
import { describe, rebuildChanged, watchFiles, type Watcher } from '../watch.ts';

/** A stylesheet to swap on open pages: links to any `from` URL (or whose path matches `pattern`) get `to`. */
export interface CssSwap {
  from: string[];
  pattern?: string;
  to: string;
}

const under = (file: string, dir: string) => file.startsWith(dir + path.sep);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The manifest groups a debug page can print: compilations, and production entries or bundles when debug asks for them. */
function groupsFor(c: ConvoyConfig): EntryGroup[] {
  const groups: EntryGroup[] = ['dev'];
  if (c.convoyDuringDebug || !c.scssRebuild || !c.coffeeRebuild) groups.push('files');
  if (c.carpoolCombineDuringDebug) groups.push('bundles');
  return groups;
}

/**
 * Live reload for one Convoy handle (debug only): a Server-Sent Events stream under staticUrl, and
 * a watcher that rebuilds what a change touches and tells open pages — stylesheets to swap, a
 * reload for scripts and templates, a build error (file and line) until it is fixed.
 */
export class LiveReload {
  /** The URL path of the event stream. */
  readonly eventsPath: string;
  private readonly id = randomUUID();
  private readonly clients = new Set<ServerResponse>();
  /** Failing entries by label → message shown on pages. */
  private readonly errors = new Map<string, string>();
  /** Every URL an entry's output has had, so pages rendered before any change still swap. */
  private readonly urls = new Map<string, Set<string>>();
  private watcher: Watcher | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private env: Environment | undefined;

  constructor(readonly convoy: Convoy) {
    this.eventsPath = convoy.pipeline.staticPath + EVENTS_PATH;
  }

  /** Answers a request for the event stream (headers flushed at once); false for any other URL. */
  handle(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse): boolean {
    const url = (req.originalUrl ?? req.url ?? '/').split('?')[0];
    if (url !== this.eventsPath || req.method !== 'GET') return false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 1000\n\n');
    this.write(res, 'hello', { id: this.id, error: this.errorText() });
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
    // Proxies drop idle streams; a comment every 20 s keeps them open.
    this.heartbeat ??= setInterval(() => this.clients.forEach((c) => c.write(':\n\n')), 20_000).unref();
    return true;
  }

  private write(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends an event to every open page. */
  send(event: 'status' | 'css' | 'reload' | 'stale', data: unknown): void {
    for (const c of this.clients) this.write(c, event, data);
  }

  private errorText(): string {
    return [...this.errors.values()].join('\n\n');
  }

  /**
   * Starts watching the source roots and the template roots (once); template changes clear
   * `env`'s template cache. Resolves `ready` once the watcher is armed.
   */
  watch(env?: Environment): Watcher {
    if (env) this.env = env;
    if (this.watcher) return this.watcher;
    const c = this.convoy.config;
    this.watcher = watchFiles([...c.sources, ...c.templates], [c.staticRoot], {
      onBatch: (changed) => this.changed(changed),
      onError: (err) => c.logger.error(`live reload: ${messageOf(err)}`),
      // The HTTP server keeps a dev process alive, not its watcher; but macOS's fsevents stops
      // reporting when not persistent.
      persistent: process.platform === 'darwin',
    });
    return this.watcher;
  }

  /** Rebuilds what `changed` touches and tells the pages. */
  changed(changed: readonly string[]): void {
    const c = this.convoy.config;
    const pipeline = this.convoy.pipeline;
    const templates = changed.filter((f) => c.templates.some((t) => under(f, t)) && !c.sources.some((s) => under(f, s)));
    const sources = changed.filter((f) => !templates.includes(f));
    let reload = templates.length ? `template ${templates.map((f) => path.basename(f)).join(', ')} changed` : '';
    const swaps: CssSwap[] = [];
    const hadErrors = this.errors.size;
    pipeline.fastCompression = true;
    for (const r of rebuildChanged(pipeline, sources, { groups: groupsFor(c) })) {
      if (r.error !== undefined) {
        this.errors.set(r.label, `convoy: ${messageOf(r.error)}`);
        pipeline.warn(messageOf(r.error));
        continue;
      }
      // Unchanged entries still count: a fix that restores the last good build ends the error,
      // and pages showing the error asset get the good output back.
      if (!this.errors.delete(r.label) && r.unchanged) continue;
      c.logger.info(`convoy: ${describe(r)}`);
      if (r.kind !== 'css' || !r.after) {
        reload ||= `${r.label} changed`;
        continue;
      }
      const seen = this.urls.get(`${r.group}:${r.key}`) ?? new Set<string>();
      if (r.before) seen.add(pipeline.url(r.before));
      const to = pipeline.url(r.after);
      // Debug names of the same source (its error stylesheet too) match by pattern.
      const stem = r.key.slice(0, r.key.length - path.posix.extname(r.key).length);
      swaps.push({ from: [...seen], ...(r.group === 'bundles' ? {} : { pattern: `^${escapeRe(pipeline.staticPath + stem)}\\.(error\\.)?[0-9a-f]{12}(\\.cmin)?\\.css$` }), to });
      seen.add(to);
      this.urls.set(`${r.group}:${r.key}`, seen);
    }
    // Plain sources are linked at their own URL in debug: CSS swaps in place, anything else reloads.
    let unattributed = '';
    for (const abs of sources) {
      const rel = pipeline.finder.relativeOf(abs);
      if (rel && (compilerFor(rel) || isPartial(rel))) {
        // A source no entry records: one whose every compile failed so far (the page shows its error asset).
        if (!dependentsOf(pipeline.manifest.data, [pipeline.inputName(abs)]).length) unattributed ||= `${rel} changed`;
        continue;
      }
      if (!rel || (c.convoyDuringDebug && pipeline.manifest.data.files[rel])) continue;
      const digest = pipeline.fileDigest(abs);
      if (assetKind(rel) === 'css' && digest) swaps.push({ from: [c.staticUrl + rel], to: `${c.staticUrl}${rel}?v=${digest.slice(0, 12)}` });
      else reload ||= `${rel} changed`;
    }
    if (templates.length && this.env) uncached(this.env);
    if (this.errors.size || hadErrors) this.send('status', { error: this.errorText() });
    if (swaps.length) this.send('css', { swaps });
    if (reload) this.send('reload', { reason: reload });
    else if (unattributed) this.send('stale', { reason: unattributed });
  }

  /** Stops watching and ends every open stream. */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const c of this.clients) c.end();
    this.clients.clear();
    const w = this.watcher;
    this.watcher = undefined;
    await w?.close();
  }
}

const hubs = new WeakMap<Convoy, LiveReload>();

/** The live-reload hub of a handle (one per handle, shared by `serve()` and `convoyExpress`). */
export function liveReloadOf(convoy: Convoy): LiveReload {
  let hub = hubs.get(convoy);
  if (!hub) {
    hub = new LiveReload(convoy);
    hubs.set(convoy, hub);
  }
  return hub;
}

/** Turns template caching off on an Environment's file loaders, so an edited template shows on reload. */
export function uncached(env: Environment): void {
  for (const loader of (env as unknown as { loaders: { noCache?: boolean }[] }).loaders ?? []) {
    if ('noCache' in loader) loader.noCache = true;
  }
  (env as unknown as { invalidateCache(): void }).invalidateCache();
}

/** Puts the live-reload client into an HTML document (before `</body>`, else at the end). */
export function injectClient(html: string, staticPath: string): string {
  if (html.includes(CLIENT_MARK)) return html;
  const script = reloadClient(staticPath);
  const at = html.search(/<\/body>(?![\s\S]*<\/body>)/i);
  return at < 0 ? html + script : html.slice(0, at) + script + html.slice(at);
}

/** Response as Express extends it. */
type SendRes = ServerResponse & { send?: (body: unknown) => unknown };

/**
 * Middleware that adds the live-reload client to every HTML page sent with `res.send` (what
 * `res.render` uses), so templates need no `convoy_reload` tag.
 */
export function injectReloadClient(convoy: Convoy): (req: IncomingMessage, res: SendRes, next: () => void) => void {
  const staticPath = convoy.pipeline.staticPath;
  return (_req, res, next) => {
    const send = res.send;
    if (typeof send === 'function') {
      res.send = function (this: SendRes, body: unknown) {
        const type = String(res.getHeader('Content-Type') ?? 'text/html');
        // Only documents: a fragment or plain text sent as HTML is left alone.
        const page = typeof body === 'string' && /html/i.test(type) && /<\/body>|<html[\s>]/i.test(body);
        return send.call(this, page ? injectClient(body, staticPath) : body);
      };
    }
    next();
  };
}
