import fs from 'node:fs'; import path from 'node:path'; import os from 'node:os';
import { resolveConfig } from '/work/wt/css/src/config.ts';
import { createPipeline } from '/work/wt/css/src/core/pipeline.ts';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'big20-'));
const rule = (i: number) => `.rule-${i} .child > a[href^="/x"]:hover { color: #${(i % 4096).toString(16).padStart(3, '0')}; background: url(data:image/png;base64,iVBORw0KGgo=) no-repeat; margin: 0 auto; }\n`;
for (const mb of [5, 20]) {
  const chunks: string[] = []; let size = 0;
  while (size < mb * 1024 * 1024) { const r = rule(chunks.length); chunks.push(r); size += r.length; }
  fs.mkdirSync(path.join(dir, 'static/css'), { recursive: true });
  fs.writeFileSync(path.join(dir, `static/css/huge${mb}.css`), chunks.join(''));
  fs.writeFileSync(path.join(dir, `static/css/line${mb}.css`), chunks.join('').replace(/\n/g, ''));
  for (const name of [`huge${mb}`, `line${mb}`]) {
    const p = createPipeline(resolveConfig({ root: dir, sources: ['static'], staticRoot: 'out', compress: [], sourceMaps: false, logger: console }));
    const t = Date.now();
    p.bundle('css', [{ type: 'file', rel: `css/${name}.css` }]);
    console.log(name, chunks.length, 'rules', Date.now() - t, 'ms');
  }
}
fs.rmSync(dir, { recursive: true });
