/** What went wrong, as a stable code callers can branch on. */
export type ConvoyErrorCode =
  | 'E_CONFIG' // an option is unknown or has the wrong type
  | 'E_NOT_FOUND' // a source file is in none of the source roots
  | 'E_PATH_ESCAPE' // a path leaves the source roots (.., absolute, encoded, symlink)
  | 'E_COMPILE' // Sass or CoffeeScript rejected a source
  | 'E_MINIFY' // terser or clean-css rejected (or had to repair) the input
  | 'E_BUNDLE' // files cannot be joined without changing behaviour
  | 'E_ENCODING' // a source's bytes are not in the encoding it declares (or UTF-8)
  | 'E_TEMPLATE' // a tag is used wrongly in a template
  | 'E_NOT_DECLARED' // `require` names an asset that no declared bundle holds
  | 'E_WRITE' // the storage could not write an output
  | 'E_PUBLISH' // the bucket refused or failed a publish/prune request
  | 'E_DEPENDENCY' // an optional package a feature needs is not installed
  | 'E_LOCK' // another process held the manifest lock for too long
  | 'E_BUILD'; // a build (the Eleventy plugin's) finished with errors

/** Where in a file a problem was found (1-based line and column). */
export interface ConvoyErrorInit {
  file?: string;
  line?: number;
  column?: number;
  cause?: unknown;
}

/** The one error type the library throws: a code, the file (and line) at fault, and the cause. */
export class ConvoyError extends Error {
  readonly code: ConvoyErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: ConvoyErrorCode, message: string, init: ConvoyErrorInit = {}) {
    const where = init.file ? `${init.file}${init.line ? `:${init.line}${init.column ? `:${init.column}` : ''}` : ''}: ` : '';
    super(`${where}${message}`, init.cause === undefined ? undefined : { cause: init.cause });
    // Node's convention (`TypeError [ERR_X]`): the code survives when Nunjucks flattens a render
    // error into a plain Error carrying only the message.
    this.name = `ConvoyError [${code}]`;
    this.code = code;
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
  }
}

/** The message of anything thrown, for logs. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
