import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './storage.ts';
import { manifestLockFile, withLock } from './lock.ts';

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

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Every output path an entry names (the file, its twins, its map, its plain copy and the plain copy's twins and map). */
export function outputsOf(entry: OutputEntry & { plain?: string; plainFiles?: string[] }): string[] {
  return [entry.path, entry.variants.gz, entry.variants.br, entry.map, entry.plain, ...(entry.plainFiles ?? [])].filter((p): p is string => !!p);
}

type Group = 'files' | 'dev' | 'bundles';
const GROUPS: Group[] = ['files', 'dev', 'bundles'];
type Entry = FileEntry | BundleEntry;

/** What this process last knew of the disk manifest: entries are compared by identity to tell ours from theirs. */
interface Base {
  files: Record<string, FileEntry>;
  dev: Record<string, FileEntry>;
  bundles: Record<string, BundleEntry>;
  globs: Record<string, string[]>;
  previous: string[];
  /** Each entry's content when the base was taken: twins land in an entry after it is made. */
  stamps: Map<string, string>;
}

const emptyData = (): ManifestData => ({ version: 1, files: {}, dev: {}, bundles: {}, previous: [] });
const snapshot = (d: ManifestData): Base => ({ files: { ...d.files }, dev: { ...d.dev }, bundles: { ...d.bundles }, globs: { ...d.globs }, previous: d.previous, stamps: new Map() });
/** Records the content of every entry of a base (see `changedHere`). */
function stamp(base: Base): Base {
  base.stamps = new Map();
  for (const g of GROUPS) for (const [key, e] of Object.entries(base[g])) base.stamps.set(`${g}\0${key}`, JSON.stringify(e));
  return base;
}
/** Whether this process replaced, removed or changed (twins landing later) an entry since the base. */
const changedHere = (base: Base, g: Group, key: string, mine: Entry | undefined): boolean =>
  mine !== (base[g] as Record<string, Entry>)[key] || (mine !== undefined && JSON.stringify(mine) !== base.stamps.get(`${g}\0${key}`));
const sameJson = (a: unknown, b: unknown) => a === b || (a !== undefined && b !== undefined && JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b)));

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

  /**
   * Takes in what another process saved: for every entry this process did not change since its
   * last read, theirs; for entries it did change, ours (theirs, if different, is kept on the
   * `previous` list so pages it printed keep working until the next build and clean).
   */
  private absorb(theirs: ManifestData): void {
    const ours = this.data;
    const base = this.base;
    const merged = emptyData();
    const displaced: string[] = [];
    for (const g of GROUPS) {
      const o = ours[g] as Record<string, Entry>;
      const b = base[g] as Record<string, Entry>;
      const t = theirs[g] as Record<string, Entry>;
      const out = merged[g] as Record<string, Entry>;
      for (const key of new Set([...Object.keys(o), ...Object.keys(b), ...Object.keys(t)])) {
        const mine = o[key];
        const before = b[key];
        const other = t[key];
        if (!changedHere(base, g, key, mine)) {
          // Unchanged here: theirs (our own object when equal, so callers comparing identity see no change).
          if (other) out[key] = mine && sameJson(mine, other) ? mine : other;
          continue;
        }
        // Changed here since the last read: ours wins, and what it replaces stays one more build.
        if (before) displaced.push(...outputsOf(before));
        if (other && !sameJson(other, before) && !sameJson(other, mine)) displaced.push(...outputsOf(other));
        if (mine) out[key] = mine;
        else if (other && !sameJson(other, before)) out[key] = other; // deleted here, rebuilt elsewhere
      }
    }
    // Glob expansions: likewise ours where changed here, theirs otherwise (values are replaced, never mutated).
    const globs: Record<string, string[]> = {};
    const [og, bg, tg] = [ours.globs ?? {}, base.globs, theirs.globs ?? {}];
    for (const key of new Set([...Object.keys(og), ...Object.keys(bg), ...Object.keys(tg)])) {
      const value = og[key] === bg[key] ? tg[key] : og[key];
      if (value) globs[key] = og[key] === bg[key] && og[key] && sameJson(og[key], tg[key]) ? og[key]! : value;
    }
    if (Object.keys(globs).length) merged.globs = globs;
    this.data = merged;
    const changedPrevious = ours.previous !== base.previous || displaced.length > 0;
    const named = this.outputs();
    let previous = theirs.previous;
    if (changedPrevious) {
      // Ours (a build's replaced list), plus what others added since our read, plus what this merge displaced.
      const known = new Set(base.previous);
      const ownList = ours.previous !== base.previous ? ours.previous : theirs.previous;
      previous = [...new Set([...ownList, ...theirs.previous.filter((p) => !known.has(p)), ...displaced])];
    }
    merged.previous = previous.filter((p) => !named.has(p)).sort();
    // Theirs is the new base; what we changed stays marked as ours (it differs from theirs by identity).
    this.base = snapshot(theirs);
    for (const [key, v] of Object.entries(globs)) if (og[key] === bg[key] && this.base.globs[key] && sameJson(this.base.globs[key], v)) this.base.globs[key] = v;
    for (const g of GROUPS) {
      const nb = this.base[g] as Record<string, Entry>;
      const out = merged[g] as Record<string, Entry>;
      for (const [key, e] of Object.entries(out)) if (nb[key] && sameJson(nb[key], e) && !changedHere(base, g, key, (ours[g] as Record<string, Entry>)[key])) nb[key] = e;
    }
    stamp(this.base);
    this.base.previous = changedPrevious ? theirs.previous : merged.previous;
  }

  /** Drops entries this process added whose files are gone, so the manifest never names a missing file. */
  private dropMissing(): void {
    this.dropped = [];
    if (!this.root) return;
    const exists = (rel: string) => fs.existsSync(path.join(this.root!, ...rel.split('/')));
    for (const g of GROUPS) {
      const group = this.data[g] as Record<string, Entry>;
      const b = this.base[g] as Record<string, Entry>;
      for (const [key, e] of Object.entries(group)) {
        if (!changedHere(this.base, g, key, e) || outputsOf(e).every(exists)) continue;
        if (b[key]) group[key] = b[key]!;
        else delete group[key];
        this.dropped.push(key);
      }
    }
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
    const out = new Set<string>();
    for (const group of [this.data.files, this.data.dev, this.data.bundles]) {
      for (const entry of Object.values(group)) for (const p of outputsOf(entry)) out.add(p);
    }
    return out;
  }
}

/** The base as manifest data: with no file on disk, nobody else changed anything. */
function snapshotData(base: Base): ManifestData {
  return { version: 1, files: base.files, dev: base.dev, bundles: base.bundles, previous: base.previous, ...(Object.keys(base.globs).length ? { globs: base.globs } : {}) };
}
