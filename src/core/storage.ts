import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConvoyError } from '../errors.ts';

/** Writes a file through a temporary name in the same folder and a rename, so no reader sees a part. */
export function writeFileAtomic(target: string, bytes: Buffer | string): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    for (let attempt = 1; ; attempt++) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      try {
        fs.writeFileSync(tmp, bytes);
        break;
      } catch (err) {
        // `convoy clean` removed the (empty) folder between mkdir and write: make it again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
    fs.renameSync(tmp, target);
  } catch (cause) {
    fs.rmSync(tmp, { force: true });
    throw new ConvoyError('E_WRITE', `could not write output: ${(cause as Error).message}`, { file: target, cause });
  }
}

/** Where outputs go: a small driver interface so a CDN/bucket driver can replace the filesystem. */
export interface Storage {
  /** The bytes at `rel`, or undefined when absent. */
  read(rel: string): Buffer | undefined;
  /** Whether `rel` exists with exactly `size` bytes (when given). */
  exists(rel: string, size?: number): boolean;
  /** Writes `bytes` at `rel` so that readers see the old file or the new one, never a part. */
  write(rel: string, bytes: Buffer | string): void;
  /** Removes `rel` if present. */
  remove(rel: string): void;
  /** Every stored file, relative, `/`-separated (bookkeeping dotfiles excluded). */
  list(): string[];
  /** Called once the manifest on disk names (or has dropped) everything written so far. */
  settle?(): void;
}

/** Folder under staticRoot where each process lists what it wrote but has not yet saved in the manifest. */
export const PENDING_DIR = '.convoy-pending';

/** A temporary file older than this belongs to a process that died mid-write. */
export const STALE_TEMP_MS = 10 * 60_000;

/** Whether a stored name is bookkeeping (a temp file, a lock, a pending list): never an output. */
const isBookkeeping = (rel: string) => rel.split('/').some((s) => s.startsWith('.'));

/** A pending-writes list of one process: its name tells whose it is. */
export interface PendingList {
  /** Absolute path of the list. */
  file: string;
  host: string;
  pid: number;
  /** Output paths written and not yet named by the manifest on disk. */
  paths: string[];
}

/**
 * Stores under a folder; every write goes to a temporary name in the same folder, then is renamed.
 * Before writing, it notes the name in this process's pending list, so a `convoy clean` running
 * meanwhile keeps a file the manifest does not name yet (see `settle`).
 */
export class FileStorage implements Storage {
  private readonly noted = new Set<string>();
  readonly pendingFile: string;

  constructor(readonly root: string) {
    this.pendingFile = path.join(root, PENDING_DIR, `${os.hostname()}-${process.pid}`);
  }

  private abs(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }

  read(rel: string): Buffer | undefined {
    try {
      return fs.readFileSync(this.abs(rel));
    } catch {
      return undefined;
    }
  }

  exists(rel: string, size?: number): boolean {
    try {
      const st = fs.statSync(this.abs(rel));
      return st.isFile() && (size === undefined || st.size === size);
    } catch {
      return false;
    }
  }

  write(rel: string, bytes: Buffer | string): void {
    this.note(rel);
    writeFileAtomic(this.abs(rel), bytes);
  }

  private note(rel: string): void {
    if (this.noted.has(rel)) return;
    fs.mkdirSync(path.dirname(this.pendingFile), { recursive: true });
    fs.appendFileSync(this.pendingFile, `${rel}\n`);
    this.noted.add(rel);
  }

  settle(): void {
    // Also what this process's build workers listed: the manifest now names what they made.
    fs.rmSync(this.pendingFile, { force: true });
    this.noted.clear();
  }

  remove(rel: string): void {
    fs.rmSync(this.abs(rel), { force: true });
  }

  list(): string[] {
    if (!fs.existsSync(this.root)) return [];
    return (fs.readdirSync(this.root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
      .filter((d) => d.isFile())
      .map((d) => path.relative(this.root, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
      .filter((rel) => !isBookkeeping(rel))
      .sort();
  }

  /** Temporary files (`.name.pid.rand.tmp`) older than `ageMs`: left by a process killed mid-write. */
  staleTemps(ageMs = STALE_TEMP_MS): string[] {
    if (!fs.existsSync(this.root)) return [];
    const now = Date.now();
    const out: string[] = [];
    for (const d of fs.readdirSync(this.root, { recursive: true, withFileTypes: true }) as fs.Dirent[]) {
      if (!d.isFile() || !d.name.startsWith('.') || !/\.(tmp|stale)$/.test(d.name)) continue;
      const abs = path.join(d.parentPath, d.name);
      try {
        if (now - fs.statSync(abs).mtimeMs > ageMs) out.push(path.relative(this.root, abs).split(path.sep).join('/'));
      } catch {
        // Renamed into place meanwhile.
      }
    }
    return out.sort();
  }

  /** Every process's pending list under this root. */
  pendingLists(): PendingList[] {
    const dir = path.join(this.root, PENDING_DIR);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const out: PendingList[] = [];
    for (const name of names) {
      const m = /^(.*)-(\d+)$/.exec(name);
      if (!m) continue;
      const file = path.join(dir, name);
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue; // settled meanwhile
      }
      out.push({ file, host: m[1]!, pid: Number(m[2]), paths: text.split('\n').filter(Boolean) });
    }
    return out;
  }
}
