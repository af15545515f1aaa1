import { fingerprint } from '../core/fingerprint.ts';
import { outputsOf, type ManifestData, type OutputEntry } from '../core/manifest.ts';
import type { ObjectEncoding } from './headers.ts';

/** One file a release names: its path under staticRoot, and what its headers derive from. */
export interface ReleaseFile {
  /** Path relative to staticRoot (and to the prefix in the bucket). */
  rel: string;
  /** The name whose extension gives Content-Type (a twin's uncompressed output). */
  typeName: string;
  /** Set on compressed twins. */
  encoding?: ObjectEncoding;
  /** The fingerprint the manifest records for these bytes (outputs and bundles; twins and maps have none). */
  hash?: string;
}

/** Folder (under the prefix) holding the inventory and the release records. */
export const META_DIR = '.convoy';

/** Key of the inventory, under the prefix. */
export const inventoryKey = (prefix: string) => `${prefix}${META_DIR}/inventory.json`;

/**
 * Key of the inventory's journal: the same bytes, written just before the inventory. Some
 * S3-compatible servers (s3rver, plain-file gateways) keep the part of a body received before the
 * client died; the journal is whole whenever the inventory is not.
 */
export const journalKey = (prefix: string) => `${prefix}${META_DIR}/inventory.journal.json`;

/** Key of a release record: the manifest stored under its own fingerprint (immutable). */
export const recordKey = (prefix: string, hash: string) => `${prefix}${META_DIR}/releases/${hash}.json`;

/** The fingerprint of a manifest's bytes: the release's name. */
export const releaseHash = (manifestBytes: Buffer | string) => fingerprint(manifestBytes);

/**
 * Every file a release names: each processed file and bundle with its twins, map and plain copy.
 * Debug compilations (`dev`) are left out: they are not fingerprinted, so not publishable as
 * immutable, and no production page prints them; `previous` is the local build's business.
 */
export function releaseFiles(data: Pick<ManifestData, 'files' | 'bundles'>): ReleaseFile[] {
  const out = new Map<string, ReleaseFile>();
  const add = (entry: OutputEntry & { plain?: string }) => {
    const names = outputsOf(entry);
    for (const rel of names) {
      // A twin is `<another output of the entry>.gz|.br` (a source named x.tar.gz is not one).
      const m = /^(.*)\.(gz|br)$/.exec(rel);
      const encoding: ObjectEncoding | undefined = m && names.includes(m[1]!) ? (m[2] === 'gz' ? 'gzip' : 'br') : undefined;
      if (!out.has(rel)) out.set(rel, { rel, typeName: encoding ? m![1]! : rel, ...(encoding ? { encoding } : {}), ...(rel === entry.path ? { hash: entry.hash } : {}) });
    }
  };
  for (const entry of Object.values(data.files ?? {})) add(entry);
  for (const entry of Object.values(data.bundles ?? {})) add(entry);
  return [...out.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
