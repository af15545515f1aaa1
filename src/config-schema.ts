import type { ConvoyOptions } from './config.ts';

/** The type an option's value must have, which also says how its environment string is parsed. */
export type Kind = 'string' | 'boolean' | 'number' | 'count' | 'list' | 'sources' | 'compress' | 'sourceMaps' | 'object' | 'logger' | 'engines' | 'sass' | 'bundles' | 'publish';

/** One row per option: its type and the seed's environment name (absent: not settable from env). */
export const SCHEMA: Record<keyof ConvoyOptions, { kind: Kind; env?: string }> = {
  root: { kind: 'string', env: 'CONVOY_ROOT' },
  sources: { kind: 'sources', env: 'CONVOY_SOURCES' },
  staticRoot: { kind: 'string', env: 'STATIC_ROOT' },
  staticUrl: { kind: 'string', env: 'STATIC_URL' },
  debug: { kind: 'boolean', env: 'DEBUG' },
  strict: { kind: 'boolean', env: 'CONVOY_STRICT' },
  convoyDuringDebug: { kind: 'boolean', env: 'CONVOY_DURING_DEBUG' },
  useExistingMinFiles: { kind: 'boolean', env: 'CONVOY_USE_EXISTING_MIN_FILES' },
  gzipInTemplate: { kind: 'boolean', env: 'CONVOY_GZIP_IN_TEMPLATE' },
  compress: { kind: 'compress', env: 'CONVOY_COMPRESS' },
  scssRebuild: { kind: 'boolean', env: 'SCSS_REBUILD' },
  coffeeRebuild: { kind: 'boolean', env: 'COFFEE_REBUILD' },
  lessRebuild: { kind: 'boolean', env: 'LESS_REBUILD' },
  bundles: { kind: 'bundles' },
  carpoolPathFragment: { kind: 'string', env: 'CARPOOL_CACHE_PATH_FRAGMENT' },
  carpoolCombineOriginals: { kind: 'boolean', env: 'CARPOOL_COMBINE_ORIGINALS' },
  carpoolCombineDuringRequest: { kind: 'boolean', env: 'CARPOOL_COMBINE_DURING_REQUEST' },
  carpoolCombineDuringDebug: { kind: 'boolean', env: 'CARPOOL_COMBINE_DURING_DEBUG' },
  carpoolCssTemplate: { kind: 'string', env: 'CARPOOL_CSS_TEMPLATE' },
  carpoolJsTemplate: { kind: 'string', env: 'CARPOOL_JS_TEMPLATE' },
  carpoolStartComment: { kind: 'string', env: 'CARPOOL_START_COMMENT_TEMPLATE' },
  carpoolEndComment: { kind: 'string', env: 'CARPOOL_END_COMMENT_TEMPLATE' },
  manifest: { kind: 'string', env: 'CONVOY_MANIFEST' },
  templates: { kind: 'list', env: 'CONVOY_TEMPLATES' },
  templateGlob: { kind: 'string', env: 'CONVOY_TEMPLATE_GLOB' },
  nunjucks: { kind: 'object' },
  sourceMaps: { kind: 'sourceMaps', env: 'CONVOY_SOURCE_MAPS' },
  sourcesContent: { kind: 'boolean', env: 'CONVOY_SOURCES_CONTENT' },
  integrity: { kind: 'boolean', env: 'CONVOY_INTEGRITY' },
  engines: { kind: 'engines', env: 'CONVOY_ENGINES' },
  maxAge: { kind: 'number', env: 'CONVOY_MAX_AGE' },
  logger: { kind: 'logger' },
  sass: { kind: 'sass' },
  // Several env names (CONVOY_S3_*, CONVOY_AWS_HEADERS): read by publishFromEnv.
  publish: { kind: 'publish' },
  maxWarnings: { kind: 'count', env: 'CONVOY_MAX_WARNINGS' },
  maxRequestBundles: { kind: 'count', env: 'CONVOY_MAX_REQUEST_BUNDLES' },
};

/** Every option with the environment name `configFromEnv` reads for it (the README's settings table lists them all). */
export function settingNames(): { option: string; env?: string }[] {
  return Object.entries(SCHEMA).map(([option, row]) => ({ option, ...(row.env ? { env: row.env } : {}) }));
}
