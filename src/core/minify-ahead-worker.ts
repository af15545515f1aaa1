// The worker of minify-ahead.ts: takes the jobs of each batch in order, skipping those the main
// thread claimed, and answers each on the shared port, waking the main thread if it waits.
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { minifyJs } from './minify.ts';
import { CLAIM, type MinifyAnswer, type MinifyBatch } from './minify-ahead.ts';

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

port.on('message', (batch: MinifyBatch) => {
  const claims = new Int32Array(batch.claims);
  batch.jobs.forEach((job, i) => {
    if (Atomics.compareExchange(claims, i, CLAIM.FREE, CLAIM.WORKER) !== CLAIM.FREE) return;
    let result;
    try {
      result = minifyJs(job.input, job.engine, job.wantMap);
    } catch {
      // The main thread minifies it again to raise the error with its file and line.
      result = undefined;
    }
    port.postMessage({ batch: batch.batch, i, ...(result ? { result } : {}) } satisfies MinifyAnswer);
    Atomics.store(claims, i, CLAIM.ANSWERED);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
});
