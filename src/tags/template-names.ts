import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Environment } from 'nunjucks';

/** Told the source and the name of each template an Environment compiles, and how many lines precede that source in its file. */
export type TemplateNote = (src: string, name: string, lineOffset: number) => void;

interface TemplateLike {
  env: unknown;
  path?: string | null;
  tmplStr?: unknown;
}
type TemplateClass = { prototype: { _compile(this: TemplateLike): void } };

const require = createRequire(import.meta.url);
const notes = new WeakMap<object, TemplateNote>();
const hooked = new WeakSet<object>();

/**
 * The Template class of the Nunjucks copy `env` comes from. Looked up in the module cache rather
 * than imported, because an app (or Eleventy) may load another copy than ours.
 */
function templateClassOf(env: Environment): TemplateClass | undefined {
  for (const mod of Object.values(require.cache)) {
    const exported = mod?.exports as { Environment?: unknown; Template?: unknown } | undefined;
    if (!exported || typeof exported.Environment !== 'function' || typeof exported.Template !== 'function') continue;
    if (env instanceof (exported.Environment as new () => object)) return exported.Template as TemplateClass;
  }
  return undefined;
}

/**
 * How many lines of `file` come before `src`: Eleventy compiles a template without its front
 * matter, so a tag's line in the compiled text is that many lines short of its line in the file.
 */
function linesBefore(file: string, src: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  const at = src ? text.indexOf(src) : -1;
  return at > 0 ? text.slice(0, at).split('\n').length - 1 : 0;
}

/**
 * Calls `note` for every template `env` compiles from a string with a path (`new Template(src,
 * env, path)`, which is how Eleventy compiles pages and layouts): those never pass through the
 * loaders, so without this a message could only say `(string):12`. Names are made relative to
 * `root` when they are inside it.
 */
export function watchTemplateNames(env: Environment, root: string, note: TemplateNote): void {
  const Template = templateClassOf(env);
  if (!Template) return;
  notes.set(env, note);
  if (hooked.has(Template)) return;
  hooked.add(Template);
  const compile = Template.prototype._compile;
  Template.prototype._compile = function (this: TemplateLike) {
    const tell = notes.get(this.env as object);
    if (tell && typeof this.path === 'string' && this.path && typeof this.tmplStr === 'string') {
      const abs = path.resolve(root, this.path);
      const rel = path.relative(root, abs);
      const name = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : this.path;
      tell(this.tmplStr, name, linesBefore(abs, this.tmplStr));
    }
    return compile.call(this);
  };
}
