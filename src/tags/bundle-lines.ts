import type { ConvoyConfig } from '../config.ts';
import { safeRelative } from '../core/finder.ts';
import type { BundleEntry } from '../core/manifest.ts';
import type { Pipeline } from '../core/pipeline.ts';
import { declaredAssets, expandGlob, isGlob, namedBundleLines, resolveLines, type GlobSource } from '../core/bundles.ts';
import type { BodySegment } from './carpool-body.ts';
import type { ResolveMode, Where } from './runtime-types.ts';

/** What `require` learns of a path: its safe form, whether a declared bundle holds it, the bundles searched. */
export interface RequireCheck {
  rel: string;
  declared: boolean;
  searched: string[];
}

/** Reports a failure at a place (the Convoy's `fail`: a warning, or a throw in strict mode). */
export type Fail = (where: Where, what: string, err: unknown) => void;

/** Where a carpool's asset stands: the tag's line plus the lines of the body before the entry. */
export function entryWhere(where: Where, asset: { line?: number } | undefined): Where {
  return asset?.line ? { template: where.template, line: where.line + asset.line } : where;
}

/**
 * The lines of the tags' bundles: glob lines of carpool bodies, named bundles (DESIGN §6) and the
 * declared set `require` checks against, with globs expanded from the disk or from the record.
 */
export class BundleLines {
  /** The declared set while expansions come from the manifest, and the answers given from it (safeRelative costs µs). */
  private declaredCache: { manifest: unknown; held: Map<string, string[]>; answers: Map<string, RequireCheck> } | undefined;

  constructor(
    private readonly config: ConvoyConfig,
    private readonly pipeline: Pipeline,
    private readonly rebuildsAny: () => boolean,
    private readonly fail: Fail,
  ) {}

  /**
   * Where glob expansions come from: the disk in debug, rebuild modes and the build (a new file
   * joins), else what the build recorded; compile-time lookups never touch the disk.
   */
  globSource(mode: ResolveMode): GlobSource {
    if (mode === 'lookup') return 'recorded-only';
    return mode === 'build' || this.config.debug || this.rebuildsAny() ? 'disk' : 'recorded';
  }

  /** Expands one glob per `mode`; undefined when it must come from the record and is not there. */
  expander(mode: ResolveMode): (pattern: string) => string[] | undefined {
    const source = this.globSource(mode);
    return (pattern) => expandGlob(this.pipeline.finder, this.pipeline.manifest, pattern, source);
  }

  /**
   * Replaces glob lines of a carpool body (`js/*.js`) by one asset per matching source of the
   * carpool's kind, sorted, leaving out files the body lists elsewhere. Undefined in `lookup` mode
   * when an expansion is not recorded.
   */
  expandGlobLines(segments: BodySegment[], kind: 'css' | 'js', where: Where, mode: ResolveMode): BodySegment[] | undefined {
    const isGlobLine = (s: BodySegment) => s.type === 'asset' && s.item.type === 'file' && !s.html && isGlob(s.item.rel);
    if (!segments.some(isGlobLine)) return segments;
    const lines = segments.flatMap((s) => (s.type === 'asset' && s.item.type === 'file' && !s.html ? [s.item.rel] : []));
    const expand = this.expander(mode);
    const out: BodySegment[] = [];
    const taken = new Set<string>();
    for (const seg of segments) {
      if (!isGlobLine(seg) || seg.type !== 'asset' || seg.item.type !== 'file') {
        out.push(seg);
        continue;
      }
      const pattern = seg.item.rel;
      // Each glob is resolved against the whole list, so files listed by path keep their place.
      let rels: string[] | undefined;
      try {
        rels = resolveLines([...lines.filter((l) => !isGlob(l)), pattern], kind, expand)?.filter((r) => !lines.includes(r) && !taken.has(r));
      } catch (err) {
        if (mode === 'lookup') return undefined;
        this.fail(entryWhere(where, seg), `carpool ${kind}`, err);
        continue;
      }
      if (!rels) return undefined;
      for (const rel of rels) {
        taken.add(rel);
        out.push({ ...seg, item: { type: 'file', rel } });
      }
    }
    return out;
  }

  /** The `kind` lines of the named bundle `name`, as `namedBundleLines` gives them for `mode`. */
  namedLines(name: string, kind: 'css' | 'js', mode: ResolveMode): string[] | undefined {
    return namedBundleLines(this.config.bundles, name, kind, this.expander(mode));
  }

  /** Builds the `kind` part of a named bundle for `convoy build`; undefined when it has no file of that kind. */
  buildNamedBundle(name: string, kind: 'css' | 'js'): BundleEntry | undefined {
    const expand = this.expander('build');
    const lines = namedBundleLines(this.config.bundles, name, kind, expand) ?? [];
    if (!lines.length) return undefined;
    const rels = resolveLines(lines, kind, expand) ?? [];
    this.pipeline.fastCompression = false;
    return this.pipeline.bundle(kind, rels.map((rel) => ({ type: 'file', rel })), 'check');
  }

  /** Every source the declared bundles hold, with the bundles holding it; kept per manifest when expansions come from the record. */
  declared(mode: ResolveMode): Map<string, string[]> | undefined {
    const recorded = this.globSource(mode) !== 'disk';
    if (recorded && this.declaredCache?.manifest === this.pipeline.manifest) return this.declaredCache.held;
    const held = declaredAssets(this.config.bundles, this.expander(mode));
    if (recorded && held) this.declaredCache = { manifest: this.pipeline.manifest, held, answers: new Map() };
    return held;
  }

  /** The bundles declared (for messages) and whether `path` is in one; undefined in `lookup` mode when a glob is not recorded. */
  checkRequire(path: string, mode: ResolveMode): RequireCheck | undefined {
    const held = this.declared(mode);
    if (!held) return undefined;
    const answers = this.declaredCache?.held === held && this.declaredCache.answers.size < 10_000 ? this.declaredCache.answers : undefined;
    const known = answers?.get(path);
    if (known) return known;
    const rel = safeRelative(path);
    const result = { rel, declared: held.has(rel), searched: Object.keys(this.config.bundles) };
    answers?.set(path, result);
    return result;
  }
}
