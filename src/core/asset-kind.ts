import { outputExt } from './fingerprint.ts';

/** What a source becomes: a stylesheet, a script, or a file copied as it is. */
export type AssetKind = 'css' | 'js' | 'other';

/** CSS, JS or anything else, by the output a source produces. */
export function assetKind(rel: string): AssetKind {
  const ext = outputExt(rel).toLowerCase();
  if (ext === '.css') return 'css';
  if (ext === '.js' || ext === '.mjs') return 'js';
  return 'other';
}

/** Whether a source is already minified by its name (`x.min.css`): it is not minified again. */
export const isMinName = (rel: string): boolean => /\.min\.(css|js)$/i.test(rel);
