import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { ConvoyError } from '../errors.ts';
import { closestName } from './suggest.ts';

/** A source file found in one of the roots. */
export interface FoundFile {
  /** Path relative to its root, with `/` separators: the asset's name. */
  rel: string;
  /** Absolute path on disk. */
  abs: string;
  /** The root it was found in. */
  root: string;
}

/**
 * Turns a requested asset path into a safe relative name, or throws E_PATH_ESCAPE.
 * Decoding happens once, before the checks, so `%2e%2e` and `%2f` cannot smuggle a `..` past them.
 */
export function safeRelative(requested: string): string {
  let p = requested;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch (cause) {
      throw new ConvoyError('E_PATH_ESCAPE', `malformed percent-encoding in asset path ${JSON.stringify(requested)}`, { cause });
    }
  }
  const refuse = (why: string): never => {
    throw new ConvoyError('E_PATH_ESCAPE', `asset path ${JSON.stringify(requested)} ${why}`);
  };
  if (p.includes('\0')) refuse('contains a NUL byte');
  if (p.includes('\\')) refuse('contains a backslash');
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p)) refuse('is absolute; asset paths are relative to the source roots');
  const segments = p.split('/');
  if (segments.includes('..')) refuse('leaves the source roots');
  const clean = segments.filter((s) => s !== '' && s !== '.').join('/');
  if (!clean) refuse('is empty');
  return clean;
}

/** A root as the finder sees it: a folder, or a folder mounted under a prefix and filtered by globs. */
export type RootSpec = string | { dir: string; prefix?: string; include?: string[]; exclude?: string[] };

interface Root {
  dir: string;
  /** `''`, or the URL path with a trailing `/`. */
  prefix: string;
  include?: string[];
  exclude?: string[];
  /** Names (relative to dir) the globs allow, listed lazily; undefined when the root is unfiltered. */
  allowed?: Set<string>;
  /** When `allowed` was listed (ms since the epoch). */
  listedAt?: number;
}

const byName = (a: FoundFile, b: FoundFile) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0);

/** Looks up sources across several roots in order; the first root holding a file wins. */
export class Finder {
  /** The root folders, absolute, in search order. */
  readonly roots: string[];
  private readonly specs: Root[];
  private readonly realRoots = new Map<string, string>();

  constructor(roots: RootSpec[]) {
    this.specs = roots.map((r) => {
      const spec = typeof r === 'string' ? { dir: r } : r;
      const prefix = (spec.prefix ?? '').split('/').filter(Boolean).join('/');
      return { dir: path.resolve(spec.dir), prefix: prefix ? `${prefix}/` : '', ...(spec.include ? { include: spec.include } : {}), ...(spec.exclude ? { exclude: spec.exclude } : {}) };
    });
    this.roots = this.specs.map((r) => r.dir);
  }

  private realRoot(root: string): string {
    let real = this.realRoots.get(root);
    if (real === undefined) {
      try {
        real = fs.realpathSync(root);
      } catch {
        real = root;
      }
      this.realRoots.set(root, real);
    }
    return real;
  }

  /** The globs' listing of a filtered root (the same fast-glob semantics the build's listing uses). */
  private list(root: Root): Set<string> {
    return new Set(fg.sync(root.include ?? ['**/*'], { cwd: root.dir, ignore: root.exclude ?? [], onlyFiles: true, dot: false, followSymbolicLinks: false }));
  }

  /**
   * Whether a filtered root publishes `inner`. A file the listing lacks is listed again only if it
   * appeared since (its ctime is newer), so asking for an excluded file costs no directory walk.
   */
  private allows(root: Root, inner: string, stat?: fs.Stats): boolean {
    if (!root.include && !root.exclude) return true;
    if (root.allowed?.has(inner)) return true;
    if (root.allowed && stat && root.listedAt !== undefined && stat.ctimeMs < root.listedAt) return false;
    return this.relist(root).has(inner);
  }

  private relist(root: Root): Set<string> {
    // Taken before the walk, with the slack of the kernel's coarse file clock: a file created during or just before it is looked for again.
    const now = Date.now() - 1000;
    root.allowed = this.list(root);
    root.listedAt = now;
    return root.allowed;
  }

  /** The file for `requested`, or undefined when no root holds it; throws on unsafe paths. */
  tryFind(requested: string): FoundFile | undefined {
    const rel = safeRelative(requested);
    for (const root of this.specs) {
      if (root.prefix && !rel.startsWith(root.prefix)) continue;
      const inner = rel.slice(root.prefix.length);
      if (!inner) continue;
      const abs = path.join(root.dir, ...inner.split('/'));
      let stat: fs.Stats;
      try {
        stat = fs.statSync(abs);
      } catch {
        continue;
      }
      if (!stat.isFile() || !this.allows(root, inner, stat)) continue;
      // A symlink inside a root may point anywhere: resolve it and check it stays inside.
      const real = fs.realpathSync(abs);
      const realRoot = this.realRoot(root.dir);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
        throw new ConvoyError('E_PATH_ESCAPE', `asset path ${JSON.stringify(requested)} is a link to ${real}, outside its source root`, { file: rel });
      }
      return { rel, abs, root: root.dir };
    }
    return undefined;
  }

  /** The file for `requested`; throws E_NOT_FOUND naming every root searched. */
  find(requested: string): FoundFile {
    const found = this.tryFind(requested);
    if (!found) {
      const rel = safeRelative(requested);
      const ext = path.posix.extname(rel);
      // Only a failure pays for listing the roots, and failures are rare and remembered.
      const hint = closestName(rel, this.glob(ext ? `**/*${ext}` : '**/*').map((f) => f.rel));
      throw new ConvoyError('E_NOT_FOUND', `not found in the source roots (${this.roots.join(', ')})${hint ? `; did you mean ${hint}?` : ''}`, { file: rel });
    }
    return found;
  }

  /**
   * Every file matching a glob (on asset names, prefixes included) across the roots, first root
   * winning per name, sorted by name. Only what each root publishes is listed.
   */
  glob(pattern: string | string[]): FoundFile[] {
    const seen = new Map<string, FoundFile>();
    for (const root of this.specs) {
      if (!fs.existsSync(root.dir)) continue;
      let names: string[];
      if (!root.prefix && !root.include && !root.exclude) {
        names = fg.sync(pattern, { cwd: root.dir, onlyFiles: true, dot: false, followSymbolicLinks: false });
      } else {
        // Match the asset names: list what the root publishes, then glob those names.
        names = matchNames([...this.relist(root)].map((inner) => root.prefix + inner), pattern);
      }
      for (const rel of names) {
        if (seen.has(rel)) continue;
        const found = this.tryFind(rel);
        if (found && found.root === root.dir) seen.set(rel, found);
      }
    }
    return [...seen.values()].sort(byName);
  }

  /** The asset name of an absolute path, if it lies in a root that publishes it. */
  relativeOf(abs: string): string | undefined {
    for (const root of this.specs) {
      const rel = path.relative(root.dir, abs);
      if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const inner = rel.split(path.sep).join('/');
      if (this.allows(root, inner)) return root.prefix + inner;
    }
    return undefined;
  }
}

/**
 * Which of `names` a glob matches, with fast-glob's own matcher: the names are laid out as a
 * virtual tree it walks, so prefixed roots glob exactly as plain ones.
 */
function matchNames(names: string[], pattern: string | string[]): string[] {
  const set = new Set(names);
  const dirs = new Map<string, { name: string; file: boolean }[]>();
  const add = (dir: string, name: string, file: boolean) => {
    let list = dirs.get(dir);
    if (!list) dirs.set(dir, (list = []));
    if (!list.some((e) => e.name === name)) list.push({ name, file });
  };
  for (const n of names) {
    const segs = n.split('/');
    for (let i = 0; i < segs.length; i++) add(segs.slice(0, i).join('/'), segs[i]!, i === segs.length - 1);
  }
  return fg.sync(pattern, { cwd: '/', onlyFiles: true, dot: false, fs: virtualFs(dirs) }).filter((n) => set.has(n));
}

type Entry = { name: string; file: boolean };

/** A read-only file system adapter for fast-glob over a listing of names (folders implied by paths). */
function virtualFs(dirs: Map<string, Entry[]>) {
  const key = (p: string) => p.replace(/^\/+|\/+$/g, '');
  const entryOf = (p: string): Entry | undefined => {
    const k = key(p);
    if (k === '' || dirs.has(k)) return { name: path.posix.basename(k), file: false };
    const parent = path.posix.dirname(k);
    return dirs.get(parent === '.' ? '' : parent)?.find((e) => e.name === path.posix.basename(k));
  };
  const no = () => false;
  const stats = (e: Entry) => ({ isFile: () => e.file, isDirectory: () => !e.file, isSymbolicLink: no, isBlockDevice: no, isCharacterDevice: no, isFIFO: no, isSocket: no });
  const dirent = (e: Entry) => ({ name: e.name, ...stats(e) });
  const missing = (p: string) => Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
  const statSync = (p: string) => {
    const e = entryOf(p);
    if (!e) throw missing(p);
    return stats(e);
  };
  const readdirSync = (p: string, opts?: { withFileTypes?: boolean }) => {
    const list = dirs.get(key(p));
    if (!list) throw missing(p);
    return opts?.withFileTypes ? list.map(dirent) : list.map((e) => e.name);
  };
  const cb =
    <A extends unknown[]>(fn: (...a: A) => unknown) =>
    (...args: [...A, (err: Error | null, v?: unknown) => void]) => {
      const done = args.pop() as (err: Error | null, v?: unknown) => void;
      try {
        done(null, fn(...(args as unknown as A)));
      } catch (err) {
        done(err as Error);
      }
    };
  return { statSync, lstatSync: statSync, readdirSync, stat: cb(statSync), lstat: cb(statSync), readdir: cb(readdirSync) } as unknown as NonNullable<fg.Options['fs']>;
}
