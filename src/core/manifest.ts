import fs from 'node:fs';
import { writeFileAtomic } from './storage.ts';

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
  /** Its twins were compressed quickly during a request; the next build recompresses them. */
  quick?: boolean;
}

/** A processed source file. */
export interface FileEntry extends OutputEntry {
  /** Source path relative to its root. */
  source: string;
  /** The fingerprinted but unminified copy (CSS/JS written by `convoy build`). */
  plain?: string;
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

/** Every output path an entry names (the file, its twins, its map, its plain copy). */
export function outputsOf(entry: OutputEntry & { plain?: string }): string[] {
  return [entry.path, entry.variants.gz, entry.variants.br, entry.map, entry.plain].filter((p): p is string => !!p);
}

/** The manifest in memory; saved as sorted JSON through an atomic rename, only when it changed. */
export class Manifest {
  data: ManifestData;
  private savedText: string | undefined;

  constructor(readonly file: string) {
    this.data = { version: 1, files: {}, dev: {}, bundles: {}, previous: [] };
    try {
      const text = fs.readFileSync(file, 'utf8');
      const parsed = JSON.parse(text) as Partial<ManifestData>;
      if (parsed.version === 1) {
        this.data = { version: 1, files: parsed.files ?? {}, dev: parsed.dev ?? {}, bundles: parsed.bundles ?? {}, previous: parsed.previous ?? [], ...(parsed.globs ? { globs: parsed.globs } : {}) };
        this.savedText = text;
      }
    } catch {
      // No manifest yet (or an unreadable one, which the next save replaces).
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

  /** Writes the manifest if it differs from what is on disk; returns whether it wrote. */
  save(): boolean {
    const text = this.serialize();
    if (text === this.savedText) return false;
    writeFileAtomic(this.file, text);
    this.savedText = text;
    return true;
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
