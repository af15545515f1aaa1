import path from 'node:path';
import { ConvoyError } from '../errors.ts';
import type { Finder } from './finder.ts';
import { isMinName } from './asset-kind.ts';

/**
 * Failed build steps remembered by key with the digests of the files they depended on, so a
 * request for the same broken asset throws the same error without building again until an
 * input changes. At most `max()` failures are kept (the oldest is forgotten first).
 */
export class FailureMemory {
  private readonly failures = new Map<string, { error: unknown; inputs: [string, string | undefined][] }>();

  constructor(
    private readonly root: string,
    private readonly finder: Finder,
    private readonly max: () => number,
    private readonly fileDigest: (abs: string) => string | undefined,
  ) {}

  /** How many failures are remembered. */
  get size(): number {
    return this.failures.size;
  }

  /**
   * Runs a build step unless the same step failed before and none of its inputs changed since:
   * then it throws the remembered error without building again (no rebuild, no relocation re-run,
   * per request). `inputs` names the files that could change the outcome.
   */
  run<T>(key: string, inputs: () => Iterable<string>, step: () => T): T {
    const known = this.failures.get(key);
    if (known) {
      if (known.inputs.every(([abs, d]) => this.fileDigest(abs) === d)) throw known.error;
      this.failures.delete(key);
    }
    try {
      return step();
    } catch (err) {
      const files = new Set(inputs());
      if (err instanceof ConvoyError && err.file) {
        for (const candidate of [path.resolve(this.root, err.file), ...this.finder.roots.map((r) => path.join(r, err.file!))]) files.add(candidate);
      }
      if (this.failures.size >= this.max()) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(key, { error: err, inputs: [...files].map((abs) => [abs, this.fileDigest(abs)]) });
      throw err;
    }
  }

  /** Where a source could be, in every root (its `.min` twin too), plus what its last good build read. */
  candidates(rel: string, known?: { inputs: Record<string, string> }): string[] {
    const out = this.finder.roots.map((r) => path.join(r, ...rel.split('/')));
    try {
      const found = this.finder.tryFind(rel);
      if (found) out.push(found.abs);
    } catch {
      // An unsafe path fails the same way every time: nothing to watch.
    }
    if (!isMinName(rel) && /\.(css|js)$/i.test(rel)) out.push(...this.finder.roots.map((r) => path.join(r, ...rel.replace(/\.(css|js)$/i, '.min.$1').split('/'))));
    return [...out, ...this.knownInputs(known)];
  }

  /** The files a manifest entry was built from (partials, url() targets included). */
  knownInputs(known?: { inputs: Record<string, string> }): string[] {
    return Object.keys(known?.inputs ?? {}).filter((n) => !n.startsWith('inline:')).map((n) => path.resolve(this.root, n));
  }
}
