import fs from 'node:fs';
import path from 'node:path';
import { ConvoyError } from '../errors.ts';
import { resolveConfig, type ConvoyOptions } from '../config.ts';
import { fingerprint } from '../core/fingerprint.ts';
import type { ManifestData } from '../core/manifest.ts';
import { Bucket } from './bucket.ts';
import { objectHeaders } from './headers.ts';
import { confirmRelease, loadInventory, markPending, saveInventory } from './inventory.ts';
import { recordKey, releaseFiles, releaseHash, type ReleaseFile } from './release.ts';
import { publishSettings } from './settings.ts';

/** How `publish` runs. */
export interface PublishRunOptions {
  /** Read the inventory and report what would be uploaded; write nothing. */
  dryRun?: boolean;
  /** Uploads in flight at once (default: publish.concurrency). */
  concurrency?: number;
  /** Told after each upload: objects done out of total, and the key. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** One object written (or, in a dry run, to be written). */
export interface UploadedObject {
  key: string;
  bytes: number;
}

/** What a publish did. */
export interface PublishReport {
  bucket: string;
  prefix: string;
  /** The release: the fingerprint of the manifest published. */
  release: string;
  /** Key of the release record (the manifest). */
  recordKey: string;
  /** Objects of the release written now (the record and the inventory not included). */
  uploaded: UploadedObject[];
  /** Objects of the release already in the bucket by the inventory, not written again. */
  skipped: number;
  /** Bytes of the uploaded objects. */
  bytes: number;
  recordWritten: boolean;
  inventoryWritten: boolean;
  /** The inventory was cut off mid-write or never written and was restored from its journal (and, unless a dry run, written again). */
  inventoryRecovered: boolean;
  /** Nothing at all was written: the bucket already held this exact release as the latest. */
  nothingNew: boolean;
  dryRun: boolean;
  milliseconds: number;
}

/** The local manifest's bytes and content; no manifest means no build to publish. */
function readManifest(file: string): { bytes: Buffer; data: ManifestData } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (cause) {
    throw new ConvoyError('E_NOT_FOUND', 'no manifest to publish: run `convoy build` first', { file, cause });
  }
  try {
    return { bytes, data: JSON.parse(bytes.toString('utf8')) as ManifestData };
  } catch (cause) {
    throw new ConvoyError('E_NOT_FOUND', `the manifest is not JSON: ${(cause as Error).message}`, { file, cause });
  }
}

/**
 * Before anything is written: every file to upload is in staticRoot, and its bytes still match the
 * fingerprint the manifest records (a name is forever: edited or damaged bytes must not go up).
 */
function checkLocal(staticRoot: string, manifest: string, todo: ReleaseFile[]): void {
  const list = (files: ReleaseFile[]) => `${files.slice(0, 5).map((f) => f.rel).join(', ')}${files.length > 5 ? ', …' : ''}`;
  const missing = todo.filter((f) => !fs.existsSync(path.join(staticRoot, f.rel)));
  if (missing.length) {
    throw new ConvoyError('E_NOT_FOUND', `${missing.length} file(s) the manifest names are not in staticRoot (${list(missing)}): run \`convoy build\` again`, { file: manifest });
  }
  const changed = todo.filter((f) => f.hash && fingerprint(fs.readFileSync(path.join(staticRoot, f.rel))) !== f.hash);
  if (changed.length) {
    throw new ConvoyError('E_PUBLISH', `${changed.length} file(s) no longer match the fingerprint the manifest records (${list(changed)}): run \`convoy build --force\``, { file: manifest });
  }
}

/** Runs `work` on every item, at most `limit` at once; stops starting new ones after a failure. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const runner = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failure !== undefined) throw failure;
}

/**
 * Uploads every file the local manifest names that the bucket's inventory does not list, then the
 * release record (the manifest under its own fingerprint), then the inventory. Never deletes, never
 * lists the bucket, never rewrites an object the inventory lists, so earlier releases stay intact;
 * a publish killed at any point is completed by the next one.
 */
export async function publish(options: ConvoyOptions, run: PublishRunOptions = {}): Promise<PublishReport> {
  const started = performance.now();
  const config = resolveConfig(options);
  const s = publishSettings(config.publish);
  const { bytes: manifestBytes, data } = readManifest(config.manifest);
  const files = releaseFiles(data);
  const hash = releaseHash(manifestBytes);
  const rKey = recordKey(s.prefix, hash);
  const key = (f: ReleaseFile) => s.prefix + f.rel;

  const bucket = await Bucket.open(s);
  try {
    const { inventory: inv, recovered } = await loadInventory(bucket, s.prefix);
    const todo = files.filter((f) => inv.objects[key(f)] === undefined);
    const recordKnown = inv.objects[rKey] !== undefined;
    const latest = inv.releases.at(-1)?.hash === hash;
    checkLocal(config.staticRoot, config.manifest, todo);
    const report: PublishReport = {
      bucket: s.bucket,
      prefix: s.prefix,
      release: hash,
      recordKey: rKey,
      uploaded: [],
      skipped: files.length - todo.length,
      bytes: 0,
      recordWritten: false,
      inventoryWritten: false,
      inventoryRecovered: recovered,
      nothingNew: !todo.length && recordKnown && latest && !recovered,
      dryRun: !!run.dryRun,
      milliseconds: 0,
    };
    const finish = () => ({ ...report, milliseconds: performance.now() - started });
    if (report.nothingNew) return finish();
    if (run.dryRun) {
      for (const f of todo) {
        const size = fs.statSync(path.join(config.staticRoot, f.rel)).size;
        report.uploaded.push({ key: key(f), bytes: size });
        report.bytes += size;
      }
      return finish();
    }

    const written: Record<string, number> = {};
    if (todo.length || !recordKnown) {
      await saveInventory(bucket, s.prefix, markPending(inv, [...todo.map(key), ...(recordKnown ? [] : [rKey])]));
    }
    let done = 0;
    await pool(todo, run.concurrency ?? s.concurrency, async (f) => {
      const body = fs.readFileSync(path.join(config.staticRoot, f.rel));
      await bucket.put(key(f), body, objectHeaders(f.typeName, f.encoding, s.headers));
      written[key(f)] = body.length;
      report.uploaded.push({ key: key(f), bytes: body.length });
      report.bytes += body.length;
      run.onProgress?.(++done, todo.length, f.rel);
    });
    report.uploaded.sort((a, b) => (a.key < b.key ? -1 : 1));
    if (!recordKnown) {
      await bucket.put(rKey, manifestBytes, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=31536000, immutable' });
      written[rKey] = manifestBytes.length;
      report.recordWritten = true;
    }
    // Read again just before writing: another publish may have finished meanwhile.
    const { inventory: current } = await loadInventory(bucket, s.prefix);
    await saveInventory(bucket, s.prefix, confirmRelease(current, written, { hash, key: rKey, at: new Date().toISOString() }));
    report.inventoryWritten = true;
    return finish();
  } finally {
    bucket.close();
  }
}
