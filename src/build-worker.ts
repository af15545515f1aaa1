// A build worker: processes its share of the sources with its own pipeline and sends the manifest
// entries back; the main thread merges them and writes the one manifest.
import { parentPort, workerData } from 'node:worker_threads';
import { resolveConfig, type ConvoyOptions } from './config.ts';
import { createPipeline } from './core/pipeline.ts';
import { processSources } from './build.ts';

const { options, rels } = workerData as { options: ConvoyOptions; rels: string[] };
const warnings: string[] = [];
const config = resolveConfig({ ...options, logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m), info: () => {} } });
const pipeline = createPipeline(config);
const initial = { ...pipeline.manifest.data.files };
const failures = processSources(pipeline, rels);
// Only what this worker built: entries loaded from disk must not overwrite another worker's.
const files = Object.fromEntries(Object.entries(pipeline.manifest.data.files).filter(([rel, e]) => initial[rel] !== e));
parentPort!.postMessage({ files, failures, warnings });
