import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import type { Environment } from 'nunjucks';
import { onceLogger, resolveConfig, type ConvoyOptions } from '../config.ts';
import { ConvoyError } from '../errors.ts';
import { install } from '../install.ts';
import { build } from '../build.ts';
import type { Convoy } from '../tags/runtime.ts';
import { hoistStylesheets } from './hoist.ts';

/** Eleventy's folders, as its events and config report them (`./content/`, `./_includes/` …). */
interface Directories {
  input: string;
  output: string;
  includes?: string;
  layouts?: string;
}

/** What Eleventy passes to `eleventy.before`. */
interface BeforeEvent {
  directories: Directories;
  /** `build`, `serve` or `watch`. */
  runMode?: string;
}

/** The part of Eleventy's config API the plugin uses. */
export interface EleventyConfig {
  amendLibrary(engine: 'njk', fn: (env: Environment) => void): void;
  on(event: 'eleventy.before', fn: (arg: BeforeEvent) => unknown): void;
  addTransform?(name: string, fn: (this: { page?: { outputPath?: string | false } }, content: string) => string): void;
  /** Eleventy ≥ 1: files outside its input folder whose changes rebuild (`--serve`, `--watch`). */
  addWatchTarget?(target: string): void;
  directories?: Partial<Directories>;
}

/** The plugin's options: every `install` option, plus what only Eleventy needs. */
export interface EleventyPluginOptions extends ConvoyOptions {
  /** Move stylesheet links our tags printed inside `<body>` (a child layout's carpool) to `<head>`; default true. */
  hoistStylesheets?: boolean;
}

/** Our tag names after a block start, to tell which Markdown/HTML templates hold our tags at all. */
const OUR_TAGS = /^-?\s*(carpool|convoy|scss|coffee|less|require)\b/m;

/**
 * Every template of the site relative to `root`: all `.njk` files of the input, includes and
 * layouts folders, and the `.md`/`.html` files that use one of our tags (Eleventy may render those
 * with Nunjucks; the others may be Liquid, and need no scan).
 */
function siteTemplates(root: string, dirs: Directories, blockStart: string): string[] {
  const folders = [dirs.input, dirs.includes, dirs.layouts]
    .filter((d): d is string => !!d)
    .map((d) => path.relative(root, path.resolve(root, d)).split(path.sep).join('/'))
    .filter((d) => !d.startsWith('..'));
  const patterns = [...new Set(folders)].map((d) => fg.escapePath(d ? `${d}/` : '') + '**/*.{njk,md,html}');
  const ours = (file: string) => file.endsWith('.njk') || fs.readFileSync(path.join(root, file), 'utf8').split(blockStart).some((piece, i) => i > 0 && OUR_TAGS.test(piece));
  return fg
    .sync(patterns, { cwd: root, onlyFiles: true, ignore: ['**/node_modules/**'] })
    .filter(ours)
    .sort();
}

type Named = Record<string, unknown> | undefined;

/**
 * The tag names Eleventy's shortcodes (and other plugins' Nunjucks tags) take: Eleventy registers
 * them on its environment when it creates it, which can be after `eleventy.before`, so they are
 * read from its config too.
 */
function eleventyTags(eleventyConfig: EleventyConfig, env: Environment | undefined): string[] {
  const cfg = eleventyConfig as unknown as { universal?: Record<string, Named>; nunjucks?: Record<string, Named> };
  const groups: Named[] = [
    cfg.universal?.shortcodes, cfg.universal?.pairedShortcodes,
    cfg.nunjucks?.shortcodes, cfg.nunjucks?.asyncShortcodes, cfg.nunjucks?.pairedShortcodes, cfg.nunjucks?.asyncPairedShortcodes, cfg.nunjucks?.tags,
  ];
  const fromEnv = ((env as unknown as { extensionsList?: { tags?: string[] }[] } | undefined)?.extensionsList ?? []).flatMap((e) => e.tags ?? []);
  return [...new Set([...groups.flatMap((g) => Object.keys(g ?? {})), ...fromEnv])];
}

/**
 * The Eleventy plugin: `eleventyConfig.addPlugin(convoy, options)`. Installs the tags on
 * Eleventy's Nunjucks environment, writes assets into Eleventy's output folder (`<output>/static`
 * unless `staticRoot` is given), and before Eleventy writes pages builds every source and
 * prebuilds every tag its templates hold — pages, `_includes` and layouts — so pages render from
 * the manifest. A tag that could not be prebuilt fails `eleventy` (a build); under `--serve` or
 * `--watch` it is logged and the page falls back.
 */
export default function convoyPlugin(eleventyConfig: EleventyConfig, pluginOptions: EleventyPluginOptions = {}): void {
  const { hoistStylesheets: hoist = true, ...options } = pluginOptions;
  let convoy: Convoy | undefined;
  let njkEnv: Environment | undefined;
  let lexer: { tags?: Record<string, string> } = {};
  const root = path.resolve(options.root ?? '.');
  const staticPath = (options.staticUrl ?? '/static/').replace(/^[a-z]+:\/\/[^/]+/i, '');
  // The scan before the render and the render itself meet the same failures: say each once.
  const logger = onceLogger(options.logger ?? console, options.maxWarnings ?? 1000, options.logger ? '' : 'convoy: ');
  const settings = (dirs: Partial<Directories> | undefined): ConvoyOptions => {
    const output = path.resolve(root, dirs?.output ?? '_site');
    return {
      staticRoot: path.join(output, ...staticPath.split('/').filter(Boolean)),
      // Template names are relative to the project folder, so messages say `_includes/layouts/base.njk:12`.
      templates: [root],
      ...options,
      root,
      logger,
    };
  };
  // `eleventy --serve` rebuilds (and so rebuilds stale assets) when a source root changes: a Sass
  // partial edit reaches the page.
  for (const dir of resolveConfig(settings(eleventyConfig.directories)).sources) eleventyConfig.addWatchTarget?.(dir);
  eleventyConfig.amendLibrary('njk', (env) => {
    lexer = (env as unknown as { opts: { tags?: Record<string, string> } }).opts;
    njkEnv = env;
    convoy = install(env, settings(eleventyConfig.directories));
    // Eleventy renders while it builds: what a render makes is part of the build, compressed fully.
    convoy.rendersAreBuilds = true;
  });
  eleventyConfig.on('eleventy.before', async ({ directories, runMode }) => {
    const config = settings(directories);
    const templates = options.templates ? undefined : siteTemplates(root, { ...directories }, lexer.tags?.blockStart ?? '{%');
    const report = await build({ ...config, ...(lexer.tags ? { nunjucks: { tags: lexer.tags } } : {}) }, {
      parseTemplates: true,
      // Eleventy's shortcodes (and other plugins' tags) are extensions of its environment: known, not foreign.
      foreignTags: eleventyTags(eleventyConfig, njkEnv),
      ...(templates ? { templates: templates.map((t) => fg.escapePath(t)) } : {}),
    });
    convoy?.pipeline.reload();
    if (report.errors.length && (options.strict || (runMode ?? 'build') === 'build')) {
      // The errors say what could not be prebuilt; the warnings before them say why.
      // The warnings say why (the missing file, the Sass error), the errors what could not be prebuilt.
      throw new ConvoyError('E_BUILD', `the asset build failed:\n${[...report.warnings, ...report.errors].join('\n')}`);
    }
  });
  if (hoist && eleventyConfig.addTransform) {
    const prefix = options.staticUrl ?? '/static/';
    eleventyConfig.addTransform('convoy-hoist-stylesheets', function (content) {
      const out = this.page?.outputPath;
      return typeof out === 'string' && out.endsWith('.html') ? hoistStylesheets(content, prefix) : content;
    });
  }
}

export { convoyPlugin };
