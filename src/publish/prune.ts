import { ConvoyError } from '../errors.ts';
import { resolveConfig, type ConvoyOptions } from '../config.ts';
import type { ManifestData } from '../core/manifest.ts';
import { Bucket } from './bucket.ts';
import { finishPrune, loadInventory, saveInventory, startPrune, type ReleaseRef } from './inventory.ts';
import { inventoryKey, journalKey, releaseFiles } from './release.ts';
import { publishSettings } from './settings.ts';

/** How `prune` runs. */
export interface PruneRunOptions {
  /** Releases to keep, newest first (default: publish.keep). */
  keep?: number;
  /** List what would be deleted; delete nothing. */
  dryRun?: boolean;
}

/** What a prune did. */
export interface PruneReport {
  bucket: string;
  /** Releases kept, oldest first. */
  kept: ReleaseRef[];
  /** Releases forgotten (their records deleted). */
  dropped: ReleaseRef[];
  /** Keys deleted (in a dry run: that would be). */
  deleted: string[];
  /** Objects the kept releases name. */
  keptObjects: number;
  /** The inventory was damaged or missing and was restored from its journal (and, unless a dry run, written again). */
  inventoryRecovered: boolean;
  dryRun: boolean;
}

/**
 * Deletes the objects convoy uploaded that none of the last `keep` release records names (every
 * file such a manifest lists: outputs, twins, maps, plain copies), and the records of older
 * releases. Only keys in the inventory are candidates, so nothing else in the bucket is touched.
 */
export async function prune(options: ConvoyOptions, run: PruneRunOptions = {}): Promise<PruneReport> {
  const config = resolveConfig(options);
  const s = publishSettings(config.publish);
  const keep = run.keep ?? s.keep;
  if (!Number.isInteger(keep) || keep < 1) throw new ConvoyError('E_CONFIG', `keep expects a whole number ≥ 1, got ${keep}`);
  const invKey = inventoryKey(s.prefix);
  const bucket = await Bucket.open(s);
  try {
    const { inventory: inv, recovered } = await loadInventory(bucket, s.prefix);
    const kept = inv.releases.slice(-keep);
    const dropped = inv.releases.slice(0, inv.releases.length - kept.length);
    const objects = new Set<string>();
    for (const ref of kept) {
      const bytes = await bucket.get(ref.key);
      // Without a kept release's record, what it needs is unknown: deleting anything could break it.
      if (!bytes) throw new ConvoyError('E_PUBLISH', `the record of release ${ref.hash} is missing from the bucket; nothing deleted`, { file: `s3://${s.bucket}/${ref.key}` });
      let data: ManifestData;
      try {
        data = JSON.parse(bytes.toString('utf8')) as ManifestData;
      } catch (cause) {
        throw new ConvoyError('E_PUBLISH', `the record of release ${ref.hash} is not JSON; nothing deleted`, { file: `s3://${s.bucket}/${ref.key}`, cause });
      }
      for (const f of releaseFiles(data)) objects.add(s.prefix + f.rel);
    }
    const named = new Set([invKey, journalKey(s.prefix), ...kept.map((r) => r.key), ...objects]);
    const doomed = [...new Set([...Object.keys(inv.objects), ...inv.pending])].filter((k) => !named.has(k)).sort();
    const report: PruneReport = { bucket: s.bucket, kept, dropped, deleted: doomed, keptObjects: objects.size, inventoryRecovered: recovered, dryRun: !!run.dryRun };
    // A recovered inventory is written even with nothing to delete, so the damaged one is repaired.
    if (run.dryRun || (!doomed.length && !dropped.length && !recovered)) return report;

    // The inventory forgets them first (still pending), so a prune killed half-way leaves no
    // object the inventory claims is there, and the next prune finishes the deletes.
    const marked = startPrune(inv, kept, doomed);
    await saveInventory(bucket, s.prefix, marked);
    const { deleted, failed } = await bucket.delete(doomed);
    await saveInventory(bucket, s.prefix, finishPrune(marked, deleted));
    if (failed.length) {
      throw new ConvoyError('E_PUBLISH', `${failed.length} object(s) could not be deleted (first ${failed[0]!.key}: ${failed[0]!.message}); they stay in the inventory for the next prune`, { file: `s3://${s.bucket}/${failed[0]!.key}` });
    }
    report.deleted = deleted.sort();
    return report;
  } finally {
    bucket.close();
  }
}
