import path from 'node:path';
import { messageOf } from './errors.ts';
import type { ConvoyConfig, Logger } from './config.ts';
import { extensionOf } from './install.ts';
import type { Convoy } from './tags/runtime.ts';
import { scanTemplates, unrequiredAssets, type ScanReport } from './scan/scanner.ts';
import { expandGlob } from './core/bundles.ts';
import type { NunjucksCopy } from './nunjucks-copy.ts';

/** What the template phase of a build reads from `BuildOptions`. */
export interface TemplatePhaseOptions {
  parseTemplates?: boolean;
  templates?: string[];
  foreignTags?: string[];
}

/**
 * The build's template phase, in this thread: every named bundle, then with `parseTemplates`
 * every tag the templates hold, its problems and `require` checks logged.
 */
export function prebuildTemplates(convoy: Convoy, config: ConvoyConfig, nunjucks: NunjucksCopy, opts: TemplatePhaseOptions, logger: Logger): ScanReport | undefined {
  buildNamedBundles(convoy, logger);
  if (!opts.parseTemplates) return undefined;
  const globs = opts.templates?.length ? opts.templates : [config.templateGlob];
  const scan = scanTemplates(extensionOf(convoy), config.templates, globs.length === 1 ? globs[0]! : `{${globs.join(',')}}`, config.nunjucks, nunjucks.module, new Set(opts.foreignTags ?? []));
  if (!scan.templates.length) {
    // Asked to prebuild what the templates hold, and found none: the settings point elsewhere.
    logger.error(`--parse-templates found no template: no file under ${config.templates.map((t) => path.relative(config.root, t) || '.').join(', ')} matches ${globs.join(', ')} (set "templates", or "templateGlob")`);
  }
  for (const p of scan.problems) {
    const where = p.line ? `${p.template}:${p.line}` : p.template;
    (p.severity === 'error' ? logger.error : logger.warn)(`${where}: ${p.message}`);
  }
  for (const e of scan.events.filter((ev) => ev.status === 'dynamic')) logger.warn(`${e.template}:${e.line}: not prebuilt: ${e.detail}`);
  for (const e of scan.events.filter((ev) => ev.status === 'failed' && ev.tag !== 'require')) logger.error(`${e.template}:${e.line}: ${e.detail.startsWith(e.tag) ? e.detail : `${e.tag} ${e.detail}`}: could not be prebuilt (see the warning above)`);
  checkRequires(convoy, scan, logger);
  return scan;
}

/**
 * Builds both parts of every named bundle (the `bundles` option), no template needed, after
 * refreshing every glob expansion the manifest records so production renders see today's files.
 */
function buildNamedBundles(convoy: Convoy, logger: Logger): void {
  const { pipeline } = convoy;
  for (const pattern of Object.keys(pipeline.manifest.data.globs ?? {})) expandGlob(pipeline.finder, pipeline.manifest, pattern, 'disk');
  for (const name of Object.keys(convoy.config.bundles).sort()) {
    for (const kind of ['css', 'js'] as const) {
      try {
        convoy.buildNamedBundle(name, kind);
      } catch (err) {
        logger.error(`bundle "${name}" (${kind}): ${messageOf(err)}`);
      }
    }
  }
}

/**
 * The build's side of `require`: every require naming an asset no declared bundle holds is an
 * error; declared assets nothing requires are listed as information (only once some template
 * uses require, so a site that never does is not told about every asset).
 */
function checkRequires(convoy: Convoy, scan: ScanReport, logger: Logger): void {
  const requires = scan.events.filter((e) => e.tag === 'require');
  for (const e of requires.filter((r) => r.status === 'failed')) logger.error(`${e.template}:${e.line}: require ${e.detail}`);
  if (!requires.length) return;
  const declared = convoy.declared('build');
  scan.unrequired = unrequiredAssets(scan.events, declared);
  for (const u of scan.unrequired) logger.info(`declared but required by no template: ${u.asset} (bundle ${u.bundles.join(', ')})`);
}
