import { Parser as HtmlParser } from 'htmlparser2';

/**
 * Moves the stylesheet `<link>`s a page's body holds for our own assets (URLs under `staticUrl`:
 * what a carpool or a `convoy` tag printed in a child layout) to the end of `<head>`, in their
 * order, as eleventy-plugin-bundle does with its styles; a carpool's start and end comments
 * right around a link go with it. A `<link>` left in `<main>` still applies, but it is an
 * element: rules such as `main :first-child` then match it instead of the content. Other pages,
 * and links to other origins, are left as written.
 */
export function hoistStylesheets(html: string, staticUrl: string): string {
  let headEnd = -1;
  let inBody = false;
  const links: { start: number; end: number }[] = [];
  const comments: { start: number; end: number }[] = [];
  const parser = new HtmlParser(
    {
      onopentag(name, attrs) {
        if (name === 'body') inBody = true;
        if (!inBody || name !== 'link') return;
        const rel = (attrs.rel ?? '').toLowerCase().split(/\s+/);
        const href = attrs.href ?? '';
        if (rel.includes('stylesheet') && href.startsWith(staticUrl)) links.push({ start: parser.startIndex, end: parser.endIndex + 1 });
      },
      oncomment() {
        if (inBody) comments.push({ start: parser.startIndex, end: parser.endIndex + 1 });
      },
      onclosetag(name, implied) {
        if (name === 'head' && !implied && headEnd < 0) headEnd = parser.startIndex;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  // Only a document with an explicit </head> before the links has a place to put them.
  if (headEnd < 0 || !links.length || links[0]!.start < headEnd) return html;
  const blank = (from: number, to: number) => from <= to && !html.slice(from, to).trim();
  const moves = links.map((link) => {
    const before = comments.find((c) => blank(c.end, link.start));
    const after = comments.find((c) => blank(link.end, c.start));
    return { start: before?.start ?? link.start, end: after?.end ?? link.end };
  });
  let body = '';
  let from = headEnd;
  for (const m of moves) {
    body += html.slice(from, m.start);
    from = m.end;
  }
  body += html.slice(from);
  return `${html.slice(0, headEnd)}${moves.map((m) => html.slice(m.start, m.end)).join('\n')}\n${body}`;
}
