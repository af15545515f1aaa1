// The benchmark corpus: real published packages (devDependencies) copied into a temporary project
// with templates, so every run measures the same inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nm = (p: string) => path.join(REPO, 'node_modules', p);

/** CSS files of the carpool (10), from five packages. */
export const CSS: [string, string][] = [
  ['normalize.css/normalize.css', 'css/normalize.css'],
  ['bootstrap/dist/css/bootstrap.css', 'css/bootstrap.css'],
  ['bootstrap/dist/css/bootstrap-grid.css', 'css/bootstrap-grid.css'],
  ['bootstrap/dist/css/bootstrap-utilities.css', 'css/bootstrap-utilities.css'],
  ['bulma/css/bulma.css', 'css/bulma.css'],
  ['animate.css/animate.css', 'css/animate.css'],
  ['@fortawesome/fontawesome-free/css/fontawesome.css', 'css/fa/fontawesome.css'],
  ['@fortawesome/fontawesome-free/css/solid.css', 'css/fa/solid.css'],
  ['@fortawesome/fontawesome-free/css/regular.css', 'css/fa/regular.css'],
  ['@fortawesome/fontawesome-free/css/brands.css', 'css/fa/brands.css'],
];

/** JS files of the carpool (10), from five packages. */
export const JS: [string, string][] = [
  ['jquery/dist/jquery.js', 'js/jquery.js'],
  ['jquery/dist/jquery.slim.js', 'js/jquery.slim.js'],
  ['lodash/lodash.js', 'js/lodash.js'],
  ['moment/moment.js', 'js/moment.js'],
  ['moment/locale/fr.js', 'js/moment-fr.js'],
  ['moment/locale/de.js', 'js/moment-de.js'],
  ['chart.js/dist/chart.umd.js', 'js/chart.umd.js'],
  ['bootstrap/dist/js/bootstrap.bundle.js', 'js/bootstrap.bundle.js'],
  ['bootstrap/dist/js/bootstrap.js', 'js/bootstrap.js'],
  ['lodash/fp/_mapping.js', 'js/lodash-fp-mapping.js'],
];

/** Ten images for ten `convoy` tags. */
export const SVGS = ['house', 'user', 'gear', 'star', 'heart', 'bell', 'camera', 'lock', 'envelope', 'trash'].map((n) => `img/${n}.svg`);

export const SCSS_ENTRY = 'scss/site.scss';
export const PARTIAL = 'scss/bootstrap/_variables.scss';

/** Builds the corpus in a fresh folder: sources under `static`, templates under `templates`. */
export function makeCorpus(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convoy-bench-'));
  const s = (rel: string) => path.join(dir, 'static', rel);
  for (const [from, to] of [...CSS, ...JS]) {
    fs.mkdirSync(path.dirname(s(to)), { recursive: true });
    fs.copyFileSync(nm(from), s(to));
  }
  // Font Awesome's CSS names its fonts with ../webfonts/: the url() rewriting has work to do.
  fs.cpSync(nm('@fortawesome/fontawesome-free/webfonts'), path.join(dir, 'static/css/webfonts'), { recursive: true });
  for (const svg of SVGS) {
    fs.mkdirSync(path.dirname(s(svg)), { recursive: true });
    fs.copyFileSync(nm(`@fortawesome/fontawesome-free/svgs/solid/${path.basename(svg)}`), s(svg));
  }
  // Bootstrap's Sass sources: four entry points and ~90 partials, plus a site file that imports them.
  fs.cpSync(nm('bootstrap/scss'), s('scss/bootstrap'), { recursive: true });
  fs.writeFileSync(s(SCSS_ENTRY), '$primary: #3a0ca3;\n@import "bootstrap/bootstrap";\n.site-title { color: $primary; }\n');
  fs.writeFileSync(s('js/app.coffee'), fs.readFileSync(path.join(REPO, 'examples/site/static/js/app.coffee')));
  fs.mkdirSync(path.join(dir, 'templates'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'templates/page.njk'), pageTemplate());
  return dir;
}

/** The page measured: one CSS carpool of 10, one JS carpool of 10, an scss tag, 10 convoy tags, and ordinary content. */
export function pageTemplate(): string {
  return [
    '<!doctype html><html><head><title>{{ title }}</title>',
    '{% carpool css %}',
    ...CSS.map(([, to]) => to),
    '{% endcarpool %}',
    `<link rel="stylesheet" href="{% scss '${SCSS_ENTRY}' %}">`,
    '</head><body><ul>{% for item in items %}<li class="{% if loop.index % 2 %}odd{% else %}even{% endif %}">{{ item.name }}: {{ item.price }}</li>{% endfor %}</ul>',
    ...SVGS.map((svg) => `<img src="{% convoy '${svg}' %}" alt="">`),
    '{% carpool js %}',
    ...JS.map(([, to]) => `<script src="/static/${to}"></script>`),
    '{% endcarpool %}',
    '</body></html>',
  ].join('\n');
}

/** The same page with every asset tag replaced by a variable lookup (arguments known only at render time). */
export function dynamicTemplate(): string {
  return pageTemplate().replace(/\{% convoy '([^']+)' %\}/g, (_m, p: string) => `{% convoy assets["${p}"] %}`);
}
