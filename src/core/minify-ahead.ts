// JavaScript minified ahead in a worker thread while this thread compiles Sass, minifies CSS and
// scans templates. The pipeline stays synchronous: when it reaches a minification, it takes the
// worker's result if there is one, waits for it if the worker is on it, and otherwise does it
// itself. Results are keyed by every input of `minifyJs`, so a wrong guess costs time, never bytes.
import { createHash } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Engines, Logger } from '../config.ts';
import { messageOf } from '../errors.ts';
import { minifyJs, type MinifyInput, type Minified } from './minify.ts';

/** One minification: the arguments of `minifyJs` (its `sourcesContent` is always the default here). */
export interface MinifyJob {
  input: MinifyInput;
  engine: Engines['js'];
  wantMap: boolean;
}

/** What the worker sends back for job `i` (no result: it failed, the pipeline redoes it for the error). */
export interface MinifyAnswer {
  i: number;
  result?: Minified;
}

/** A batch as the worker receives it: the jobs, who holds each (see CLAIM), and where to answer. */
export interface MinifyBatch {
  jobs: MinifyJob[];
  claims: SharedArrayBuffer;
  /** Counts answers; the worker notifies on it after each. */
  signal: SharedArrayBuffer;
  port: MessagePort;
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
  /** Time this thread spent blocked waiting for the worker (not counting jobs it did meanwhile). */
  waitedMs: number;
}

const keyOf = (job: MinifyJob) =>
  createHash('sha1')
    .update(JSON.stringify([job.input.rel, job.input.name, job.input.map ?? null, job.engine, job.wantMap]))
    .update('\0')
    .update(job.input.code)
    .digest('hex');

/**
 * How long a job the worker holds may go unanswered before this thread does it itself: the
 * worker's exit is only seen on the event loop, which a waiting thread is not running. Generous
 * (terser does ~100 kB/s cold) so a slow worker is not raced, finite so a dead one is not awaited.
 */
const stallMs = (job: MinifyJob) => 20_000 + job.input.code.length / 50;

/** Idle this long after a build, the worker ends (watch mode and servers keep no terser heap). */
const IDLE_MS = 30_000;

/** The worker thread, one per process, started on first use and kept warm between close builds. */
let shared: Worker | undefined;
let idle: NodeJS.Timeout | undefined;
/** It failed once in this process: every build minifies in its own thread from then on. */
let broken = false;

function worker(logger: Logger): Worker | undefined {
  clearTimeout(idle);
  if (shared || broken) return shared;
  const here = new URL(import.meta.url);
  const isTs = here.pathname.endsWith('.ts');
  try {
    // From sources, the dev entry registers tsx itself: the parent's `--import tsx` would resolve from the cwd.
    const w = new Worker(new URL(isTs ? './minify-ahead-worker.dev.mjs' : './minify-ahead-worker.js', here), {
      // Terser allocates fast: a 96 MB young generation (32 MB semi-spaces) cut its GC time (bench/).
      resourceLimits: { maxYoungGenerationSizeMb: 96 },
      ...(isTs ? { execArgv: [] } : {}),
    });
    // It must never keep the process alive.
    w.unref();
    w.on('error', (err) => {
      broken = true;
      logger.warn(`the JavaScript minify worker failed (${messageOf(err)}): minifying in the main thread from now on`);
    });
    w.on('exit', () => {
      if (shared === w) shared = undefined;
    });
    shared = w;
  } catch (err) {
    broken = true;
    logger.warn(`the JavaScript minify worker could not start (${messageOf(err)}): minifying in the main thread`);
  }
  return shared;
}

/** JavaScript minifications of one build, offered to the worker in the order this thread will likely need them. */
export class MinifyAhead {
  readonly stats: MinifyAheadStats = { jobs: 0, fromWorker: 0, here: 0, unmatched: 0, waitedMs: 0 };
  /** Job indexes by source: a minification of another source is not hashed at all. */
  private readonly byRel = new Map<string, { key: string; i: number }[]>();
  /** Results by job: `result` absent when it failed (the pipeline redoes it to raise its error). */
  private readonly results = new Map<number, { result?: Minified; worker: boolean }>();
  private readonly claims: Int32Array;
  private readonly signal: Int32Array;
  private readonly port: MessagePort;

  constructor(
    private readonly jobs: MinifyJob[],
    logger: Logger,
  ) {
    this.claims = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, jobs.length)));
    this.signal = new Int32Array(new SharedArrayBuffer(4));
    jobs.forEach((job, i) => {
      const list = this.byRel.get(job.input.rel) ?? [];
      list.push({ key: keyOf(job), i });
      this.byRel.set(job.input.rel, list);
    });
    this.stats.jobs = jobs.length;
    // Each batch answers on its own channel: two builds in one process never read each other's answers.
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.unref();
    const w = worker(logger);
    if (!w) {
      this.close();
      return;
    }
    w.postMessage({ jobs, claims: this.claims.buffer as SharedArrayBuffer, signal: this.signal.buffer as SharedArrayBuffer, port: port2 } satisfies MinifyBatch, [port2]);
  }

  /** Moves what the worker sent so far into `results`. */
  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const answer = m.message as MinifyAnswer;
      this.results.set(answer.i, { ...(answer.result ? { result: answer.result } : {}), worker: true });
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
          // Not swallowed: the pipeline minifies it again when it gets there and raises the error with its file and line.
          this.results.set(i, { worker: false });
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
    const candidates = this.byRel.get(job.input.rel);
    const key = candidates && keyOf(job);
    const i = candidates?.find((c) => c.key === key)?.i;
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
    let progress = performance.now();
    while (!this.results.has(i)) {
      const seen = Atomics.load(this.signal, 0);
      this.drain();
      if (this.results.has(i)) break;
      // Answered between the drain and now: its message is in the port, take it rather than help.
      if (Atomics.load(this.claims, i) === CLAIM.ANSWERED) continue;
      if (this.helpFromTheBack()) {
        progress = performance.now();
        continue;
      }
      if (performance.now() - progress > stallMs(this.jobs[i]!)) {
        this.results.set(i, { worker: false });
        this.stats.here++;
        break;
      }
      const before = performance.now();
      const woke = Atomics.wait(this.signal, 0, seen, 250) !== 'timed-out';
      this.stats.waitedMs += performance.now() - before;
      if (woke) progress = performance.now();
    }
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

  /** Leaves the jobs nobody started to nobody (the worker skips them); the worker ends if no build follows soon. */
  close(): void {
    for (let i = 0; i < this.jobs.length; i++) Atomics.compareExchange(this.claims, i, CLAIM.FREE, CLAIM.HERE);
    this.port.close();
    clearTimeout(idle);
    idle = setTimeout(() => void shared?.terminate(), IDLE_MS).unref();
  }
}
