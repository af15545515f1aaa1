import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { ConvoyError } from '../errors.ts';

/** How long to wait for a lock, and when a lock nobody releases counts as abandoned. */
export interface LockOptions {
  /** Give up (E_LOCK) after this many milliseconds; default 30 000. */
  timeoutMs?: number;
  /** A lock older than this is taken over even if its holder cannot be checked (another host); default 60 000. */
  staleMs?: number;
}

interface Holder {
  pid: number;
  host: string;
  token: string;
}

/** Locks this thread holds, so a holder that calls another locked step does not wait on itself. */
const held = new Map<string, number>();

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread briefly: locking must work synchronously (saves also run at process exit). */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Whether a process with this id runs on this machine. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): { holder: Holder | undefined; text: string; mtimeMs: number } | undefined {
  try {
    const st = fs.statSync(file);
    const text = fs.readFileSync(file, 'utf8');
    let holder: Holder | undefined;
    try {
      holder = JSON.parse(text) as Holder;
    } catch {
      holder = undefined; // written by a process killed mid-write: judged by age
    }
    return { holder, text, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Whether the lock's holder is gone: a dead process on this host, or no sign of life for `staleMs`. */
function abandoned(info: { holder: Holder | undefined; mtimeMs: number }, staleMs: number): boolean {
  const { holder } = info;
  if (holder && holder.host === os.hostname()) return !pidAlive(holder.pid);
  return Date.now() - info.mtimeMs > staleMs;
}

/**
 * Takes an abandoned lock away. The rename lets only one of several processes that judged it
 * abandoned win; a winner that finds it moved a fresh lock puts that one back.
 */
function breakLock(file: string, judged: string): void {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else broke or released it
  }
  try {
    if (fs.readFileSync(aside, 'utf8') !== judged) fs.linkSync(aside, file);
  } catch {
    // The fresh lock could not be restored because a newer one exists: that one rules.
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/**
 * Runs `fn` while holding an exclusive lock shared by every process on this staticRoot: a file
 * created with O_EXCL naming its holder (pid, host). A lock left by a process that died is
 * recovered (dead pid on this host, or older than `staleMs`). Synchronous on purpose: the
 * manifest is also saved from `process.on('exit')`, where nothing asynchronous runs.
 */
export function withLock<T>(file: string, fn: () => T, options: LockOptions = {}): T {
  const key = `${threadId}:${path.resolve(file)}`;
  const depth = held.get(key);
  if (depth !== undefined) {
    held.set(key, depth + 1);
    try {
      return fn();
    } finally {
      held.set(key, depth);
    }
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const me: Holder = { pid: process.pid, host: os.hostname(), token: `${threadId}-${randomBytes(6).toString('hex')}` };
  const text = JSON.stringify(me);
  const started = Date.now();
  let wait = 2;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, text);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConvoyError('E_LOCK', `could not create lock file: ${(err as Error).message}`, { file, cause: err });
      }
    }
    const info = readHolder(file);
    if (info && abandoned(info, staleMs)) {
      breakLock(file, info.text);
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new ConvoyError('E_LOCK', `lock held for more than ${timeoutMs} ms by ${info?.text ?? 'another process'}; remove it if no convoy process is running`, { file });
    }
    sleepSync(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
  held.set(key, 0);
  try {
    return fn();
  } finally {
    held.delete(key);
    // Only our own lock is removed: if it was broken as stale meanwhile, the new holder keeps theirs.
    try {
      if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file, { force: true });
    } catch {
      // Already gone.
    }
  }
}

/** The lock file that guards a manifest (a dotfile beside it, so it is never served or cleaned). */
export function manifestLockFile(manifest: string): string {
  return path.join(path.dirname(manifest), `.${path.basename(manifest)}.lock`);
}
