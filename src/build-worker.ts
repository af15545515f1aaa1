// A build worker: processes the sources the main thread hands it, one at a time (largest first),
// with its own pipeline, then waits for its compressed twins and sends the manifest entries
// back; the main thread merges them and writes the one manifest.
import { parentPort, workerData } from 'node:worker_threads';
import { resolveConfig, type ConvoyOptions } from './config.ts';
import { createPipeline } from './core/pipeline.ts';
import type { CompressionLimits } from './core/outputs.ts';
import type { FileEntry } from './core/manifest.ts';
import { processSources, type WorkerMessage } from './build.ts';

const { options, limits, files: built } = workerData as { options: ConvoyOptions; limits: CompressionLimits; files: Record<string, FileEntry> };
const warnings: string[] = [];
const config = resolveConfig({ ...options, logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m), info: () => {} } });
const pipeline = createPipeline(config);
pipeline.outputs.limits = limits;
pipeline.plainCopies = true;
// What the main thread built so far (the templates' bundles and their parts) is not built again.
pipeline.adopt(built);
const initial = { ...pipeline.manifest.data.files };
const failures: Record<string, string> = {};
const port = parentPort!;
const say = (m: WorkerMessage) => port.postMessage(m);

port.on('message', (m: { rel: string } | { flush: true }) => {
  if ('rel' in m) {
    Object.assign(failures, processSources(pipeline, [m.rel]));
    say({ type: 'done', rel: m.rel });
    return;
  }
  void pipeline.flush().then((failed) => {
    // Only what this worker built: entries loaded from disk must not overwrite another worker's.
    const files = Object.fromEntries(Object.entries(pipeline.manifest.data.files).filter(([rel, e]) => initial[rel] !== e));
    say({ type: 'result', files, failures, warnings: [...warnings, ...failed] });
    port.close();
  });
});
