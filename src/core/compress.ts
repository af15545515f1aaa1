import zlib from 'node:zlib';
import path from 'node:path';
import type { CompressFormat } from '../config.ts';

/** File extensions worth compressing; images, fonts and archives are compressed already. */
const TEXT_EXTS = new Set(['.css', '.js', '.mjs', '.map', '.json', '.svg', '.html', '.htm', '.txt', '.xml', '.ico', '.ttf', '.otf', '.eot', '.wasm', '.csv', '.md']);

/** Whether files like this one get compressed twins. */
export function isCompressible(name: string): boolean {
  return TEXT_EXTS.has(path.extname(name).toLowerCase());
}

/** File suffix of each format's twin. */
export const TWIN_SUFFIX: Record<CompressFormat, string> = { gzip: '.gz', br: '.br' };

/**
 * Compresses with the strongest settings (gzip -9, brotli 11) unless `fast` (a build inside a
 * request, where brotli 11 costs about 40× gzip). Returns undefined when the twin is not smaller.
 * Node's gzip header carries no timestamp, so the bytes are reproducible.
 */
export function compress(format: CompressFormat, bytes: Buffer, fast = false): Buffer | undefined {
  const out =
    format === 'gzip'
      ? zlib.gzipSync(bytes, { level: 9 })
      : zlib.brotliCompressSync(bytes, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: fast ? 5 : 11,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
            [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
          },
        });
  return out.length < bytes.length ? out : undefined;
}
