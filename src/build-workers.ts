import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ConvoyConfig, ConvoyOptions } from './config.ts';
import { assetKind } from './core/pipeline.ts';
import type { FileEntry } from './core/manifest.ts';
import type { CompressionLimits } from './core/outputs.ts';

/** A file's size in bytes, or undefined when it cannot be read. */
export function statSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

/** Options without the logger (functions do not cross to workers). */
export type PlainOptions = Omit<ConvoyOptions, 'logger'>;

/** Everything one worker built: its entries, its failures by source, its warnings. */
export interface WorkerResult {
  files: Record<string, FileEntry>;
  failures: Record<string, string>;
  warnings: string[];
}

/** What a build worker says: one source done (send the next), or everything it built. */
export type WorkerMessage = { type: 'done'; rel: string } | ({ type: 'result' } & WorkerResult);

/**
 * Runs `n` workers that take sources from `take` (largest first, shared with this thread) one
 * at a time, each holding one more in reserve, so a worker that drew a big Sass entry is not also
 * given a fixed share of the rest. `files` are the entries built so far, which workers reuse.
 */
export function runWorkers(
  options: PlainOptions,
  files: Record<string, FileEntry>,
  take: () => string | undefined,
  n: number,
  limits: CompressionLimits,
  onDone: (rel: string) => void,
  early: string[][],
  ready: Promise<void>,
): Promise<WorkerResult[]> {
  const here = new URL(import.meta.url);
  const isTs = here.pathname.endsWith('.ts');
  const one = (i: number): Promise<WorkerResult> => {
    // From sources, the dev entry registers tsx itself: the parent's `--import tsx` would resolve from the cwd.
    const worker = new Worker(new URL(isTs ? './build-worker.dev.mjs' : './build-worker.js', here), { workerData: { options, limits, files }, ...(isTs ? { execArgv: [] } : {}) });
    let holding = 0;
    let flushed = false;
    let started = false;
    // Its whole early batch at once: this thread is inside the synchronous template scan meanwhile and cannot hand out one by one.
    for (const rel of early[i] ?? []) {
      holding++;
      worker.postMessage({ rel });
    }
    void ready.then(() => {
      started = true;
      handOut();
      handOut();
    });
    const handOut = () => {
      if (!started) return;
      const rel = take();
      if (rel !== undefined) {
        holding++;
        worker.postMessage({ rel });
      } else if (holding === 0 && !flushed) {
        flushed = true;
        worker.postMessage({ flush: true });
      }
    };
    handOut();
    handOut();
    return new Promise((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'done') {
          holding--;
          onDone(m.rel);
          handOut();
        } else {
          resolve(m);
        }
      });
      worker.once('error', reject);
      worker.once('exit', (code) => code !== 0 && reject(new Error(`build worker exited with ${code}`)));
    });
  };
  return Promise.all(Array.from({ length: n }, (_, i) => one(i)));
}

/** What the templates and named bundles mention: their sources are built by the scan, in this thread. */
export function mentioned(config: ConvoyConfig): string {
  let text = JSON.stringify(config.bundles);
  for (const root of config.templates) {
    let names: string[];
    try {
      names = fs.readdirSync(root, { recursive: true, encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        text += fs.readFileSync(path.join(root, name), 'utf8');
      } catch {
        // A folder, or unreadable: the scan reports templates it cannot read.
      }
    }
  }
  return text;
}

/**
 * The workers' first sources, handed out before the template scan: compiled or minified sources
 * no template or named bundle mentions (others would be built twice, or the scan needs them
 * here), Sass/LESS/CoffeeScript entries first (their cost is not their size), then largest
 * first, dealt so each worker gets a similar number of bytes.
 */
export function earlyBatches(stale: { rel: string; abs: string }[], config: ConvoyConfig, workers: number): string[][] {
  const text = mentioned(config);
  const picked = stale
    .filter((f) => assetKind(f.rel) !== 'other' && !/\.min\.(css|js)$/i.test(f.rel) && !text.includes(f.rel) && !text.includes(path.posix.basename(f.rel)))
    .map((f) => ({ rel: f.rel, compiled: assetKind(f.rel) !== path.extname(f.rel).slice(1).toLowerCase() ? 1 : 0, size: statSize(f.abs) ?? 0 }))
    .sort((a, b) => b.compiled - a.compiled || b.size - a.size);
  const batches = Array.from({ length: workers }, () => ({ rels: [] as string[], bytes: 0 }));
  for (const f of picked) {
    const least = batches.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    least.rels.push(f.rel);
    least.bytes += f.size;
  }
  return batches.map((b) => b.rels);
}
