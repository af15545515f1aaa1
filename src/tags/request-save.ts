import fs from 'node:fs';
import { messageOf } from '../errors.ts';
import type { ConvoyConfig } from '../config.ts';
import type { Pipeline } from '../core/pipeline.ts';
import type { ResolveMode } from './runtime-types.ts';

/** Savers with request-time builds not yet saved: flushed before the process ends. */
const unsaved = new Set<RequestSaver>();
let exitHooked = false;

function flushAll(): void {
  for (const saver of [...unsaved]) saver.onTimer();
}

/**
 * Saves request-time builds when the process ends: on `exit`, and on SIGINT/SIGTERM/SIGHUP, after
 * which the signal is raised again when nobody else handles it, so the process still ends as it would.
 */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', flushAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      flushAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Gets what requests built into the manifest on disk: within a second, and before the process ends. */
export class RequestSaver {
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  /** `onTimer` is what the timer and the exit hook call (the Convoy's `flush`, so it stays the one entry point). */
  constructor(
    private readonly config: ConvoyConfig,
    private readonly pipeline: Pipeline,
    readonly onTimer: () => void,
  ) {}

  /** Real work done so far: a change means a request built something worth saving. */
  private workMark(): number {
    const s = this.pipeline.stats;
    return s.compiles + s.minifies + s.bundles + s.writes;
  }

  /** Runs a render-time step; what it built reaches the manifest on disk within a second. */
  persisting<T>(mode: ResolveMode, step: () => T): T {
    if (mode !== 'render') return step();
    const mark = this.workMark();
    try {
      return step();
    } finally {
      if (this.workMark() !== mark) this.persistSoon();
    }
  }

  /** Schedules a save off the render path (an unref'd timer, so it never keeps the process alive). */
  private persistSoon(): void {
    if (this.config.debug) return;
    unsaved.add(this);
    hookExit();
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(this.onTimer, 1000);
    this.saveTimer.unref?.();
  }

  /** Saves now, merged under the lock with what other processes saved; false when nothing could be saved. */
  flush(): boolean {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    unsaved.delete(this);
    // The outputs are gone with their folder (a removed temp dir): nothing to name.
    if (!fs.existsSync(this.config.staticRoot)) return false;
    try {
      return this.pipeline.save();
    } catch (err) {
      this.config.logger.error(`could not save the manifest: ${messageOf(err)}`);
      return false;
    }
  }
}
