// The worker of minify-ahead.ts: takes the jobs of each batch in order, skipping those the main
// thread claimed, and answers each on the batch's port, waking the main thread if it waits.
import { parentPort } from 'node:worker_threads';
import { minifyJs, type Minified } from './minify.ts';
import { CLAIM, type MinifyAnswer, type MinifyBatch } from './minify-ahead.ts';

parentPort!.on('message', (batch: MinifyBatch) => {
  const claims = new Int32Array(batch.claims);
  const signal = new Int32Array(batch.signal);
  batch.jobs.forEach((job, i) => {
    if (Atomics.compareExchange(claims, i, CLAIM.FREE, CLAIM.WORKER) !== CLAIM.FREE) return;
    let result: Minified | undefined;
    try {
      result = minifyJs(job.input, job.engine, job.wantMap);
    } catch {
      // The main thread minifies it again to raise the error with its file and line.
    } finally {
      // Always answered, so the main thread never waits on a job nobody will finish.
      try {
        batch.port.postMessage({ i, ...(result ? { result } : {}) } satisfies MinifyAnswer);
      } catch {
        batch.port.postMessage({ i } satisfies MinifyAnswer);
      }
      Atomics.store(claims, i, CLAIM.ANSWERED);
      Atomics.add(signal, 0, 1);
      Atomics.notify(signal, 0);
    }
  });
  batch.port.close();
});
