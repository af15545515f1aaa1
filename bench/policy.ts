// `node --import tsx bench/policy.ts`: the numbers behind the compression policy (which outputs get
// which level). For each class of output, the compressed size and the time at several levels,
// relative to the strongest setting.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { REPO } from './corpus.ts';

const nm = (p: string) => path.join(REPO, 'node_modules', p);
const classes: Record<string, string[]> = {
  'minified (fetched by every page)': ['bootstrap/dist/css/bootstrap.min.css', 'bootstrap/dist/js/bootstrap.bundle.min.js', 'jquery/dist/jquery.min.js', 'lodash/lodash.min.js'],
  'plain unminified copies': ['bootstrap/dist/css/bootstrap.css', 'bootstrap/dist/js/bootstrap.bundle.js', 'jquery/dist/jquery.js', 'lodash/lodash.js'],
  'source maps (developer tools only)': ['bootstrap/dist/css/bootstrap.css.map', 'bootstrap/dist/css/bootstrap.min.css.map', 'bootstrap/dist/js/bootstrap.bundle.js.map', 'jquery/dist/jquery.min.map'],
};
const br = (b: Buffer, q: number) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT } });
const settings: [string, (b: Buffer) => Buffer][] = [
  ['gzip 6', (b) => zlib.gzipSync(b, { level: 6 })],
  ['gzip 9', (b) => zlib.gzipSync(b, { level: 9 })],
  ...[4, 5, 6, 9, 11].map((q): [string, (b: Buffer) => Buffer] => [`br ${q}`, (b) => br(b, q)]),
];
const rows: string[] = ['| outputs | setting | bytes (× br 11) | ms per MB |', '|---|---|---|---|'];
for (const [name, files] of Object.entries(classes)) {
  const inputs = files.map((f) => fs.readFileSync(nm(f)));
  const total = inputs.reduce((n, b) => n + b.length, 0);
  const res = settings.map(([label, fn]) => {
    const t = performance.now();
    const bytes = inputs.reduce((n, b) => n + fn(b).length, 0);
    return { label, bytes, ms: performance.now() - t };
  });
  const best = res.find((r) => r.label === 'br 11')!.bytes;
  for (const r of res) rows.push(`| ${name} (${(total / 2 ** 20).toFixed(2)} MB) | ${r.label} | ${(r.bytes / 1024).toFixed(0)} kB (×${(r.bytes / best).toFixed(3)}) | ${(r.ms / (total / 2 ** 20)).toFixed(0)} |`);
}
console.log(rows.join('\n'));
