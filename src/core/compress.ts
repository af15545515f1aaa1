import zlib from 'node:zlib';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CompressFormat } from '../config.ts';

/** File extensions worth compressing; images, fonts and archives are compressed already. */
const TEXT_EXTS = new Set(['.css', '.js', '.mjs', '.map', '.json', '.svg', '.html', '.htm', '.txt', '.xml', '.ico', '.ttf', '.otf', '.eot', '.wasm', '.csv', '.md']);

/** Whether files like this one get compressed twins. */
export function isCompressible(name: string): boolean {
  return TEXT_EXTS.has(path.extname(name).toLowerCase());
}

/** File suffix of each format's twin. */
export const TWIN_SUFFIX: Record<CompressFormat, string> = { gzip: '.gz', br: '.br' };

/** The level of each format: gzip 1–9, brotli quality 0–11. */
export type Levels = Record<CompressFormat, number>;

/** The strongest settings, for what browsers fetch on every page. */
export const FULL: Levels = { gzip: 9, br: 11 };

function brotliParams(bytes: Buffer, level: number): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: level,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    },
  };
}

const gzipAsync = promisify(zlib.gzip);
const brotliAsync = promisify(zlib.brotliCompress);

/**
 * Compresses synchronously at `level` (default: the strongest). Returns undefined when the twin
 * is not smaller. Node's gzip header carries no timestamp, so the bytes are reproducible.
 */
export function compress(format: CompressFormat, bytes: Buffer, level = FULL[format]): Buffer | undefined {
  const out = format === 'gzip' ? zlib.gzipSync(bytes, { level }) : zlib.brotliCompressSync(bytes, brotliParams(bytes, level));
  return out.length < bytes.length ? out : undefined;
}

/**
 * The same bytes as `compress`, computed on libuv's thread pool so the calling thread keeps
 * working (brotli 11 costs ≈ 40× gzip -9).
 */
export async function compressAsync(format: CompressFormat, bytes: Buffer, level = FULL[format]): Promise<Buffer | undefined> {
  const out = format === 'gzip' ? await gzipAsync(bytes, { level }) : await brotliAsync(bytes, brotliParams(bytes, level));
  return out.length < bytes.length ? out : undefined;
}
