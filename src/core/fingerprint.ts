import { createHash } from 'node:crypto';
import path from 'node:path';

/** First 12 hex digits of the MD5 of the bytes: the fingerprint in output names. */
export function fingerprint(bytes: Buffer | string): string {
  return createHash('md5').update(bytes).digest('hex').slice(0, 12);
}

/** Full MD5 hex of content: how inputs are compared between builds. */
export function digest(bytes: Buffer | string): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** The Subresource Integrity value of the bytes served (over the decoded body). */
export function integrity(bytes: Buffer | string): string {
  return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
}

/** The extension a source's output carries (`.scss`/`.less` → `.css`, `.coffee` → `.js`). */
export function outputExt(rel: string): string {
  const ext = path.posix.extname(rel).toLowerCase();
  if (ext === '.scss' || ext === '.sass' || ext === '.less') return '.css';
  if (ext === '.coffee' || ext === '.litcoffee') return '.js';
  return path.posix.extname(rel);
}

/** `css/base.css` + hash → `css/base.<hash>.cmin.css` (minified) or `css/base.<hash>.css`. */
export function outputName(rel: string, hash: string, minified: boolean): string {
  const ext = outputExt(rel);
  const stem = rel.slice(0, rel.length - path.posix.extname(rel).length);
  return `${stem}.${hash}${minified ? '.cmin' : ''}${ext}`;
}

/** Whether an output name carries a fingerprint (and so can be cached for ever). */
export function isFingerprinted(name: string): boolean {
  return /\.[0-9a-f]{12}(\.cmin)?\.[A-Za-z0-9]+(\.map)?(\.(gz|br))?$/.test(name);
}
