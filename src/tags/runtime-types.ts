/** The tags that print a single URL. */
export type UrlTag = 'convoy' | 'scss' | 'coffee' | 'less';

/** Where a tag stands, for messages: `template:line`. */
export interface Where {
  template: string;
  line: number;
}

/** How a tag may resolve: at render time (`render`), or at compile time from the manifest only (`lookup`) or by building (`build`, the template scan). */
export type ResolveMode = 'render' | 'lookup' | 'build';

/** A URL a tag printed, with the integrity of the bytes behind it when known. */
export interface Printed {
  url: string;
  integrity?: string;
}

/**
 * The value `{% convoy 'x' as name %}` sets: prints as the URL, and `{{ name.integrity }}` gives
 * the `sha384-…` of the bytes served (empty when unknown).
 */
export class ConvoyUrl extends String {
  constructor(
    readonly url: string,
    readonly integrity: string,
  ) {
    super(url);
  }
}
