// The coffeescript package ships no types; only the compile call is used.
declare module 'coffeescript' {
  interface CompileOptions {
    filename?: string;
    sourceMap?: boolean;
    sourceFiles?: string[];
    generatedFile?: string;
    literate?: boolean;
    bare?: boolean;
  }
  const coffeescript: { compile(src: string, options?: CompileOptions): string | { js: string; v3SourceMap: string } };
  export default coffeescript;
}
