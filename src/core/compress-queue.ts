import os from 'node:os';

/** What the compression of one build (or process) did: the counters tests and the bench read. */
export interface CompressionStats {
  /** Twins compressed. */
  jobs: number;
  /** Twins copied from identical bytes compressed earlier at the same level. */
  reused: number;
  /** The most compressions that ran at the same time. */
  maxInFlight: number;
  /** The most distinct outputs whose twins were being compressed at the same time. */
  maxFilesInFlight: number;
  /** The most input bytes being compressed at the same time. */
  maxBytesInFlight: number;
}

/** How compression is scheduled. */
export interface CompressionLimits {
  /** Compressions running at once on libuv's pool; 0 compresses in the calling thread, inline. */
  concurrency: number;
  /** Input bytes being compressed at once (one job always runs, whatever its size). */
  maxBytesInFlight: number;
}

/** The default: as many compressions as cores, at most 32 MB of input at once. */
export function defaultLimits(): CompressionLimits {
  return { concurrency: Math.max(2, os.availableParallelism()), maxBytesInFlight: 32 * 2 ** 20 };
}

/** One compression waiting for a slot. */
export interface Job {
  /** The output whose twin it makes. */
  output: string;
  size: number;
  run: () => Promise<void>;
}

/**
 * Runs compression jobs largest first within the limits (concurrency, bytes in flight), and
 * tracks other work under way (`begin`/`end`) so `idle()` resolves only once everything is done.
 */
export class CompressQueue {
  private readonly queue: Job[] = [];
  /** Work under way that `idle()` waits for: twins being made and written, redos waiting their turn. */
  private inFlight = 0;
  private bytesInFlight = 0;
  private running = 0;
  /** Work was queued since the queue was last empty. */
  private busy = false;
  private readonly runningOutputs = new Map<string, number>();
  private readonly waiting: (() => void)[] = [];

  constructor(
    /** Read at each scheduling step, since the writer's limits may be replaced at any time. */
    private readonly limits: () => CompressionLimits,
    private readonly stats: CompressionStats,
    /** Told when the last queued work has finished. */
    private readonly onIdle: () => void,
  ) {}

  /** Counts work under way until the matching `end()`. */
  begin(): void {
    this.inFlight++;
    this.busy = true;
  }

  /** Ends work counted by `begin()` without settling the queue (the caller queues more first). */
  release(): void {
    this.inFlight--;
  }

  /** Ends work counted by `begin()`. */
  end(): void {
    this.inFlight--;
    this.pump();
  }

  /** Waits until nothing is queued or under way. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  enqueue(job: Job): void {
    // Largest first: the biggest compressions start early, so none is left alone at the end.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.queue[mid]!.size >= job.size) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, job);
    this.pump();
  }

  /** Starts what fits, and says so when everything has finished. */
  pump(): void {
    const limits = this.limits();
    while (this.queue.length > 0 && this.running < limits.concurrency) {
      // The largest job that fits the byte budget; the largest of all when nothing runs.
      const room = limits.maxBytesInFlight - this.bytesInFlight;
      const index = this.running === 0 ? 0 : this.queue.findIndex((j) => j.size <= room);
      if (index < 0) break;
      const job = this.queue.splice(index, 1)[0]!;
      this.running++;
      this.bytesInFlight += job.size;
      this.runningOutputs.set(job.output, (this.runningOutputs.get(job.output) ?? 0) + 1);
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.running);
      this.stats.maxFilesInFlight = Math.max(this.stats.maxFilesInFlight, this.runningOutputs.size);
      this.stats.maxBytesInFlight = Math.max(this.stats.maxBytesInFlight, this.bytesInFlight);
      job
        .run()
        .catch(() => {
          // Reported by the job's own promise (see OutputWriter's compressTwin).
        })
        .finally(() => {
          this.running--;
          this.bytesInFlight -= job.size;
          const left = this.runningOutputs.get(job.output)! - 1;
          if (left) this.runningOutputs.set(job.output, left);
          else this.runningOutputs.delete(job.output);
          this.pump();
        });
    }
    if (this.inFlight === 0 && this.queue.length === 0 && this.busy) {
      this.busy = false;
      for (const resolve of this.waiting.splice(0)) resolve();
      this.onIdle();
    }
  }
}
