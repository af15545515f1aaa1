import type { Pipeline } from './core/pipeline.ts';
import { jsMinifyInputAhead } from './core/asset-build.ts';
import { MinifyAhead } from './core/minify-ahead.ts';
import type { MinifyInput } from './core/minify.ts';
import type { ConvoyConfig } from './config.ts';
import { ConvoyError } from './errors.ts';
import { mentioned } from './build-workers.ts';

/**
 * Below this many bytes of JavaScript to minify, the worker's start (and its own JIT warm-up of
 * the minifier) costs about what it saves (bench/: the demo site has ~60 KB to minify).
 */
export const AHEAD_MIN_BYTES = 256 * 1024;

/**
 * Hands the stale plain JavaScript sources' minifications to the worker thread, in the order
 * this thread will want them: as the templates (whose scan builds the bundles) mention them,
 * then largest first. Undefined when there is too little to gain (unless `force`).
 */
export function startMinifyAhead(pipeline: Pipeline, stale: { rel: string; abs: string }[], config: ConvoyConfig, force: boolean): MinifyAhead | undefined {
  const inputs: MinifyInput[] = [];
  for (const f of stale) {
    try {
      const input = jsMinifyInputAhead(pipeline, f.rel, f.abs);
      if (input) inputs.push(input);
    } catch (err) {
      // Unreadable or undecodable: the build reports it when it gets there.
      if (!(err instanceof ConvoyError) && !(err as NodeJS.ErrnoException).code) throw err;
    }
  }
  const bytes = inputs.reduce((n, i) => n + i.code.length, 0);
  if (!inputs.length || (!force && bytes < AHEAD_MIN_BYTES)) return undefined;
  const text = mentioned(config);
  const at = (rel: string) => {
    const i = text.indexOf(rel);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  inputs.sort((a, b) => at(a.rel) - at(b.rel) || b.code.length - a.code.length);
  const engine = config.engines.js;
  const wantMap = pipeline.steps.maps;
  return new MinifyAhead(inputs.map((input) => ({ input, engine, wantMap })), config.logger);
}
