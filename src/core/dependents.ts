import type { ManifestData } from './manifest.ts';

/** A group of manifest entries: processed files, debug compilations, bundles. */
export type EntryGroup = 'files' | 'dev' | 'bundles';

/** One manifest entry, by group and key. */
export interface EntryRef {
  group: EntryGroup;
  key: string;
}

/**
 * The entries whose recorded inputs include any of `changed` (root-relative input names, as the
 * manifest records them): a Sass partial gives every entry that loaded it and every bundle holding
 * one. Files come first, then debug compilations, then bundles, so a bundle joining a file's
 * output is rebuilt after that file.
 */
export function dependentsOf(data: ManifestData, changed: Iterable<string>, groups: readonly EntryGroup[] = ['files', 'dev', 'bundles']): EntryRef[] {
  const names = new Set(changed);
  const out: EntryRef[] = [];
  for (const group of (['files', 'dev', 'bundles'] as const).filter((g) => groups.includes(g))) {
    for (const [key, entry] of Object.entries(data[group])) {
      if (Object.keys(entry.inputs).some((name) => names.has(name))) out.push({ group, key });
    }
  }
  return out;
}
