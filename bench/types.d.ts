// csso ships no types; the benchmark calls minify only.
declare module 'csso' {
  export function minify(css: string): { css: string };
}
