import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../src/config.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(REPO, 'test', 'fixtures');

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the process exits. */
export function tmpDir(prefix = 'convoy-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Copies the test fixtures (static + vendor roots) into a temporary project folder. */
export function fixtureProject(): string {
  const dir = tmpDir();
  fs.cpSync(FIXTURES, dir, { recursive: true });
  return dir;
}

/** A logger that records what it is told. */
export function memoryLogger(): Logger & { warnings: string[]; errors: string[]; infos: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  const infos: string[] = [];
  return { warnings, errors, infos, warn: (m) => warnings.push(m), error: (m) => errors.push(m), info: (m) => infos.push(m) };
}

/** Every file under a folder, relative, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

/** Writes a file, creating folders. */
export function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** Every `url(...)` target in a CSS text. */
export function cssUrls(css: string): string[] {
  return [...css.matchAll(/url\(\s*(['"]?)([^'")]+)\1\s*\)/g)].map((m) => m[2]!);
}

/** Delimiters of the two template styles in templates-test/. */
export const STYLES = {
  curly: {},
  angle: { tags: { blockStart: '<%', blockEnd: '%>', variableStart: '<$', variableEnd: '$>', commentStart: '<#', commentEnd: '#>' } },
} as const;

/**
 * A copy of examples/site in a temporary folder, with Bootstrap's files the templates use copied
 * into a second root (`vendor`), so builds stay fast and relative paths stay inside the copy.
 */
export function siteCopy(): string {
  const dir = tmpDir('convoy-site-');
  fs.cpSync(path.join(REPO, 'examples/site'), dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}public`) });
  const dist = path.join(REPO, 'node_modules/bootstrap/dist');
  for (const f of ['css/bootstrap.css', 'css/bootstrap.min.css', 'js/bootstrap.bundle.js', 'js/bootstrap.bundle.min.js']) {
    fs.mkdirSync(path.join(dir, 'vendor', path.dirname(f)), { recursive: true });
    fs.copyFileSync(path.join(dist, f), path.join(dir, 'vendor', f));
  }
  fs.rmSync(path.join(dir, 'convoy.config.mjs'));
  fs.writeFileSync(path.join(dir, 'convoy.config.json'), JSON.stringify({ sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'] }, null, 2));
  return dir;
}
