import mime from 'mime-types';

/** How an object is stored: a compressed twin carries its encoding. */
export type ObjectEncoding = 'gzip' | 'br';

/** A year: every name a manifest lists is fingerprinted, so its bytes never change. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

const TEXTUAL = /^(text\/|application\/(javascript|json|xml|manifest\+json)|image\/svg\+xml$)|\+(json|xml)$/;

/** `Content-Type` of a served name: from its own extension, `charset=utf-8` on text types. */
export function contentType(name: string): string {
  const type = mime.lookup(name) || 'application/octet-stream';
  return TEXTUAL.test(type) ? `${type}; charset=utf-8` : type;
}

/**
 * The HTTP headers of an object. `typeName` is the name whose extension gives the type (a twin's
 * uncompressed name, so `x.css.gz` is `text/css`, not `application/gzip`). Twins are marked
 * `no-transform`: some services decompress `Content-Encoding: gzip` objects otherwise.
 * `extra` (publish.headers) is merged last, header names compared without case.
 */
export function objectHeaders(typeName: string, encoding: ObjectEncoding | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': contentType(typeName),
    'Cache-Control': encoding ? `${IMMUTABLE}, no-transform` : IMMUTABLE,
  };
  if (encoding) headers['Content-Encoding'] = encoding;
  for (const [name, value] of Object.entries(extra)) {
    for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
    headers[name] = value;
  }
  return headers;
}
