import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type ConvoyOptions } from './config.ts';
import { Manifest } from './core/manifest.ts';
import { FileStorage } from './core/storage.ts';
import { manifestLockFile, pidAlive, withLock } from './core/lock.ts';

/** What `clean` removed. */
export interface CleanReport {
  /** Outputs no kept build names. */
  removed: string[];
  /** Temporary files and pending-write lists left by processes that died. */
  leftovers: string[];
}

/**
 * Removes outputs that neither the manifest nor the last build's replaced list names, under the
 * manifest lock (so no save lands half-way through). Files another live process wrote but has not
 * yet saved in the manifest (its pending list) are kept; temp files older than `tempAgeMs` and
 * the pending lists of dead processes go.
 */
export function cleanReport(options: ConvoyOptions, opts: { tempAgeMs?: number } = {}): CleanReport {
  const config = resolveConfig(options);
  const storage = new FileStorage(config.staticRoot);
  return withLock(manifestLockFile(config.manifest), () => {
    const manifest = new Manifest(config.manifest, config.staticRoot);
    const keep = manifest.outputs();
    for (const p of manifest.data.previous) keep.add(p);
    const leftovers: string[] = [];
    for (const list of storage.pendingLists()) {
      if (list.host === os.hostname() && !pidAlive(list.pid)) {
        fs.rmSync(list.file, { force: true });
        leftovers.push(path.relative(config.staticRoot, list.file).split(path.sep).join('/'));
      } else {
        for (const p of list.paths) keep.add(p);
      }
    }
    const manifestRel = path.relative(config.staticRoot, config.manifest).split(path.sep).join('/');
    const removed = storage.list().filter((f) => !keep.has(f) && f !== manifestRel);
    for (const f of removed) storage.remove(f);
    for (const f of storage.staleTemps(opts.tempAgeMs)) {
      storage.remove(f);
      leftovers.push(f);
    }
    removeEmptyFolders(config.staticRoot);
    return { removed, leftovers: leftovers.sort() };
  });
}

/** Removes outputs no kept build names; returns them (see `cleanReport`). */
export function clean(options: ConvoyOptions): string[] {
  return cleanReport(options).removed;
}

/** Folders left empty by `clean` (old bundles' folders), deepest first; the root stays. */
function removeEmptyFolders(root: string): void {
  const walk = (dir: string): boolean => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    let empty = true;
    for (const e of entries) {
      // Bookkeeping folders (pending lists) are left alone.
      if (e.isDirectory() && !e.name.startsWith('.') && walk(path.join(dir, e.name))) {
        try {
          fs.rmdirSync(path.join(dir, e.name));
          continue;
        } catch {
          // Something was written into it meanwhile.
        }
      }
      empty = false;
    }
    return empty;
  };
  walk(root);
}
