// Eleventy keeps templates in process-wide caches keyed by their relative path: each test file
// (its own process) builds one version of the starter.
import fs from 'node:fs';
import path from 'node:path';
import Eleventy from '@11ty/eleventy';
import convoyPlugin from '../../src/adapters/eleventy.ts';
import type { Environment } from 'nunjucks';
import { FIXTURES, tmpDir, write } from '../helpers.ts';

// The shape of 11ty/eleventy-base-blog (MIT): input `content`, layouts in `../_includes/layouts`
// (outside the input folder), a post layout chained to the base layout through front matter,
// posts in a sub-folder with a directory data file, a Markdown post rendered with Nunjucks.
export function starter(): string {
  const dir = tmpDir('convoy-11ty-starter-');
  fs.cpSync(path.join(FIXTURES, 'static'), path.join(dir, 'assets'), { recursive: true });
  fs.rmSync(path.join(dir, 'assets/bad'), { recursive: true });
  fs.rmSync(path.join(dir, 'assets/css/missing-target.css'));
  write(path.join(dir, 'assets/css/message-box.css'), '.message-box{border:1px solid #ccc;padding:1em}\n');
  write(path.join(dir, 'assets/css/prism-diff.css'), '.token.deleted{color:#c00}\n');
  write(path.join(dir, '_includes/layouts/base.njk'), [
    '---',
    'siteTitle: Blog',
    '---',
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<title>{{ title or siteTitle }}</title>',
    '{% carpool css %}',
    'css/a.css',
    'css/message-box.css',
    '{% endcarpool %}',
    '</head>',
    '<body>',
    '<main id="main">{{ content | safe }}</main>',
    '<!-- built {% currentBuildDate %} -->',
    '{% carpool js %}',
    '<script src="/static/js/one.js"></script>',
    '{% endcarpool %}',
    '</body>',
    '</html>',
  ].join('\n'));
  write(path.join(dir, '_includes/layouts/post.njk'), [
    '---',
    'layout: layouts/base.njk',
    '---',
    '{% carpool css %}',
    'css/prism-diff.css',
    '{% endcarpool %}',
    '<h1>{{ title }}</h1>',
    '{{ content | safe }}',
  ].join('\n'));
  write(path.join(dir, 'content/index.njk'), '---\nlayout: layouts/base.njk\ntitle: Home\n---\n<ul>{% for post in collections.posts %}<li>{{ post.data.title }}</li>{% endfor %}</ul>\n');
  write(path.join(dir, 'content/blog/blog.11tydata.js'), 'export default { tags: ["posts"], layout: "layouts/post.njk" };\n');
  write(path.join(dir, 'content/blog/firstpost.md'), '---\ntitle: First post\n---\nHello **world**.\n');
  write(path.join(dir, 'content/blog/secondpost.md'), '---\ntitle: Second post\ntemplateEngineOverride: njk,md\n---\nAn image: <img src="{% convoy \'img/dot.png\' %}">\n');
  return dir;
}

export async function eleventyBuild(dir: string, options: Record<string, unknown>): Promise<{ env?: Environment; error?: unknown }> {
  const cwd = process.cwd();
  process.chdir(dir);
  let env: Environment | undefined;
  try {
    const elev = new Eleventy('content', '_site', {
      quietMode: true,
      config(eleventyConfig: Parameters<typeof convoyPlugin>[0] & { addPlugin(p: unknown, o: unknown): void; setIncludesDirectory(d: string): void; addShortcode(n: string, f: () => string): void }) {
        // The starter's own shortcode: an extension of Eleventy's environment the scan must not warn about.
        eleventyConfig.addShortcode('currentBuildDate', () => '2026-11-22');
        eleventyConfig.addPlugin(convoyPlugin, { root: dir, sources: ['assets'], ...options });
        eleventyConfig.amendLibrary('njk', (e) => (env = e));
        eleventyConfig.setIncludesDirectory('../_includes');
      },
    });
    await elev.write();
    return { env };
  } catch (error) {
    return { env, error };
  } finally {
    process.chdir(cwd);
  }
}

