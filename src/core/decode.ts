import { ConvoyError } from '../errors.ts';

/** How a source's bytes became text. */
export interface Decoded {
  text: string;
  /** The encoding used (WHATWG name, e.g. `utf-8`, `windows-1252`). */
  encoding: string;
  /** Whether a CSS `@charset` rule named a non-UTF-8 encoding (the text no longer carries it). */
  fromCharset: boolean;
}

/**
 * The WHATWG decoder for a charset label, or undefined when no browser would know it. Labels
 * people write but the Encoding Standard lacks (`latin-1`, `utf_8`) are tried without their
 * separators (`latin1`), which is what the author meant.
 */
export function decoderFor(label: string): TextDecoder | undefined {
  for (const l of [label.trim(), label.trim().replace(/[-_\s]/g, '')]) {
    try {
      return new TextDecoder(l, { fatal: true });
    } catch {
      // not a known label: try the next spelling
    }
  }
  return undefined;
}

/** 0-based byte offset of the first byte that is not well-formed UTF-8, or -1. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

// `@charset "name";` must be the very first bytes of a stylesheet (CSS Syntax §3.2), in ASCII.
const CHARSET_RULE = /^@charset "([^"]{1,40})";/;

/**
 * Decodes a CSS/JS source without ever guessing silently: a BOM or (CSS) a leading `@charset`
 * or (a `<script charset>`) the declared label decides; otherwise the bytes must be UTF-8, and
 * any that are not give an E_ENCODING naming the file, line and byte offset. Text never gains
 * U+FFFD on the way.
 */
export function decodeSource(bytes: Uint8Array, file: string, kind: 'css' | 'js' | 'other', declared?: string): Decoded {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return strictUtf8(bytes.subarray(3), file, 3);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), encoding: 'utf-16le', fromCharset: false };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), encoding: 'utf-16be', fromCharset: false };
  let label = declared;
  let fromCharset = false;
  if (kind === 'css') {
    const m = CHARSET_RULE.exec(Buffer.from(bytes.subarray(0, 64)).toString('latin1'));
    if (m) {
      label = m[1]!;
      fromCharset = true;
    }
  }
  if (label !== undefined) {
    const decoder = decoderFor(label);
    if (!decoder) {
      throw new ConvoyError('E_ENCODING', `${fromCharset ? '@charset' : 'charset'} "${label}" is not an encoding browsers know; save the file as UTF-8`, { file });
    }
    if (decoder.encoding === 'utf-8') return { ...strictUtf8(bytes, file, 0), fromCharset: false };
    try {
      return { text: decoder.decode(bytes), encoding: decoder.encoding, fromCharset };
    } catch (cause) {
      throw new ConvoyError('E_ENCODING', `bytes that are not ${decoder.encoding}, as its ${fromCharset ? '@charset' : 'charset'} declares`, { file, cause });
    }
  }
  return strictUtf8(bytes, file, 0);
}

function strictUtf8(bytes: Uint8Array, file: string, skipped: number): Decoded {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), encoding: 'utf-8', fromCharset: false };
  } catch (cause) {
    const at = invalidUtf8Offset(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    const byte = bytes[at]?.toString(16).padStart(2, '0') ?? '??';
    throw new ConvoyError('E_ENCODING', `invalid UTF-8 (byte 0x${byte} at byte offset ${at + skipped}); save it as UTF-8 or declare its encoding (@charset for CSS, charset="…" on a <script>)`, { file, line, cause });
  }
}
