// JavaScript minified ahead in a worker thread while this thread compiles Sass, minifies CSS and
// scans templates. The pipeline stays synchronous: when it reaches a minification, it takes the
// worker's result if there is one, waits for it if the worker is on it, and otherwise does it
// itself. Results are keyed by every input of `minifyJs`, so a wrong guess costs time, never bytes.
import { createHash } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Engines } from '../config.ts';
import { minifyJs, type MinifyInput, type Minified } from './minify.ts';

/** One minification: the exact arguments of `minifyJs`. */
export interface MinifyJob {
  input: MinifyInput;
  engine: Engines['js'];
  wantMap: boolean;
}

/** What the worker sends back for job `i` of batch `batch` (no result: it failed, the pipeline redoes it for the error). */
export interface MinifyAnswer {
  batch: number;
  i: number;
  result?: Minified;
}

/** A batch as the worker receives it: jobs, and who holds each (see CLAIM). */
export interface MinifyBatch {
  batch: number;
  jobs: MinifyJob[];
  claims: SharedArrayBuffer;
}

/** States of a job in the shared claims array: a job is done by whoever moves it off FREE first. */
export const CLAIM = { FREE: 0, WORKER: 1, HERE: 2, ANSWERED: 3 } as const;

/** How the jobs of a build were done. */
export interface MinifyAheadStats {
  /** Jobs handed to the worker. */
  jobs: number;
  /** Taken from the worker's results. */
  fromWorker: number;
  /** Done in this thread instead (claimed before the worker reached them, or it failed). */
  here: number;
  /** Minifications the pipeline asked for that no job matched. */
  unmatched: number;
  /** Time this thread spent waiting for the worker. */
  waitedMs: number;
}

const keyOf = (job: MinifyJob) =>
  createHash('sha1')
    .update(JSON.stringify([job.input.rel, job.input.name, job.input.map ?? null, job.engine, job.wantMap]))
    .update('\0')
    .update(job.input.code)
    .digest('hex');

/** How long the worker may go without answering anything before this thread stops waiting for it. */
const STALL_MS = 120_000;

/** The worker thread, one per process, started on first use and kept for later builds (it stays warm). */
let shared: { worker: Worker; port: MessagePort; signal: Int32Array } | undefined;
let batches = 0;

function start(): NonNullable<typeof shared> {
  const here = new URL(import.meta.url);
  const isTs = here.pathname.endsWith('.ts');
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  // From sources, the dev entry registers tsx itself: the parent's `--import tsx` would resolve from the cwd.
  const worker = new Worker(new URL(isTs ? './minify-ahead-worker.dev.mjs' : './minify-ahead-worker.js', here), {
    workerData: { port: port2, signal },
    transferList: [port2],
    // Terser allocates fast: a young generation of 96 MB (32 MB semi-spaces) cut its GC time (bench/).
    resourceLimits: { maxYoungGenerationSizeMb: 96 },
    ...(isTs ? { execArgv: [] } : {}),
  });
  // It must never keep the process alive, nor its failure crash it: the pipeline then minifies here.
  worker.unref();
  worker.on('error', () => {
    shared = undefined;
  });
  worker.on('exit', () => {
    shared = undefined;
  });
  port1.unref();
  shared = { worker, port: port1, signal };
  return shared;
}

/** JavaScript minifications of one build, offered to the worker in the order this thread will likely need them. */
export class MinifyAhead {
  readonly stats: MinifyAheadStats = { jobs: 0, fromWorker: 0, here: 0, unmatched: 0, waitedMs: 0 };
  private readonly index = new Map<string, number>();
  /** Results by job: undefined when it failed (the pipeline redoes it to raise its error). */
  private readonly results = new Map<number, { result?: Minified; worker: boolean }>();
  private readonly claims: Int32Array;
  private readonly batch: number;
  private readonly link: NonNullable<typeof shared>;

  constructor(private readonly jobs: MinifyJob[]) {
    this.link = shared ?? start();
    this.batch = ++batches;
    const buffer = new SharedArrayBuffer(4 * Math.max(1, jobs.length));
    this.claims = new Int32Array(buffer);
    jobs.forEach((job, i) => this.index.set(keyOf(job), i));
    this.stats.jobs = jobs.length;
    this.link.port.postMessage({ batch: this.batch, jobs, claims: buffer } satisfies MinifyBatch);
  }

  /** Moves what the worker sent so far into `results`. */
  private drain(): void {
    for (let m = receiveMessageOnPort(this.link.port); m; m = receiveMessageOnPort(this.link.port)) {
      const answer = m.message as MinifyAnswer;
      // Answers of an earlier build that ended before taking them are dropped.
      if (answer.batch === this.batch) this.results.set(answer.i, { ...(answer.result ? { result: answer.result } : {}), worker: true });
    }
  }

  /** Minifies the last job nobody holds, here, while the worker is busy with the one wanted. */
  private helpFromTheBack(): boolean {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      if (Atomics.compareExchange(this.claims, i, CLAIM.FREE, CLAIM.HERE) === CLAIM.FREE) {
        const job = this.jobs[i]!;
        try {
          this.results.set(i, { result: minifyJs(job.input, job.engine, job.wantMap), worker: false });
        } catch {
          this.results.set(i, { worker: false }); // its error is raised when the pipeline asks for it
        }
        this.stats.here++;
        return true;
      }
    }
    return false;
  }

  /**
   * The minified form of `job` if the worker made it (waiting while it is on it); undefined when
   * this thread should minify it itself (nobody started it, no job matches, or the worker failed).
   */
  take(job: MinifyJob): Minified | undefined {
    const i = this.index.get(keyOf(job));
    if (i === undefined) {
      this.stats.unmatched++;
      return undefined;
    }
    this.drain();
    if (!this.results.has(i)) {
      const held = Atomics.compareExchange(this.claims, i, CLAIM.FREE, CLAIM.HERE);
      // Nobody had started it (or this thread already chose to do it): the pipeline minifies it now.
      if (held === CLAIM.FREE) this.stats.here++;
      if (held === CLAIM.FREE || held === CLAIM.HERE) return undefined;
    }
    const started = performance.now();
    let progress = started;
    while (!this.results.has(i)) {
      if (this.helpFromTheBack()) {
        progress = performance.now();
        this.drain();
        continue;
      }
      const seen = Atomics.load(this.link.signal, 0);
      this.drain();
      if (this.results.has(i)) break;
      // The worker's exit is only seen on the event loop, which this thread is not running: a
      // worker silent for this long is taken as gone, and the job is done here.
      if (performance.now() - progress > STALL_MS) {
        this.results.set(i, { worker: false });
        this.stats.here++;
        break;
      }
      if (Atomics.wait(this.link.signal, 0, seen, 250) !== 'timed-out') progress = performance.now();
    }
    this.stats.waitedMs += performance.now() - started;
    const got = this.results.get(i)!;
    if (got.worker && got.result) this.stats.fromWorker++;
    return got.result;
  }

  /** Jobs the worker has answered so far (whether or not they were taken yet). */
  answered(): number {
    let n = 0;
    for (let i = 0; i < this.jobs.length; i++) if (Atomics.load(this.claims, i) === CLAIM.ANSWERED) n++;
    return n;
  }

  /** Leaves the jobs nobody started to nobody: the worker skips them. */
  close(): void {
    for (let i = 0; i < this.jobs.length; i++) Atomics.compareExchange(this.claims, i, CLAIM.FREE, CLAIM.HERE);
  }
}
