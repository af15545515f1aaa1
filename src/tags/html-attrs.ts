/** Escapes a value for a double-quoted HTML attribute. */
export function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** Attributes with no placeholder go at the end of the first tag (before `>` or `/>`). */
export const addAttrs = (html: string, attrs: string): string => (attrs ? html.replace(/\s*(\/?)>/, `${attrs}$1>`) : html);

/** A tag template (`%s` the URL, `%i` the integrity attributes) filled in, with the body's extra attributes added. */
export const fill = (template: string, url: string, integrityAttrs: string, extra: Record<string, string>): string => {
  let out = template.replace(/%s/g, url);
  const extraAttrs = Object.entries(extra)
    .map(([k, v]) => (v === '' ? ` ${k}` : ` ${k}="${escapeAttr(v)}"`))
    .join('');
  const add = (out.includes('%i') ? '' : integrityAttrs) + extraAttrs;
  out = out.replace(/%i/g, integrityAttrs);
  return addAttrs(out, add);
};
