import { ConvoyError } from '../errors.ts';
import type { Bucket } from './bucket.ts';
import { inventoryKey, journalKey } from './release.ts';

/** One publish of a manifest: its fingerprint, the key of its record, and when it was published. */
export interface ReleaseRef {
  hash: string;
  key: string;
  at: string;
}

/**
 * What earlier publishes put in the bucket, kept in the bucket itself, so a publish decides what
 * to upload without listing the bucket and prune deletes only what convoy wrote.
 */
export interface InventoryData {
  version: 1;
  /** Objects confirmed in the bucket: key → size in bytes. */
  objects: Record<string, number>;
  /** Keys convoy started writing (a publish) or deleting (a prune) without finishing: owned, not trusted present. */
  pending: string[];
  /** Releases, oldest first; the last is the current one. */
  releases: ReleaseRef[];
}

/** An inventory of an empty bucket. */
export const emptyInventory = (): InventoryData => ({ version: 1, objects: {}, pending: [], releases: [] });

/** Reads an inventory's bytes; an unreadable one stops the command (guessing could delete live files). */
export function parseInventory(bytes: Buffer | undefined, key: string): InventoryData {
  if (!bytes) return emptyInventory();
  let data: Partial<InventoryData>;
  try {
    data = JSON.parse(bytes.toString('utf8')) as Partial<InventoryData>;
  } catch (cause) {
    throw new ConvoyError('E_PUBLISH', `the inventory in the bucket is not JSON (${(cause as Error).message}); restore it from the bucket's versions, or delete it and its journal to re-upload everything`, { file: key, cause });
  }
  if (data.version !== 1 || typeof data.objects !== 'object' || !Array.isArray(data.releases)) {
    throw new ConvoyError('E_PUBLISH', 'the inventory in the bucket has an unknown shape (written by a newer convoy?)', { file: key });
  }
  return { version: 1, objects: data.objects ?? {}, pending: data.pending ?? [], releases: data.releases };
}

/** The inventory's bytes: keys sorted, so the same content gives the same bytes. */
export function serializeInventory(inv: InventoryData): Buffer {
  const objects = Object.fromEntries(Object.keys(inv.objects).sort().map((k) => [k, inv.objects[k]!]));
  const pending = [...new Set(inv.pending)].sort();
  return Buffer.from(`${JSON.stringify({ version: 1, objects, pending, releases: inv.releases }, null, 1)}\n`);
}

/** Marks objects as present (no longer pending) and makes `release` the latest one. */
export function confirmRelease(inv: InventoryData, uploaded: Record<string, number>, release: ReleaseRef): InventoryData {
  const done = new Set(Object.keys(uploaded));
  return {
    version: 1,
    objects: { ...inv.objects, ...uploaded },
    pending: inv.pending.filter((k) => !done.has(k)),
    releases: [...inv.releases.filter((r) => r.hash !== release.hash), release],
  };
}

/** Keys about to be written: recorded first, so a publish killed half-way leaves nothing prune cannot find. */
export function markPending(inv: InventoryData, keys: string[]): InventoryData {
  return { ...inv, pending: [...new Set([...inv.pending, ...keys])] };
}

/** Drops releases and objects about to be deleted; they stay pending until the deletes are done. */
export function startPrune(inv: InventoryData, keep: ReleaseRef[], doomed: string[]): InventoryData {
  const gone = new Set(doomed);
  const kept = new Set(keep.map((r) => r.hash));
  return {
    version: 1,
    objects: Object.fromEntries(Object.entries(inv.objects).filter(([k]) => !gone.has(k))),
    pending: [...new Set([...inv.pending, ...doomed])],
    releases: inv.releases.filter((r) => kept.has(r.hash)),
  };
}

/** Forgets keys that were deleted. */
export function finishPrune(inv: InventoryData, deleted: string[]): InventoryData {
  const gone = new Set(deleted);
  return { ...inv, pending: inv.pending.filter((k) => !gone.has(k)) };
}

/** The inventory as read, and whether it came from the journal (the inventory itself being damaged or missing). */
export interface LoadedInventory {
  inventory: InventoryData;
  /** The inventory object is damaged or missing and the journal was used: the next save repairs it. */
  recovered: boolean;
}

/** Parses an inventory; a JSON syntax error (a cut-off body) is returned, an unknown shape thrown. */
function parseOrDamaged(bytes: Buffer, key: string): InventoryData | ConvoyError {
  try {
    return parseInventory(bytes, key);
  } catch (err) {
    if (err instanceof ConvoyError && err.cause instanceof SyntaxError) return err;
    throw err;
  }
}

/** Reads the journal; failing to, the caller's own error stands. */
async function readJournal(bucket: Bucket, prefix: string, orElse?: ConvoyError): Promise<Buffer | undefined> {
  try {
    return await bucket.get(journalKey(prefix));
  } catch (err) {
    throw orElse ?? err;
  }
}

/**
 * The bucket's inventory: one GET when it is whole. The journal is trusted only where it can only
 * be what an interrupted save was writing: an inventory cut off mid-body is a prefix of the
 * journal's bytes; a missing inventory with a journal of pending keys only is a first publish
 * killed between the two writes (a damaged journal there: killed before anything was uploaded).
 * Anything else (an inventory deleted by hand, a stale journal) stops the command.
 */
export async function loadInventory(bucket: Bucket, prefix: string): Promise<LoadedInventory> {
  const main = await bucket.get(inventoryKey(prefix));
  if (main) {
    const parsed = parseOrDamaged(main, inventoryKey(prefix));
    if (!(parsed instanceof ConvoyError)) return { inventory: parsed, recovered: false };
    const journal = await readJournal(bucket, prefix, parsed);
    if (!journal || !journal.subarray(0, main.length).equals(main)) throw parsed;
    const whole = parseOrDamaged(journal, journalKey(prefix));
    if (whole instanceof ConvoyError) throw parsed;
    return { inventory: whole, recovered: true };
  }
  const journal = await readJournal(bucket, prefix);
  if (!journal) return { inventory: emptyInventory(), recovered: false };
  const started = parseOrDamaged(journal, journalKey(prefix));
  if (started instanceof ConvoyError) return { inventory: emptyInventory(), recovered: true };
  if (Object.keys(started.objects).length || started.releases.length) {
    throw new ConvoyError(
      'E_PUBLISH',
      `the inventory is missing but its journal lists ${Object.keys(started.objects).length} object(s) and ${started.releases.length} release(s): was it deleted by hand? To re-upload everything delete ${journalKey(prefix)} too; to keep what it lists, copy it to ${inventoryKey(prefix)}`,
      { file: inventoryKey(prefix) },
    );
  }
  return { inventory: started, recovered: true };
}

/** Writes the journal, then the inventory; it changes with every publish, so caches must not keep either. */
export async function saveInventory(bucket: Bucket, prefix: string, inv: InventoryData): Promise<void> {
  const bytes = serializeInventory(inv);
  const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache, no-store' };
  await bucket.put(journalKey(prefix), bytes, headers);
  await bucket.put(inventoryKey(prefix), bytes, headers);
}
