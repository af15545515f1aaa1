// `npm run demo`: builds examples/site into a temporary folder with the CLI's own build (every
// static file, plus every bundle found by scanning the templates), renders each page with the
// tags reading the manifest, and prints every file written with its size.
// `npm run demo -- --serve [--port N]` then serves the site with the Express adapter on 127.0.0.1,
// since the pages' asset URLs start with /static/ and a page opened from disk cannot reach them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { install } from '../src/index.ts';
import { build } from '../src/build.ts';
import { loadConfigFile } from '../src/cli/config-file.ts';
import { bytes, summarize } from '../src/cli/report.ts';

const args = process.argv.slice(2);
const serveIt = args.includes('--serve');
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : Number(process.env.PORT ?? 8000);

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
if (!serveIt) {
  console.log(`To look at the pages in a browser: npm run demo -- --serve (the asset URLs start with ${settings.staticUrl ?? '/static/'}, so a page opened from disk shows unstyled).`);
} else {
  const { default: express } = await import('express');
  const { convoyExpress } = await import('../src/adapters/express.ts');
  const app = express();
  convoyExpress(app, { ...settings, templates: [path.join(site, 'templates')] });
  const pages = fs.readdirSync(path.join(site, 'templates/pages')).map((p) => p.replace(/\.njk$/, ''));
  app.get(['/', '/:page.html'], (req, res, next) => {
    const page = (req.params as { page?: string }).page ?? 'index';
    if (!pages.includes(page)) return next();
    res.render(`pages/${page}.njk`, { siteName: 'Convoy demo' });
  });
  const server = app.listen(port, '127.0.0.1', () => {
    const address = server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    console.log(`Serving the demo at http://127.0.0.1:${actual}/ (pages: ${pages.map((p) => `${p}.html`).join(', ')}); Ctrl-C stops it.`);
  });
  server.on('error', (err) => {
    console.error(`could not listen on 127.0.0.1:${port}: ${err.message} (try --port N)`);
    process.exit(1);
  });
  process.once('SIGINT', () => server.close(() => process.exit(0)));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
