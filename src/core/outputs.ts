import path from 'node:path';
import { messageOf } from '../errors.ts';
import type { CompressFormat, ConvoyConfig } from '../config.ts';
import { CompressQueue, defaultLimits, type CompressionLimits, type CompressionStats } from './compress-queue.ts';
import { compress, compressAsync, FULL, isCompressible, TWIN_SUFFIX, type Levels } from './compress.ts';
import { fingerprint, integrity } from './fingerprint.ts';
import type { ManifestData, OutputEntry } from './manifest.ts';
import { finalMap, withContent, type SourceMap } from './sourcemaps.ts';
import type { Storage } from './storage.ts';

export { defaultLimits, type CompressionLimits, type CompressionStats } from './compress-queue.ts';

/** Who fetches an output, which decides how hard its twins are compressed (see `POLICY`). */
export type TwinUse = 'page' | 'plain' | 'map';

/**
 * Compression levels by use, from bench/policy.ts (README, Performance): brotli 11 costs ≈ 60×
 * brotli 6 for 10–15% fewer bytes, which pays only for what every page view fetches. Plain
 * unminified copies and source maps are fetched by people debugging: gzip 6 / brotli 6.
 */
export const POLICY: Record<TwinUse, Levels> = {
  page: FULL,
  plain: { gzip: 6, br: 6 },
  map: { gzip: 6, br: 6 },
};

/** Levels inside a request: cheap enough not to load an app server; the next build redoes them. */
export const REQUEST_LEVELS: Levels = { gzip: 9, br: 5 };

/** A compression of some bytes at some level: done (inline) or under way. */
interface Packed {
  done: boolean;
  value?: Buffer;
  promise: Promise<Buffer | undefined>;
}

const variantKey = (format: CompressFormat) => (format === 'gzip' ? 'gz' : 'br');

/** The use of an output by its name: maps (written or copied from sources) are for developer tools. */
export function useOf(outPath: string, fallback: TwinUse = 'page'): TwinUse {
  return outPath.toLowerCase().endsWith('.map') ? 'map' : fallback;
}

/**
 * Writes outputs: the file under the fingerprint of its bytes and its source map at once (so
 * the synchronous render path can print the URL), and its compressed twins through a queue that
 * runs them on libuv's thread pool, largest first, with bounded bytes in flight. An entry's
 * `variants` fill in as its twins land; `flush()` waits for all of them (a build awaits it before
 * saving the manifest). Identical bytes are compressed once per level.
 */
export class OutputWriter {
  /** Set while building inside a request: twins get `REQUEST_LEVELS` and the entry is marked quick. */
  fast = false;
  limits: CompressionLimits = defaultLimits();
  readonly compression: CompressionStats = { jobs: 0, reused: 0, maxInFlight: 0, maxFilesInFlight: 0, maxBytesInFlight: 0 };
  private readonly queue = new CompressQueue(
    () => this.limits,
    this.compression,
    () => this.onIdle?.(),
  );
  private failures: string[] = [];
  /** Twins under way, by name, with whether at full quality: a second write of the same output waits for the first. */
  private readonly pending = new Map<string, { done: Promise<boolean>; full: boolean }>();
  /** Compressions by content and level, so identical outputs are compressed once. */
  private byContent = new Map<string, Packed>();
  /** Twins known to be at their policy's level (named by a non-quick manifest entry, or written so here). */
  private readonly trusted = new Set<string>();
  private quickSaid = false;
  /**
   * Told when the last queued twin has landed (entries' `variants` are then complete): a server
   * that saved its manifest before that can save again so the twins are named.
   */
  onIdle: (() => void) | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly config: ConvoyConfig,
    private readonly counters: { writes: number },
    /** Told about a twin that could not be made while nobody awaits `flush()` (the file itself is served). */
    private readonly onFailure: (message: string) => void,
  ) {}

  /** Takes the twins a manifest names as full quality (its entries not marked quick). */
  trust(data: ManifestData): void {
    this.trusted.clear();
    for (const group of [data.files, data.bundles, data.dev]) {
      for (const e of Object.values(group)) {
        if (e.quick) continue;
        for (const twin of [e.variants.gz, e.variants.br]) if (twin) this.trusted.add(twin);
      }
    }
  }

  /**
   * Writes one output under the fingerprint of its bytes, with its map, and queues its twins. The
   * map is named by the fingerprint of its own content, so the `sourceMappingURL` comment naming
   * it can be part of the fingerprinted bytes with no circularity.
   */
  write(name: (hash: string) => string, body: string | Buffer, kind: 'css' | 'js' | 'other', map?: SourceMap, use: TwinUse = 'page'): OutputEntry {
    let bytes = typeof body === 'string' ? Buffer.from(body) : body;
    let mapPath: string | undefined;
    if (map && this.config.sourceMaps !== false && kind !== 'other') {
      const mapBytes = Buffer.from(JSON.stringify(withContent(finalMap(map), this.config.sourcesContent)));
      mapPath = `${name(fingerprint(mapBytes))}.map`;
      this.put(mapPath, mapBytes);
      if (this.config.sourceMaps === true) {
        const ref = path.posix.basename(mapPath);
        bytes = Buffer.concat([bytes, Buffer.from(kind === 'css' ? `\n/*# sourceMappingURL=${ref} */` : `\n//# sourceMappingURL=${ref}`)]);
      }
    }
    const hash = fingerprint(bytes);
    const outPath = name(hash);
    this.put(outPath, bytes);
    const entry: OutputEntry = { path: outPath, hash, integrity: integrity(bytes), size: bytes.length, variants: {}, ...(mapPath ? { map: mapPath } : {}) };
    this.twins(entry, bytes, useOf(outPath, use));
    // Made during a request, whatever its twins: not part of a build (nor of a publish) yet.
    if (this.fast) entry.quick = true;
    return entry;
  }

  /** Writes unless a file of that name and size is there already (names are fingerprints). */
  put(rel: string, bytes: Buffer): boolean {
    if (this.storage.exists(rel, bytes.length)) return false;
    this.storage.write(rel, bytes);
    this.counters.writes++;
    return true;
  }

  /**
   * Brings the twins of an entry built during a request (marked quick) to its policy's level from
   * the stored output, with no rebuild; returns whether it queued anything.
   */
  requalify(entry: OutputEntry): boolean {
    if (!entry.quick || this.fast) return false;
    const bytes = this.storage.read(entry.path);
    if (!bytes || bytes.length !== entry.size) return false;
    delete entry.quick;
    this.twins(entry, bytes, useOf(entry.path));
    return true;
  }

  /** Waits until every queued twin is written; returns what failed since the last flush. */
  async flush(): Promise<string[]> {
    await this.queue.idle();
    this.byContent = new Map();
    const failed = this.failures;
    this.failures = [];
    return failed;
  }

  private twins(entry: OutputEntry, bytes: Buffer, use: TwinUse): void {
    if (!isCompressible(entry.path)) return;
    const wanted = POLICY[use];
    let quick = false;
    for (const format of this.config.compress) {
      const twin = entry.path + TWIN_SUFFIX[format];
      const level = this.fast ? Math.min(REQUEST_LEVELS[format], wanted[format]) : wanted[format];
      const full = level >= wanted[format];
      const key = variantKey(format);
      const under = this.pending.get(twin);
      if (under && (under.full || !full)) {
        // The same output written again while its twin is being made (two renders, one bundle).
        void under.done.then((ok) => ok && (entry.variants[key] = twin));
        if (!under.full) quick = true;
        continue;
      }
      if (under) {
        // A build in a process whose request is still making a quick twin: redo it after that one.
        this.queue.begin();
        void under.done.then(() => {
          this.queue.release();
          this.compressTwin(entry, key, twin, format, bytes, level, full, this.limits.concurrency <= 0);
          this.queue.pump();
        });
        continue;
      }
      // A twin on disk is reused by a build only when known to be at full quality; a request
      // reuses any (and marks the entry, since it cannot tell), the next build redoes it.
      if ((this.trusted.has(twin) || this.fast) && this.storage.exists(twin)) {
        entry.variants[key] = twin;
        if (!this.trusted.has(twin)) quick = true;
        continue;
      }
      if (!full) quick = true;
      // With gzipInTemplate a page links the .gz itself: it must exist before the URL is printed.
      const inline = this.limits.concurrency <= 0 || (format === 'gzip' && this.fast && this.config.gzipInTemplate);
      this.compressTwin(entry, key, twin, format, bytes, level, full, inline);
    }
    if (quick) {
      entry.quick = true;
      this.sayQuick();
    }
  }

  private compressTwin(entry: OutputEntry, key: 'gz' | 'br', twin: string, format: CompressFormat, bytes: Buffer, level: number, full: boolean, inline: boolean): void {
    const land = (packed: Buffer | undefined): boolean => {
      if (!packed) return false;
      this.storage.write(twin, packed);
      this.counters.writes++;
      entry.variants[key] = twin;
      if (full) this.trusted.add(twin);
      else this.trusted.delete(twin);
      return true;
    };
    const contentKey = `${entry.hash}:${bytes.length}:${format}:${level}`;
    const known = this.byContent.get(contentKey);
    if (inline) {
      if (known?.done) {
        this.compression.reused++;
        land(known.value);
        return;
      }
      const packed = compress(format, bytes, level);
      this.compression.jobs++;
      this.compression.maxInFlight = Math.max(this.compression.maxInFlight, 1);
      this.compression.maxFilesInFlight = Math.max(this.compression.maxFilesInFlight, 1);
      this.compression.maxBytesInFlight = Math.max(this.compression.maxBytesInFlight, bytes.length);
      this.byContent.set(contentKey, { done: true, ...(packed ? { value: packed } : {}), promise: Promise.resolve(packed) });
      land(packed);
      return;
    }
    if (known) this.compression.reused++;
    let packedPromise: Promise<Buffer | undefined>;
    if (known) {
      packedPromise = known.promise;
    } else {
      packedPromise = new Promise<Buffer | undefined>((resolve, reject) => {
        this.queue.enqueue({
          output: entry.path,
          size: bytes.length,
          run: () => {
            this.compression.jobs++;
            return compressAsync(format, bytes, level).then(resolve, (err: unknown) => {
              reject(err);
              throw err;
            });
          },
        });
      });
      const record: Packed = { done: false, promise: packedPromise };
      packedPromise.then(
        (packed) => {
          record.done = true;
          if (packed) record.value = packed;
        },
        () => {},
      );
      this.byContent.set(contentKey, record);
    }
    // Counted as work under way until written, so flush() covers the write too.
    this.queue.begin();
    const done = packedPromise.then(land).catch((err: unknown) => {
      this.fail(`${twin}: compressed twin not written: ${messageOf(err)}`);
      return false;
    });
    const record = { done, full };
    this.pending.set(twin, record);
    void done.finally(() => {
      if (this.pending.get(twin) === record) this.pending.delete(twin);
      this.queue.end();
    });
  }

  private fail(message: string): void {
    this.failures.push(message);
    if (this.fast) this.onFailure(message);
  }

  private sayQuick(): void {
    if (this.quickSaid || !this.fast) return;
    this.quickSaid = true;
    this.config.logger.info(
      `convoy: assets built during a request get their compressed twins after the response, at brotli ${REQUEST_LEVELS.br} (11 takes ~40× longer); \`convoy build\` recompresses them`,
    );
  }
}
