import { Parser as HtmlParser } from 'htmlparser2';
import type { BundleItem } from '../core/pipeline.ts';

/** One asset found in a carpool body, with the markup it came from (for individual rendering). */
export interface BodyAsset {
  type: 'asset';
  item: BundleItem;
  /** Items join only with neighbours of the same group (CSS media; JS async/defer). */
  group: string;
  /** Extra attributes a bundle tag of this group needs (media, defer, async). */
  attrs: Record<string, string>;
  /** The original element, when the body was HTML. */
  html?: string;
  /** The URL as written in the element, replaced when the element is printed on its own. */
  url?: string;
  /** Lines of the body before this asset, so a message can name the entry's own line. */
  line?: number;
}

/** Markup that cannot join a bundle (external URL, module script, other elements): kept in place. */
export interface BodyRaw {
  type: 'raw';
  html: string;
  reason: string;
}

export type BodySegment = BodyAsset | BodyRaw;

/** How a URL in the body maps back to a source (undefined: not ours, e.g. external). */
export type UrlToSource = (url: string) => string | undefined;

const isExternal = (url: string) => /^([a-z][a-z0-9+.-]*:)?\/\//i.test(url) || /^(data|blob):/i.test(url);

/**
 * Reads a carpool body: either paths one per line (quotes optional, blank lines ignored) or HTML
 * with <link rel=stylesheet>, <style>, <script src> and inline <script>, tokenized by htmlparser2.
 */
export function parseCarpoolBody(text: string, kind: 'css' | 'js', toSource: UrlToSource): BodySegment[] {
  if (/<\s*(link|script|style)\b/i.test(text)) return parseHtml(text, kind, toSource);
  const out: BodySegment[] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const p = line.trim().replace(/^(['"])(.*)\1$/, '$2').trim();
    if (!p) continue;
    // A staticUrl on another origin (a CDN, a bucket) makes our own URLs absolute: ask toSource first.
    if (isExternal(p) && toSource(p) === undefined) {
      out.push({ type: 'raw', html: p, reason: `${p} is external` });
      continue;
    }
    const rel = p.startsWith('/') ? toSource(p) : (toSource(p) ?? p);
    if (rel === undefined) {
      out.push({ type: 'raw', html: p, reason: `${p} is outside staticUrl` });
      continue;
    }
    out.push({ type: 'asset', item: { type: 'file', rel }, group: kind, attrs: {}, line: index });
  }
  return out;
}

function parseHtml(text: string, kind: 'css' | 'js', toSource: UrlToSource): BodySegment[] {
  const out: BodySegment[] = [];
  let open: { name: string; attrs: Record<string, string>; start: number; text: string } | undefined;
  let depth = 0;
  const parser = new HtmlParser(
    {
      onopentag(name, attrs) {
        if (open || depth > 0) {
          depth++;
          return;
        }
        open = { name, attrs, start: parser.startIndex, text: '' };
      },
      ontext(chunk) {
        if (open) open.text += chunk;
        else if (depth === 0 && chunk.trim()) {
          out.push({ type: 'raw', html: chunk, reason: 'text' });
        }
      },
      onclosetag(name) {
        if (depth > 0) {
          depth--;
          return;
        }
        if (!open || open.name !== name) return;
        const html = text.slice(open.start, parser.endIndex + 1);
        const seg = classify(open.name, open.attrs, open.text, html, kind, toSource);
        if (seg.type === 'asset') seg.line = linesBefore(text, open.start);
        out.push(seg);
        open = undefined;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeSelfClosing: true },
  );
  parser.write(text);
  parser.end();
  return out;
}

function linesBefore(text: string, offset: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function classify(name: string, attrs: Record<string, string>, body: string, html: string, kind: 'css' | 'js', toSource: UrlToSource): BodySegment {
  const raw = (reason: string): BodyRaw => ({ type: 'raw', html, reason });
  const fromUrl = (url: string): string | undefined => (isExternal(url) ? toSource(url) : (toSource(url) ?? (url.startsWith('/') ? undefined : url)));
  if (kind === 'css') {
    // Browsers apply no stylesheet of a type they do not know (text/less, text/foobar): joining
    // one into the bundle would change the page, so it stays as written.
    const type = (attrs.type ?? '').trim().toLowerCase();
    if ((name === 'link' || name === 'style') && type && type !== 'text/css') return raw(`type="${attrs.type}" is not CSS`);
    const media = (attrs.media ?? 'all').trim().toLowerCase() || 'all';
    const attrsFor: Record<string, string> = media === 'all' ? {} : { media: attrs.media ?? media };
    if (name === 'link' && /(^|\s)stylesheet(\s|$)/i.test(attrs.rel ?? '') && attrs.href) {
      if (/(^|\s)alternate(\s|$)/i.test(attrs.rel ?? '')) return raw('alternate stylesheet');
      const rel = fromUrl(attrs.href);
      if (!rel) return raw(`${attrs.href} is external`);
      return { type: 'asset', item: { type: 'file', rel }, group: `media:${media}`, attrs: attrsFor, html, url: attrs.href };
    }
    if (name === 'style') return { type: 'asset', item: { type: 'inline', code: body }, group: `media:${media}`, attrs: attrsFor, html };
    return raw(`<${name}> is not a stylesheet`);
  }
  if (name !== 'script') return raw(`<${name}> is not a script`);
  const type = (attrs.type ?? '').trim().toLowerCase();
  if (type && !['text/javascript', 'application/javascript', 'module'].includes(type)) return raw(`type="${attrs.type}" is not JavaScript`);
  if (type === 'module') return raw('type=module scripts keep their own scope and timing');
  if ('nomodule' in attrs || 'integrity' in attrs) return raw('nomodule/integrity scripts stay as written');
  const flags = ['async', 'defer'].filter((f) => f in attrs);
  const group = `js:${flags.join('+')}`;
  const attrsFor = Object.fromEntries(flags.map((f) => [f, '']));
  if (attrs.src !== undefined) {
    const rel = fromUrl(attrs.src);
    if (!rel) return raw(`${attrs.src} is external`);
    // The file is decoded as its charset attribute says (the browser would), not as UTF-8.
    const charset = attrs.charset?.trim();
    return { type: 'asset', item: { type: 'file', rel, ...(charset ? { charset } : {}) }, group, attrs: attrsFor, html, url: attrs.src };
  }
  // Inline scripts run at parse time; async/defer do not apply to them.
  return { type: 'asset', item: { type: 'inline', code: body }, group: 'js:', attrs: {}, html };
}

/** The group of ES module files: each keeps its own `type="module"` tag, never joined. */
export const MODULE_GROUP = 'js:module';

/**
 * Moves ES module files (listed by path, or in a `<script src>` without `type=module`) into
 * MODULE_GROUP, so they split the classic runs around them and keep their order.
 */
export function markModules(segments: BodySegment[], isModule: (rel: string) => boolean): BodySegment[] {
  return segments.map((seg) => {
    if (seg.type !== 'asset' || seg.item.type !== 'file' || !isModule(seg.item.rel)) return seg;
    // async still changes when a module runs; defer is implied.
    return { ...seg, group: MODULE_GROUP, attrs: 'async' in seg.attrs ? { async: '' } : {} };
  });
}

/** Consecutive assets of one group, or a raw piece that splits them. */
export type Run = { type: 'run'; group: string; attrs: Record<string, string>; assets: BodyAsset[] } | BodyRaw;

/** Groups segments into runs that keep the original order. */
export function toRuns(segments: BodySegment[]): Run[] {
  const runs: Run[] = [];
  for (const seg of segments) {
    const last = runs[runs.length - 1];
    if (seg.type === 'raw') runs.push(seg);
    else if (last && last.type === 'run' && last.group === seg.group) last.assets.push(seg);
    else runs.push({ type: 'run', group: seg.group, attrs: seg.attrs, assets: [seg] });
  }
  return runs;
}
