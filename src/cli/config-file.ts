import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConvoyError } from '../errors.ts';
import type { ConvoyOptions } from '../config.ts';

/** Names looked for, in order, in the working folder. */
export const CONFIG_NAMES = ['convoy.config.mjs', 'convoy.config.js', 'convoy.config.json'];

/** Options from a config file, with relative paths resolving from the file's folder. */
export interface LoadedConfig {
  options: ConvoyOptions;
  /** The file read (undefined: none found, defaults apply from the working folder). */
  file?: string;
}

/**
 * Reads `--config FILE`, else the first of convoy.config.{mjs,js,json} in `cwd`, else a `convoy`
 * key in cwd's package.json. A module's default export may be the options or a function returning them.
 */
export async function loadConfigFile(cwd: string, explicit?: string): Promise<LoadedConfig> {
  let file: string | undefined;
  if (explicit) {
    file = path.resolve(cwd, explicit);
    if (!fs.existsSync(file)) throw new ConvoyError('E_CONFIG', 'config file not found', { file });
  } else {
    file = CONFIG_NAMES.map((n) => path.join(cwd, n)).find((f) => fs.existsSync(f));
  }
  let options: ConvoyOptions | undefined;
  if (file) {
    try {
      if (file.endsWith('.json')) {
        const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
        options = (path.basename(file) === 'package.json' ? json.convoy : json) as ConvoyOptions;
      } else {
        const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
        const value = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
        options = value as ConvoyOptions;
      }
    } catch (cause) {
      throw new ConvoyError('E_CONFIG', `could not read the config: ${(cause as Error).message}`, { file, cause });
    }
    if (typeof options !== 'object' || options === null) throw new ConvoyError('E_CONFIG', 'the config must export an options object', { file });
  } else {
    const pkg = path.join(cwd, 'package.json');
    if (fs.existsSync(pkg)) {
      const json = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { convoy?: ConvoyOptions };
      if (json.convoy) {
        file = pkg;
        options = json.convoy;
      }
    }
  }
  const base = file ? path.dirname(file) : cwd;
  const opts = { ...(options ?? {}) };
  opts.root = path.resolve(base, opts.root ?? '.');
  return { options: opts, ...(file ? { file } : {}) };
}
