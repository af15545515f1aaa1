import fs from 'node:fs';
import { writeFileAtomic } from './storage.ts';
import { manifestLockFile, withLock } from './lock.ts';
import { absorb, dropMissing, emptyData, namedOutputs, snapshot, snapshotData, sortKeys, stamp, type Base } from './manifest-merge.ts';

// Moved to manifest-merge.ts with the merge that uses it; re-exported for this module's importers.
export { outputsOf } from './manifest-merge.ts';

/** One written output: its name under staticRoot and what a tag needs to print it. */
export interface OutputEntry {
  /** Output path relative to staticRoot. */
  path: string;
  /** Fingerprint: 12 hex digits of the MD5 of the served bytes. */
  hash: string;
  /** `sha384-…` of the served bytes. */
  integrity: string;
  /** Size in bytes. */
  size: number;
  /** Compressed twins that were written (only when smaller). */
  variants: { gz?: string; br?: string };
  /** The source map written beside it, if any. */
  map?: string;
  /** Built during a request: its twins are quick ones the next build recompresses, and no publish has uploaded it yet. */
  quick?: boolean;
}

/** A processed source file. */
export interface FileEntry extends OutputEntry {
  /** Source path relative to its root. */
  source: string;
  /** The fingerprinted but unminified copy (CSS/JS written by `convoy build`). */
  plain?: string;
  /** The plain copy's compressed twins and map, so `clean` and `publish` know them. */
  plainFiles?: string[];
  /** Every input (root-relative path) with its content digest: the entry is stale when one changes. */
  inputs: Record<string, string>;
  /** An ES module: printed with `type="module"`, never joined into a classic script bundle. */
  module?: true;
}

/** A carpool bundle. */
export interface BundleEntry extends OutputEntry {
  kind: 'css' | 'js';
  /** The sources joined, in order (inline pieces as `inline:<digest>`). */
  sources: string[];
  inputs: Record<string, string>;
}

/** The manifest file's content. */
export interface ManifestData {
  version: 1;
  /** Processed files by source path. */
  files: Record<string, FileEntry>;
  /** Debug (unminified) compilations by source path. */
  dev: Record<string, FileEntry>;
  /** Bundles by key (see bundleKey). */
  bundles: Record<string, BundleEntry>;
  /** Outputs the last build replaced: kept one more build for cached pages, then `convoy clean` removes them. */
  previous: string[];
  /** Glob expansions (bundle entries, carpool lines) as last found on disk, so production renders need no globbing. */
  globs?: Record<string, string[]>;
}

/** The key of a bundle: its kind and its ordered sources, so a render finds it with no I/O. */
export function bundleKey(kind: 'css' | 'js', sources: string[]): string {
  return `${kind}:${sources.join('+++')}`;
}

function parse(text: string): ManifestData | undefined {
  const parsed = JSON.parse(text) as Partial<ManifestData>;
  if (parsed.version !== 1) return undefined;
  return { version: 1, files: parsed.files ?? {}, dev: parsed.dev ?? {}, bundles: parsed.bundles ?? {}, previous: parsed.previous ?? [], ...(parsed.globs ? { globs: parsed.globs } : {}) };
}

/**
 * The manifest in memory; saved as sorted JSON through an atomic rename, only when it changed.
 * Several processes may share one file (app servers building during requests, a build, `clean`):
 * a save takes the manifest lock, reads what is on disk, and keeps every entry another process
 * wrote, replacing only the entries this process changed since it last read or saved.
 */
export class Manifest {
  data: ManifestData;
  private savedText: string | undefined;
  private base: Base;
  private diskStamp = '';
  /** Entries dropped by the last save because one of their files was gone (another process cleaned it). */
  dropped: string[] = [];

  /** `root` (staticRoot) lets a save check that every entry it adds names files that exist. */
  constructor(
    readonly file: string,
    readonly root?: string,
  ) {
    this.data = emptyData();
    const disk = this.readDisk();
    if (disk?.data) {
      this.data = disk.data;
      this.savedText = disk.text;
    }
    this.base = stamp(snapshot(this.data));
  }

  /** The lock every writer of this manifest (and `clean`) takes. */
  get lockFile(): string {
    return manifestLockFile(this.file);
  }

  private readDisk(): { text: string; data: ManifestData | undefined } | undefined {
    try {
      const st = fs.statSync(this.file);
      const text = fs.readFileSync(this.file, 'utf8');
      this.diskStamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      let data: ManifestData | undefined;
      try {
        data = parse(text);
      } catch {
        data = undefined; // unreadable: the next save replaces it
      }
      return { text, data };
    } catch {
      return undefined;
    }
  }

  /** Whether a manifest was loaded from disk. */
  get loaded(): boolean {
    return this.savedText !== undefined;
  }

  /** The JSON text, keys sorted, so equal content gives equal bytes. */
  serialize(): string {
    return `${JSON.stringify(sortKeys(this.data), null, 2)}\n`;
  }

  /** Takes in what another process saved (see `absorb` in manifest-merge.ts). */
  private absorb(theirs: ManifestData): void {
    const { data, base } = absorb(this.data, this.base, theirs);
    this.data = data;
    this.base = base;
  }

  /** Drops entries this process added whose files are gone, so the manifest never names a missing file. */
  private dropMissing(): void {
    this.dropped = this.root ? dropMissing(this.data, this.base, this.root) : [];
  }

  /**
   * Reads what other processes saved, if the file changed since this process last read or wrote
   * it, and merges it in (nothing is written). Returns whether anything was read.
   */
  refresh(): boolean {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      return false;
    }
    if (`${st.mtimeMs}:${st.size}:${st.ino}` === this.diskStamp) return false;
    const disk = this.readDisk();
    if (!disk?.data) return false;
    this.absorb(disk.data);
    this.savedText = disk.text;
    return true;
  }

  /**
   * Writes the manifest, merged under the lock with what other processes saved, if that differs
   * from what is on disk; returns whether it wrote. `settled` runs under the lock once the file
   * names everything this process wrote.
   */
  save(settled?: () => void): boolean {
    return withLock(this.lockFile, () => {
      const disk = this.readDisk();
      // Unchanged on disk since our last read or save: nobody else wrote, the base is theirs.
      const theirs = !disk ? snapshotData(this.base) : disk.text === this.savedText ? snapshotData(this.base) : (disk.data ?? emptyData());
      this.absorb(theirs);
      this.dropMissing();
      const text = this.serialize();
      const wrote = text !== disk?.text;
      if (wrote) {
        writeFileAtomic(this.file, text);
        this.readDisk();
      }
      this.savedText = text;
      this.base = stamp(snapshot(this.data));
      settled?.();
      return wrote;
    });
  }

  /** Every output the manifest names. */
  outputs(): Set<string> {
    return namedOutputs(this.data);
  }
}
