import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConvoyError } from '../errors.ts';

/** Writes a file through a temporary name in the same folder and a rename, so no reader sees a part. */
export function writeFileAtomic(target: string, bytes: Buffer | string): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(tmp, bytes);
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
  /** Every stored file, relative, `/`-separated. */
  list(): string[];
}

/** Stores under a folder; every write goes to a temporary name in the same folder, then is renamed. */
export class FileStorage implements Storage {
  constructor(readonly root: string) {}

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
    writeFileAtomic(this.abs(rel), bytes);
  }

  remove(rel: string): void {
    fs.rmSync(this.abs(rel), { force: true });
  }

  list(): string[] {
    if (!fs.existsSync(this.root)) return [];
    return (fs.readdirSync(this.root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
      .filter((d) => d.isFile() && !d.name.endsWith('.tmp'))
      .map((d) => path.relative(this.root, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
      .sort();
  }
}
