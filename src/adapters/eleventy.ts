import path from 'node:path';
import type { Environment } from 'nunjucks';
import type { ConvoyOptions } from '../config.ts';
import { install } from '../install.ts';
import { build } from '../build.ts';
import { resolveConfig } from '../config.ts';
import type { Convoy } from '../tags/runtime.ts';

/** Eleventy's folders, as its events and config report them. */
interface Directories {
  input: string;
  output: string;
}

/** The part of Eleventy's config API the plugin uses. */
export interface EleventyConfig {
  amendLibrary(engine: 'njk', fn: (env: Environment) => void): void;
  on(event: 'eleventy.before', fn: (arg: { directories: Directories }) => unknown): void;
  /** Eleventy ≥ 1: files outside its input folder whose changes rebuild (`--serve`, `--watch`). */
  addWatchTarget?(target: string): void;
  directories?: Partial<Directories>;
}

/**
 * The Eleventy plugin: `eleventyConfig.addPlugin(convoy, options)`. Installs the tags on
 * Eleventy's Nunjucks environment, writes assets into Eleventy's output folder (`<output>/static`
 * unless `staticRoot` is given), and before Eleventy writes pages builds every source and
 * prebuilds every tag its templates hold, so pages render from the manifest.
 */
export default function convoyPlugin(eleventyConfig: EleventyConfig, options: ConvoyOptions = {}): void {
  let convoy: Convoy | undefined;
  let lexer: { tags?: Record<string, string> } = {};
  const settings = (dirs: Partial<Directories> | undefined): ConvoyOptions => {
    const output = path.resolve(dirs?.output ?? '_site');
    const staticPath = (options.staticUrl ?? '/static/').replace(/^[a-z]+:\/\/[^/]+/i, '');
    return {
      staticRoot: path.join(output, ...staticPath.split('/').filter(Boolean)),
      templates: [path.resolve(dirs?.input ?? '.')],
      templateGlob: '**/*.njk',
      ...options,
    };
  };
  // `eleventy --serve` rebuilds (and so rebuilds stale assets) when a source root changes: a Sass
  // partial edit reaches the page.
  for (const dir of resolveConfig(settings(eleventyConfig.directories)).sources) eleventyConfig.addWatchTarget?.(dir);
  eleventyConfig.amendLibrary('njk', (env) => {
    lexer = (env as unknown as { opts: { tags?: Record<string, string> } }).opts;
    convoy = install(env, settings(eleventyConfig.directories));
  });
  eleventyConfig.on('eleventy.before', async ({ directories }) => {
    const report = await build({ ...settings(directories), ...(lexer.tags ? { nunjucks: { tags: lexer.tags } } : {}) }, { parseTemplates: true });
    if (report.errors.length && options.strict) {
      throw new Error(`nunjucks-convoy: the asset build failed:\n${report.errors.join('\n')}`);
    }
    convoy?.pipeline.reload();
  });
}

export { convoyPlugin };
