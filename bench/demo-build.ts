// Builds examples/site cold in this (fresh) process, as `npm run demo` does, and prints the time
// of the build as JSON for bench/run.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from '../src/build.ts';
import { loadConfigFile } from '../src/cli/config-file.ts';
import { REPO } from './corpus.ts';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'convoy-demo-bench-'));
const { options } = await loadConfigFile(path.join(REPO, 'examples/site'));
const started = performance.now();
const report = await build({ ...options, staticRoot: path.join(out, 'static'), logger: { warn: () => {}, error: () => {}, info: () => {} } }, { parseTemplates: true });
const ms = performance.now() - started;
fs.rmSync(out, { recursive: true, force: true });
console.log(JSON.stringify({ ms, files: report.files.length, errors: report.errors.length, compression: report.compression }));
