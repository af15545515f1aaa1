import { createRequire } from 'node:module';
import path from 'node:path';
import type { NunjucksModule } from './tags/nunjucks-facade.ts';

/** A copy of nunjucks and where it was found. */
export interface NunjucksCopy {
  module: NunjucksModule;
  /** The copy's entry file. */
  path: string;
}

/**
 * The nunjucks the project in `dir` uses (resolved from there, as the app's own `import` would),
 * else ours: the CLI's Environment must be of the same copy as the app's, so that what the scan
 * parses is what the app compiles (npm link, pnpm and nested installs keep several copies).
 */
export function loadNunjucks(dir: string): NunjucksCopy {
  let file: string;
  try {
    file = createRequire(path.join(path.resolve(dir), 'package.json')).resolve('nunjucks');
  } catch {
    file = createRequire(import.meta.url).resolve('nunjucks');
  }
  return { module: createRequire(import.meta.url)(file) as NunjucksModule, path: file };
}
