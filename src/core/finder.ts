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

/** Looks up sources across several roots in order; the first root holding a file wins. */
export class Finder {
  readonly roots: string[];
  private readonly realRoots = new Map<string, string>();

  constructor(roots: string[]) {
    this.roots = roots.map((r) => path.resolve(r));
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

  /** The file for `requested`, or undefined when no root holds it; throws on unsafe paths. */
  tryFind(requested: string): FoundFile | undefined {
    const rel = safeRelative(requested);
    for (const root of this.roots) {
      const abs = path.join(root, ...rel.split('/'));
      let stat: fs.Stats;
      try {
        stat = fs.statSync(abs);
      } catch {
        continue;
      }
      if (!stat.isFile()) continue;
      // A symlink inside a root may point anywhere: resolve it and check it stays inside.
      const real = fs.realpathSync(abs);
      const realRoot = this.realRoot(root);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
        throw new ConvoyError('E_PATH_ESCAPE', `asset path ${JSON.stringify(requested)} is a link to ${real}, outside its source root`, { file: rel });
      }
      return { rel, abs, root };
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

  /** Every file matching a glob across the roots, first root winning per name, sorted by name. */
  glob(pattern: string | string[]): FoundFile[] {
    const seen = new Map<string, FoundFile>();
    for (const root of this.roots) {
      if (!fs.existsSync(root)) continue;
      for (const rel of fg.sync(pattern, { cwd: root, onlyFiles: true, dot: false, followSymbolicLinks: false })) {
        if (seen.has(rel)) continue;
        const found = this.tryFind(rel);
        if (found && found.root === root) seen.set(rel, found);
      }
    }
    return [...seen.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }

  /** The source-relative name of an absolute path, if it lies in a root. */
  relativeOf(abs: string): string | undefined {
    for (const root of this.roots) {
      const rel = path.relative(root, abs);
      if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
    }
    return undefined;
  }
}
