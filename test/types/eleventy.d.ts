// @11ty/eleventy ships no types; the test uses its programmatic API only.
declare module '@11ty/eleventy' {
  export default class Eleventy {
    constructor(input: string, output: string, options?: { quietMode?: boolean; config?: (eleventyConfig: never) => void });
    write(): Promise<unknown>;
  }
}
