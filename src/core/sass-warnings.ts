import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What Sass's logger reports about one warning. */
export interface SassWarning {
  message: string;
  deprecation: boolean;
  /** The deprecation's id (`import`, `global-builtin` …), when Sass names one. */
  id?: string;
  /** Absolute path of the stylesheet the warning points at, if any. */
  file?: string;
  /** 1-based line. */
  line?: number;
}

/** Warnings split into the project's own and one summary per installed package. */
export interface SassWarningReport {
  /** One line per warning about the project's own stylesheets, in order. */
  own: string[];
  /** One line per package under node_modules, the same text whichever entry loaded it (so it is logged once). */
  packages: string[];
}

/** A warning as Sass's logger hands it over. */
export function sassWarning(message: string, options: { deprecation?: boolean; deprecationType?: { id: string }; span?: { url?: URL; start: { line: number } } }): SassWarning {
  const url = options.span?.url;
  return {
    message: message.split('\n')[0]!,
    deprecation: !!options.deprecation,
    ...(options.deprecationType ? { id: options.deprecationType.id } : {}),
    ...(url?.protocol === 'file:' ? { file: fileURLToPath(url), line: options.span!.start.line + 1 } : {}),
  };
}

/** `node_modules/pkg` or `node_modules/@scope/pkg` (root-relative) for a file inside an installed package. */
function packageOf(file: string, root: string): string | undefined {
  const parts = file.split(path.sep);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0 || i + 1 >= parts.length - 1) return undefined;
  const name = parts[i + 1]!.startsWith('@') ? parts.slice(i + 1, i + 3) : [parts[i + 1]!];
  const dir = path.relative(root, parts.slice(0, i + 1).concat(name).join(path.sep));
  return dir.split(path.sep).join('/');
}

/**
 * Summarises a compile's warnings. A framework such as Bootstrap 5.3 makes Sass print ~20
 * deprecations the app cannot fix: they become one line per package naming the kinds and how to
 * silence them; warnings about the app's own files stay one line each, with file and line.
 */
export function summarizeSassWarnings(warnings: SassWarning[], root: string): SassWarningReport {
  const own: string[] = [];
  const byPackage = new Map<string, { ids: Set<string>; first: string }>();
  const where = (w: SassWarning) => (w.file ? ` (${path.relative(root, w.file).split(path.sep).join('/')}:${w.line})` : '');
  for (const w of warnings) {
    // Sass's own "N repetitive deprecation warnings omitted": the summary below already counts kinds.
    if (!w.file && /repetitive deprecation warnings omitted/i.test(w.message)) continue;
    const pkg = w.file ? packageOf(w.file, root) : undefined;
    if (!pkg) {
      own.push(`${w.deprecation ? `deprecation${w.id ? ` [${w.id}]` : ''}: ` : ''}${w.message}${where(w)}`);
      continue;
    }
    let group = byPackage.get(pkg);
    if (!group) byPackage.set(pkg, (group = { ids: new Set(), first: `${w.message}${where(w)}` }));
    group.ids.add(w.id ?? (w.deprecation ? 'deprecation' : 'warning'));
  }
  const packages = [...byPackage].map(([pkg, { ids, first }]) => {
    const kinds = [...ids].sort();
    const silence = kinds.filter((k) => k !== 'deprecation' && k !== 'warning');
    return (
      `Sass warnings from ${pkg} (${kinds.join(', ')}), first: ${first}. They come from the package, not your stylesheets: ` +
      `silence them with sass: { quietDeps: true }${silence.length ? ` or sass: { silenceDeprecations: ${JSON.stringify(silence)} }` : ''}`
    );
  });
  return { own, packages };
}
