import type { Environment, ILoader } from 'nunjucks';
import { resolveConfig, type ConvoyOptions } from './config.ts';
import { createPipeline } from './core/pipeline.ts';
import { Convoy } from './tags/runtime.ts';
import { ConvoyExtension } from './tags/extension.ts';
import { watchTemplateNames } from './tags/template-names.ts';

const handles = new WeakMap<Environment, Convoy>();
const extensions = new WeakMap<Convoy, ConvoyExtension>();

type SourceLoader = ILoader & { getSource(name: string, cb?: unknown): { src: string; path: string } | null };

/**
 * Registers the `convoy`, `scss`, `coffee` and `carpool` tags on a Nunjucks Environment with
 * these options, and returns the pipeline handle (also reachable later through `getConvoy(env)`).
 * Each environment carries its own configuration.
 */
export function install(env: Environment, options: ConvoyOptions = {}): Convoy {
  if (handles.has(env)) throw new Error('nunjucks-convoy: install() was already called on this Environment');
  const config = resolveConfig(options);
  const convoy = new Convoy(config, createPipeline(config));
  const ext = new ConvoyExtension(convoy);
  // Remember which template each source came from, so warnings can name `template:line`.
  const loaders = (env as unknown as { loaders: SourceLoader[] }).loaders ?? [];
  for (const loader of loaders) {
    const original = loader.getSource.bind(loader);
    loader.getSource = ((name: string, cb?: (err: unknown, res: unknown) => void) => {
      const remember = (res: { src: string } | null) => {
        if (res && typeof res.src === 'string') ext.templateNames.set(res.src, name);
      };
      if (typeof cb === 'function') {
        return original(name, (err: unknown, res: { src: string; path: string } | null) => {
          remember(res);
          cb(err, res);
        });
      }
      const res = original(name);
      remember(res);
      return res;
    }) as SourceLoader['getSource'];
  }
  // Templates compiled from a string with a path (Eleventy's pages and layouts) bypass the loaders.
  watchTemplateNames(env, config.root, (src, name, lineOffset) => {
    if (!ext.templateNames.has(src)) ext.templateNames.set(src, name);
    if (lineOffset) ext.lineOffsets.set(src, lineOffset);
  });
  env.addExtension('ConvoyExtension', ext);
  env.addGlobal(ext.globalName, function (this: unknown, ...args: unknown[]) {
    return ext.runTag(this as never, ...(args as [never, never, never, never, never]));
  });
  handles.set(env, convoy);
  extensions.set(convoy, ext);
  return convoy;
}

/** The handle `install` returned for an environment, if any. */
export function getConvoy(env: Environment): Convoy | undefined {
  return handles.get(env);
}

/** The extension behind a handle (the scanner drives it directly). */
export function extensionOf(convoy: Convoy): ConvoyExtension {
  const ext = extensions.get(convoy);
  if (!ext) throw new Error('nunjucks-convoy: this handle was not created by install()');
  return ext;
}
