import fg from 'fast-glob';
import { ConvoyError } from '../errors.ts';
import { safeRelative, type Finder } from './finder.ts';
import type { Manifest } from './manifest.ts';
import { assetKind } from './pipeline.ts';

/**
 * Where a glob's expansion comes from: `disk` globs now (and records it), `recorded` takes what the
 * last build recorded (globbing only when nothing is recorded), `recorded-only` never touches disk.
 */
export type GlobSource = 'disk' | 'recorded' | 'recorded-only';

/** Whether a bundle line is a glob (`js/*.js`, `css/**\/*.css`) rather than one path. */
export function isGlob(line: string): boolean {
  return fg.isDynamicPattern(line);
}

/** Sass/LESS partials (`_name.scss`): read by the files that import them, never built on their own. */
export const isPartial = (rel: string): boolean => /(^|\/)_[^/]*\.(scss|sass|less)$/i.test(rel);

/**
 * Every source a glob matches across the roots (first root wins per name), sorted, without
 * Sass/LESS partials and without `x.min.css` when `x.css` matched too (the pipeline picks the
 * `.min` twin itself; listing both would ship the rules twice).
 */
export function globOnDisk(finder: Finder, pattern: string): string[] {
  const rels = finder.glob(safeRelative(pattern)).map((f) => f.rel).filter((rel) => !isPartial(rel));
  const names = new Set(rels);
  return rels.filter((rel) => !/\.min\.(css|js)$/i.test(rel) || !names.has(rel.replace(/\.min\.(css|js)$/i, '.$1')));
}

/**
 * A glob's expansion from the source the caller allows, recording what was found on disk in the
 * manifest (saved by the next build). Undefined only for `recorded-only` with no record.
 */
export function expandGlob(finder: Finder, manifest: Manifest, pattern: string, source: GlobSource): string[] | undefined {
  const key = safeRelative(pattern);
  const recorded = manifest.data.globs?.[key];
  if (source !== 'disk' && recorded) return recorded;
  if (source === 'recorded-only') return undefined;
  const found = globOnDisk(finder, key);
  const same = recorded && recorded.length === found.length && recorded.every((r, i) => r === found[i]);
  if (!same) manifest.data.globs = { ...manifest.data.globs, [key]: found };
  return found;
}

/**
 * Turns bundle lines (paths and globs) into source paths, in order: a glob adds the matches of
 * `kind` not listed anywhere else in the lines (so `css/reset.css`, `css/*.css` puts reset first
 * once), a path stays where it is. `expand` gives a glob's matches, or undefined when unknown.
 */
export function resolveLines(lines: string[], kind: 'css' | 'js' | undefined, expand: (pattern: string) => string[] | undefined): string[] | undefined {
  const explicit = new Set(lines.filter((l) => !isGlob(l)).map((l) => safeRelative(l)));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    if (!isGlob(line)) {
      const rel = safeRelative(line);
      if (!seen.has(rel)) out.push(rel);
      seen.add(rel);
      continue;
    }
    const matches = expand(line);
    if (!matches) return undefined;
    const fitting = matches.filter((rel) => (kind === undefined || assetKind(rel) === kind) && !explicit.has(rel) && !seen.has(rel));
    if (!fitting.length) {
      throw new ConvoyError('E_NOT_FOUND', `the glob matches no ${kind ?? ''}${kind ? ' ' : ''}file in the source roots (${matches.length ? `it matched only ${matches.slice(0, 3).join(', ')}${matches.length > 3 ? ' …' : ''}` : 'it matched nothing'})`, { file: line });
    }
    for (const rel of fitting) {
      seen.add(rel);
      out.push(rel);
    }
  }
  return out;
}

/**
 * The lines of named bundle `name` that give files of `kind`: its paths of that kind, and its globs
 * that match such files (`vendor/*` may serve both kinds) or match nothing at all (so the carpool
 * reports them). Undefined when a glob's expansion is unknown; throws for an undeclared name.
 */
export function namedBundleLines(bundles: Record<string, string[]>, name: string, kind: 'css' | 'js', expand: (pattern: string) => string[] | undefined): string[] | undefined {
  const lines = bundles[name];
  if (!lines) {
    const declared = Object.keys(bundles);
    throw new ConvoyError('E_TEMPLATE', `no bundle named "${name}" (declared: ${declared.length ? declared.join(', ') : 'none; set the bundles option'})`);
  }
  const own: string[] = [];
  for (const line of lines) {
    if (!isGlob(line)) {
      if (assetKind(safeRelative(line)) === kind) own.push(line);
      continue;
    }
    const matches = expand(line);
    if (!matches) return undefined;
    if (!matches.length || matches.some((rel) => assetKind(rel) === kind)) own.push(line);
  }
  return own;
}

/**
 * Every source the declared bundles hold (a glob declares each file it matches), with the names of
 * the bundles holding it; undefined when a glob's expansion is unknown (`expand` gave undefined).
 */
export function declaredAssets(bundles: Record<string, string[]>, expand: (pattern: string) => string[] | undefined): Map<string, string[]> | undefined {
  const held = new Map<string, string[]>();
  for (const [name, lines] of Object.entries(bundles)) {
    for (const line of lines) {
      const rels = isGlob(line) ? expand(line) : [safeRelative(line)];
      if (!rels) return undefined;
      for (const rel of rels) {
        const names = held.get(rel) ?? [];
        if (!names.includes(name)) held.set(rel, [...names, name]);
      }
    }
  }
  return held;
}
