import path from 'node:path';
import chokidar from 'chokidar';
import { messageOf } from './errors.ts';
import { assetKind, type BundleItem, type Pipeline } from './core/pipeline.ts';
import { dependentsOf, type EntryGroup } from './core/dependents.ts';
import type { BundleEntry, FileEntry } from './core/manifest.ts';
import { isPartial } from './core/bundles.ts';

/** One entry a change touched, and what rebuilding it gave. */
export interface Rebuilt {
  group: EntryGroup;
  /** The manifest key: a source path, or a bundle's key. */
  key: string;
  /** For messages: the source path, or `bundle a.css + b.css`. */
  label: string;
  kind: 'css' | 'js' | 'other';
  /** Output path before the change (absent for a new source). */
  before?: string;
  /** Output path after it (absent when it failed or was removed). */
  after?: string;
  /** Why it could not be rebuilt; it stays failing until a later change fixes it. */
  error?: unknown;
  /** Its own source is gone: the entry was dropped from the manifest. */
  removed?: boolean;
  /** Not rebuilt here (a bundle holding inline code, which only a render knows). */
  skipped?: string;
  /** Its inputs are back to what its output was built from (an edit undone, a fix restoring the last good build): nothing was written. */
  unchanged?: boolean;
}

/** Which entries a change may rebuild. */
export interface RebuildOptions {
  /** Manifest groups to rebuild (default: all). `convoy watch` leaves debug compilations alone. */
  groups?: EntryGroup[];
  /** Also write the fingerprinted unminified copy, as `convoy build` does. */
  plain?: boolean;
  /** A changed source the manifest does not know yet is built too (a new file). */
  newSources?: boolean;
}

const bundleLabel = (entry: BundleEntry) => `bundle ${entry.sources.join(' + ')}`;

/**
 * Rebuilds what changed files touch, along the dependency graph the manifest records (every
 * entry's `inputs`): an edited Sass partial rebuilds the entries that load it and the bundles that
 * hold them, and nothing else. Returns every touched entry (`unchanged` when its inputs are back
 * to what it was built from). Does not save the manifest.
 */
export function rebuildChanged(pipeline: Pipeline, changedAbs: readonly string[], opts: RebuildOptions = {}): Rebuilt[] {
  const data = pipeline.manifest.data;
  const refs = dependentsOf(data, changedAbs.map((abs) => pipeline.inputName(abs)), opts.groups);
  if (opts.newSources && (opts.groups ?? ['files']).includes('files')) {
    for (const abs of changedAbs) {
      const rel = pipeline.finder.relativeOf(abs);
      if (!rel || isPartial(rel) || data.files[rel] || refs.some((r) => r.group === 'files' && r.key === rel)) continue;
      let found;
      try {
        found = pipeline.finder.tryFind(rel);
      } catch {
        // A link out of its root is never published: not a source, so nothing to build.
        continue;
      }
      // Only the file that wins its name (the first root holding it) is published.
      if (found?.abs === path.resolve(abs)) refs.push({ group: 'files', key: rel });
    }
  }
  const out: Rebuilt[] = [];
  for (const { group, key } of refs) {
    if (group === 'bundles') {
      const entry = data.bundles[key]!;
      const base = { group, key, label: bundleLabel(entry), kind: entry.kind, before: entry.path } as const;
      if (entry.sources.some((s) => s.startsWith('inline:'))) {
        out.push({ ...base, skipped: 'holds inline code: rebuilt by the next render' });
        continue;
      }
      try {
        const items: BundleItem[] = entry.sources.map((rel) => ({ type: 'file', rel }));
        const next = pipeline.bundle(entry.kind, items, 'check');
        out.push({ ...base, after: next.path, ...(next === entry ? { unchanged: true } : {}) });
      } catch (error) {
        out.push({ ...base, error });
      }
      continue;
    }
    const entry: FileEntry | undefined = data[group][key];
    const base = { group, key, label: key, kind: assetKind(key), ...(entry ? { before: entry.path } : {}) };
    let gone = false;
    try {
      gone = !pipeline.finder.tryFind(key);
    } catch {
      // Replaced by a link out of its root: as good as gone (the finder refuses to read it).
      gone = true;
    }
    if (gone) {
      delete data[group][key];
      out.push({ ...base, removed: true });
      continue;
    }
    try {
      const next = group === 'dev' ? pipeline.compile(key) : pipeline.asset(key, 'check', opts.plain);
      out.push({ ...base, after: next.path, ...(next === entry ? { unchanged: true } : {}) });
    } catch (error) {
      out.push({ ...base, error });
    }
  }
  return out;
}

/** A running file watcher. */
export interface Watcher {
  /** Resolves once the initial scan is done: changes after it are reported. */
  ready: Promise<void>;
  /** Stops watching; resolves when every handle is released and no batch is running. */
  close(): Promise<void>;
}

/** What a watcher calls. */
export interface WatchHandlers {
  /** Changed, added or removed files (absolute), collected over a short quiet period. */
  onBatch(changed: string[]): void | Promise<void>;
  /** A watcher or handler failure: reported, never swallowed. */
  onError(err: unknown): void;
  /** Whether the watcher alone keeps the process alive (default true). */
  persistent?: boolean;
}

const isUnder = (file: string, dir: string) => file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/**
 * Watches folders (chokidar; native events, editors' atomic saves folded into one change) and
 * calls `onBatch` with every file that changed during a short quiet period, one batch at a time.
 * Dotfiles, editor backups, node_modules and the `ignore` folders (staticRoot) are not watched.
 */
export function watchFiles(paths: readonly string[], ignore: readonly string[], handlers: WatchHandlers, quietMs = 40): Watcher {
  const ignored = ignore.map((p) => path.resolve(p));
  const roots = paths.map((p) => path.resolve(p));
  const watcher = chokidar.watch([...paths], {
    ignoreInitial: true,
    persistent: handlers.persistent ?? true,
    ignored: (p: string) => {
      const abs = path.resolve(p);
      if (roots.includes(abs)) return false;
      const base = path.basename(abs);
      return base.startsWith('.') || base.endsWith('~') || base === 'node_modules' || ignored.some((d) => isUnder(abs, d));
    },
  });
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const flush = () => {
    timer = undefined;
    if (closed || !pending.size) return;
    const batch = [...pending].sort();
    pending.clear();
    running = running.then(async () => {
      if (closed) return;
      try {
        await handlers.onBatch(batch);
      } catch (err) {
        handlers.onError(err);
      }
    });
  };
  watcher.on('all', (event, file) => {
    if (event !== 'add' && event !== 'change' && event !== 'unlink') return;
    pending.add(path.resolve(file));
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, quietMs);
  });
  watcher.on('error', (err) => handlers.onError(err));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}

/** One line for a rebuilt entry, as `convoy watch` prints it and live reload logs it. */
export function describe(r: Rebuilt): string {
  if (r.error !== undefined) return `error ${r.label}: ${messageOf(r.error)}`;
  if (r.removed) return `removed ${r.label} (its source is gone)`;
  if (r.skipped) return `skipped ${r.label}: ${r.skipped}`;
  if (r.unchanged) return `unchanged ${r.label}: back to ${r.after}`;
  return `rebuilt ${r.label} → ${r.after}`;
}
