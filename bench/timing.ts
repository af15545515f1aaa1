/** Runs `fn` repeatedly for about `ms` and returns operations per second. */
export function opsPerSecond(fn: () => unknown, ms = 400): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/** Async variant: runs `fn` sequentially for about `ms`. */
export async function opsPerSecondAsync(fn: () => Promise<unknown>, ms = 400): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 20; i++) await fn();
    n += 20;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/**
 * Compares two operations in alternating rounds (so machine noise hits both alike) and returns
 * the median ops/s of each and the median of the per-round ratios a/b.
 */
export async function compare(a: () => unknown, b: () => unknown, rounds = 7, async = false): Promise<{ a: number; b: number; ratio: number }> {
  const ra: number[] = [];
  const rb: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const x = async ? await opsPerSecondAsync(a as () => Promise<unknown>) : opsPerSecond(a);
    const y = async ? await opsPerSecondAsync(b as () => Promise<unknown>) : opsPerSecond(b);
    ra.push(x);
    rb.push(y);
    ratios.push(x / y);
  }
  const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
  return { a: median(ra), b: median(rb), ratio: median(ratios) };
}

/** Milliseconds `fn` takes (once). */
export async function timed<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}
