// Builds the bench corpus (a folder made by makeCorpus) cold in this fresh process, as
// `convoy build --parse-templates` would, and prints the time and CPU as JSON for bench/run.ts.
// Usage: build-once.ts <corpus dir> '<BuildOptions as JSON>'
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from '../src/build.ts';

const [dir, opts = '{}'] = process.argv.slice(2);
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'convoy-once-'));
const cpu = process.cpuUsage();
const started = performance.now();
const report = await build(
  { root: dir!, sources: ['static'], staticRoot: out, templates: ['templates'], useExistingMinFiles: false, logger: { warn: () => {}, error: () => {}, info: () => {} } },
  { parseTemplates: true, ...(JSON.parse(opts) as object) },
);
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
fs.rmSync(out, { recursive: true, force: true });
console.log(JSON.stringify({ ms, cpuMs: (used.user + used.system) / 1000, errors: report.errors.length, jsAhead: report.jsAhead }));
