import fs from 'node:fs';
import path from 'node:path';
import { digest } from './fingerprint.ts';

/** Input digests recorded in manifest entries, keyed by root-relative name (`inline:` pieces skipped). */
export type RecordedInputs = Record<string, string>;

/**
 * Content digests of the files a build read, cached by mtime and size, and the comparison that
 * tells whether a manifest entry's inputs changed since it was built.
 */
export class InputDigests {
  private readonly digests = new Map<string, { mtimeMs: number; size: number; digest: string }>();

  constructor(private readonly root: string) {}

  /** Root-relative name of an absolute path (how inputs are recorded, the same in any checkout). */
  inputName(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }

  /** Content digest of a file, cached by mtime and size; undefined when it is gone. */
  fileDigest(abs: string): string | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      return undefined;
    }
    const cached = this.digests.get(abs);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.digest;
    const d = digest(fs.readFileSync(abs));
    this.digests.set(abs, { mtimeMs: st.mtimeMs, size: st.size, digest: d });
    return d;
  }

  /** The inputs record of a build: each file's digest (`missing` when gone), plus `extra` (inline pieces). */
  inputsOf(absPaths: Iterable<string>, extra: RecordedInputs = {}): RecordedInputs {
    const out: RecordedInputs = { ...extra };
    for (const abs of absPaths) out[this.inputName(abs)] = this.fileDigest(abs) ?? 'missing';
    return out;
  }

  /** Whether any recorded file input differs from the file now (inline pieces are keyed by content). */
  changed(inputs: RecordedInputs): boolean {
    for (const [name, d] of Object.entries(inputs)) {
      if (name.startsWith('inline:')) continue;
      if (this.fileDigest(path.resolve(this.root, name)) !== d) return true;
    }
    return false;
  }
}
