import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Environment } from 'nunjucks';
import { ConvoyError } from './errors.ts';
import { getConvoy } from './install.ts';
import type { Where } from './tags/runtime.ts';

/** The caller's file and line (relative to the working folder), for the warning a `requireAsset` call gives. */
function callerOf(): Where {
  const frame = new Error().stack?.split('\n')[3] ?? '';
  const m = /\(?((?:file:\/\/)?[^()\s]+?):(\d+):\d+\)?$/.exec(frame.trim());
  if (!m) return { template: '(code)', line: 0 };
  const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
  return { template: path.relative(process.cwd(), file).split(path.sep).join('/'), line: Number(m[2]) };
}

/**
 * Asserts from code that `asset` is in one of the bundles declared with the `bundles` option (the
 * `require` tag's twin, after the low-bandwidth seed's `require_assets`). Returns whether it is; an
 * undeclared asset is a warning naming the caller's `file:line`, or a ConvoyError E_NOT_DECLARED
 * in strict mode.
 */
export function requireAsset(env: Environment, asset: string, where: Where = callerOf()): boolean {
  const convoy = getConvoy(env);
  if (!convoy) throw new ConvoyError('E_CONFIG', 'requireAsset: install() was not called on this Environment');
  return convoy.requireAsset(asset, where);
}
