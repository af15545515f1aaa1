import fs from 'node:fs';
import path from 'node:path';
// How several processes' saves of one manifest combine: a three-way merge of ours, the base we last
// read, and theirs on disk. Kept apart from the data types and the file handling in manifest.ts.
import type { BundleEntry, FileEntry, ManifestData, OutputEntry } from './manifest.ts';

/** A value with object keys sorted and undefined members left out, so equal content gives equal JSON. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Every output path an entry names (the file, its twins, its map, its plain copy and the plain copy's twins and map). */
export function outputsOf(entry: OutputEntry & { plain?: string; plainFiles?: string[] }): string[] {
  return [entry.path, entry.variants.gz, entry.variants.br, entry.map, entry.plain, ...(entry.plainFiles ?? [])].filter((p): p is string => !!p);
}

/** A manifest section whose entries a merge compares one by one. */
export type Group = 'files' | 'dev' | 'bundles';
const GROUPS: Group[] = ['files', 'dev', 'bundles'];
type Entry = FileEntry | BundleEntry;

/** What this process last knew of the disk manifest: entries are compared by identity to tell ours from theirs. */
export interface Base {
  files: Record<string, FileEntry>;
  dev: Record<string, FileEntry>;
  bundles: Record<string, BundleEntry>;
  globs: Record<string, string[]>;
  previous: string[];
  /** Each entry's content when the base was taken: twins land in an entry after it is made. */
  stamps: Map<string, string>;
}

export const emptyData = (): ManifestData => ({ version: 1, files: {}, dev: {}, bundles: {}, previous: [] });
export const snapshot = (d: ManifestData): Base => ({ files: { ...d.files }, dev: { ...d.dev }, bundles: { ...d.bundles }, globs: { ...d.globs }, previous: d.previous, stamps: new Map() });
/** Records the content of every entry of a base (see `changedHere`). */
export function stamp(base: Base): Base {
  base.stamps = new Map();
  for (const g of GROUPS) for (const [key, e] of Object.entries(base[g])) base.stamps.set(`${g}\0${key}`, JSON.stringify(e));
  return base;
}
/** Whether this process replaced, removed or changed (twins landing later) an entry since the base. */
const changedHere = (base: Base, g: Group, key: string, mine: Entry | undefined): boolean =>
  mine !== (base[g] as Record<string, Entry>)[key] || (mine !== undefined && JSON.stringify(mine) !== base.stamps.get(`${g}\0${key}`));
const sameJson = (a: unknown, b: unknown) => a === b || (a !== undefined && b !== undefined && JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b)));

/** Every output the data names. */
export function namedOutputs(data: ManifestData): Set<string> {
  const out = new Set<string>();
  for (const group of [data.files, data.dev, data.bundles]) {
    for (const entry of Object.values(group)) for (const p of outputsOf(entry)) out.add(p);
  }
  return out;
}

/**
 * Takes in what another process saved: for every entry this process did not change since its
 * last read (`base`), theirs; for entries it did change, ours (theirs, if different, is kept on the
 * `previous` list so pages it printed keep working until the next build and clean). Returns the
 * merged data and the new base.
 */
export function absorb(ours: ManifestData, base: Base, theirs: ManifestData): { data: ManifestData; base: Base } {
  const merged = emptyData();
  const displaced: string[] = [];
  for (const g of GROUPS) {
    const o = ours[g] as Record<string, Entry>;
    const b = base[g] as Record<string, Entry>;
    const t = theirs[g] as Record<string, Entry>;
    const out = merged[g] as Record<string, Entry>;
    for (const key of new Set([...Object.keys(o), ...Object.keys(b), ...Object.keys(t)])) {
      const mine = o[key];
      const before = b[key];
      const other = t[key];
      if (!changedHere(base, g, key, mine)) {
        // Unchanged here: theirs (our own object when equal, so callers comparing identity see no change).
        if (other) out[key] = mine && sameJson(mine, other) ? mine : other;
        continue;
      }
      // Changed here since the last read: ours wins, and what it replaces stays one more build.
      if (before) displaced.push(...outputsOf(before));
      if (other && !sameJson(other, before) && !sameJson(other, mine)) displaced.push(...outputsOf(other));
      if (mine) out[key] = mine;
      else if (other && !sameJson(other, before)) out[key] = other; // deleted here, rebuilt elsewhere
    }
  }
  // Glob expansions: likewise ours where changed here, theirs otherwise (values are replaced, never mutated).
  const globs: Record<string, string[]> = {};
  const [og, bg, tg] = [ours.globs ?? {}, base.globs, theirs.globs ?? {}];
  for (const key of new Set([...Object.keys(og), ...Object.keys(bg), ...Object.keys(tg)])) {
    const value = og[key] === bg[key] ? tg[key] : og[key];
    if (value) globs[key] = og[key] === bg[key] && og[key] && sameJson(og[key], tg[key]) ? og[key]! : value;
  }
  if (Object.keys(globs).length) merged.globs = globs;
  const changedPrevious = ours.previous !== base.previous || displaced.length > 0;
  const named = namedOutputs(merged);
  let previous = theirs.previous;
  if (changedPrevious) {
    // Ours (a build's replaced list), plus what others added since our read, plus what this merge displaced.
    const known = new Set(base.previous);
    const ownList = ours.previous !== base.previous ? ours.previous : theirs.previous;
    previous = [...new Set([...ownList, ...theirs.previous.filter((p) => !known.has(p)), ...displaced])];
  }
  merged.previous = previous.filter((p) => !named.has(p)).sort();
  // Theirs is the new base; what we changed stays marked as ours (it differs from theirs by identity).
  const newBase = snapshot(theirs);
  for (const [key, v] of Object.entries(globs)) if (og[key] === bg[key] && newBase.globs[key] && sameJson(newBase.globs[key], v)) newBase.globs[key] = v;
  for (const g of GROUPS) {
    const nb = newBase[g] as Record<string, Entry>;
    const out = merged[g] as Record<string, Entry>;
    for (const [key, e] of Object.entries(out)) if (nb[key] && sameJson(nb[key], e) && !changedHere(base, g, key, (ours[g] as Record<string, Entry>)[key])) nb[key] = e;
  }
  stamp(newBase);
  newBase.previous = changedPrevious ? theirs.previous : merged.previous;
  return { data: merged, base: newBase };
}

/**
 * Drops entries this process added (since `base`) whose files under `root` are gone, so the
 * manifest never names a missing file; returns their keys.
 */
export function dropMissing(data: ManifestData, base: Base, root: string): string[] {
  const dropped: string[] = [];
  const exists = (rel: string) => fs.existsSync(path.join(root, ...rel.split('/')));
  for (const g of GROUPS) {
    const group = data[g] as Record<string, Entry>;
    const b = base[g] as Record<string, Entry>;
    for (const [key, e] of Object.entries(group)) {
      if (!changedHere(base, g, key, e) || outputsOf(e).every(exists)) continue;
      if (b[key]) group[key] = b[key]!;
      else delete group[key];
      dropped.push(key);
    }
  }
  return dropped;
}

/** The base as manifest data: with no file on disk, nobody else changed anything. */
export function snapshotData(base: Base): ManifestData {
  return { version: 1, files: base.files, dev: base.dev, bundles: base.bundles, previous: base.previous, ...(Object.keys(base.globs).length ? { globs: base.globs } : {}) };
}
