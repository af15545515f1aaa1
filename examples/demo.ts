// `npm run demo`: builds examples/site into a temporary folder with the CLI's own build (every
// static file, plus every bundle found by scanning the templates), renders each page with the
// tags reading the manifest, and prints every file written with its size.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { install } from '../src/index.ts';
import { build } from '../src/build.ts';
import { loadConfigFile } from '../src/cli/config-file.ts';
import { bytes, summarize } from '../src/cli/report.ts';

const site = path.join(path.dirname(fileURLToPath(import.meta.url)), 'site');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'convoy-demo-'));
const { options } = await loadConfigFile(site);
const settings = { ...options, staticRoot: path.join(out, 'static') };

console.log(`Building ${path.relative(process.cwd(), site) || site} into ${out}\n`);
const report = await build(settings, { parseTemplates: true });
for (const line of summarize(report, false).filter((l) => !l.startsWith('wrote '))) console.log(line);

// Production render: the manifest answers every tag; nothing compiles.
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(site, 'templates')));
const convoy = install(env, settings);
for (const page of fs.readdirSync(path.join(site, 'templates/pages'))) {
  const html = env.render(`pages/${page}`, { siteName: 'Convoy demo' });
  fs.writeFileSync(path.join(out, page.replace(/\.njk$/, '.html')), html);
}
const { compiles, minifies, bundles } = convoy.pipeline.stats;
console.log(`rendered the pages: ${compiles} compiles, ${minifies} minifications, ${bundles} bundles during render\n`);

console.log('Files written:');
const files = (fs.readdirSync(out, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(out, f)).isFile()).sort();
for (const f of files) console.log(`  ${bytes(fs.statSync(path.join(out, f)).size).padStart(9)}  ${f}`);
console.log(`\n${files.length} files in ${out}`);
console.log(`Open ${path.join(out, 'index.html')} to read the page (asset URLs start with ${settings.staticUrl ?? '/static/'}).`);
