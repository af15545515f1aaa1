import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * A stand-in for a module (or one of its exports) that loads it on first use: `sass` alone takes
 * ~0.3 s to import, terser, clean-css and coffeescript ~0.05 s each, and a server that renders
 * from the manifest never needs any of them. Property reads, calls and `new` reach the real value.
 */
export function lazy<T extends object>(name: string, pick: (module: never) => T = (m) => m): T {
  let loaded: T | undefined;
  const real = (): T => (loaded ??= pick(requireHere(name) as never));
  // A function target lets the proxy be called and constructed as well as read.
  return new Proxy(function () {} as unknown as T, {
    get: (_t, key) => Reflect.get(real(), key),
    has: (_t, key) => Reflect.has(real(), key),
    apply: (_t, self, args) => Reflect.apply(real() as (...a: unknown[]) => unknown, self, args),
    construct: (_t, args) => Reflect.construct(real() as new (...a: unknown[]) => object, args),
  });
}
